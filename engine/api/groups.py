"""loa.v1.Groups: loudspeaker groups, the speakers heard in them through RTCP, and their SRTP keys.

With a KeyStore, a new group gets its first master key in the same transaction when ``srtp_new_groups``
(config ``srtp``) is on, a deleted group's keys go with it, and GetGroupKeys hands groups' keys to an
admin caller (the interceptor checks the role; keys never go to viewers).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import grpc

from engine.api import convert
from engine.api.auth import principal
from engine.api.clusters import cluster_speakers
from engine.api.errors import field_named
from engine.api.keys import DEFAULT_LEAD_S, DEFAULT_OVERLAP_S, MAX_ROTATION_S, KeyStore
from engine.errors import Conflict
from engine.jobs.model import Group
from engine.jobs.store import Store
from engine.jobs.validation import InvalidField, validate_group
from engine.metrics import SpeakerSample
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc
from streaming.feedback import SpeakerReport
from streaming.pacer import PacedSender

ONLINE_S = 15.0  # a speaker that reported within this long is online


class GroupsServicer(loa_pb2_grpc.GroupsServicer):
    def __init__(
        self,
        store: Store,
        sender: PacedSender,
        stream_groups: Callable[[int], tuple[str, ...]],
        on_change: Callable[[], None] = lambda: None,
        keys: KeyStore | None = None,
        srtp_new_groups: bool = True,
    ) -> None:
        self.store = store
        self.sender = sender
        self.stream_groups = stream_groups
        self.on_change = on_change
        self.keys = keys
        self.srtp_new_groups = srtp_new_groups

    def CreateGroup(self, request: pb.CreateGroupRequest, context: grpc.ServicerContext) -> pb.Group:
        srtp = self.keys is not None and self.srtp_new_groups
        with field_named("group.id"):
            group = self.store.create_group(validate_group(convert.group_from_pb(request.group)), srtp=srtp)
        self.on_change()
        return convert.group_to_pb(group)

    def GetGroup(self, request: pb.GetGroupRequest, context: grpc.ServicerContext) -> pb.Group:
        with field_named("group_id"):
            return convert.group_to_pb(self.store.get_group(request.group_id))

    def UpdateGroup(self, request: pb.UpdateGroupRequest, context: grpc.ServicerContext) -> pb.Group:
        fields = convert.group_mask(list(request.update_mask.paths))
        with field_named("group.id"):
            current = self.store.get_group(request.group.id)
        given = convert.group_from_pb(request.group)
        changes = {f: getattr(given, f) for f in (fields or convert.GROUP_MASK_FIELDS.values())}
        group = validate_group(dataclasses.replace(current, **changes))
        updated = self.store.update_group(group, fields)
        self.on_change()
        return convert.group_to_pb(updated)

    def DeleteGroup(
        self, request: pb.DeleteGroupRequest, context: grpc.ServicerContext
    ) -> pb.DeleteGroupResponse:
        with field_named("group_id"):
            self.store.delete_group(request.group_id)  # and its keys
        self.on_change()
        return pb.DeleteGroupResponse()

    def ListGroups(
        self, request: pb.ListGroupsRequest, context: grpc.ServicerContext
    ) -> pb.ListGroupsResponse:
        return pb.ListGroupsResponse(groups=[convert.group_to_pb(g) for g in self.store.list_groups()])

    def heard(self) -> list[tuple[str, SpeakerReport]]:
        """(group id, last report) for every speaker, once per group of the stream it reported on."""
        rows = []
        for report in self.sender.speakers():
            for group_id in self.stream_groups(report.media_ssrc) or ("",):
                rows.append((group_id, report))
        return rows

    def samples(self) -> list[SpeakerSample]:
        """What /metrics shows of the speakers (engine.metrics.SpeakerCollector)."""
        now = time.time()
        return [
            SpeakerSample(
                group_id or "unknown",
                now - r.last_seen <= ONLINE_S,
                r.fraction_lost,
                r.jitter_s,
                r.rtt_s,
                r.playout_offset_s,
                speaker=r.cname,
                report_age_s=max(0.0, now - r.last_seen),
            )
            for group_id, r in self.heard()
        ]

    def group_ids(self) -> list[str]:
        """Every group's id, so /metrics shows a group with no speaker as 0 rather than not at all."""
        return [g.id for g in self.store.list_groups()]

    def ListSpeakers(
        self, request: pb.ListSpeakersRequest, context: grpc.ServicerContext
    ) -> pb.ListSpeakersResponse:
        if request.group_id:
            with field_named("group_id"):
                self.store.get_group(request.group_id)  # NOT_FOUND for an unknown group
        now = time.time()
        rows = (
            [
                pb.Speaker(
                    cname=report.cname,
                    group_id=group_id,
                    address=report.address,
                    last_report_time=convert.timestamp(report.last_seen),
                    fraction_lost=report.fraction_lost,
                    packets_lost=max(0, report.cumulative_lost),
                    jitter=convert.duration(report.jitter_s),
                    round_trip=convert.duration(report.rtt_s),
                    playout_offset=convert.duration(report.playout_offset_s),
                    underruns=report.underruns,
                    playing_priority=pb.Priority.Name(report.playing_priority),
                    online=now - report.last_seen <= ONLINE_S,
                    rejected_packets=report.rejected_packets,
                )
                for group_id, report in self.heard()
                if not request.group_id or group_id == request.group_id
            ]
            + cluster_speakers(self.store, request.group_id)  # broker clusters: from presence, not RTCP
        )
        who = principal()  # a scoped token sees its groups' speakers only
        return pb.ListSpeakersResponse(speakers=[r for r in rows if who.covers(r.group_id)])

    def GetGroupKeys(
        self, request: pb.GetGroupKeysRequest, context: grpc.ServicerContext
    ) -> pb.GetGroupKeysResponse:
        keyed = set(self.keys.groups()) if self.keys is not None else set()
        if request.group_ids:
            groups = []
            for i, group_id in enumerate(request.group_ids):
                with field_named(f"group_ids[{i}]"):
                    groups.append(self.store.get_group(group_id))
            for i, group in enumerate(groups):
                if group.id not in keyed:
                    raise Conflict(f"group_ids[{i}]: group {group.id!r} has no SRTP keys (plain RTP)")
        else:
            groups = [g for g in self.store.list_groups() if g.id in keyed]
        if self.keys is None or not groups:
            return pb.GetGroupKeysResponse()
        return pb.GetGroupKeysResponse(
            groups=self._rings(self.keys, groups), provisioning_file=self.keys.provisioning(groups)
        )

    def RotateGroupKeys(
        self, request: pb.RotateGroupKeysRequest, context: grpc.ServicerContext
    ) -> pb.RotateGroupKeysResponse:
        """`loa keys rotate` through the server: every group is checked before any is rotated."""
        if not request.group_ids:
            raise InvalidField("group_ids", "name at least one group to rotate")
        lead, overlap = DEFAULT_LEAD_S, DEFAULT_OVERLAP_S
        if request.HasField("lead"):
            lead = convert.seconds_of(request.lead, "lead")
        if request.HasField("overlap"):
            overlap = convert.seconds_of(request.overlap, "overlap")
        for name, value in (("lead", lead), ("overlap", overlap)):
            if not 0 <= value <= MAX_ROTATION_S:  # a week: longer leaves a stolen key valid for too long
                raise InvalidField(name, f"{value:g} s is not within 0..{MAX_ROTATION_S:g} s")
        if self.keys is None:
            raise Conflict("group_ids: this server keeps no SRTP keys")
        groups = []
        for i, group_id in enumerate(request.group_ids):
            with field_named(f"group_ids[{i}]"):
                groups.append(self.store.get_group(group_id))
        for group in groups:
            self.keys.rotate(group.id, lead_s=lead, overlap_s=overlap)
        return pb.RotateGroupKeysResponse(
            groups=self._rings(self.keys, groups), provisioning_file=self.keys.provisioning(groups)
        )

    @staticmethod
    def _rings(keys: KeyStore, groups: list[Group]) -> list[pb.GroupKeyRing]:
        return [
            pb.GroupKeyRing(
                group_id=g.id,
                multicast_address=g.multicast_address,
                port=g.port,
                keys=[
                    pb.SrtpMasterKey(
                        mki=k.mki,
                        master_key=k.key,
                        master_salt=k.salt,
                        not_before=convert.timestamp(k.not_before),
                        not_after=convert.timestamp(k.not_after),
                    )
                    for k in keys.keys(g.id)
                ],
            )
            for g in groups
        ]
