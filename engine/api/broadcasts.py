"""loa.v1.Broadcasts: bulletins in; the store answers, the runner airs them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc

from engine.api import convert
from engine.api.admission import Admission
from engine.api.auth import Principal, check_groups, principal
from engine.api.errors import field_named
from engine.api.live_voice import LiveSources, LiveVoice
from engine.api.synthesis import check_ssml, require_ssml_voices, require_voice
from engine.api.tokens import ALL_GROUPS
from engine.errors import NotFound
from engine.jobs.model import BroadcastSpec, Caller
from engine.jobs.store import Store
from engine.jobs.validation import GROUP_ID_RE, validate_broadcast_spec
from engine.tts import audiofile
from engine.tts.text import resolve_language
from engine.tts.voices.registry import VoiceRegistry
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc

WATCH_POLL_S = 1.0


class BroadcastsServicer(loa_pb2_grpc.BroadcastsServicer):
    def __init__(
        self,
        store: Store,
        voices: VoiceRegistry,
        on_change: Callable[[], None],
        admission: Admission,
        live: LiveSources | None = None,
    ) -> None:
        self.store = store
        self.voices = voices
        self.on_change = on_change
        self.admission = admission
        self.live = live or LiveSources()
        self.live_voice = LiveVoice(store, self.live, on_change, self._check_references)

    def _check_references(self, spec: BroadcastSpec) -> None:
        """Groups and voices must exist, and audio must decode: NOT_FOUND / INVALID_ARGUMENT, field named."""
        for i, group_id in enumerate(spec.group_ids):
            with field_named(f"group_ids[{i}]"):
                try:
                    self.store.get_group(group_id)
                except NotFound as exc:
                    # a fresh server has no groups: say how to make one, not only that it is missing
                    name = group_id if GROUP_ID_RE.fullmatch(group_id) else "ID"
                    raise NotFound(
                        f"{exc.args[0]}; create it first: loa group create {name} --address ADDR "
                        "(or the CreateGroup call)"
                    ) from None
        for i, segment in enumerate(spec.segments):
            if segment.live is not None:  # its source is reached only when it airs
                self.live.check(segment.live, f"segments[{i}].live")
                continue
            if segment.audio is not None:
                try:
                    audiofile.probe(segment.audio)
                except ValueError as exc:
                    raise ValueError(f"segments[{i}].{exc}") from None
                cut = audiofile.truncation(segment.audio)
                if cut is not None:
                    raise ValueError(f"segments[{i}].audio: {cut}")
                continue
            require_voice(
                self.voices,
                segment.language or "vi",
                segment.dialect or None,
                segment.voice_id or None,
                prefix=f"segments[{i}].",
            )
            if segment.ssml and segment.text is not None:
                # refused before anything is stored: line and column, and a voice for each xml:lang
                doc = check_ssml(segment.text, f"segments[{i}].text")
                try:
                    language = resolve_language(segment.language or "vi")
                except ValueError:
                    raise ValueError(f"segments[{i}].language: unsupported {segment.language!r}") from None
                require_ssml_voices(self.voices, doc, language, f"segments[{i}].text")

    def CreateBroadcast(
        self, request: pb.CreateBroadcastRequest, context: grpc.ServicerContext
    ) -> pb.Broadcast:
        who = principal(context)
        # requested_by is the caller's free text (a signature, a title); created_by is who it really was
        requested_by = request.requested_by or who.name
        caller = Caller(who.token_id, who.name, who.role.name.lower())
        # AuthInterceptor has checked the caller's role, priority and group scope on this request.
        spec = validate_broadcast_spec(convert.spec_from_pb(request, requested_by), time.time())
        self._check_references(spec)
        with self.admission.broadcast(spec, caller.scope):
            broadcast, created = self.store.create_broadcast(spec, caller)
        if created:
            self.on_change()
        return convert.broadcast_to_pb(broadcast)

    def AirLiveVoice(
        self, request_iterator: Iterator[pb.LiveVoiceRequest], context: grpc.ServicerContext
    ) -> pb.Broadcast:
        return self.live_voice(request_iterator, context)  # engine/api/live_voice.py

    def GetBroadcast(self, request: pb.GetBroadcastRequest, context: grpc.ServicerContext) -> pb.Broadcast:
        return convert.broadcast_to_pb(self._get(request.broadcast_id, principal(context)))

    def _get(self, broadcast_id: str, who: Principal) -> convert.Broadcast:
        """The broadcast if ``who`` may read it: every one of its groups in the token's scope (the rule
        that lets it create or cancel one). Otherwise NOT_FOUND, word for word as for an unknown id, so
        a token of one commune cannot even confirm another's broadcast ids (security #12)."""
        if not broadcast_id:
            raise ValueError("broadcast_id: empty")
        with field_named("broadcast_id"):
            broadcast = self.store.get_broadcast(broadcast_id)
            if not all(who.covers(g) for g in broadcast.group_ids):
                raise NotFound(f"no broadcast {broadcast_id!r}")
            return broadcast

    def ListBroadcasts(
        self, request: pb.ListBroadcastsRequest, context: grpc.ServicerContext
    ) -> pb.ListBroadcastsResponse:
        if request.page_size > 1000:
            raise ValueError("page_size: at most 1000")
        states = [convert.state_from_pb(s, f"states[{i}]") for i, s in enumerate(request.states)]
        after, before = (
            convert.seconds_of(getattr(request, name), name) if request.HasField(name) else None
            for name in ("created_after", "created_before")
        )
        try:
            found, token = self.store.list_broadcasts(
                states=states,
                group_id=request.group_id,
                created_after=after,
                created_before=before,
                page_size=request.page_size,
                page_token=request.page_token,
                within_groups=_scope(principal(context)),
            )
        except OverflowError:  # a forged token whose position SQLite cannot hold
            raise ValueError("page_token: not a token this server gave") from None
        return pb.ListBroadcastsResponse(
            broadcasts=[convert.broadcast_to_pb(b) for b in found], next_page_token=token
        )

    def CancelBroadcast(
        self, request: pb.CancelBroadcastRequest, context: grpc.ServicerContext
    ) -> pb.Broadcast:
        who = principal(context)
        broadcast = self._get(request.broadcast_id, who)
        check_groups(who, broadcast.group_ids)  # what it may read it may cancel: kept as the write rule
        with field_named("broadcast_id"):
            cancelled = self.store.cancel_broadcast(broadcast.id, request.reason)
        self.on_change()
        return convert.broadcast_to_pb(cancelled)

    def WatchBroadcast(
        self, request: pb.WatchBroadcastRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.BroadcastEvent]:
        broadcast = self._get(request.broadcast_id, principal(context))
        with self.admission.watch.take():
            # The current state first, then everything from now on.
            events = self.store.events(broadcast.id)
            if events:
                yield convert.event_to_pb(events[-1])
            last = events[-1].seq if events else 0
            state = broadcast.state
            while context.is_active() and not state.terminal:
                for event in self.store.wait_events(broadcast.id, last, WATCH_POLL_S):
                    yield convert.event_to_pb(event)
                    last = event.seq
                    state = event.state


def _scope(who: Principal) -> tuple[str, ...] | None:
    """The groups a caller may read broadcasts of; None: every group."""
    return None if ALL_GROUPS in who.groups else who.groups
