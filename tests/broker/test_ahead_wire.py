"""The delivered-ahead item (streaming/broker/ahead.py): round trip, strict parsing, the size bound, the
topic and the ACL lines that carry it."""

from __future__ import annotations

import random
import secrets
import time

import pytest

from engine.broker.mosquitto import MAX_PACKET, Accounts, acl_text
from streaming.ahead import Plan, Timed, render
from streaming.broker.ahead import MAX_ITEM, AheadItem
from streaming.broker.topics import Topics
from streaming.packetizer import Destination
from streaming.srtp import MasterKey

KEY = MasterKey.generate(4, not_before=time.time() - 60)


def _item(frames: list[bytes], **kw: object) -> AheadItem:
    start = time.time() + 600
    plan = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), start - 1.5)
    timed = render(frames, plan, Destination("239.1.1.1", 5004, keys=lambda: [KEY]))
    fields: dict[str, object] = {
        "bulletin": "b-42_X",
        "airing": 0,
        "group": "ap-1",
        "start_time": start,
        "expires_at": timed[-1].at + 60,
        "priority": 1,
        "datagrams": tuple(timed),
    }
    fields.update(kw)
    return AheadItem(**fields)  # type: ignore[arg-type]


def _opus_like(n: int, size: int = 80) -> list[bytes]:
    rng = random.Random(1)
    return [bytes([0x78]) + rng.randbytes(size - 1) for _ in range(n)]


def test_an_item_round_trips_exactly() -> None:
    item = _item(_opus_like(100))
    data = item.serialize()
    back = AheadItem.parse(data)
    assert back == item
    assert back.serialize() == data


def test_a_ten_minute_bulletin_at_32_kbps_fits_the_item_and_the_brokers_packet_limit() -> None:
    # 32 kb/s is 80 bytes a frame on average; 20 % more for VBR peaks and in-band FEC
    item = _item(_opus_like(10 * 60 * 50, 96))
    size = len(item.serialize())
    print(f"10-minute item: {size} bytes, {len(item.datagrams)} datagrams")
    assert size <= MAX_ITEM < MAX_PACKET - 1024  # room for the MQTT headers and the topic


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bulletin", "bad/id", "bulletin"),
        ("bulletin", "x" * 65, "bulletin"),
        ("group", "Bad", "group"),
        ("airing", -1, "airing"),
        ("priority", 3, "priority"),
        ("priority", 0, "priority"),
        ("start_time", float("nan"), "start_time"),
        ("expires_at", 1.0, "expires_at"),
        ("datagrams", (), "datagrams"),
    ],
)
def test_a_bad_field_is_refused_by_name(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _item(_opus_like(10), **{field: value})


def test_datagram_times_must_not_decrease_nor_sizes_exceed_a_datagram() -> None:
    item = _item(_opus_like(10))
    swapped = (item.datagrams[2], item.datagrams[1], *item.datagrams[3:])
    with pytest.raises(ValueError, match="decrease"):
        _item(_opus_like(10), datagrams=(item.datagrams[0], *swapped))
    with pytest.raises(ValueError, match="bytes"):
        _item(_opus_like(10), datagrams=(Timed(item.first_at, False, b"x" * 1501),))


def test_garbage_truncations_and_bit_flips_are_value_errors_never_crashes() -> None:
    data = _item(_opus_like(30)).serialize()
    rng = random.Random(7)
    refused = 0
    for _ in range(3000):
        case = rng.randrange(4)
        if case == 0:
            mutated = data[: rng.randrange(len(data))]
        elif case == 1:
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            mutated = bytes(b)
        elif case == 2:
            mutated = data + rng.randbytes(rng.randint(1, 10))
        else:
            mutated = rng.randbytes(rng.randint(0, 300))
        try:
            AheadItem.parse(mutated)
        except ValueError:
            refused += 1
    assert refused > 2000  # most mutations are refused; the rest are well-formed items (e.g. a data bit)
    for payload in (b"", b"LOAH", b"LOAH\x02\x00\x00", b"LOAH\x01\xff\xff", b"\x00" * (MAX_ITEM + 1)):
        with pytest.raises(ValueError):
            AheadItem.parse(payload)


def test_headers_with_wrong_types_or_keys_are_refused() -> None:
    item = _item(_opus_like(5))
    data = item.serialize()
    head_len = int.from_bytes(data[5:7], "big")
    head = data[7 : 7 + head_len]
    for old, new in [(b'"airing":0', b'"airing":"0"'), (b'"priority":1', b'"priority":true'),
                     (b'"group":"ap-1"', b'"group":1'), (b'"airing":0', b'"airing":0,"x":1')]:  # fmt: skip
        bad = head.replace(old, new)
        assert bad != head
        payload = data[:5] + len(bad).to_bytes(2, "big") + bad + data[7 + head_len :]
        with pytest.raises(ValueError):
            AheadItem.parse(payload)


def test_the_topic_is_per_group_and_bulletin_and_parses_back() -> None:
    t = Topics("hue")
    assert t.ahead("ap-1", "b-42_X") == "loa/v1/hue/g/ap-1/ahead/b-42_X"
    assert t.parse_ahead("loa/v1/hue/g/ap-1/ahead/b-42_X") == ("ap-1", "b-42_X")
    assert t.ahead_filter("ap-1") == "loa/v1/hue/g/ap-1/ahead/+"
    for bad in ("b/x", "b+", "#", "", "x" * 65):
        with pytest.raises(ValueError):
            t.ahead("ap-1", bad)
    for topic in ("loa/v1/hue/g/ap-1/media", "loa/v1/hue/g/ap-1/ahead/a/b", "loa/v1/g/ap-1/ahead/b"):
        with pytest.raises(ValueError):
            t.parse_ahead(topic)


def test_the_acl_lets_clusters_read_their_groups_items_and_only_servers_write() -> None:
    accounts = Accounts({"_loa": "h"}, {"c-1": ("h", ("ap-1", "ap-2"))})
    lines = acl_text(accounts, Topics()).splitlines()
    server = lines[lines.index("user _loa") : lines.index("user c-1")]
    cluster = lines[lines.index("user c-1") :]
    assert "topic write loa/v1/g/+/ahead/+" in server
    assert "topic read loa/v1/g/ap-1/ahead/+" in cluster
    assert "topic read loa/v1/g/ap-2/ahead/+" in cluster
    assert not any("ahead" in line and "write" in line for line in cluster)
