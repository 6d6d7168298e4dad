"""RTCP packets (RFC 3550): SR, RR, SDES, BYE, APP, in compound datagrams; plus Loa's own APP blocks.

RTCP has no field for what a loudspeaker operator needs from each speaker, so speakers add an APP packet
named ``LOAR`` (playout offset, under-runs, late packets, priority in play) to their receiver reports.
Senders add ``LOAS`` (the stream's priority) to their sender reports, and the NTP-style time exchange of
speakers without NTP rides on ``LOAT`` (request: t1; reply: t1, t2, t3), so one unicast feedback port
serves reports and time sync alike. All times are 64-bit NTP timestamps (see clock.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
SDES_CNAME = 1
# A stream's label (what it airs: "{bulletin}/{airing}") rides in a PRIV item, not NOTE: NOTE is a
# human-readable notice a receiver may display and that may change at any time (RFC 3550 6.5.7), while
# PRIV is for application-defined data under a prefix naming the application (6.5.8), which other
# receivers ignore. The SDES travels in the sender report's compound, under SRTCP on keyed groups.
SDES_PRIV = 8
LABEL_PREFIX = b"loa-label"

_COMMON = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IIIIII")


@dataclass(slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int  # loss since the last report, as a fraction of 256
    cumulative_lost: int  # signed 24-bit (duplicates can make it negative)
    highest_sequence: int  # extended highest sequence number received
    jitter: int  # interarrival jitter in RTP timestamp units
    lsr: int = 0  # middle 32 bits of the last SR's NTP timestamp
    dlsr: int = 0  # delay since that SR, in 1/65536 s

    def serialize(self) -> bytes:
        if not 0 <= self.fraction_lost <= 255:
            raise ValueError(f"fraction_lost {self.fraction_lost} not in 0..255")
        lost = max(-(1 << 23), min((1 << 23) - 1, self.cumulative_lost)) & 0xFFFFFF
        return _BLOCK.pack(
            self.ssrc,
            (self.fraction_lost << 24) | lost,
            self.highest_sequence & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr,
            self.dlsr,
        )

    @classmethod
    def parse(cls, data: bytes, pos: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, pos)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP time of rtp_timestamp
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)


@dataclass(slots=True)
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)


@dataclass(slots=True)
class SourceDescription:
    chunks: list[tuple[int, dict[int, bytes]]]  # (ssrc, {item type: value})

    def cname(self, ssrc: int) -> str | None:
        for chunk_ssrc, items in self.chunks:
            if chunk_ssrc == ssrc and SDES_CNAME in items:
                return items[SDES_CNAME].decode("utf-8", "replace")
        return None


@dataclass(slots=True)
class Bye:
    sources: list[int]
    reason: str = ""


@dataclass(slots=True)
class AppPacket:
    subtype: int
    ssrc: int
    name: bytes  # four ASCII characters
    data: bytes = b""


Packet = SenderReport | ReceiverReport | SourceDescription | Bye | AppPacket


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    if len(body) % 4:
        raise ValueError("RTCP body must be a multiple of 4 bytes")
    return _COMMON.pack(0x80 | count, packet_type, len(body) // 4) + body


def serialize(packet: Packet) -> bytes:
    if isinstance(packet, SenderReport):
        if len(packet.reports) > 31:
            raise ValueError("at most 31 report blocks")
        body = struct.pack(
            "!IQIII",
            packet.ssrc,
            packet.ntp_timestamp,
            packet.rtp_timestamp,
            packet.packet_count & 0xFFFFFFFF,
            packet.octet_count & 0xFFFFFFFF,
        )
        return _header(len(packet.reports), SR, body + b"".join(r.serialize() for r in packet.reports))
    if isinstance(packet, ReceiverReport):
        if len(packet.reports) > 31:
            raise ValueError("at most 31 report blocks")
        body = struct.pack("!I", packet.ssrc) + b"".join(r.serialize() for r in packet.reports)
        return _header(len(packet.reports), RR, body)
    if isinstance(packet, SourceDescription):
        chunks = []
        for ssrc, items in packet.chunks:
            chunk = struct.pack("!I", ssrc)
            for kind, value in items.items():
                if not 1 <= kind <= 255 or len(value) > 255:
                    raise ValueError("SDES item type must be 1..255 and its value at most 255 bytes")
                chunk += bytes((kind, len(value))) + value
            chunk += b"\0" * (4 - len(chunk) % 4)  # at least one null ends the item list
            chunks.append(chunk)
        if len(chunks) > 31:
            raise ValueError("at most 31 SDES chunks")
        return _header(len(chunks), SDES, b"".join(chunks))
    if isinstance(packet, Bye):
        body = b"".join(struct.pack("!I", s) for s in packet.sources)
        if packet.reason:
            reason = packet.reason.encode()[:255]
            body += bytes((len(reason),)) + reason
            body += b"\0" * (-len(body) % 4)
        return _header(len(packet.sources), BYE, body)
    if isinstance(packet, AppPacket):
        if len(packet.name) != 4 or not 0 <= packet.subtype < 32:
            raise ValueError("APP name must be 4 bytes and subtype 0..31")
        return _header(packet.subtype, APP, struct.pack("!I", packet.ssrc) + packet.name + packet.data)
    raise ValueError(f"not an RTCP packet: {type(packet).__name__}")


def serialize_compound(packets: list[Packet]) -> bytes:
    return b"".join(serialize(p) for p in packets)


def _parse_one(packet_type: int, count: int, body: bytes) -> Packet | None:
    if packet_type in (SR, RR):
        fixed = 24 if packet_type == SR else 4
        if len(body) < fixed + 24 * count:
            raise ValueError("RTCP report shorter than its report blocks")
        reports = [ReportBlock.parse(body, fixed + 24 * i) for i in range(count)]
        if packet_type == SR:
            ssrc, ntp, rtp, packets, octets = struct.unpack_from("!IQIII", body)
            return SenderReport(ssrc, ntp, rtp, packets, octets, reports)
        return ReceiverReport(struct.unpack_from("!I", body)[0], reports)
    if packet_type == SDES:
        chunks: list[tuple[int, dict[int, bytes]]] = []
        pos = 0
        for _ in range(count):
            if pos + 4 > len(body):
                raise ValueError("SDES chunk truncated")
            (ssrc,) = struct.unpack_from("!I", body, pos)
            pos += 4
            items: dict[int, bytes] = {}
            while True:
                if pos >= len(body):
                    raise ValueError("SDES item list not terminated")
                kind = body[pos]
                if kind == 0:
                    pos = (pos + 4) & ~3
                    break
                if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                    raise ValueError("SDES item longer than the packet")
                items[kind] = bytes(body[pos + 2 : pos + 2 + body[pos + 1]])
                pos += 2 + body[pos + 1]
            chunks.append((ssrc, items))
        return SourceDescription(chunks)
    if packet_type == BYE:
        if len(body) < 4 * count:
            raise ValueError("BYE shorter than its source list")
        sources = list(struct.unpack_from(f"!{count}I", body))
        reason = ""
        if len(body) > 4 * count:
            length = body[4 * count]
            if 4 * count + 1 + length > len(body):
                raise ValueError("BYE reason longer than the packet")
            reason = body[4 * count + 1 : 4 * count + 1 + length].decode("utf-8", "replace")
        return Bye(sources, reason)
    if packet_type == APP:
        if len(body) < 8:
            raise ValueError("APP packet too short")
        return AppPacket(count, struct.unpack_from("!I", body)[0], bytes(body[4:8]), bytes(body[8:]))
    return None  # unknown types (XR, feedback) are skipped, as RFC 3550 asks


def parse_compound(data: bytes) -> list[Packet]:
    """Every packet of a compound RTCP datagram; ValueError if any header or length is inconsistent."""
    packets: list[Packet] = []
    pos = 0
    if len(data) < 4:
        raise ValueError(f"RTCP datagram too short ({len(data)} bytes)")
    while pos < len(data):
        if len(data) - pos < 4:
            raise ValueError("trailing bytes after the last RTCP packet")
        first, packet_type, words = _COMMON.unpack_from(data, pos)
        if first >> 6 != 2:
            raise ValueError(f"RTCP version {first >> 6}, expected 2")
        end = pos + 4 + 4 * words
        if end > len(data):
            raise ValueError("RTCP packet longer than the datagram")
        body = data[pos + 4 : end]
        if first & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise ValueError("bad RTCP padding")
            body = body[: -body[-1]]
        parsed = _parse_one(packet_type, first & 0x1F, body)
        if parsed is not None:
            packets.append(parsed)
        pos = end
    return packets


# --- Loa's APP blocks ---------------------------------------------------------------------------------

LOA_STATUS = b"LOAR"
LOA_STREAM = b"LOAS"
LOA_TIME = b"LOAT"
# "this stream has ended": a plain group's streams end with it instead of a BYE, which makes ffmpeg stop
# reading the group for good (packetizer.py, docs/RECEIVERS.md); Loa speakers treat it as a BYE
LOA_END = b"LOAE"


@dataclass(slots=True)
class SpeakerStatus:
    """What a speaker adds to its receiver report about the stream ``media_ssrc``."""

    ssrc: int  # the speaker's own SSRC
    media_ssrc: int
    playout_offset_us: int  # measured playout time minus presentation time (signed)
    underruns: int  # output blocks that had to be filled with silence while a stream was due
    late_packets: int  # packets that arrived after their presentation time
    playing_priority: int  # 0: nothing playing
    rejected_packets: int = 0  # datagrams dropped by SRTP (forged, replayed, unknown key); absent: 0

    def to_app(self) -> AppPacket:
        data = struct.pack(
            "!IiIIB3xI",
            self.media_ssrc,
            max(-(1 << 31), min((1 << 31) - 1, self.playout_offset_us)),
            self.underruns & 0xFFFFFFFF,
            self.late_packets & 0xFFFFFFFF,
            self.playing_priority & 0xFF,
            self.rejected_packets & 0xFFFFFFFF,
        )
        return AppPacket(0, self.ssrc, LOA_STATUS, data)

    @classmethod
    def from_app(cls, app: AppPacket) -> SpeakerStatus:
        if app.name != LOA_STATUS or len(app.data) < 20:
            raise ValueError("not a LOAR status block")
        media, offset, underruns, late, priority = struct.unpack_from("!IiIIB", app.data)
        rejected = struct.unpack_from("!I", app.data, 20)[0] if len(app.data) >= 24 else 0
        return cls(app.ssrc, media, offset, underruns, late, priority, rejected)


def label_item(label: str) -> bytes:
    """A PRIV item's value carrying a stream label: prefix length, ``loa-label``, the UTF-8 label."""
    value = bytes([len(LABEL_PREFIX)]) + LABEL_PREFIX + label.encode()
    if len(value) > 255:
        raise ValueError(f"label {label!r} is too long for an SDES item")
    return value


