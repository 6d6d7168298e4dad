"""The fleet simulator's lean readers (bench/fleet_wire.py) agree with the project's own parsers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import fleet_wire as wire
from streaming.broker.bundle import Bundle, Datagram, Kind

RTP = struct.Struct("!BBHII")


def rtp(seq: int, ts: int, ssrc: int, payload: bytes = b"opus") -> bytes:
    return RTP.pack(0x80, 111, seq, ts, ssrc) + payload


@given(
    st.lists(
        st.tuples(
            st.booleans(), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)
        ),
        min_size=1,
        max_size=64,
    )
)
def test_rtp_headers_reads_every_rtp_datagram_of_a_bundle_and_skips_rtcp(
    entries: list[tuple[bool, int, int, int]],
) -> None:
    datagrams = tuple(
        Datagram(Kind.RTCP, b"\x80\xc8" + bytes(10)) if is_rtcp else Datagram(Kind.RTP, rtp(seq, ts, ssrc))
        for is_rtcp, seq, ts, ssrc in entries
    )
    payload = Bundle(datagrams).serialize()
    expected = [(ssrc, ts, seq) for is_rtcp, seq, ts, ssrc in entries if not is_rtcp]
    assert wire.rtp_headers(payload) == expected
    assert wire.rtp_headers(memoryview(payload)) == expected


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x02\x01\x00\x00\x0c" + bytes(12),  # version 2
        b"\x01\x00",  # no datagram
        b"\x01\x01\x00\x00\x0c" + bytes(11),  # truncated datagram
        b"\x01\x01\x02\x00\x0c" + bytes(12),  # kind 2
        b"\x01\x01\x00\x00\x0c" + bytes(13),  # a byte after the last datagram
        b"\x01\x02\x00\x00\x0c" + bytes(12),  # count says two
    ],
)
def test_rtp_headers_refuses_what_bundle_parse_refuses(bad: bytes) -> None:
    with pytest.raises(ValueError):
        Bundle.parse(bad)
    with pytest.raises(ValueError):
        wire.rtp_headers(bad)


def test_split_cuts_whole_packets_and_keeps_a_partial_one_for_the_next_read() -> None:
    big = wire.publish("loa/v1/p/g/x1/media", bytes(300))  # a two-byte remaining length
    small = wire.publish("loa/v1/p/g/x2/media", b"\x01")
    buf = bytearray(big + small + big[:7])
    packets = wire.split(buf)
    assert [(t, f) for t, f, _ in packets] == [(wire.PUBLISH, 0), (wire.PUBLISH, 0)]
    assert [wire.publish_parts(f, b) for _, f, b in packets] == [
        (b"loa/v1/p/g/x1/media", memoryview(bytes(300))),
        (b"loa/v1/p/g/x2/media", memoryview(b"\x01")),
    ]
    assert buf == big[:7]
    buf += big[7:]
    assert [wire.publish_parts(f, b)[1].tobytes() for _, f, b in wire.split(buf)] == [bytes(300)]
    assert buf == b""


def test_a_qos1_publish_carries_its_packet_id_and_retain_flag() -> None:
    packet = bytearray(wire.publish("t", b"online", packet_id=7, retain=True))
    [(ptype, flags, body)] = wire.split(packet)
    assert (ptype, flags) == (wire.PUBLISH, 0x03)
    assert wire.publish_parts(flags, body) == (b"t", memoryview(b"online"))


@given(st.integers(0, (1 << 28) - 1))
def test_varint_round_trips(n: int) -> None:
    encoded = wire.varint(n)
    assert wire.read_varint(encoded, 0) == (n, len(encoded))
    assert wire.read_varint(encoded[:-1], 0) is None


def test_varint_refuses_five_bytes_and_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        wire.read_varint(b"\xff\xff\xff\xff\x01", 0)
    with pytest.raises(ValueError):
        wire.varint(1 << 28)
