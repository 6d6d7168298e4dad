"""A bulletin delivered ahead: one group's rendered datagrams (streaming/ahead.py) in one retained message.

The server publishes it retained, QoS 1, on ``{root}/g/{group}/ahead/{bulletin}`` minutes before the
start; every cluster of the group gets it on subscribing, so one that was offline gets what it missed
when it reconnects. An empty retained payload on the same topic clears it (cancelled, aired, expired).
A rescheduled bulletin is a new item on the same topic, which replaces the old one.

Layout (big-endian)::

    magic    4 bytes  b"LOAH"
    version  u8       = 1
    header   u16 length, then compact JSON: bulletin, airing, group, start_time, expires_at, priority
    count    u32      1..MAX_DATAGRAMS
    count x { at f64 (sender's wall clock), kind u8 (0 RTP, 1 RTCP), length u16 (1..1500), bytes }

Nothing may follow the last datagram; the ``at`` never decrease. Eleven bytes of overhead per datagram:
a 10-minute bulletin at 32 kb/s (30,000 frames of ~112 bytes sealed) is ~3.7 MB, within ``MAX_ITEM``.

Trust: the datagrams are SRTP/SRTCP under the group's keys, so the broker can neither read nor forge
audio; the header and the times are not authenticated. A forged header can only mislabel a cluster's
play report or make it drop or mistime the item: a datagram injected at a wrong time is refused by the
speaker's freshness gate (its sender report's NTP time is not the present) or arrives too late to play,
and what plays, plays at the time its authenticated sender reports give.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from streaming.ahead import Timed
from streaming.broker.bundle import MAX_DATAGRAM
from streaming.broker.topics import BULLETIN_RE, check_id

MAGIC = b"LOAH"
VERSION = 1
MAX_HEADER = 1024
MAX_DATAGRAMS = 15 * 60 * 50 + 4096  # 15 minutes of 20 ms frames, and their sender reports
MAX_ITEM = 6 * 1024 * 1024  # 10 minutes at 32 kb/s is ~3.7 MB; engine/broker/mosquitto.py MAX_PACKET above
MAX_LEAD_S = 7 * 24 * 3600.0  # an item may be stored at most a week before it expires
_HEAD = struct.Struct("!4sBH")
_COUNT = struct.Struct("!I")
_ENTRY = struct.Struct("!dBH")
_KEYS = {"bulletin", "airing", "group", "start_time", "expires_at", "priority"}


def check_bulletin(value: str) -> str:
    if not isinstance(value, str) or BULLETIN_RE.fullmatch(value) is None:
        raise ValueError(f"bulletin {value!r} is not of the form [A-Za-z0-9_-]{{1,64}}")
    return value


@dataclass(frozen=True)
class AheadItem:
    bulletin: str  # the broadcast id
    airing: int  # 0-based repeat of the bulletin this is
    group: str  # the server's group id (a topic segment)
    start_time: float  # wall time its first sample plays on every speaker (sender's clock)
    expires_at: float  # after this a cluster drops it (and reports it missed if it never played)
    priority: int  # 1 NORMAL, 2 HIGH (an EMERGENCY is always live)
    datagrams: tuple[Timed, ...]

    def __post_init__(self) -> None:
        check_bulletin(self.bulletin)
        check_id(self.group, "group")
        if not isinstance(self.airing, int) or not 0 <= self.airing < 1000:
            raise ValueError(f"airing {self.airing!r} (0..999)")
        if self.priority not in (1, 2):
            raise ValueError(f"priority {self.priority!r}: only NORMAL (1) and HIGH (2) go ahead")
        for name in ("start_time", "expires_at"):
            value = getattr(self, name)
            if not isinstance(value, float) or not math.isfinite(value) or not 0 < value < 1e11:
                raise ValueError(f"{name} {value!r}: a wall time in seconds")
        if not 1 <= len(self.datagrams) <= MAX_DATAGRAMS:
            raise ValueError(f"{len(self.datagrams)} datagrams (1..{MAX_DATAGRAMS})")
        first, last = self.datagrams[0].at, self.datagrams[-1].at
        if not (math.isfinite(first) and math.isfinite(last)):
            raise ValueError("datagram times must be finite")
        if any(b.at < a.at for a, b in zip(self.datagrams, self.datagrams[1:], strict=False)):
            raise ValueError("datagram times decrease")
        if not first - MAX_LEAD_S < self.start_time <= last + MAX_LEAD_S:
            raise ValueError(f"start_time {self.start_time} far from the datagrams' times")
        if not last <= self.expires_at <= last + MAX_LEAD_S:
            raise ValueError(f"expires_at {self.expires_at} before the last datagram or over a week after")
        for i, d in enumerate(self.datagrams):
            if not 1 <= len(d.data) <= MAX_DATAGRAM:
                raise ValueError(f"datagram {i}: {len(d.data)} bytes (1..{MAX_DATAGRAM})")

    @property
    def first_at(self) -> float:
        return self.datagrams[0].at

    @property
    def last_at(self) -> float:
        return self.datagrams[-1].at

    @property
    def size(self) -> int:
        return sum(len(d.data) for d in self.datagrams)

    def header(self) -> dict[str, Any]:
        return {
            "bulletin": self.bulletin,
            "airing": self.airing,
            "group": self.group,
            "start_time": self.start_time,
            "expires_at": self.expires_at,
            "priority": self.priority,
        }

    def serialize(self) -> bytes:
        head = json.dumps(self.header(), separators=(",", ":"), allow_nan=False).encode()
        out = bytearray(_HEAD.pack(MAGIC, VERSION, len(head)))
        out += head
        out += _COUNT.pack(len(self.datagrams))
        for d in self.datagrams:
            out += _ENTRY.pack(d.at, 1 if d.rtcp else 0, len(d.data))
            out += d.data
        if len(out) > MAX_ITEM:
            raise ValueError(f"item of {len(out)} bytes (at most {MAX_ITEM})")
        return bytes(out)

    @classmethod
    def parse(cls, payload: bytes) -> AheadItem:
        if len(payload) > MAX_ITEM:
            raise ValueError(f"item of {len(payload)} bytes (at most {MAX_ITEM})")
        if len(payload) < _HEAD.size:
            raise ValueError("item shorter than its header")
        magic, version, head_len = _HEAD.unpack_from(payload, 0)
        if magic != MAGIC:
            raise ValueError("not a delivered-ahead item (magic)")
        if version != VERSION:
            raise ValueError(f"item version {version} (this reads {VERSION})")
        if head_len > MAX_HEADER or _HEAD.size + head_len + _COUNT.size > len(payload):
            raise ValueError(f"header of {head_len} bytes")
        offset = _HEAD.size
        header = _header(payload[offset : offset + head_len])
        offset += head_len
        (count,) = _COUNT.unpack_from(payload, offset)
        offset += _COUNT.size
        if not 1 <= count <= MAX_DATAGRAMS:
            raise ValueError(f"{count} datagrams (1..{MAX_DATAGRAMS})")
        datagrams = []
        for i in range(count):
            if offset + _ENTRY.size > len(payload):
                raise ValueError(f"datagram {i}: truncated header")
            at, kind, length = _ENTRY.unpack_from(payload, offset)
            offset += _ENTRY.size
            if kind not in (0, 1):
                raise ValueError(f"datagram {i}: kind {kind}")
            if not 1 <= length <= MAX_DATAGRAM or offset + length > len(payload):
                raise ValueError(f"datagram {i}: {length} bytes announced, {len(payload) - offset} left")
            datagrams.append(Timed(at, kind == 1, bytes(payload[offset : offset + length])))
            offset += length
        if offset != len(payload):
            raise ValueError(f"{len(payload) - offset} bytes after the last datagram")
        return cls(datagrams=tuple(datagrams), **header)


def _header(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"header is not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != _KEYS:
        raise ValueError(
            f"header keys {sorted(data) if isinstance(data, dict) else data!r}; expected {sorted(_KEYS)}"
        )
    for key in ("bulletin", "group"):
        if not isinstance(data[key], str):
            raise ValueError(f"{key}: a text")
    for key in ("airing", "priority"):
        if type(data[key]) is not int:
            raise ValueError(f"{key}: an integer")
    for key in ("start_time", "expires_at"):
        if type(data[key]) not in (int, float):
            raise ValueError(f"{key}: a number")
        data[key] = float(data[key])
    return data
