"""The small messages a cluster and the server exchange besides media: presence, play reports, time.

JSON objects, compact, version ``"v": 1``, at most MAX_MESSAGE bytes. Parsing is strict: an unknown or
missing key, a wrong type, a value out of range is a ValueError, so a newer peer's message is refused
loudly rather than half-read. None carries a cluster id: the topic says whose it is, and the broker's ACL
lets a cluster write only under its own name (topics.py).

Time: the cluster sends t1 (its wall clock) with a random nonce; the server answers with t1 echoed, t2
(its receive time) and t3 (its send time); the cluster notes t4 on arrival and takes the NTP estimates
offset = ((t2 - t1) + (t3 - t4)) / 2 and delay = (t4 - t1) - (t3 - t2). A reply counts only for a nonce
the cluster has outstanding (subscriber.TimeRequests), so a stale or replayed one is dropped.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

VERSION = 1
MAX_MESSAGE = 4096  # a status or report is ~200 bytes
_TEXT_RE = re.compile(r"[^\x00-\x1f\x7f]*")
_BULLETIN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NONCE_RE = re.compile(r"[0-9a-f]{32}")


def _load(payload: bytes, keys: set[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    if len(payload) > MAX_MESSAGE:
        raise ValueError(f"message of {len(payload)} bytes (at most {MAX_MESSAGE})")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("v") != VERSION:
        raise ValueError(f"version {data.get('v')!r} (this reads {VERSION})")
    present = set(data) - {"v"}
    if not keys - optional <= present <= keys:
        raise ValueError(f"keys {sorted(present)}; expected {sorted(keys)}")
    return data


def _dump(fields: dict[str, Any]) -> bytes:
    return json.dumps({"v": VERSION, **fields}, separators=(",", ":"), allow_nan=False).encode()


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data[key]
    if not isinstance(value, str) or len(value) > limit or _TEXT_RE.fullmatch(value) is None:
        raise ValueError(f"{key}: a text of at most {limit} characters without control characters")
    return value


def _number(data: dict[str, Any], key: str, low: float = 0.0, high: float = 1e12) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: a finite number")
    if not low <= value <= high:
        raise ValueError(f"{key}: {value} outside [{low}, {high}]")
    return float(value)


def _count(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise ValueError(f"{key}: a non-negative integer")
    return value


class State(Enum):
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Status:
    """Presence, retained on ``c/{cluster}/status``; the connection's last will is ``Status.offline()``."""

    state: State
    version: str = ""  # the agent's software version
    uptime_s: float = 0.0
    network: str = ""  # e.g. "4g", "3g", "lan", "vpn"
    error: str = ""  # empty when all is well
    temperature_c: float | None = None

    _KEYS = frozenset({"state", "version", "uptime_s", "network", "error", "temperature_c"})

    @classmethod
    def offline(cls) -> Status:
        return cls(State.OFFLINE)

    def serialize(self) -> bytes:
        fields: dict[str, Any] = {
            "state": self.state.value,
            "version": self.version,
            "uptime_s": round(self.uptime_s, 3),
            "network": self.network,
            "error": self.error,
        }
        if self.temperature_c is not None:
            fields["temperature_c"] = self.temperature_c
        return _dump(fields)

    @classmethod
    def parse(cls, payload: bytes) -> Status:
        data = _load(payload, set(cls._KEYS), frozenset({"temperature_c"}))
        try:
            state = State(data["state"])
        except ValueError:
            raise ValueError(f"state: {data['state']!r} is not online or offline") from None
        temperature = data.get("temperature_c")
        return cls(
            state,
            _text(data, "version", 32),
            _number(data, "uptime_s", 0, 1e10),
            _text(data, "network", 16),
            _text(data, "error", 256),
            None if temperature is None else _number(data, "temperature_c", -60, 150),
        )


class StopReason(Enum):
    END = "end"  # the stream ended (RTCP BYE) after the last frame
    PREEMPTED = "preempted"  # a higher-priority stream took the speaker
    TIMEOUT = "timeout"  # nothing arrived for too long
    STOPPED = "stopped"  # the agent was told to stop or shut down
    ERROR = "error"
    MISSED = "missed"  # delivered ahead, but its time passed before any of it could play (cache.py)


@dataclass(frozen=True)
class PlayReport:
    """What one cluster played of one airing of a bulletin; QoS 1 on ``c/{cluster}/report``."""

    bulletin: str
    airing: int  # 0-based repeat of the bulletin
    started_at: float  # wall clock (Unix seconds) of the first frame played
    ended_at: float
    frames_played: int
    frames_concealed: int
    frames_lost: int
    stop: StopReason

    def __post_init__(self) -> None:
        if _BULLETIN_RE.fullmatch(self.bulletin) is None:
            raise ValueError(f"bulletin {self.bulletin!r} is not of the form [A-Za-z0-9_-]{{1,64}}")
        if self.ended_at < self.started_at:
            raise ValueError("ended_at before started_at")

    def serialize(self) -> bytes:
        return _dump(
            {
                "bulletin": self.bulletin,
                "airing": self.airing,
                "started_at": self.started_at,
                "ended_at": self.ended_at,
                "played": self.frames_played,
                "concealed": self.frames_concealed,
                "lost": self.frames_lost,
                "stop": self.stop.value,
            }
        )

    @classmethod
    def parse(cls, payload: bytes) -> PlayReport:
        keys = {"bulletin", "airing", "started_at", "ended_at", "played", "concealed", "lost", "stop"}
        data = _load(payload, keys)
        if not isinstance(data["bulletin"], str):
            raise ValueError("bulletin: a text")
        try:
            stop = StopReason(data["stop"])
        except ValueError:
            raise ValueError(f"stop: {data['stop']!r} is not a stop reason") from None
        return cls(
            data["bulletin"],
            _count(data, "airing"),
            _number(data, "started_at"),
            _number(data, "ended_at"),
            _count(data, "played"),
            _count(data, "concealed"),
            _count(data, "lost"),
            stop,
        )


def _nonce(data: dict[str, Any]) -> str:
    value = data["nonce"]
    if not isinstance(value, str) or _NONCE_RE.fullmatch(value) is None:
        raise ValueError("nonce: 32 lowercase hex digits")
    return value


@dataclass(frozen=True)
class TimeRequest:
    nonce: str
    t1: float  # the cluster's wall clock when it sent the request

    @classmethod
    def new(cls, t1: float) -> TimeRequest:
        return cls(secrets.token_hex(16), t1)

    def serialize(self) -> bytes:
        return _dump({"nonce": self.nonce, "t1": self.t1})

    @classmethod
    def parse(cls, payload: bytes) -> TimeRequest:
        data = _load(payload, {"nonce", "t1"})
        return cls(_nonce(data), _number(data, "t1"))


@dataclass(frozen=True)
class TimeReply:
    nonce: str
    t1: float  # echoed
    t2: float  # the server's wall clock when the request arrived
    t3: float  # ... and when the reply left

    def serialize(self) -> bytes:
        return _dump({"nonce": self.nonce, "t1": self.t1, "t2": self.t2, "t3": self.t3})

    @classmethod
    def parse(cls, payload: bytes) -> TimeReply:
        data = _load(payload, {"nonce", "t1", "t2", "t3"})
        return cls(_nonce(data), _number(data, "t1"), _number(data, "t2"), _number(data, "t3"))

    def offset_and_delay(self, t4: float) -> tuple[float, float]:
        """(server clock - cluster clock, round-trip delay) in seconds, as NTP estimates them."""
        return ((self.t2 - self.t1) + (self.t3 - t4)) / 2, (t4 - self.t1) - (self.t3 - self.t2)
