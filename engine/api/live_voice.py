"""loa.v1.Broadcasts/AirLiveVoice: an operator's microphone to groups, live (engine/live/voice.py), and
the server's factory of live feeds (the Studio's ``live_feed``).

The call: the header (groups, priority, title, audio format, maximum length), then audio chunks. It is
authorized as CreateBroadcast (an EMERGENCY voice needs the emergency role; every group in the token's
scope), becomes a broadcast with one live segment (kind voice, caller recorded), and airs at once:

- A group held by a broadcast of equal or higher priority (on air, or about to be) refuses the voice at
  once, FAILED_PRECONDITION naming the group: a voice cannot wait for its turn. Lower priorities are
  preempted as by any broadcast. If the planner has not started it ``START_TIMEOUT_S`` after it was
  stored (the groups became busy meanwhile), it is cancelled and refused the same way.
- The reply is the broadcast as it ended: FINISHED when the client closed its side ("client ended"),
  when it was gone (cancelled call, or no audio for voice.STALL_S: "client gone", also a gap in the log)
  or at max_duration. A bad header or chunk is INVALID_ARGUMENT naming the field; what aired until then
  stays aired, and the airing ends.

gRPC's ErrorInterceptor and DecodeInterceptor leave client-streaming calls alone, so this handler turns
its own errors into statuses (engine/api/errors.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from engine.api import convert
from engine.api.auth import check_broadcast, principal
from engine.api.errors import abort, is_abort
from engine.errors import Conflict
from engine.jobs.live_segment import FeedFactory
from engine.jobs.model import AIRING_STATES, LIVE_VOICE, Broadcast, BroadcastSpec, Caller, LiveSource, Segment
from engine.jobs.policy import airing_groups
from engine.jobs.store import Store
from engine.jobs.validation import MAX_LIVE_S, validate_broadcast_spec
from engine.live.feed import LiveFeed, LiveSourceFailed
from engine.live.relay import Relay
from engine.live.urls import UrlPolicy, check_url
from engine.live.voice import OPUS, PCM, VoiceDecoder, VoiceSession
from protos.loa.v1 import loa_pb2 as pb

log = logging.getLogger(__name__)

DEFAULT_MAX_S = 3600.0
START_TIMEOUT_S = 3.0  # the planner starts a voice within one pass (~ms); beyond this its groups are busy
END_TIMEOUT_S = 10.0  # after the client's end, how long the reply waits for the airing to drain
STATE_POLL_S = 0.5
FORMATS = {pb.LIVE_AUDIO_FORMAT_PCM_S16LE: PCM, pb.LIVE_AUDIO_FORMAT_OPUS: OPUS}


class LiveSources:
    """The live voices on air now, by broadcast id; and the Studio's feed factory for every live segment."""

    def __init__(self, relay: FeedFactory | None = None, policy: UrlPolicy | None = None) -> None:
        """``relay``: opens a relay's feed (engine/live/relay.py); None: relays fail with a reason.
        ``policy``: what a relay's URL may point at (the server's live_allowed_hosts)."""
        self._relay = relay
        self.policy = policy or UrlPolicy()
        self._sessions: dict[str, VoiceSession] = {}
        self._cond = threading.Condition()

    def add(self, broadcast_id: str, session: VoiceSession) -> None:
        with self._cond:
            self._sessions[broadcast_id] = session
            self._cond.notify_all()

    def remove(self, broadcast_id: str) -> None:
        with self._cond:
            self._sessions.pop(broadcast_id, None)

    def check(self, live: LiveSource, field: str) -> None:
        """A relay's URLs under the policy, without resolving names (their DNS may not be up yet; the
        relay checks every address it connects to). ValueError naming the field."""
        for i, url in enumerate((live.url, *live.backup_urls) if live.kind != LIVE_VOICE else ()):
            check_url(url, self.policy, f"{field}.url" if i == 0 else f"{field}.backup_urls[{i - 1}]", None)

    def open_feed(self, broadcast: Broadcast, seg_index: int) -> LiveFeed:
        live = broadcast.spec.segments[seg_index].live
        assert live is not None
        if live.kind != LIVE_VOICE:
            if self._relay is None:
                raise LiveSourceFailed("live.url: relays are not enabled on this server")
            return self._relay(broadcast, seg_index)
        with self._cond:  # the call stores the broadcast, then registers: the planner may be quicker
            self._cond.wait_for(lambda: broadcast.id in self._sessions, timeout=START_TIMEOUT_S)
            session = self._sessions.get(broadcast.id)
        if session is None:  # e.g. resumed after a restart: the caller's call is gone with the server
            raise LiveSourceFailed("live voice: client gone (no call for this broadcast)")
        return session.feed()


def relay_factory(policy: UrlPolicy) -> FeedFactory:
    """The server's relays: each live segment's source decoded by engine/live/relay.py. The duration
    and end time are the segment's; live_segment.py ends a resumed part at what is left of them."""

    def open_relay(broadcast: Broadcast, seg_index: int) -> LiveFeed:
        live = broadcast.spec.segments[seg_index].live
        assert live is not None
        return Relay(
            live.url, live.backup_urls, duration_s=live.duration_s, end_time=live.end_time, policy=policy
        )

    return open_relay


