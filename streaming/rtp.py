"""RTP packets (RFC 3550) carrying Opus (RFC 7587), and the wrap-safe sequence/timestamp arithmetic.

Every comparison of 16-bit sequence numbers or 32-bit timestamps in streaming/ goes through the helpers
here, so wrap-around is handled in exactly one place. Parsing validates everything a hostile or broken
datagram could get wrong and raises ValueError; it never trusts a length field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CLOCK_RATE = 48_000  # RFC 7587: the RTP clock of Opus is always 48 kHz, whatever the coded bandwidth
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
PAYLOAD_TYPE = 96  # dynamic, bound to opus/48000/2 by the SDP

FIXED_HEADER = struct.Struct("!BBHII")  # the 12 bytes before any CSRC or extension
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


def seq_diff(a: int, b: int) -> int:
    """a - b for 16-bit sequence numbers, in [-32768, 32767]."""
    return ((a - b + 0x8000) % _SEQ_MOD) - 0x8000


def ts_diff(a: int, b: int) -> int:
    """a - b for 32-bit RTP timestamps, in [-2**31, 2**31)."""
    return ((a - b + 0x8000_0000) % _TS_MOD) - 0x8000_0000


def seq_newer(a: int, b: int) -> bool:
    return seq_diff(a, b) > 0


class Unwrapper:
    """Extends a wrapping counter (16 or 32 bits) to a monotonic-ish integer, relative to the highest seen.

    A value far behind the highest is placed behind it (a late packet), not a whole cycle ahead.
    """

    def __init__(self, bits: int) -> None:
        if bits not in (16, 32):
            raise ValueError(f"bits must be 16 or 32, not {bits}")
        self._mod = 1 << bits
        self._half = 1 << (bits - 1)
        self._highest: int | None = None

    def extend(self, value: int) -> int:
        if not 0 <= value < self._mod:
            raise ValueError(f"value {value} out of range for a {self._mod.bit_length() - 1}-bit counter")
        if self._highest is None:
            self._highest = value
            return value
        delta = ((value - self._highest + self._half) % self._mod) - self._half
        extended = self._highest + delta
        self._highest = max(self._highest, extended)
        return extended

    @property
    def highest(self) -> int | None:
        return self._highest


@dataclass(slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None  # (profile, data), data a multiple of 4 bytes

    def serialize(self) -> bytes:
        if not 0 <= self.payload_type < 128:
            raise ValueError(f"payload_type {self.payload_type} not in 0..127")
        if not 0 <= self.sequence < _SEQ_MOD:
            raise ValueError(f"sequence {self.sequence} not a 16-bit number")
        if not 0 <= self.timestamp < _TS_MOD or not 0 <= self.ssrc < _TS_MOD:
            raise ValueError("timestamp and ssrc must be 32-bit numbers")
        if len(self.csrc) > 15:
            raise ValueError("at most 15 CSRCs")
        first = 0x80 | (0x10 if self.extension else 0) | len(self.csrc)
        out = [
            FIXED_HEADER.pack(
                first,
                (0x80 if self.marker else 0) | self.payload_type,
                self.sequence,
                self.timestamp,
                self.ssrc,
            )
        ]
        out.extend(struct.pack("!I", c) for c in self.csrc)
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4 or len(data) > 0xFFFF * 4:
                raise ValueError("extension data must be a multiple of 4 bytes")
            out.append(struct.pack("!HH", profile, len(data) // 4) + data)
        out.append(self.payload)
        return b"".join(out)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < FIXED_HEADER.size:
            raise ValueError(f"RTP packet too short ({len(data)} bytes)")
        first, second, sequence, timestamp, ssrc = FIXED_HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise ValueError(f"RTP version {first >> 6}, expected 2")
        csrc_count = first & 0x0F
        pos = FIXED_HEADER.size + 4 * csrc_count
        if len(data) < pos:
            raise ValueError("RTP packet shorter than its CSRC list")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, FIXED_HEADER.size)
        extension = None
        if first & 0x10:
            if len(data) < pos + 4:
                raise ValueError("RTP packet shorter than its extension header")
            profile, words = struct.unpack_from("!HH", data, pos)
            end = pos + 4 + 4 * words
            if len(data) < end:
                raise ValueError("RTP extension longer than the packet")
            extension = (profile, bytes(data[pos + 4 : end]))
            pos = end
        end = len(data)
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < pos:
                raise ValueError(f"bad RTP padding length {padding}")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
        )


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 demultiplexing: RTCP packet types 192..223 sit where RTP has marker+payload type."""
    return len(data) >= 2 and 192 <= data[1] <= 223
