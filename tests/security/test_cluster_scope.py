"""A token scoped to one commune's groups sees only that commune's clusters, speakers and play reports
(security #12: presence and reports are part of "the health of a loudspeaker"), over a real `loa serve`
with tokens. The clusters and their reports go straight into the server's store, as the broker intake
would put them (tests/broker covers that path with a real Mosquitto)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from engine.api.client import Client
from engine.api.tokens import Role, TokenStore
from engine.jobs.model import Group
from engine.jobs.store import Store
from protos.loa.v1 import loa_pb2 as pb
from streaming.broker.messages import PlayReport, StopReason
from tests.api.harness import Server

NOW = time.time()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("cluster-scope")
    store = Store(state / "loa.db")  # before the server starts: it locks its store
    for i, gid in enumerate(("xa-a", "xa-b", "huyen")):
        store.create_group(Group(gid, multicast_address=f"239.192.62.{i + 1}"))
    store.create_cluster("cum-a1", ["xa-a", "huyen"])  # commune A's cluster also hears the district
    store.create_cluster("cum-b1", ["xa-b", "huyen"])
    reports = [
        (c, PlayReport("bulletin-1", 0, NOW - 60, NOW - 50, 500, 0, 0, StopReason.END), NOW - 49)
        for c in ("cum-a1", "cum-b1")
    ]
    store.record_cluster_messages([], reports)
    store.close()
    srv = Server(state, auth=True).start()
    yield srv
    srv.stop()


def _commune_a(server: Server) -> Client:
    with TokenStore.in_state_dir(server.state) as tokens:
        token, _ = tokens.create("xa A viewer", Role.VIEWER, ["xa-a"])
    return server.client(token)


def test_a_scoped_token_lists_only_its_communes_clusters_and_reports(server: Server) -> None:
    a, admin = _commune_a(server), server.client()
    everything = admin.clusters.ListClusters(pb.ListClustersRequest(), metadata=admin.metadata)
    assert sorted(c.id for c in everything.clusters) == ["cum-a1", "cum-b1"]
    mine = a.clusters.ListClusters(pb.ListClustersRequest(), metadata=a.metadata)
    assert [c.id for c in mine.clusters] == ["cum-a1"], "the district group does not open commune B's"
    reports = a.clusters.ListPlayReports(pb.ListPlayReportsRequest(), metadata=a.metadata).reports
    assert [r.cluster_id for r in reports] == ["cum-a1"]
    all_reports = admin.clusters.ListPlayReports(pb.ListPlayReportsRequest(), metadata=admin.metadata)
    assert sorted(r.cluster_id for r in all_reports.reports) == ["cum-a1", "cum-b1"]
    speakers = a.groups.ListSpeakers(pb.ListSpeakersRequest(), metadata=a.metadata).speakers
    assert {(s.cluster_id, s.group_id) for s in speakers} == {("cum-a1", "xa-a")}


def test_another_communes_cluster_is_not_found_word_for_word_as_an_unknown_one(server: Server) -> None:
    a = _commune_a(server)
    own = a.clusters.GetCluster(pb.GetClusterRequest(cluster_id="cum-a1"), metadata=a.metadata)
    assert own.id == "cum-a1"
    details = []
    for cluster_id in ("cum-b1", "cum-zz"):
        calls = (
            (a.clusters.GetCluster, pb.GetClusterRequest(cluster_id=cluster_id)),
            (a.clusters.ListPlayReports, pb.ListPlayReportsRequest(cluster_id=cluster_id)),
        )
        for method, request in calls:
            with pytest.raises(grpc.RpcError) as info:
                method(request, metadata=a.metadata)
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
            details.append(info.value.details().replace(cluster_id, "ID"))
    assert len(set(details)) == 1, details
