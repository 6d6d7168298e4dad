"""Who may call what: bearer tokens checked on every RPC, roles per method, group scopes per broadcast.

The interceptor wraps each method handler, so the checks run on the worker thread that serves the call:
there it reads ``authorization: Bearer <token>``, aborts with UNAUTHENTICATED or PERMISSION_DENIED (the
message says what was missing), sets the caller's Principal for the servicer (``principal()``), checks a
CreateBroadcast's priority and groups against the token (it has the request), and appends every mutating
call, refused ones included, to the audit log. Health and reflection stay open.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from engine.api.audit import AuditLog
from engine.api.tokens import ALL_GROUPS, InvalidToken, Role, TokenInfo, TokenStore
from streaming.priority import Priority

log = logging.getLogger(__name__)


# None: open to everyone. A method missing here needs ADMIN (fail closed until someone maps it).
METHOD_ROLES: dict[str, Role | None] = {
    "/loa.v1.Synthesis/Synthesize": Role.PUBLISHER,
    "/loa.v1.Synthesis/StreamSynthesize": Role.PUBLISHER,
    "/loa.v1.Synthesis/ListVoices": Role.VIEWER,
    "/loa.v1.Synthesis/Normalize": Role.VIEWER,
    "/loa.v1.Lexicon/ListLexiconEntries": Role.VIEWER,
    # the deployment's entries change what every speaker says: admin; a group's entries: a publisher
    # scoped to that group (a commune's editor) or higher, checked in engine/api/lexicon.py
    "/loa.v1.Lexicon/PutLexiconEntry": Role.PUBLISHER,
    "/loa.v1.Lexicon/DeleteLexiconEntry": Role.PUBLISHER,
    "/loa.v1.Broadcasts/CreateBroadcast": Role.PUBLISHER,  # + check_broadcast on the request
    "/loa.v1.Broadcasts/GetBroadcast": Role.VIEWER,
    "/loa.v1.Broadcasts/ListBroadcasts": Role.VIEWER,
    "/loa.v1.Broadcasts/CancelBroadcast": Role.PUBLISHER,  # + the servicer's check_groups
    "/loa.v1.Broadcasts/WatchBroadcast": Role.VIEWER,
    "/loa.v1.Broadcasts/AirLiveVoice": Role.PUBLISHER,  # + check_broadcast on its header, in live_voice.py
    "/loa.v1.Groups/CreateGroup": Role.ADMIN,
    "/loa.v1.Groups/GetGroup": Role.VIEWER,
    "/loa.v1.Groups/UpdateGroup": Role.ADMIN,
    "/loa.v1.Groups/DeleteGroup": Role.ADMIN,
    "/loa.v1.Groups/ListGroups": Role.VIEWER,
    "/loa.v1.Groups/ListSpeakers": Role.VIEWER,
    "/loa.v1.Groups/GetGroupKeys": Role.ADMIN,  # SRTP keys: whoever has them can make speakers talk
    "/loa.v1.Groups/RotateGroupKeys": Role.ADMIN,  # hands out the new keys too
    # bundles carry a broker password and SRTP keys; revoking silences a cluster: admin
    "/loa.v1.Clusters/CreateCluster": Role.ADMIN,
    "/loa.v1.Clusters/UpdateCluster": Role.ADMIN,
    "/loa.v1.Clusters/RevokeCluster": Role.ADMIN,
    "/loa.v1.Clusters/GetCluster": Role.VIEWER,
    "/loa.v1.Clusters/ListClusters": Role.VIEWER,
    "/loa.v1.Clusters/ListPlayReports": Role.VIEWER,
    "/loa.v1.Server/GetServerInfo": Role.VIEWER,
    # schedules: as CreateBroadcast (+ check_broadcast on the template, in the servicer), reads as Get
    "/loa.v1.Schedules/CreateSchedule": Role.PUBLISHER,
    "/loa.v1.Schedules/UpdateSchedule": Role.PUBLISHER,
    "/loa.v1.Schedules/DeleteSchedule": Role.PUBLISHER,
    "/loa.v1.Schedules/GetSchedule": Role.VIEWER,
    "/loa.v1.Schedules/ListSchedules": Role.VIEWER,
}
OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def _groups_of_request(request: Any, response: Any) -> tuple[str, list[str]]:
    """(target, groups) of a mutating call, for the audit log."""
    if hasattr(request, "schedule"):  # CreateSchedule
        return getattr(response, "id", ""), list(request.schedule.template.group_ids)
    if hasattr(request, "schedule_id"):  # Update/DeleteSchedule: groups live in the store
        return request.schedule_id, []
    if hasattr(request, "cluster_id"):  # Clusters
        return request.cluster_id, list(getattr(request, "group_ids", ()))
    if hasattr(request, "group_ids"):  # CreateBroadcast
        return getattr(response, "id", ""), list(request.group_ids)
    if hasattr(request, "broadcast_id"):  # CancelBroadcast: groups live in the store
        return request.broadcast_id, list(getattr(response, "group_ids", ()))
    if hasattr(request, "group"):  # CreateGroup, UpdateGroup
        return request.group.id, [request.group.id]
    if hasattr(request, "entry") or hasattr(request, "written"):  # Put/DeleteLexiconEntry
        about = getattr(request, "entry", request)
        return f"lexicon:{about.written}", [about.group_id] if about.group_id else []
    group_id = getattr(request, "group_id", "")
    return group_id, [group_id] if group_id else []


MUTATING = frozenset(
    {
        "/loa.v1.Broadcasts/CreateBroadcast",
        "/loa.v1.Broadcasts/CancelBroadcast",
        "/loa.v1.Broadcasts/AirLiveVoice",  # makes speakers speak: audited with the broadcast it became
        "/loa.v1.Groups/CreateGroup",
        "/loa.v1.Groups/UpdateGroup",
        "/loa.v1.Groups/DeleteGroup",
        "/loa.v1.Groups/GetGroupKeys",  # reads, but hands out secrets: audited like a change
        "/loa.v1.Groups/RotateGroupKeys",
        "/loa.v1.Lexicon/PutLexiconEntry",
        "/loa.v1.Lexicon/DeleteLexiconEntry",
        "/loa.v1.Clusters/CreateCluster",
        "/loa.v1.Clusters/UpdateCluster",
        "/loa.v1.Clusters/RevokeCluster",
        "/loa.v1.Schedules/CreateSchedule",
        "/loa.v1.Schedules/UpdateSchedule",
        "/loa.v1.Schedules/DeleteSchedule",
    }
)


def required_role(method: str) -> Role | None:
    if method.startswith(OPEN_SERVICES):
        return None
    return METHOD_ROLES.get(method, Role.ADMIN)


@dataclass(frozen=True)
class Principal:
    """The caller of the current RPC, as the servicer sees it."""

    token_id: str
    name: str
    role: Role
    groups: tuple[str, ...]

    @classmethod
    def of(cls, info: TokenInfo) -> Principal:
        return cls(info.id, info.name, info.role, info.groups)

    def covers(self, group_id: str) -> bool:
        return ALL_GROUPS in self.groups or group_id in self.groups

    def describe(self) -> str:
        return f"token {self.token_id} ({self.name}, role {self.role.name.lower()})"


# The caller when auth is off (allowed only on a loopback listen address): everything, audited as such.
LOCAL = Principal("", "local (auth off)", Role.ADMIN, (ALL_GROUPS,))
# The caller of an open method (health, reflection): no token is looked at.
ANONYMOUS = Principal("", "anonymous", Role.VIEWER, ())

_PRINCIPAL: contextvars.ContextVar[Principal] = contextvars.ContextVar("loa_principal")


def principal(context: grpc.ServicerContext | None = None) -> Principal:
    """The caller of the RPC being served on this thread. Raises if AuthInterceptor is not installed, so a
    servicer can never run unchecked by mistake. (context is accepted for call sites that have one.)"""
    try:
        return _PRINCIPAL.get()
    except LookupError:
        raise RuntimeError("no principal: the server was built without AuthInterceptor") from None


def check_groups(who: Principal, group_ids: Sequence[str], field: str = "group_ids") -> None:
    """PermissionError naming the first group the token does not cover, e.g. "group_ids[2]: ..."."""
    for i, group_id in enumerate(group_ids):
        if not who.covers(group_id):
            raise PermissionError(f"{field}[{i}]: {who.describe()} may not act on group {group_id!r}")


def check_broadcast(who: Principal, priority: int, group_ids: Sequence[str]) -> None:
    """May this caller air a broadcast of this priority (loa.v1.Priority number) on these groups?
    Unknown priority numbers count as EMERGENCY (fail closed; validation reports them separately)."""
    if who.role < Role.PUBLISHER:
        raise PermissionError(f"priority: {who.describe()} may not broadcast (needs publisher or higher)")
    if (priority >= Priority.EMERGENCY or priority < 0) and who.role < Role.EMERGENCY:
        raise PermissionError(f"priority: EMERGENCY needs the emergency or admin role; {who.describe()}")
    check_groups(who, group_ids)


def _priority_name(value: int) -> str:
    try:
        return Priority.from_wire(value).name
    except ValueError:
        return str(value)


def _bearer(metadata: Sequence[tuple[str, Any]] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return ""
    return None


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, who: Principal | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.who = who  # known when the token was valid but not enough


class AuthInterceptor(grpc.ServerInterceptor):
    """store None: auth is off (require_auth decided it may be) and every caller is LOCAL; the audit log
    still records mutating calls. Install after any metrics interceptor so refusals are counted too."""

    def __init__(self, store: TokenStore | None, audit: AuditLog | None = None) -> None:
        self._store = store
        self._audit = audit

    def _authenticate(self, method: str, context: grpc.ServicerContext) -> Principal:
        role = required_role(method)
        if self._store is None:
            return LOCAL
        if role is None:
            return ANONYMOUS
        token = _bearer(context.invocation_metadata())
        if not token:
            what = "missing" if token is None else "malformed (expected 'Bearer <token>')"
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                f"authorization metadata {what}: send 'authorization: Bearer <token>'"
                " (create a token with `loa token create`)",
            )
        try:
            who = Principal.of(self._store.authenticate(token))
        except InvalidToken as exc:
            raise _Refused(grpc.StatusCode.UNAUTHENTICATED, f"invalid token: {exc}") from None
        if role is not None and who.role < role:
            raise _Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{method.rsplit('/', 1)[-1]} needs role {role.name.lower()} or higher; {who.describe()}",
                who,
            )
        return who

    def _record(
        self, method: str, who: Principal | None, context: grpc.ServicerContext, request: Any, response: Any,
        code: grpc.StatusCode, detail: str,
    ) -> None:  # fmt: skip
        if self._audit is None or method not in MUTATING:
            return
        target, groups = (
            _groups_of_request(request, response)
            if request is not None  # a client-streaming call (AirLiveVoice): what it became says
            else (getattr(response, "id", ""), list(getattr(response, "group_ids", ())))
        )
        priority = getattr(request, "priority", None)
        if priority is not None and method.endswith("/CreateBroadcast"):
            detail = f"priority={_priority_name(priority)}" + (f"; {detail}" if detail else "")
        try:
            self._audit.record(
                method=method,
                code=code.name,
                token_id=who.token_id if who else "",
                token_name=who.name if who else "",
                role=who.role.name.lower() if who else "",
                target=target,
                groups=groups,
                peer=context.peer() or "",
                detail=detail,
            )
        except Exception:
            log.exception("audit log: could not record %s", method)

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method

        def admit(
            request: Any, context: grpc.ServicerContext
        ) -> tuple[Principal, contextvars.Token[Principal]]:
            try:
                who = self._authenticate(method, context)
                if method == "/loa.v1.Broadcasts/CreateBroadcast" and request is not None:
                    try:
                        check_broadcast(who, int(request.priority), list(request.group_ids))
                    except PermissionError as exc:
                        raise _Refused(grpc.StatusCode.PERMISSION_DENIED, str(exc), who) from None
            except _Refused as refused:
                self._record(method, refused.who, context, request, None, refused.code, str(refused))
                context.abort(refused.code, str(refused))
                raise  # abort() raises; this is never reached
            return who, _PRINCIPAL.set(who)

        def outcome(context: grpc.ServicerContext, failed: bool) -> tuple[grpc.StatusCode, str]:
            code = context.code() if hasattr(context, "code") else None
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
            details_text = context.details() if hasattr(context, "details") else None
            text = details_text.decode() if isinstance(details_text, bytes) else details_text or ""
            return code, text

        def unary(behavior: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                who, token = admit(request, context)
                response, failed = None, True
                try:
                    response = behavior(request, context)
                    failed = False
                    return response
                finally:
                    _PRINCIPAL.reset(token)
                    self._record(method, who, context, request, response, *outcome(context, failed))

            return run

        def streaming(behavior: Callable[[Any, Any], Iterator[Any]]) -> Callable[[Any, Any], Iterator[Any]]:
            def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                who, token = admit(request, context)
                failed = True
                try:
                    yield from behavior(request, context)
                    failed = False
                finally:
                    _PRINCIPAL.reset(token)
                    self._record(method, who, context, request, None, *outcome(context, failed))

            return run

        def request_streaming(behavior: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def run(requests: Any, context: grpc.ServicerContext) -> Any:
                who, token = admit(None, context)
                response, failed = None, True
                try:
                    response = behavior(requests, context)
                    failed = False
                    return response
                finally:
                    _PRINCIPAL.reset(token)
                    self._record(method, who, context, None, response, *outcome(context, failed))

            return run

        args = (handler.request_deserializer, handler.response_serializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), *args)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(streaming(handler.unary_stream), *args)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(request_streaming(handler.stream_unary), *args)
        return grpc.stream_stream_rpc_method_handler(request_streaming(handler.stream_stream), *args)


def is_loopback(listen_address: str) -> bool:
    """Whether a gRPC listen address ("127.0.0.1:50051", "[::1]:50051", "localhost:50051",
    "unix:/path") accepts connections from this machine only. Anything unsure is not loopback.

    An abstract unix socket ("unix-abstract:name") is not: it has no file, so no permissions, and any
    process of any user in the network namespace can connect to it (security issue #12: with auth off
    there, anyone could create a group and read its keys)."""
    address = listen_address.strip()
    if address.startswith("unix-abstract:"):
        return False
    if address.startswith("unix:"):
        return True
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_auth(listen_address: str, auth_enabled: bool) -> bool:
    """Whether tokens are required. Auth may be turned off only on a loopback address: a server open to
    everyone on the network is refused with a ValueError naming the setting."""
    if auth_enabled:
        return True
    if is_loopback(listen_address):
        return False
    raise ValueError(
        f"config auth: cannot be off when listening on {listen_address!r}, which is not a loopback "
        "address; keep auth on, or listen on 127.0.0.1 / [::1] / unix:"
    )


def bearer_metadata(token: str) -> tuple[tuple[str, str]]:
    """Call metadata for clients: ``stub.Method(request, metadata=bearer_metadata(token))``."""
    return (("authorization", f"Bearer {token}"),)
