from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from engine.jobs.model import BroadcastSpec, Group, Priority, Segment
from engine.jobs.validation import InvalidField, validate_broadcast_spec, validate_group

NOW = 1_790_000_000.0
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def good_group(**kw: Any) -> Group:
    return dataclasses.replace(
        Group(id="ap-phu-hoa", name="Ấp Phú Hòa", multicast_address="239.10.0.1"), **kw
    )


def good_spec(**kw: Any) -> BroadcastSpec:
    base = BroadcastSpec(
        segments=(
            Segment(language="vi", text="Thông báo lúc 7h30 ngày 26/11."),
            Segment(language="km", text="សួស្តី"),
        ),
        group_ids=("ap-phu-hoa", "ap-tan-an"),
    )
    return dataclasses.replace(base, **kw)


def seg(**kw: Any) -> BroadcastSpec:
    return good_spec(segments=(Segment(language="vi", text="Xin chào."), Segment(**kw)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": ""}, "group.id: empty"),
        ({"id": "Ap_1"}, "group.id: 'Ap_1' must be 1..63"),
        ({"id": "a" * 64}, "group.id:"),
        ({"name": "bad\x00name"}, "group.name: control character U+0000"),
        ({"multicast_address": ""}, "group.multicast_address: empty"),
        ({"multicast_address": "loa.local"}, "group.multicast_address: 'loa.local' is not an IP address"),
        ({"multicast_address": "10.0.0.1"}, "group.multicast_address: 10.0.0.1 is not a multicast address"),
        (
            {"multicast_address": "224.0.0.1"},
            "group.multicast_address: 224.0.0.1 is reserved (224.0.0.0/24 local network control)",
        ),
        ({"multicast_address": "224.0.0.251"}, "224.0.0.0/24 local network control"),
        ({"multicast_address": "224.0.1.1"}, "224.0.1.0/24 internetwork control"),
        ({"multicast_address": "232.1.2.3"}, "232.0.0.0/8 source-specific multicast"),
        ({"multicast_address": "239.255.255.250"}, "(SSDP)"),
        ({"multicast_address": "2001:db8::1"}, "2001:db8::1: IPv6 groups are not supported"),
        (
            {"multicast_address": "ff15::1234"},
            "group.multicast_address: ff15::1234: IPv6 groups are not supported",
        ),
        ({"multicast_address": "ff02::1"}, "ff02::1: IPv6 groups are not supported"),
        ({"port": 5005}, "group.port: 5005 must be even"),
        ({"port": 1022}, "group.port: 1022 must be even and in 1024..65534"),
        ({"port": 65536}, "group.port: 65536"),
        ({"ttl": 256}, "group.ttl: 256 not in 0..255"),
        ({"ttl": -1}, "group.ttl: -1 not in 0..255"),
        ({"interface": "not an interface!"}, "group.interface:"),
        ({"opus_bitrate_bps": 5999}, "group.opus_bitrate_bps: 5999 not in 6000..128000"),
        ({"opus_bitrate_bps": 128001}, "group.opus_bitrate_bps: 128001"),
        ({"expected_loss_percent": 51}, "group.expected_loss_percent: 51 not in 0..50"),
        ({"playout_delay_s": 0.01}, "group.playout_delay_s: 0.01 s not in 0.05..10 s"),
        ({"playout_delay_s": 10.5}, "group.playout_delay_s: 10.5 s"),
        ({"playout_delay_s": math.nan}, "group.playout_delay_s: nan is not a number"),
    ],
)
def test_bad_group_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidField) as err:
        validate_group(good_group(**change))
    assert message in str(err.value)
    assert str(err.value).startswith(err.value.field + ": ")


@pytest.mark.parametrize(
    "address",
    ["239.10.0.1", "224.0.2.1", "233.252.0.1"],
)
def test_good_multicast_addresses(address: str) -> None:
    assert validate_group(good_group(multicast_address=address)).multicast_address == address