def stream_label(sdes: SourceDescription, ssrc: int) -> str | None:
    """The label of ``ssrc`` in an SDES packet; None if it has none (ValueError if it is not UTF-8)."""
    for chunk_ssrc, items in sdes.chunks:
        head = bytes([len(LABEL_PREFIX)]) + LABEL_PREFIX
        value = items.get(SDES_PRIV, b"")
        if chunk_ssrc == ssrc and value.startswith(head):
            return value[len(head) :].decode("utf-8")
    return None


def stream_end_app(ssrc: int) -> AppPacket:
    return AppPacket(0, ssrc, LOA_END)


def ended_sources(packet: Packet) -> list[int]:
    """The SSRCs whose streams ``packet`` ends: a BYE's sources, or a LOAE block's sender; else []."""
    if isinstance(packet, Bye):
        return packet.sources
    if isinstance(packet, AppPacket) and packet.name == LOA_END:
        return [packet.ssrc]
    return []


def stream_priority_app(ssrc: int, priority: int) -> AppPacket:
    return AppPacket(0, ssrc, LOA_STREAM, struct.pack("!B3x", priority))


def stream_priority(app: AppPacket) -> int:
    if app.name != LOA_STREAM or len(app.data) < 4:
        raise ValueError("not a LOAS stream block")
    return app.data[0]


def time_request(ssrc: int, t1: int) -> AppPacket:
    return AppPacket(0, ssrc, LOA_TIME, struct.pack("!Q", t1))


def time_reply(ssrc: int, t1: int, t2: int, t3: int) -> AppPacket:
    return AppPacket(1, ssrc, LOA_TIME, struct.pack("!QQQ", t1, t2, t3))


def parse_time(app: AppPacket) -> tuple[int, ...]:
    """(t1,) for a request, (t1, t2, t3) for a reply."""
    if app.name != LOA_TIME:
        raise ValueError("not a LOAT time block")
    size = 8 if app.subtype == 0 else 24
    if len(app.data) < size:
        raise ValueError("LOAT block truncated")
    return struct.unpack_from("!Q" if app.subtype == 0 else "!QQQ", app.data)
