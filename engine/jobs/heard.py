"""How far the speakers got in each broadcast on air, kept where a crash of the server cannot lose it.

A speaker plays every packet it was sent, one playout delay after it was sent, and then goes silent: so
when the server dies, what its speakers heard of a broadcast ends at the last sample the server sent, a
moment the server itself cannot learn after a restart. The airing therefore writes that moment (and the
audio aired up to it) every ``INTERVAL_S`` to a small file per broadcast beside the store (``PATH.heard/``),
and the restart reads it to log the interruption from where the speakers went silent.

The writes are plain ``pwrite`` s into the page cache, never fsynced: they survive the process being
killed (the kernel keeps the page), which is the crash this is for; after a power cut the mark may be
older or gone, and the restart falls back to the last progress in the store. A record is fixed-size
with a CRC, so a torn or foreign file reads as no mark rather than a wrong time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from streaming.opus import encoder_lookahead
from streaming.packetizer import Stream
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES

log = logging.getLogger(__name__)

INTERVAL_S = 0.02  # how often an airing's mark is written: the restart's error is at most about this
MAGIC = b"LOAH"
_BODY = struct.Struct("<4sdd")  # magic, heard_until, aired_s
_CRC = struct.Struct("<I")
RECORD_SIZE = _BODY.size + _CRC.size
_ID_RE = re.compile(r"[0-9a-f]{1,64}")  # broadcast ids are hex (broadcast_store.py): safe file names


@dataclass(frozen=True)
class Heard:
    """What the speakers heard of a broadcast: up to wall time ``until`` (the end of the last sample sent,
    plus the playout delay), ``aired_s`` seconds of its audio over all airings."""

    until: float
    aired_s: float


def heard_of(stream: Stream, delay_s: float, aired_before: float) -> Heard | None:
    """What speakers heard of ``stream``, or will have once what was sent plays: up to its last sample
    sent (a speaker plays every packet it got, one playout delay later, even if the server dies or
    aborts the stream now), and ``aired_before`` (earlier streams) plus its audio to there. None before
    its first packet. Safe from any thread: it reads two counters the pacer moves forward."""
    if stream.start_time is None or stream.frames_sent == 0:
        return None
    # frame f carries source samples from f * 960 - the encoder's look-ahead (packetizer.py)
    sent = stream.frames_sent * FRAME_SAMPLES - encoder_lookahead(stream.codec)
    sent = max(0, min(sent, stream.samples_fed))
    return Heard(until=stream.media_time(sent) + delay_s, aired_s=aired_before + sent / CLOCK_RATE)


def serialize(heard: Heard) -> bytes:
    body = _BODY.pack(MAGIC, heard.until, heard.aired_s)
    return body + _CRC.pack(zlib.crc32(body))


def parse(data: bytes) -> Heard:
    if len(data) != RECORD_SIZE:
        raise ValueError(f"heard mark: {len(data)} bytes, not {RECORD_SIZE}")
    body, (crc,) = data[: _BODY.size], _CRC.unpack(data[_BODY.size :])
    if zlib.crc32(body) != crc:
        raise ValueError("heard mark: checksum mismatch (torn or damaged)")
    magic, until, aired = _BODY.unpack(body)
    if magic != MAGIC:
        raise ValueError(f"heard mark: magic {magic!r} is not {MAGIC!r}")
    if not (until == until and aired == aired) or aired < 0:  # NaN, or a negative duration
        raise ValueError(f"heard mark: until {until}, aired {aired} are not a time and a duration")
    return Heard(until, aired)


class HeardMarks:
    """The marks of one store: ``directory/<broadcast id>``, each one record, rewritten in place."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()

    def _path(self, broadcast_id: str) -> Path:
        if _ID_RE.fullmatch(broadcast_id) is None:
            raise ValueError(f"broadcast_id: {broadcast_id!r} is not a broadcast id")
        return self.directory / broadcast_id

    def write(self, broadcast_id: str, heard: Heard) -> None:
        """Overwrites the broadcast's mark; an I/O error is logged (the mark is a best effort)."""
        record = serialize(heard)
        with self._lock:
            try:
                fd = self._fds.get(broadcast_id)
                if fd is None:
                    self.directory.mkdir(mode=0o700, exist_ok=True)
                    fd = os.open(self._path(broadcast_id), os.O_RDWR | os.O_CREAT, 0o600)
                    self._fds[broadcast_id] = fd
                os.pwrite(fd, record, 0)
            except OSError as exc:
                log.warning("cannot write the heard mark of broadcast %s: %s", broadcast_id, exc)

    def read(self, broadcast_id: str) -> Heard | None:
        """The broadcast's mark; None when there is none or it does not read as one."""
        try:
            return parse(self._path(broadcast_id).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring the heard mark of broadcast %s: %s", broadcast_id, exc)
            return None

    def forget(self, broadcast_id: str) -> None:
        with self._lock:
            fd = self._fds.pop(broadcast_id, None)
            if fd is not None:
                os.close(fd)
            with contextlib.suppress(OSError, ValueError):
                self._path(broadcast_id).unlink(missing_ok=True)

    def forget_all_but(self, keep: set[str]) -> None:
        """Removes the marks of every broadcast not in ``keep`` (those that ended while nothing wrote)."""
        try:
            names = [p.name for p in self.directory.iterdir()]
        except FileNotFoundError:
            return
        for name in names:
            if name not in keep:
                self.forget(name)

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
