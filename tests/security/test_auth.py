"""Tokens, roles and group scopes enforced over real gRPC on 127.0.0.1, with the audit log they write.

The servicers here are minimal stand-ins for engine/api's (they echo who called); the interceptor, token
store, audit log, server and client are the real ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from engine.api.audit import AuditLog
from engine.api.auth import (
    LOCAL,
    METHOD_ROLES,
    AuthInterceptor,
    Principal,
    bearer_metadata,
    check_broadcast,
    check_groups,
    is_loopback,
    principal,
    require_auth,
)
from engine.api.tokens import Role, TokenStore
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc as rpc

NORMAL, HIGH, EMERGENCY = pb.PRIORITY_NORMAL, pb.PRIORITY_HIGH, pb.PRIORITY_EMERGENCY
STORED_GROUPS = {"b-other": ["xa-an-binh"]}  # a broadcast already in the store, on another group


class Broadcasts(rpc.BroadcastsServicer):
    def CreateBroadcast(self, request: pb.CreateBroadcastRequest, context: Any) -> pb.Broadcast:
        who = principal(context)
        return pb.Broadcast(id="b-new", group_ids=request.group_ids, requested_by=who.name)

    def CancelBroadcast(self, request: pb.CancelBroadcastRequest, context: Any) -> pb.Broadcast:
        groups = STORED_GROUPS.get(request.broadcast_id, ["ap-phu-hoa"])
        try:
            check_groups(principal(), groups)
        except PermissionError as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        return pb.Broadcast(id=request.broadcast_id, group_ids=groups, state=pb.BROADCAST_STATE_CANCELLED)

    def WatchBroadcast(self, request: pb.WatchBroadcastRequest, context: Any) -> Iterator[pb.BroadcastEvent]:
        for _ in range(2):
            yield pb.BroadcastEvent(broadcast_id=request.broadcast_id, message=principal().name)


class Groups(rpc.GroupsServicer):
    def CreateGroup(self, request: pb.CreateGroupRequest, context: Any) -> pb.Group:
        return request.group

    def ListGroups(self, request: pb.ListGroupsRequest, context: Any) -> pb.ListGroupsResponse:
        return pb.ListGroupsResponse(groups=[pb.Group(id="ap-phu-hoa", name=principal().name)])


@dataclass
class Server:
    port: int
    store: TokenStore
    audit: AuditLog
    tokens: dict[str, str]

    def stubs(self) -> tuple[rpc.BroadcastsStub, rpc.GroupsStub, grpc.Channel]:
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return rpc.BroadcastsStub(channel), rpc.GroupsStub(channel), channel


def _start(interceptor: AuthInterceptor) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[interceptor])
    rpc.add_BroadcastsServicer_to_server(Broadcasts(), server)
    rpc.add_GroupsServicer_to_server(Groups(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("state")
    store, audit = TokenStore.in_state_dir(state), AuditLog.in_state_dir(state)
    tokens = {
        "viewer": store.create("dashboard", Role.VIEWER)[0],
        "publisher": store.create("district cms", Role.PUBLISHER, ["ap-phu-hoa"])[0],
        "emergency": store.create("civil defence", Role.EMERGENCY, ["ap-phu-hoa", "xa-an-binh"])[0],
        "admin": store.create("root", Role.ADMIN)[0],
    }
    grpc_server, port = _start(AuthInterceptor(store, audit))
    yield Server(port, store, audit, tokens)
    grpc_server.stop(None)


def _code(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def _create(priority: Any = NORMAL, groups: tuple[str, ...] = ("ap-phu-hoa",)) -> pb.CreateBroadcastRequest:
    return pb.CreateBroadcastRequest(
        segments=[pb.Segment(text="Thông báo")], group_ids=groups, priority=priority
    )


def test_missing_malformed_unknown_tokens_are_unauthenticated(server: Server) -> None:
    broadcasts, _, channel = server.stubs()
    with channel:
        code, message = _code(lambda: broadcasts.CreateBroadcast(_create(), timeout=5))
        assert code == grpc.StatusCode.UNAUTHENTICATED
        assert "authorization metadata missing" in message and "loa token create" in message
        code, message = _code(
            lambda: broadcasts.CreateBroadcast(
                _create(), metadata=[("authorization", "Basic abc")], timeout=5
            )
        )
        assert (code, "malformed" in message) == (grpc.StatusCode.UNAUTHENTICATED, True)
        watch = pb.WatchBroadcastRequest(broadcast_id="b-new")
        code, message = _code(lambda: list(broadcasts.WatchBroadcast(watch, timeout=5)))
        assert (code, "missing" in message) == (grpc.StatusCode.UNAUTHENTICATED, True)
        forged = "loa_0123456789abcdef_" + "A" * 43
        code, message = _code(lambda: broadcasts.CreateBroadcast(_create(), metadata=bearer_metadata(forged)))
        assert (code, message) == (grpc.StatusCode.UNAUTHENTICATED, "invalid token: unknown token")


def test_roles_per_method(server: Server) -> None:
    broadcasts, groups, channel = server.stubs()
    as_ = {role: bearer_metadata(token) for role, token in server.tokens.items()}
    with channel:
        assert groups.ListGroups(pb.ListGroupsRequest(), metadata=as_["viewer"]).groups[0].name == "dashboard"
        code, message = _code(lambda: broadcasts.CreateBroadcast(_create(), metadata=as_["viewer"]))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert message.startswith("CreateBroadcast needs role publisher or higher; token ")
        assert "(dashboard, role viewer)" in message
        new_group = pb.CreateGroupRequest(group=pb.Group(id="thon-3"))
        code, message = _code(lambda: groups.CreateGroup(new_group, metadata=as_["emergency"]))
        assert (code, "needs role admin" in message) == (grpc.StatusCode.PERMISSION_DENIED, True)
        assert groups.CreateGroup(new_group, metadata=as_["admin"]).id == "thon-3"


def test_priority_and_group_scopes_of_broadcasts(server: Server) -> None:
    broadcasts, _, channel = server.stubs()
    publisher, emergency = (
        bearer_metadata(server.tokens["publisher"]),
        bearer_metadata(server.tokens["emergency"]),
    )
    with channel:
        reply = broadcasts.CreateBroadcast(_create(HIGH), metadata=publisher)
        assert reply.requested_by == "district cms"  # the servicer saw the principal
        code, message = _code(lambda: broadcasts.CreateBroadcast(_create(EMERGENCY), metadata=publisher))
        assert code == grpc.StatusCode.PERMISSION_DENIED and message.startswith("priority: EMERGENCY needs")
        wide = _create(NORMAL, ("ap-phu-hoa", "xa-an-binh"))
        code, message = _code(lambda: broadcasts.CreateBroadcast(wide, metadata=publisher))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert message.startswith("group_ids[1]: token ") and "'xa-an-binh'" in message
        assert (
            broadcasts.CreateBroadcast(_create(EMERGENCY, ("xa-an-binh",)), metadata=emergency).id == "b-new"
        )
        code, message = _code(
            lambda: broadcasts.CancelBroadcast(
                pb.CancelBroadcastRequest(broadcast_id="b-other"), metadata=publisher
            )
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED and message.startswith("group_ids[0]:")
        events = broadcasts.WatchBroadcast(pb.WatchBroadcastRequest(broadcast_id="b-new"), metadata=publisher)
        assert [e.message for e in events] == ["district cms"] * 2  # principal reaches streaming handlers


def test_revoked_token_refused_on_next_call(server: Server, tmp_path: Path) -> None:
    token, info = server.store.create("temporary", Role.VIEWER)
    _, groups, channel = server.stubs()
    with channel:
        groups.ListGroups(pb.ListGroupsRequest(), metadata=bearer_metadata(token))
        with TokenStore(server.store.path) as cli:
            cli.revoke(info.id)
        code, message = _code(
            lambda: groups.ListGroups(pb.ListGroupsRequest(), metadata=bearer_metadata(token))
        )
        assert code == grpc.StatusCode.UNAUTHENTICATED and message.endswith("(temporary) was revoked")


def test_health_stays_open(server: Server) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_mutating_calls_are_audited_with_outcome_and_peer(server: Server) -> None:
    broadcasts, groups, channel = server.stubs()
    before = len(server.audit.entries())
    publisher = bearer_metadata(server.tokens["publisher"])
    with channel:
        broadcasts.CreateBroadcast(_create(), metadata=publisher)
        _code(lambda: broadcasts.CreateBroadcast(_create(EMERGENCY), metadata=publisher))
        _code(lambda: groups.DeleteGroup(pb.DeleteGroupRequest(group_id="ap-phu-hoa")))
        broadcasts.CancelBroadcast(pb.CancelBroadcastRequest(broadcast_id="b-new"), metadata=publisher)
        groups.ListGroups(pb.ListGroupsRequest(), metadata=publisher)  # a read: not audited
    entries = server.audit.entries()[before:]
    summary = [(e.method.rsplit("/", 1)[1], e.token_name, e.code, e.target, e.groups) for e in entries]
    assert summary == [
        ("CreateBroadcast", "district cms", "OK", "b-new", ("ap-phu-hoa",)),
        ("CreateBroadcast", "district cms", "PERMISSION_DENIED", "", ("ap-phu-hoa",)),
        ("DeleteGroup", "", "UNAUTHENTICATED", "ap-phu-hoa", ("ap-phu-hoa",)),
        ("CancelBroadcast", "district cms", "OK", "b-new", ("ap-phu-hoa",)),
    ]
    assert entries[1].detail.startswith("priority=EMERGENCY; priority: EMERGENCY needs")
    assert all(e.peer.startswith("ipv4:127.0.0.1:") for e in entries)


def test_auth_off_runs_as_local_and_still_audits(tmp_path: Path) -> None:
    audit = AuditLog.in_state_dir(tmp_path)
    grpc_server, port = _start(AuthInterceptor(None, audit))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = rpc.BroadcastsStub(channel).CreateBroadcast(_create(EMERGENCY), timeout=5)
    finally:
        grpc_server.stop(None)
    assert reply.requested_by == LOCAL.name
    assert [(e.token_name, e.code) for e in audit.entries()] == [(LOCAL.name, "OK")]


def test_principal_outside_an_authorized_call_fails_closed() -> None:
    with pytest.raises(RuntimeError, match="without AuthInterceptor"):
        principal()


def test_every_rpc_of_the_api_has_a_role() -> None:
    methods = {
        f"/{service.full_name}/{method.name}"
        for service in pb.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert methods == set(METHOD_ROLES)


def test_check_broadcast_rules() -> None:
    viewer = Principal("v", "v", Role.VIEWER, ("*",))
    publisher = Principal("p", "p", Role.PUBLISHER, ("a", "b"))
    emergency = Principal("e", "e", Role.EMERGENCY, ("a",))
    check_broadcast(publisher, NORMAL, ["a", "b"])
    check_broadcast(publisher, pb.PRIORITY_UNSPECIFIED, ["b"])
    check_broadcast(emergency, EMERGENCY, ["a"])
    for who, priority, groups, field in [
        (viewer, NORMAL, ["a"], "priority"),
        (publisher, EMERGENCY, ["a"], "priority"),
        (publisher, 7, ["a"], "priority"),  # unknown numbers count as emergency
        (publisher, HIGH, ["a", "b", "c"], "group_ids[2]"),
        (emergency, EMERGENCY, ["b"], "group_ids[0]"),
    ]:
        with pytest.raises(PermissionError, match="^" + re.escape(field) + ": "):
            check_broadcast(who, priority, groups)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:50051", True),
        ("127.5.6.7:50051", True),
        ("[::1]:50051", True),
        ("localhost:50051", True),
        ("unix:/run/loa.sock", True),
        ("unix-abstract:loa", False),  # no file permissions: any local user could connect
        ("0.0.0.0:50051", False),
        ("[::]:50051", False),
        (":50051", False),
        ("10.0.0.5:50051", False),
        ("loa.example.vn:50051", False),
    ],
)
def test_auth_may_be_off_only_on_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
    assert require_auth(address, True) is True
    if loopback:
        assert require_auth(address, False) is False
    else:
        with pytest.raises(ValueError, match="config auth: cannot be off"):
            require_auth(address, False)