def test_group_defaults_and_canonical_address() -> None:
    g = validate_group(
        good_group(
            multicast_address=" 239.10.0.1 ", interface="eth0", ttl=0, opus_bitrate_bps=0, playout_delay_s=0
        )
    )
    assert (g.multicast_address, g.ttl, g.opus_bitrate_bps, g.playout_delay_s) == (
        "239.10.0.1",
        16,
        32000,
        0.5,
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (good_spec(segments=()), "segments: empty"),
        (good_spec(segments=(Segment(text="a"),) * 33), "segments: 33, at most 32"),
        (seg(text=""), "segments[1].text: empty"),
        (seg(text=" \n\t "), "segments[1].text: empty"),
        (seg(text="a" * 100_001), "segments[1].text: 100001 characters, at most 100000"),
        (seg(text="chuông\x07reo"), "segments[1].text: control character U+0007"),
        (seg(text="a\u0085b"), "segments[1].text: control character U+0085"),
        (seg(), "segments[1]: needs text or audio"),
        (seg(text="a", audio=WAV), "segments[1]: has both text and audio"),
        (seg(audio=b""), "segments[1].audio: empty"),
        (seg(audio=b"ID3\x03mp3 data"), "segments[1].audio: not a WAV or Ogg file"),
        (seg(text="a", language="Vietnamese"), "segments[1].language: 'Vietnamese' is not a language code"),
        (seg(text="a", speed=0.25), "segments[1].voice.speed: 0.25 not in (0.25, 4]"),
        (seg(text="a", speed=4.5), "segments[1].voice.speed: 4.5"),
        (seg(text="a", speed=math.inf), "segments[1].voice.speed: inf is not a number"),
        (seg(text="a", noise_scale=-0.1), "segments[1].voice.noise_scale: -0.1 not in [0, 2]"),
        (seg(text="a", noise_w=2.5), "segments[1].voice.noise_w: 2.5 not in [0, 2]"),
        (seg(text="a", voice_id="v" * 129), "segments[1].voice.voice_id: 129 characters"),
        (good_spec(group_ids=()), "group_ids: empty"),
        (good_spec(group_ids=tuple(f"g{i}" for i in range(257))), "group_ids: 257, at most 256"),
        (good_spec(group_ids=("a", "B")), "group_ids[1]: 'B' must be"),
        (good_spec(group_ids=("a", "b", "a")), "group_ids[2]: 'a' given twice"),
        (good_spec(start_time=NOW - 6), "start_time: 6.0 s in the past"),
        (good_spec(start_time=NOW + 367 * 86400), "start_time: 367 days ahead, at most 366"),
        (good_spec(repeat_count=101), "repeat_count: 101 not in 0..100"),
        (good_spec(repeat_gap_s=3601), "repeat_gap: 3601 s not in 0..3600 s"),
        (good_spec(repeat_gap_s=-1), "repeat_gap: -1 s"),
        (good_spec(sentence_pause_s=11.0), "sentence_pause: 11.0 s not in 0..10 s"),
        (good_spec(idempotency_key="k" * 129), "idempotency_key: 129 characters, at most 128"),
        (good_spec(title="t" * 201), "title: 201 characters, at most 200"),
        (good_spec(priority=7), "priority: 7 is not a priority"),
    ],
)
def test_bad_broadcast_names_the_field(spec: BroadcastSpec, message: str) -> None:
    with pytest.raises(InvalidField) as err:
        validate_broadcast_spec(spec, NOW)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_good_broadcast_is_normalized() -> None:
    spec = good_spec(
        segments=(
            Segment(language="vi", text="Tin khẩn.\n\tHết."),
            Segment(audio=WAV),
            Segment(audio=b"OggS..."),
        ),
        start_time=NOW - 4.9,
        repeat_count=0,
        priority=3,
    )
    out = validate_broadcast_spec(spec, NOW)
    assert out.repeat_count == 1
    assert out.priority is Priority.EMERGENCY
    assert (
        validate_broadcast_spec(
            good_spec(start_time=NOW + 366 * 86400 - 1, repeat_count=100), NOW
        ).repeat_count
        == 100
    )
