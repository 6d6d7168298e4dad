"""The media message: several datagrams of one group in one MQTT publish.

Bundling ~100 ms (5 Opus frames of 20 ms) divides the broker's message rate by five: a province peak of
~4,000 clusters x 50 frames/s would otherwise be 200,000 deliveries/s of ~100-byte messages, where the
per-message cost, not the bytes, is what limits a broker. The datagrams are exactly what goes to the
multicast group (SRTP/SRTCP-protected, same SSRC, sequence numbers and timestamps), so the broker
carries audio it can neither read nor forge.

Layout (big-endian)::

    version  u8   = 1
    count    u8   1..MAX_DATAGRAMS
    count x { kind u8 (0 RTP, 1 RTCP), length u16 (1..MAX_DATAGRAM), bytes }

Three bytes of overhead per datagram; nothing may follow the last one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

VERSION = 1
MAX_DATAGRAMS = 64  # 1.28 s of 20 ms frames: far above a 100 ms bundle, far below a flood
MAX_DATAGRAM = 1500  # an RTP packet of Loa's is ~100-300 bytes; nothing bigger would cross a LAN
MAX_BUNDLE = 2 + MAX_DATAGRAMS * (3 + MAX_DATAGRAM)  # 96,194 bytes
_ENTRY = struct.Struct("!BH")


class Kind(IntEnum):
    RTP = 0
    RTCP = 1


@dataclass(frozen=True)
class Datagram:
    kind: Kind
    data: bytes

    def __post_init__(self) -> None:
        if not 1 <= len(self.data) <= MAX_DATAGRAM:
            raise ValueError(f"datagram of {len(self.data)} bytes (1..{MAX_DATAGRAM})")


@dataclass(frozen=True)
class Bundle:
    datagrams: tuple[Datagram, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.datagrams) <= MAX_DATAGRAMS:
            raise ValueError(f"bundle of {len(self.datagrams)} datagrams (1..{MAX_DATAGRAMS})")

    def serialize(self) -> bytes:
        out = bytearray((VERSION, len(self.datagrams)))
        for d in self.datagrams:
            out += _ENTRY.pack(d.kind, len(d.data))
            out += d.data
        return bytes(out)

    @classmethod
    def parse(cls, payload: bytes) -> Bundle:
        if len(payload) > MAX_BUNDLE:
            raise ValueError(f"bundle of {len(payload)} bytes (at most {MAX_BUNDLE})")
        if len(payload) < 2:
            raise ValueError("bundle shorter than its header")
        if payload[0] != VERSION:
            raise ValueError(f"bundle version {payload[0]} (this reads {VERSION})")
        count, offset = payload[1], 2
        if count == 0:
            raise ValueError("empty bundle")
        datagrams = []
        for i in range(count):
            if offset + _ENTRY.size > len(payload):
                raise ValueError(f"datagram {i}: truncated header")
            kind, length = _ENTRY.unpack_from(payload, offset)
            offset += _ENTRY.size
            if kind not in (Kind.RTP, Kind.RTCP):
                raise ValueError(f"datagram {i}: kind {kind}")
            if offset + length > len(payload):
                raise ValueError(f"datagram {i}: {length} bytes announced, {len(payload) - offset} left")
            datagrams.append(Datagram(Kind(kind), bytes(payload[offset : offset + length])))
            offset += length
        if offset != len(payload):
            raise ValueError(f"{len(payload) - offset} bytes after the last datagram")
        return cls(tuple(datagrams))
