"""RTP/RTCP parse ↔ serialize, wrap-safe arithmetic, and parsers that reject garbage with ValueError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import rtcp
from streaming.clock import MediaClock, ntp_from_wall, ntp_middle, wall_from_ntp
from streaming.rtp import RtpPacket, Unwrapper, is_rtcp, seq_diff, seq_newer, ts_diff
from streaming.timesync import sync_sample


def test_rtp_round_trip_with_csrc_extension_marker() -> None:
    packet = RtpPacket(
        96, 65535, 2**32 - 1, 0xDEADBEEF, b"opus", marker=True, csrc=(1, 2), extension=(0xBEDE, b"abcd")
    )
    assert RtpPacket.parse(packet.serialize()) == packet


def test_rtp_padding_is_stripped() -> None:
    raw = bytearray(RtpPacket(96, 1, 2, 3, b"xyz").serialize() + b"\0\0\0\x04")
    raw[0] |= 0x20
    assert RtpPacket.parse(bytes(raw)).payload == b"xyz"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x80\x60\x00", "too short"),
        (b"\x40\x60" + b"\0" * 10, "version"),
        (b"\x8f\x60" + b"\0" * 10, "CSRC"),
        (b"\x90\x60" + b"\0" * 10, "extension header"),
        (b"\x90\x60" + b"\0" * 10 + b"\xbe\xde\x00\x05", "extension longer"),
        (b"\xa0\x60" + b"\0" * 10 + b"ab\x09", "padding"),
        (b"\xa0\x60" + b"\0" * 10 + b"ab\x00", "padding"),
    ],
)
def test_rtp_bad_input_is_a_value_error(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RtpPacket.parse(raw)


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(128, 0, 0, 0),
        RtpPacket(96, 70000, 0, 0),
        RtpPacket(96, 0, 2**32, 0),
        RtpPacket(96, 0, 0, -1),
    ],
)
def test_rtp_serialize_rejects_out_of_range_fields(packet: RtpPacket) -> None:
    with pytest.raises(ValueError):
        packet.serialize()


def test_wrap_safe_arithmetic() -> None:
    assert seq_diff(2, 65534) == 4 and seq_diff(65534, 2) == -4
    assert seq_newer(0, 65535) and not seq_newer(65535, 0)
    assert ts_diff(100, 2**32 - 860) == 960
    u = Unwrapper(16)
    assert [u.extend(s) for s in (65534, 65535, 0, 65533, 1)] == [65534, 65535, 65536, 65533, 65537]
    with pytest.raises(ValueError):
        u.extend(70000)
    with pytest.raises(ValueError):
        Unwrapper(8)


def test_rtcp_compound_round_trip() -> None:
    block = rtcp.ReportBlock(0x1234, 25, -3, 70000, 480, 0xAABBCCDD, 65536)
    packets: list[rtcp.Packet] = [
        rtcp.SenderReport(1, ntp_from_wall(1.7e9), 12345, 10, 1000, [block]),
        rtcp.ReceiverReport(2, [block, block]),
        rtcp.SourceDescription([(1, {rtcp.SDES_CNAME: b"loa-server"}), (2, {1: b"abc", 6: b"x" * 4})]),
        rtcp.Bye([1, 2], "done"),
        rtcp.SpeakerStatus(7, 1, -1500, 3, 4, 3).to_app(),
        rtcp.time_reply(9, 1, 2, 3),
    ]
    parsed = rtcp.parse_compound(rtcp.serialize_compound(packets))
    assert parsed == packets
    assert rtcp.SpeakerStatus.from_app(parsed[4]) == rtcp.SpeakerStatus(7, 1, -1500, 3, 4, 3)  # type: ignore[arg-type]
    assert rtcp.parse_time(parsed[5]) == (1, 2, 3)  # type: ignore[arg-type]
    assert parsed[2].cname(1) == "loa-server"  # type: ignore[union-attr]
    assert is_rtcp(rtcp.serialize(packets[0])) and not is_rtcp(RtpPacket(96, 0, 0, 0).serialize())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x80", "too short"),
        (b"\x40\xc8\x00\x00", "version"),
        (b"\x80\xc8\x00\x09" + b"\0" * 8, "longer than the datagram"),
        (b"\x81\xc9\x00\x01" + b"\0" * 4, "report blocks"),
        (b"\x81\xca\x00\x01" + b"\0\0\0\1", "not terminated"),
        (b"\x81\xca\x00\x02" + b"\0\0\0\1\x01\x09ab", "longer than the packet"),
        (b"\x80\xcc\x00\x01" + b"\0" * 4, "APP packet too short"),
        (b"\x80\xc9\x00\x01" + b"\0" * 4 + b"\x80", "trailing"),
    ],
)
def test_rtcp_bad_input_is_a_value_error(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rtcp.parse_compound(raw)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_parsers_never_crash_on_garbage(data: bytes) -> None:
    for parse in (RtpPacket.parse, rtcp.parse_compound):
        with contextlib.suppress(ValueError):
            parse(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=4, max_size=120), st.integers(0, 255))
def test_rtcp_parser_never_crashes_on_mutated_reports(tail: bytes, flip: int) -> None:
    good = bytearray(rtcp.serialize_compound([rtcp.ReceiverReport(1, [rtcp.ReportBlock(2, 0, 0, 0, 0)])]))
    good[flip % len(good)] ^= 0xFF
    with contextlib.suppress(ValueError):
        rtcp.parse_compound(bytes(good) + tail)


def test_ntp_and_media_clock() -> None:
    wall = 1_750_000_000.123456
    assert abs(wall_from_ntp(ntp_from_wall(wall)) - wall) < 1e-6
    assert ntp_middle(ntp_from_wall(wall)) == (ntp_from_wall(wall) >> 16) & 0xFFFFFFFF
    clock = MediaClock(wall=100.0, rtp=2**32 - 480)
    assert clock.wall_of(480) == pytest.approx(100.02)  # across the 32-bit wrap
    assert clock.rtp_at(100.02) == 480
    sample = sync_sample(t1=10.0, t2=15.001, t3=15.002, t4=10.005)
    assert sample.offset == pytest.approx(4.999) and sample.rtt == pytest.approx(0.004)
