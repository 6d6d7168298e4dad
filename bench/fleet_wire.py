"""The few MQTT 5 packets a simulated cluster needs, and a lean walk over a media bundle's RTP headers.

Why not paho: the fleet simulator (bench/fleet.py) holds thousands of clusters in a few processes on the
same 2 cores as the broker and the server. paho 2.2 spends ~28 µs of Python per received PUBLISH before
TLS (measured: 20,000 520-byte messages read with ``loop_read`` from a socketpair), which at a province
peak (40,000 deliveries/s) would be more than a core for the simulator alone. Here a cluster reads its
socket in 64 KiB chunks and cuts every packet out of the chunk with a few slices.

Only what a subscriber at QoS 0 uses: CONNECT (username, password, clean start, keepalive, an optional
retained will), CONNACK, SUBSCRIBE/SUBACK, PUBLISH (received at QoS 0; sent at QoS 1 for the retained
status, as streaming/broker/subscriber.py does), PINGREQ, DISCONNECT. Everything else is skipped by type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14
PINGREQ_PACKET = bytes((PINGREQ << 4, 0))
DISCONNECT_PACKET = bytes((DISCONNECT << 4, 0))
_U16 = struct.Struct("!H")
_ENTRY = struct.Struct("!BH")
_RTP = struct.Struct("!HII")  # sequence, timestamp, SSRC: bytes 2..11 of the RTP header, in the clear


def varint(n: int) -> bytes:
    if not 0 <= n < 1 << 28:
        raise ValueError(f"variable byte integer {n} out of range")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf: bytes | bytearray | memoryview, offset: int) -> tuple[int, int] | None:
    """(value, offset after it), None if ``buf`` ends inside it; ValueError past 4 bytes."""
    value = shift = 0
    for i in range(4):
        if offset + i >= len(buf):
            return None
        byte = buf[offset + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset + i + 1
        shift += 7
    raise ValueError("variable byte integer longer than 4 bytes")


def _string(s: bytes) -> bytes:
    return _U16.pack(len(s)) + s


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


@dataclass(frozen=True)
class WillSpec:
    topic: str
    payload: bytes  # sent at QoS 1, retained (the cluster's "offline" status)


def connect(username: str, password: str, keepalive_s: int, will: WillSpec | None = None) -> bytes:
    flags = 0x80 | 0x40 | 0x02 | ((0x04 | 0x08 | 0x20) if will else 0)  # user, password, clean start
    body = _string(b"MQTT") + bytes((5, flags)) + _U16.pack(keepalive_s) + varint(0)
    body += _string(username.encode())  # the client id (the broker uses the username anyway)
    if will:
        body += varint(0) + _string(will.topic.encode()) + _string(will.payload)
    body += _string(username.encode()) + _string(password.encode())
    return _packet(CONNECT << 4, body)


def subscribe(packet_id: int, topics: list[str]) -> bytes:
    body = _U16.pack(packet_id) + varint(0) + b"".join(_string(t.encode()) + b"\x00" for t in topics)
    return _packet(SUBSCRIBE << 4 | 0x02, body)


def publish(topic: str, payload: bytes, packet_id: int | None = None, retain: bool = False) -> bytes:
    """QoS 0 without ``packet_id``, QoS 1 with it."""
    first = PUBLISH << 4 | (0x02 if packet_id is not None else 0) | (0x01 if retain else 0)
    body = _string(topic.encode()) + (b"" if packet_id is None else _U16.pack(packet_id)) + varint(0)
    return _packet(first, body + payload)


def split(buf: bytearray) -> list[tuple[int, int, memoryview]]:
    """The whole packets at the front of ``buf`` as (type, flags, body); removes them from ``buf``. The
    bodies are views of one immutable copy, so they may outlive the next read."""
    data = bytes(buf)
    view, offset, out = memoryview(data), 0, []
    while len(data) - offset >= 2:
        length = read_varint(view, offset + 1)
        if length is None or length[1] + length[0] > len(data):
            break
        first, (size, start) = data[offset], length
        offset = start + size
        out.append((first >> 4, first & 0x0F, view[start:offset]))
    del buf[:offset]
    return out


def connack_reason(body: memoryview) -> int:
    if len(body) < 2:
        raise ValueError("CONNACK shorter than 2 bytes")
    return body[1]


def suback_reasons(body: memoryview) -> tuple[int, bytes]:
    """(packet id, reason codes): 0 granted at QoS 0, >= 0x80 refused (0x87: not authorized)."""
    if len(body) < 3:
        raise ValueError("SUBACK shorter than 3 bytes")
    props = read_varint(body, 2)
    if props is None:
        raise ValueError("SUBACK properties truncated")
    return _U16.unpack_from(body)[0], bytes(body[props[1] + props[0] :])


def publish_parts(flags: int, body: memoryview) -> tuple[bytes, memoryview]:
    """(topic, payload) of a PUBLISH body."""
    if len(body) < 2:
        raise ValueError("PUBLISH without a topic")
    end = 2 + _U16.unpack_from(body)[0] + (2 if flags & 0x06 else 0)
    props = read_varint(body, end)
    if props is None or end > len(body):
        raise ValueError("PUBLISH truncated")
    return bytes(body[2 : 2 + _U16.unpack_from(body)[0]]), body[props[1] + props[0] :]


def rtp_headers(bundle: memoryview | bytes) -> list[tuple[int, int, int]]:
    """(SSRC, timestamp, sequence) of every RTP datagram of a media bundle (streaming/broker/bundle.py),
    read from the RTP header SRTP leaves in the clear; RTCP datagrams are skipped. ValueError on what
    ``Bundle.parse`` refuses (tests in tests/bench compare the two)."""
    if len(bundle) < 2 or bundle[0] != 1 or bundle[1] == 0:
        raise ValueError("bundle header")
    count, offset, out = bundle[1], 2, []
    for _ in range(count):
        if offset + 3 > len(bundle):
            raise ValueError("bundle entry truncated")
        kind, length = _ENTRY.unpack_from(bundle, offset)
        offset += 3
        if kind > 1 or length == 0 or length > 1500 or offset + length > len(bundle):
            raise ValueError("bundle entry")
        if kind == 0:
            if length < 12:
                raise ValueError("RTP datagram shorter than its header")
            seq, ts, ssrc = _RTP.unpack_from(bundle, offset + 2)
            out.append((ssrc, ts, seq))
        offset += length
    if offset != len(bundle):
        raise ValueError("bytes after the last datagram")
    return out
