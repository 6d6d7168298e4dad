"""A cluster's cache of bulletins delivered ahead (streaming/broker/cache.py): on disk, bounded, reloaded;
the injector delivers each datagram at its send time; cleared, expired and malformed items."""

from __future__ import annotations

import secrets
import stat
import threading
import time
from pathlib import Path

import numpy as np

from streaming.ahead import Plan, render
from streaming.broker.ahead import AheadItem
from streaming.broker.cache import AheadCache, Injector
from streaming.packetizer import Destination
from streaming.srtp import MasterKey

KEY = MasterKey.generate(5, not_before=time.time() - 60)


def _item(bulletin: str, start: float, frames: int = 25, group: str = "ap-1") -> AheadItem:
    plan = Plan(secrets.randbits(32), secrets.randbits(16), secrets.randbits(32), start - 0.5)
    payloads = [b"\x78" + secrets.token_bytes(79) for _ in range(frames)]
    timed = render(payloads, plan, Destination("239.1.1.1", 5004, keys=lambda: [KEY]))
    return AheadItem(bulletin, 0, group, start, timed[-1].at + 30.0, 1, tuple(timed))


class Delivered:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, float]] = []
        self.lock = threading.Lock()

    def __call__(self, group: str, data: bytes) -> None:
        with self.lock:
            self.got.append((group, data, time.time()))


def test_items_are_stored_0600_and_reloaded_after_a_restart(tmp_path: Path) -> None:
    cache = AheadCache(tmp_path / "cache")
    item = _item("b1", time.time() + 600)
    cache.on_message("ap-1", "b1", item.serialize())
    files = list((tmp_path / "cache").iterdir())
    assert [f.name for f in files] == ["ap-1.b1.loah"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    cache.on_message("ap-1", "b1", item.serialize())  # a retained copy redelivered on reconnect
    assert cache.counters.stored == 1 and cache.counters.unchanged == 1
    (tmp_path / "cache" / "ap-1.junk.loah").write_bytes(b"not an item")
    again = AheadCache(tmp_path / "cache")
    assert again.items() == [item]
    assert again.counters.bad_files == 1 and not (tmp_path / "cache" / "ap-1.junk.loah").exists()


def test_the_cache_stays_within_its_bytes_dropping_the_earliest_start_first(tmp_path: Path) -> None:
    now = time.time()
    items = [_item(f"b{i}", now + 600 + 60 * i) for i in range(4)]
    size = items[0].size
    cache = AheadCache(tmp_path, max_bytes=int(size * 3.5))
    for item in (items[2], items[0], items[1], items[3]):
        cache.put(item)
    assert sorted(i.bulletin for i in cache.items()) == ["b1", "b2", "b3"]
    assert cache.counters.evicted == 1 and cache.bytes_used <= cache.max_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ap-1.b1.loah", "ap-1.b2.loah", "ap-1.b3.loah"]
    assert not AheadCache(None, max_bytes=size - 1).put(items[0])  # larger than the whole cache


def test_malformed_or_mismatched_payloads_are_counted_and_dropped(tmp_path: Path) -> None:
    cache = AheadCache(tmp_path)
    item = _item("b1", time.time() + 600)
    cache.on_message("ap-1", "b1", b"garbage")
    cache.on_message("ap-2", "b1", item.serialize())  # an item of ap-1 on ap-2's topic
    cache.on_message("ap-1", "other", item.serialize())
    assert cache.counters.malformed == 3 and cache.items() == []


def test_the_injector_delivers_each_datagram_at_its_send_time_in_order(tmp_path: Path) -> None:
    item = _item("b1", time.time() + 0.8, frames=50)
    cache = AheadCache(tmp_path)
    cache.put(item)
    delivered = Delivered()
    injector = Injector(cache, delivered, time.time).start()
    try:
        deadline = time.time() + 5
        while cache.items() and time.time() < deadline:
            time.sleep(0.05)
    finally:
        injector.stop()
    assert [d for _, d, _ in delivered.got] == [t.data for t in item.datagrams]
    late = np.array([at - t.at for (_, _, at), t in zip(delivered.got, item.datagrams, strict=True)])
    print(f"injection lateness p50 {np.median(late) * 1e3:.2f} ms, max {late.max() * 1e3:.2f} ms")
    assert late.min() > -0.003 and np.percentile(late, 99) < 0.02
    assert cache.counters.played == 1 and cache.items() == [] and list(tmp_path.iterdir()) == []


def test_an_empty_retained_message_stops_an_injection_in_progress(tmp_path: Path) -> None:
    item = _item("b1", time.time() + 0.3, frames=100)
    cache = AheadCache(tmp_path)
    cache.put(item)
    delivered = Delivered()
    injector = Injector(cache, delivered, time.time).start()
    try:
        time.sleep(0.8)
        cache.on_message("ap-1", "b1", b"")
        cut = len(delivered.got)
        time.sleep(0.5)
    finally:
        injector.stop()
    assert 0 < cut < len(item.datagrams) and len(delivered.got) == cut
    assert cache.counters.cleared == 1 and list(tmp_path.iterdir()) == []


def test_an_item_whose_time_passed_unplayed_is_dropped_and_reported_missed(tmp_path: Path) -> None:
    cache = AheadCache(tmp_path)
    past = _item("gone", time.time() - 5)
    cache.put(past)
    missed: list[AheadItem] = []
    delivered = Delivered()
    injector = Injector(cache, delivered, time.time, missed.append).start()
    time.sleep(0.3)
    injector.stop()
    assert missed == [past] and delivered.got == [] and cache.items() == []
    assert not cache.put(past)  # its retained copy again (on reconnect) is not taken, nor reported twice


def test_nothing_is_injected_while_the_sender_clock_is_unknown(tmp_path: Path) -> None:
    cache = AheadCache(tmp_path)
    cache.put(_item("b1", time.time() + 0.2))
    delivered = Delivered()
    injector = Injector(cache, delivered, lambda: None).start()
    time.sleep(0.5)
    injector.stop()
    assert delivered.got == [] and len(cache.items()) == 1
