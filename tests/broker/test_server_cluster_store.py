"""Clusters in the store (real SQLite): accounts' groups, the broker playout delay, presence from
statuses, idempotent play reports, and missed bulletins computed from the broadcasts that aired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.jobs.errors import AlreadyExists, NotFound
from engine.jobs.model import BroadcastState, EventType
from engine.jobs.store import Store
from engine.jobs.validation import InvalidField
from streaming.broker.messages import PlayReport, State, Status, StopReason
from tests.jobs.conftest import FakeClock, make_group, make_spec

ONLINE = Status(State.ONLINE, "0.4.0", 12.0, "4g", "", 41.5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store(tmp_path / "loa.db", clock=clock) as s:
        s.create_group(make_group("ap-1", "239.9.0.1"))
        s.create_group(make_group("ap-2", "239.9.0.2", playout_delay_s=0.8))
        s.create_group(make_group("ap-3", "239.9.0.3"))
        yield s


def report(bulletin: str, airing: int = 0, start: float = 1_790_000_100.0) -> PlayReport:
    return PlayReport(bulletin, airing, start, start + 10, 500, 3, 1, StopReason.END)


def test_a_cluster_is_created_for_existing_groups_and_a_default_delay_group_gets_the_broker_delay(
    store: Store,
) -> None:
    cluster, raised = store.create_cluster("c-1", ["ap-1", "ap-2"], broker_delay_s=1.5)
    assert cluster.groups == ("ap-1", "ap-2") and not cluster.revoked
    assert raised == ["ap-1"]  # ap-2's 0.8 s was chosen by someone: kept
    assert store.get_group("ap-1").playout_delay_s == 1.5
    assert store.get_group("ap-2").playout_delay_s == 0.8
    assert store.get_group("ap-3").playout_delay_s == 0.5
    assert [c.id for c in store.list_clusters("ap-2")] == ["c-1"]
    assert store.list_clusters("ap-3") == []


def test_bad_ids_unknown_groups_and_duplicates_are_refused_naming_the_field(store: Store) -> None:
    with pytest.raises(InvalidField, match="cluster_id"):
        store.create_cluster("C/1", ["ap-1"])
    with pytest.raises(NotFound, match=r"group_ids\[1\]: no group 'ap-9'"):
        store.create_cluster("c-1", ["ap-1", "ap-9"])
    with pytest.raises(InvalidField, match="group_ids"):
        store.create_cluster("c-1", [])
    store.create_cluster("c-1", ["ap-1"])
    with pytest.raises(AlreadyExists, match="c-1"):
        store.create_cluster("c-1", ["ap-2"])


def test_presence_follows_statuses_and_a_retained_redelivery_is_not_a_reconnect(
    store: Store, clock: FakeClock
) -> None:
    store.create_cluster("c-1", ["ap-1"])
    t0 = clock.now
    store.record_cluster_messages([("c-1", ONLINE, t0 + 1)], [])
    store.record_cluster_messages([("c-1", ONLINE, t0 + 2)], [])  # the same retained status again
    p = store.get_cluster("c-1").presence
    assert p.online and p.connect_time == t0 + 1 and p.reconnects == 0 and p.last_seen == t0 + 2
    assert (p.version, p.network, p.temperature_c, p.uptime_s) == ("0.4.0", "4g", 41.5, 12.0)
    store.record_cluster_messages([("c-1", Status.offline(), t0 + 5)], [])
    p = store.get_cluster("c-1").presence
    assert not p.online and p.disconnect_time == t0 + 5 and p.version == "0.4.0"
    again = Status(State.ONLINE, "0.4.0", 3.0, "3g", "no sink")
    store.record_cluster_messages([("c-1", again, t0 + 9)], [])
    p = store.get_cluster("c-1").presence
    assert p.online and p.connect_time == t0 + 9 and p.reconnects == 1 and p.error == "no sink"
    assert store.cluster_counts() == {"ap-1": (1, 0, t0 + 9)}


def test_play_reports_are_stored_once_and_only_from_known_clusters_that_are_not_revoked(
    store: Store,
) -> None:
    store.create_cluster("c-1", ["ap-1"])
    store.create_cluster("c-2", ["ap-1"])
    r = report("b-1")
    intake = store.record_cluster_messages([], [("c-1", r, 1.0), ("c-1", r, 2.0), ("c-x", r, 2.0)])
    assert (intake.reports, intake.duplicates, intake.unknown) == (1, 1, 1)
    store.revoke_cluster("c-2")
    assert store.record_cluster_messages([("c-2", ONLINE, 3.0)], [("c-2", r, 3.0)]).unknown == 2
    rows = store.play_reports()
    assert [(x.cluster, x.bulletin, x.played, x.concealed, x.lost, x.stop) for x in rows] == [
        ("c-1", "b-1", 500, 3, 1, "end")
    ]
    assert rows[0].received_at == 1.0
    assert store.play_reports(cluster="c-2") == [] and store.play_reports(bulletin="b-2") == []
    assert len(store.play_reports(since=r.started_at, until=r.started_at + 1)) == 1
    assert store.play_reports(since=r.started_at + 1) == []


def test_an_aired_bulletin_without_a_report_counts_as_missed_after_the_grace(
    store: Store, clock: FakeClock
) -> None:
    store.create_cluster("c-1", ["ap-1"])
    store.create_cluster("c-2", ["ap-1", "ap-2"])
    store.create_cluster("c-3", ["ap-3"])  # not targeted
    b, _ = store.create_broadcast(make_spec("ap-1", "ap-2", repeat_count=2))
    store.update_broadcast(b.id, EventType.ON_AIR, state=BroadcastState.ON_AIR)
    clock.advance(30)
    store.update_broadcast(b.id, EventType.FINISHED, state=BroadcastState.FINISHED, repeats_done=2)
    store.record_cluster_messages(
        [], [("c-1", report(b.id, 0), clock.now), ("c-1", report(b.id, 1), clock.now)]
    )
    store.record_cluster_messages([], [("c-2", report(b.id, 1), clock.now)])
    assert store.missed_bulletins(clock.now + 10, grace_s=60) == []  # reports may still come
    missed = store.missed_bulletins(clock.now + 61, grace_s=60)
    assert [(m.cluster, m.bulletin, m.airing) for m in missed] == [("c-2", b.id, 0)]  # once, not per group
    assert store.missed_bulletins(clock.now + 61, 60, cluster="c-1") == []
    # a cluster created after the airing never counts it
    store.create_cluster("c-4", ["ap-1"])
    assert all(m.cluster != "c-4" for m in store.missed_bulletins(clock.now + 61, 60))
