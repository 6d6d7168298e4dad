"""loa.v1.Clusters: cluster accounts on the broker, their provisioning bundles, presence and play reports.

The store holds the clusters (engine/jobs/cluster_store.py), the broker their password hashes and access
rules (engine/broker/service.py); a change goes to the store first (it validates and may refuse), then
to the broker, and a broker failure undoes the store's part. Revocation goes the other way round: the
broker first, so the cluster is cut off even if the store then fails.

A bundle carries the cluster's password (made here with ``secrets``, shown once: only its hash is kept),
the broker's CA, its groups as ``ADDR:PORT:PRIORITY:DELAY_MS`` and the SRTP keys of those groups that
have them. The interceptor lets only admins create, update and revoke (engine/api/auth.py).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Sequence

import grpc

from engine.api import convert
from engine.api.auth import Principal, principal
from engine.api.errors import field_named
from engine.api.keys import KeyStore
from engine.api.tokens import ALL_GROUPS
from engine.broker.cluster_metrics import MISSED_GRACE_S
from engine.broker.service import DEFAULT_BROKER_PLAYOUT_DELAY_S, BrokerService
from engine.errors import Conflict, NotFound
from engine.jobs.cluster_store import Cluster, Missed, PlayRecord, check_cluster_id
from engine.jobs.model import Group
from engine.jobs.store import Store
from engine.jobs.validation import InvalidField
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc
from streaming.broker.provision import BrokerProvision
from streaming.priority import Priority
from streaming.provisioning import parse_provisioning

PASSWORD_BYTES = 24  # 192 bits, URL-safe text: typed by nobody, pasted by everybody
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000


def cluster_to_pb(c: Cluster) -> pb.Cluster:
    p = c.presence
    out = pb.Cluster(
        id=c.id,
        group_ids=list(c.groups),
        create_time=convert.timestamp(c.create_time),
        update_time=convert.timestamp(c.update_time),
        revoke_time=convert.timestamp(c.revoke_time),
        online=p.online,
        connect_time=convert.timestamp(p.connect_time),
        disconnect_time=convert.timestamp(p.disconnect_time),
        last_seen_time=convert.timestamp(p.last_seen),
        reconnects=p.reconnects,
        version=p.version,
        uptime=convert.duration(p.uptime_s),
        network=p.network,
        error=p.error,
    )
    if p.temperature_c is not None:
        out.temperature_c = p.temperature_c
    return out


def report_to_pb(r: PlayRecord) -> pb.PlayReport:
    return pb.PlayReport(
        cluster_id=r.cluster,
        bulletin_id=r.bulletin,
        airing=r.airing,
        start_time=convert.timestamp(r.started_at),
        end_time=convert.timestamp(r.ended_at),
        frames_played=r.played,
        frames_concealed=r.concealed,
        frames_lost=r.lost,
        stop_reason=r.stop,
        receive_time=convert.timestamp(r.received_at),
    )


def missed_to_pb(m: Missed) -> pb.MissedBulletin:
    return pb.MissedBulletin(
        cluster_id=m.cluster,
        group_id=m.group,
        bulletin_id=m.bulletin,
        airing=m.airing,
        air_time=convert.timestamp(m.aired_at),
        end_time=convert.timestamp(m.ended_at),
    )


def cluster_speakers(store: Store, group_id: str = "") -> list[pb.Speaker]:
    """ListSpeakers' rows for the clusters (not revoked) of a group, or of all groups: one per cluster and
    group, from their authenticated presence."""
    rows = []
    for c in store.list_clusters(group_id or None, revoked=False):
        for g in c.groups:
            if group_id and g != group_id:
                continue
            rows.append(
                pb.Speaker(
                    cname=f"cluster:{c.id}",
                    group_id=g,
                    last_report_time=convert.timestamp(c.presence.last_seen),
                    online=c.presence.online,
                    cluster_id=c.id,
                )
            )
    return rows


def visible(who: Principal, cluster: Cluster) -> bool:
    """May this caller see the cluster (its presence, its play reports)? When one of its groups is in the
    token's scope: a commune's cluster also hears the district's group, which the commune's token does
    not cover, and the commune must still see it."""
    return any(who.covers(g) for g in cluster.groups)


def group_spec(group: Group) -> str:
    """The group as a speaker joins it (sdp.GroupSpec): the same delay on every speaker of the group."""
    priority = Priority.EMERGENCY if group.emergency else Priority.NORMAL
    delay_ms = round(group.playout_delay_s * 1000)
    return f"{group.multicast_address}:{group.port}:{priority.name.lower()}:{delay_ms}"


class ClustersServicer(loa_pb2_grpc.ClustersServicer):
    def __init__(
        self,
        store: Store,
        broker: BrokerService | None,
        keys: KeyStore,
    ) -> None:
        self.store = store
        self.broker = broker
        self.keys = keys

    def _broker(self) -> BrokerService:
        if self.broker is None:
            raise Conflict("broker: the embedded broker is off (config broker = true, LOA_BROKER=1)")
        return self.broker

    def _groups(self, group_ids: Sequence[str]) -> list[Group]:
        if not group_ids:
            raise InvalidField("group_ids", "a cluster needs at least one group")
        groups = []
        for i, group_id in enumerate(group_ids):
            with field_named(f"group_ids[{i}]"):
                groups.append(self.store.get_group(group_id))
        return groups

    def bundle(self, cluster_id: str, password: str, group_ids: Sequence[str]) -> str:
        broker = self._broker()
        groups = [self.store.get_group(g) for g in group_ids]  # as stored now: delays included
        keyed = [g for g in groups if self.keys.keys(g.id)]
        keys = json.loads(self.keys.provisioning(keyed)) if keyed else None
        if keys is not None:
            parse_provisioning(json.dumps(keys))  # what the speaker will read, checked here first
        provision = BrokerProvision(
            broker.public_host,
            broker.port,
            cluster_id,
            password,
            None,
            {g.id: group_spec(g) for g in groups},
            prefix=broker.topics.prefix,
            ca_pem=broker.ca_pem(),
            keys=keys,
        )
        cert, key = broker.client_certificate(cluster_id)
        return dataclasses.replace(provision, cert_pem=cert, key_pem=key).serialize()

    # -- RPCs -----------------------------------------------------------------------------------------

    def CreateCluster(
        self, request: pb.CreateClusterRequest, context: grpc.ServicerContext
    ) -> pb.CreateClusterResponse:
        check_cluster_id(request.cluster_id)
        self._groups(request.group_ids)
        broker = self._broker()
        with field_named("cluster_id"):
            cluster, raised = self.store.create_cluster(
                request.cluster_id, list(request.group_ids), broker_delay_s=DEFAULT_BROKER_PLAYOUT_DELAY_S
            )
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        try:
            bundle = self.bundle(cluster.id, password, cluster.groups)
            broker.add_cluster(cluster.id, password, cluster.groups)
        except BaseException:
            self.store.delete_cluster(cluster.id)  # never a cluster in the store without its account
            raise
        return pb.CreateClusterResponse(
            cluster=cluster_to_pb(cluster), provisioning_bundle=bundle, raised_delay_group_ids=raised
        )

    def _visible_cluster(self, cluster_id: str) -> Cluster:
        """The cluster if the caller may see it; otherwise NOT_FOUND word for word as for an unknown id,
        so one commune's token cannot confirm another's cluster ids (as broadcasts.py does)."""
        with field_named("cluster_id"):
            cluster = self.store.get_cluster(cluster_id)
            if not visible(principal(), cluster):
                raise NotFound(f"no cluster {cluster_id!r}")
            return cluster

    def GetCluster(self, request: pb.GetClusterRequest, context: grpc.ServicerContext) -> pb.Cluster:
        return cluster_to_pb(self._visible_cluster(request.cluster_id))

    def ListClusters(
        self, request: pb.ListClustersRequest, context: grpc.ServicerContext
    ) -> pb.ListClustersResponse:
        if request.group_id:
            with field_named("group_id"):
                self.store.get_group(request.group_id)
        clusters = self.store.list_clusters(request.group_id or None, revoked=request.include_revoked)
        who = principal()
        return pb.ListClustersResponse(clusters=[cluster_to_pb(c) for c in clusters if visible(who, c)])

    def UpdateCluster(
        self, request: pb.UpdateClusterRequest, context: grpc.ServicerContext
    ) -> pb.UpdateClusterResponse:
        broker = self._broker()
        with field_named("cluster_id"):
            before = self.store.get_cluster(request.cluster_id)
        self._groups(request.group_ids)
        cluster, raised = self.store.set_cluster_groups(
            before.id, list(request.group_ids), broker_delay_s=DEFAULT_BROKER_PLAYOUT_DELAY_S
        )
        bundle = ""
        if request.new_password:
            password = secrets.token_urlsafe(PASSWORD_BYTES)
            bundle = self.bundle(cluster.id, password, cluster.groups)
            broker.add_cluster(cluster.id, password, cluster.groups)  # the old password dies on the reload
        else:
            broker.set_groups(cluster.id, cluster.groups)
        return pb.UpdateClusterResponse(
            cluster=cluster_to_pb(cluster), provisioning_bundle=bundle, raised_delay_group_ids=raised
        )

    def RevokeCluster(self, request: pb.RevokeClusterRequest, context: grpc.ServicerContext) -> pb.Cluster:
        with field_named("cluster_id"):
            self.store.get_cluster(request.cluster_id)
        if self.broker is not None:
            self.broker.revoke(request.cluster_id)  # first: cut off even if the store fails next
        return cluster_to_pb(self.store.revoke_cluster(request.cluster_id))

    def ListPlayReports(
        self, request: pb.ListPlayReportsRequest, context: grpc.ServicerContext
    ) -> pb.ListPlayReportsResponse:
        if request.page_size > MAX_PAGE:
            raise InvalidField("page_size", f"{request.page_size} is over {MAX_PAGE}")
        if request.cluster_id:
            self._visible_cluster(request.cluster_id)
        since = (
            convert.seconds_of(request.start_time, "start_time") if request.HasField("start_time") else None
        )
        until = convert.seconds_of(request.end_time, "end_time") if request.HasField("end_time") else None
        if since is not None and until is not None and until < since:
            raise InvalidField("end_time", "before start_time")
        cluster, bulletin = request.cluster_id or None, request.bulletin_id or None
        reports = self.store.play_reports(cluster, bulletin, since, until, request.page_size or DEFAULT_PAGE)
        missed = self.store.missed_bulletins(time.time(), MISSED_GRACE_S, cluster, bulletin, since, until)
        who = principal()
        if ALL_GROUPS not in who.groups:  # a scoped token: only its clusters' reports, its groups' misses
            seen = {c.id for c in self.store.list_clusters(revoked=True) if visible(who, c)}
            reports = [r for r in reports if r.cluster in seen]
            missed = [m for m in missed if m.cluster in seen and who.covers(m.group)]
        return pb.ListPlayReportsResponse(
            reports=[report_to_pb(r) for r in reports], missed=[missed_to_pb(m) for m in missed]
        )
