"""Group key lifetimes: the next key is made and exported ahead of its switch, an expired key leaves the
exports and the store, and a store whose keys all expired gets a fresh one instead of going plain."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import config
from engine.api.keys import KeyLifetime, KeyStore
from engine.jobs.model import Group
from engine.jobs.store import Store
from streaming.provisioning import parse_provisioning
from streaming.srtp import SrtpSession

LIFETIME = KeyLifetime(lifetime_s=100.0, ahead_s=30.0, overlap_s=5.0)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _setup(tmp_path: Path) -> tuple[Clock, KeyStore, Group]:
    clock = Clock()
    store = Store(tmp_path / "loa.db", clock=clock)
    group = store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004), srtp=True)
    return clock, KeyStore(store, clock=clock, lifetime=LIFETIME), group


def _exported(keys: KeyStore, group: Group) -> list[int]:
    return [k.mki for k in parse_provisioning(keys.provisioning([group]))["ap-1"]]


def test_the_next_key_is_exported_ahead_and_the_old_one_leaves_after_the_overlap(tmp_path: Path) -> None:
    clock, keys, group = _setup(tmp_path)
    t0 = clock.t
    first = keys.keys("ap-1")
    assert [k.mki for k in first] == [1] and first[0].not_after == pytest.approx(t0 + 105)
    clock.t = t0 + 69  # 31 s before the switch: not yet
    keys.maintain()
    assert _exported(keys, group) == [1]
    clock.t = t0 + 70  # 30 s ahead of the switch: the next key is made, and every export carries it
    made = keys.maintain()
    assert [(g, k.mki) for g, k in made] == [("ap-1", 2)]
    second = keys.keys("ap-1")[1]
    assert second.not_before == pytest.approx(t0 + 100) and second.not_after == pytest.approx(t0 + 205)
    assert _exported(keys, group) == [1, 2]
    # senders switch at not_before; until then, and during the overlap, a receiver takes both keys
    sender = SrtpSession(keys.keys("ap-1"), clock=clock)
    assert sender.current_key().mki == 1
    clock.t = t0 + 100
    assert sender.current_key().mki == 2
    clock.t = t0 + 105.5  # the overlap is over: key 1 is exported nowhere and forgotten by the store
    keys.maintain()
    assert _exported(keys, group) == [2] and [k.mki for k in keys.store.group_keys("ap-1")] == [2]
    assert keys.maintain() == []  # idempotent until the next lead


def test_a_server_off_longer_than_a_lifetime_makes_a_key_usable_now_not_plain_rtp(tmp_path: Path) -> None:
    clock, keys, _ = _setup(tmp_path)
    keys.keys("ap-1")
    clock.t += 1000
    ring = keys.keys("ap-1")
    assert [k.mki for k in ring] == [2] and ring[0].not_before == clock.t
    assert keys.key_source("ap-1") is not None and keys.groups() == ["ap-1"]


def test_keys_made_before_lifetimes_get_an_end_with_time_to_re_provision(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "loa.db", clock=clock)
    store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004), srtp=True)
    clock.t += 10 * 86400  # a ten-day-old key without not_after
    keys = KeyStore(store, clock=clock, lifetime=LIFETIME)
    ring = keys.keys("ap-1")
    assert ring[0].mki == 1 and ring[0].not_after == pytest.approx(clock.t + 30 + 5)
    assert [k.mki for k in ring] == [1, 2] and ring[1].not_before == pytest.approx(clock.t + 30)


def test_a_manual_rotation_replaces_the_key_made_ahead(tmp_path: Path) -> None:
    clock, keys, _ = _setup(tmp_path)
    clock.t += 80
    keys.maintain()
    assert [k.mki for k in keys.keys("ap-1")] == [1, 2]
    keys.rotate("ap-1", lead_s=0, overlap_s=0)  # revoke now (a key was stolen)
    assert [k.mki for k in keys.keys("ap-1")] == [3]


def test_the_lifetime_settings_are_checked_at_load_naming_the_key() -> None:
    loaded = config.load(env={"LOA_SRTP_KEY_LIFETIME_S": "3600", "LOA_SRTP_KEY_AHEAD_S": "600"})
    assert KeyLifetime.from_config(loaded).bound_s == 3600 + 300
    assert KeyLifetime.from_config(config.load(env={})).bound_s == 86400 + 300
    with pytest.raises(ValueError, match="srtp_key_ahead_s"):
        config.load(env={"LOA_SRTP_KEY_LIFETIME_S": "3600", "LOA_SRTP_KEY_AHEAD_S": "3600"})
    with pytest.raises(ValueError, match="srtp_key_lifetime_s"):
        config.load(env={"LOA_SRTP_KEY_LIFETIME_S": "0"})
