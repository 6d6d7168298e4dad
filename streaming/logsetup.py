"""Logging for both sides, `loa serve` and `loa speaker` (streaming/ cannot import engine/, so it is here).

One line per meaningful event on stderr, never one per packet (docs/LOGGING.md lists the events):

- ``configure(level, fmt)`` installs the one root handler: human lines by default
  (``2026-12-05T17:20:01.123+07:00 INFO engine.jobs.events: broadcast 1a2b on air [broadcast.on_air]``),
  or JSON lines for log collectors (``fmt="json"``: one object a line with time, level, logger, event,
  message and the event's fields).
- ``event(logger, level, name, message, **fields)`` logs an event: its name and fields travel on the
  record, so the JSON line carries them as keys.
- :class:`RateLimiter` (pure: keys and times in, decisions out) and :class:`Repeats` (a limiter around a
  logger): the same event key at most once per window; the next line, or a line of its own when the
  window closes, says how many were suppressed. A flood (forged packets, a token guessed in a loop) then
  costs a line a minute, not the disk.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
DEFAULT_REPEAT_S = 60.0
_RESERVED = frozenset({"time", "level", "logger", "event", "message", "exc"})


def parse_level(text: str) -> int:
    """A level name as given to --log-level or the config's log_level; ValueError naming the choices."""
    name = str(text).strip().lower()
    if name not in LEVELS:
        raise ValueError(f"log level {text!r}: one of {', '.join(LEVELS)}")
    return int(getattr(logging, name.upper()))


def parse_format(text: str) -> str:
    name = str(text).strip().lower()
    if name not in FORMATS:
        raise ValueError(f"log format {text!r}: one of {', '.join(FORMATS)}")
    return name


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, "loa_fields", None)
    return dict(found) if isinstance(found, dict) else {}


class TextFormatter(logging.Formatter):
    """Local time with its offset, level, logger, message, and the event's name in brackets."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        line = f"{moment} {record.levelname} {record.name}: {record.getMessage()}"
        name = getattr(record, "loa_event", None)
        if name:
            line += f" [{name}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line; time in UTC (what collectors expect); fields flat beside the fixed keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "loa_event", None),
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            # a field may not overwrite a fixed key: it is kept under a prefixed name instead
            out[f"field_{key}" if key in _RESERVED else key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


_HANDLER_NAME = "loa"


def configure(
    level: str | int = "info",
    fmt: str = "text",
    stream: IO[str] | None = None,
    repeat_s: float | None = None,
) -> logging.Handler:
    """Installs (or replaces) Loa's handler on the root logger; returns it. Library loggers stay quiet at
    WARNING below the chosen level unless they are Loa's own (engine, streaming)."""
    numeric = parse_level(level) if isinstance(level, str) else level
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if parse_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))  # third-party libraries: warnings and up
    for ours in ("engine", "streaming", "loa"):
        logging.getLogger(ours).setLevel(numeric)
    if repeat_s is not None:
        set_repeat_window(repeat_s)
    return handler


_repeat_s = float(os.environ.get("LOA_LOG_REPEAT_S", DEFAULT_REPEAT_S) or DEFAULT_REPEAT_S)


def set_repeat_window(seconds: float) -> None:
    """The window of every :class:`Repeats` made after this (the config's log_repeat_s)."""
    global _repeat_s
    if not 0 < seconds <= 86400:
        raise ValueError(f"log repeat window {seconds!r}: in (0, 86400] seconds")
    _repeat_s = float(seconds)


def repeat_window() -> float:
    return _repeat_s


def event(logger: logging.Logger, level: int, name: str, message: str, /, **fields: Any) -> None:
    """Logs event ``name`` (dotted, e.g. ``broadcast.on_air``) with its fields on the record."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"loa_event": name, "loa_fields": fields})


@dataclass
class _Window:
    until: float
    suppressed: int = 0


@dataclass
class RateLimiter:
    """The same key at most once per ``interval_s``; what came in between is counted, not dropped silently.

    Pure: the caller passes the time. :meth:`allow` says whether to log now and how many of that key were
    suppressed since its last line; :meth:`closed` hands back the keys whose window ended with repeats
    still unreported (then forgets them), so the count gets its own line when the repeats stop."""

    interval_s: float
    _windows: dict[Hashable, _Window] = field(default_factory=dict)

    def allow(self, key: Hashable, now: float) -> int | None:
        """None: suppress this one (counted). An int: log it; that many were suppressed before it."""
        window = self._windows.get(key)
        if window is not None and now < window.until:
            window.suppressed += 1
            return None
        suppressed = window.suppressed if window is not None else 0
        self._windows[key] = _Window(now + self.interval_s)
        return suppressed

    def closed(self, now: float) -> list[tuple[Hashable, int]]:
        """(key, suppressed) of windows that ended with repeats nobody logged yet; those are forgotten."""
        out = []
        for key, window in list(self._windows.items()):
            if now >= window.until:
                if window.suppressed:
                    out.append((key, window.suppressed))
                del self._windows[key]
        return out


class Repeats:
    """Rate-limited events on one logger: :meth:`event` with a key; :meth:`flush` now and then (it logs
    the counts of windows that closed). Thread-safe enough for its use: a lost count is a log detail."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.limiter = RateLimiter(interval_s if interval_s is not None else repeat_window())
        self.clock = clock
        self._last: dict[Hashable, tuple[int, str, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()  # gRPC worker threads share one

    def event(self, level: int, name: str, message: str, key: Hashable = "", **fields: Any) -> bool:
        """Logs event ``name`` unless the same (name, key) was logged within the window; True if logged."""
        full = (name, key)
        with self._lock:
            suppressed = self.limiter.allow(full, self.clock())
            self._last[full] = (level, name, message, fields)
        if suppressed is None:
            return False
        if suppressed:
            message += f" ({suppressed} more like it in the last {self.limiter.interval_s:g} s)"
        event(self.logger, level, name, message, suppressed=suppressed, **fields)
        return True

    def flush(self) -> None:
        with self._lock:
            closed = [(self._last.pop(f), n) for f, n in self.limiter.closed(self.clock())]
        for (level, name, message, fields), count in closed:
            event(
                self.logger,
                level,
                name,
                f"{message} (repeated {count} more times in {self.limiter.interval_s:g} s)",
                suppressed=count,
                **fields,
            )