class LiveVoice:
    """The AirLiveVoice handler, called by BroadcastsServicer."""

    def __init__(
        self,
        store: Store,
        sources: LiveSources,
        on_change: Callable[[], None],
        check_references: Callable[[BroadcastSpec], None],
    ) -> None:
        self.store = store
        self.sources = sources
        self.on_change = on_change
        self.check_references = check_references

    def __call__(
        self, requests: Iterator[pb.LiveVoiceRequest], context: grpc.ServicerContext
    ) -> pb.Broadcast:
        try:
            return self._air(requests, context)
        except Exception as exc:
            if is_abort(exc):
                raise
            abort(context, exc)

    def _air(self, requests: Iterator[pb.LiveVoiceRequest], context: grpc.ServicerContext) -> pb.Broadcast:
        first = next(requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise ValueError("header: the first message must be the header (groups, priority, format)")
        header = first.header
        who = principal(context)
        check_broadcast(who, int(header.priority), list(header.group_ids))
        kind = FORMATS.get(header.format)
        if kind is None:
            raise ValueError(f"header.format: {header.format} is not PCM_S16LE or OPUS")
        decoder = VoiceDecoder(kind, header.sample_rate)
        max_s = DEFAULT_MAX_S
        if header.HasField("max_duration"):
            max_s = convert.seconds_of(header.max_duration, "header.max_duration")
            if not 0 < max_s <= MAX_LIVE_S:
                raise ValueError(f"header.max_duration: {max_s} s not in (0, {MAX_LIVE_S:.0f}] s")
        spec = BroadcastSpec(
            segments=(Segment(live=LiveSource(duration_s=max_s, kind=LIVE_VOICE)),),
            group_ids=tuple(header.group_ids),
            priority=convert.priority_from_pb(header.priority, "header.priority"),
            title=header.title,
            requested_by=header.requested_by or who.name,
        )
        try:
            spec = validate_broadcast_spec(spec, time.time())
        except ValueError as exc:
            raise ValueError(f"header.{exc}") from None
        self.check_references(spec)
        self._refuse_if_held(spec)
        session = VoiceSession()
        caller = Caller(who.token_id, who.name, who.role.name.lower())
        broadcast, _ = self.store.create_broadcast(spec, caller)
        bid = broadcast.id
        self.sources.add(bid, session)
        context.add_callback(session.gone)  # a cancelled call (or the server stopping): the client is gone
        try:
            self.on_change()
            if not session.opened.wait(START_TIMEOUT_S):
                self.store.cancel_broadcast(bid, "live voice: its groups did not become free")
                self.on_change()
                raise Conflict(
                    f"group_ids: not free within {START_TIMEOUT_S:.0f} s; a live voice cannot wait"
                )
            self._stream(requests, decoder, session, bid)
            return convert.broadcast_to_pb(self._final(bid))
        finally:
            session.gone()  # whatever ended the call, nothing more will come (no-op after a clean end)
            self.sources.remove(bid)

    def _stream(
        self, requests: Iterator[pb.LiveVoiceRequest], decoder: VoiceDecoder, session: VoiceSession, bid: str
    ) -> None:
        checked = time.monotonic()
        try:
            for message in requests:
                if message.WhichOneof("part") != "audio":
                    raise ValueError("audio: expected audio; the header comes once, first")
                session.write(decoder.decode(message.audio))
                if time.monotonic() - checked > STATE_POLL_S:  # ended by max_duration or a cancel?
                    checked = time.monotonic()
                    if self.store.get_broadcast(bid).state.terminal or session.ended:
                        return
        except grpc.RpcError:  # the call broke while reading
            session.gone()
            return
        session.finish("client ended")

    def _final(self, bid: str) -> Broadcast:
        deadline = time.monotonic() + END_TIMEOUT_S
        while True:
            b = self.store.get_broadcast(bid)
            if b.state.terminal or time.monotonic() > deadline:
                return b
            time.sleep(0.05)

    def _refuse_if_held(self, spec: BroadcastSpec) -> None:
        """FAILED_PRECONDITION naming the first group that a broadcast of equal or higher priority holds."""
        emergency = self.store.emergency_group()
        eid = emergency.id if emergency else None
        all_ids = frozenset(g.id for g in self.store.list_groups())
        for b in self.store.active_broadcasts(with_audio=False):
            if b.state not in AIRING_STATES or b.priority < spec.priority:
                continue
            held = set(airing_groups(b, eid, all_ids))
            everything = eid is not None and eid in held
            for i, group_id in enumerate(spec.group_ids):
                if everything or group_id in held or group_id == eid:
                    raise Conflict(
                        f"group_ids[{i}]: {group_id} is held by {b.priority.name} broadcast {b.id}; a live"
                        " voice cannot wait (send it at a higher priority, or when the group is free)"
                    )
