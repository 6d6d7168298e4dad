"""Field-by-field checks of groups and broadcast requests, before anything is stored.

Each failure raises :class:`InvalidField`, whose text is ``"field: message"`` so that the gRPC layer can
return it as INVALID_ARGUMENT unchanged. Whether a group or voice *exists* is the caller's business
(NOT_FOUND); here only the shape of the request is judged. The validators return a normalized copy:
zero ttl / bitrate / playout delay become their defaults, repeat_count 0 becomes 1, addresses are written
in their canonical form.

Rules, and why:

Groups
- id: ``[a-z0-9-]{1,63}``, usable in metric labels, file names and DNS labels.
- name: at most 200 characters, no control characters.
- multicast_address: an IPv4 multicast group under streaming.group's policy (``check_multicast``: not
  the reserved ranges, 239.0.0.0/8 for a private deployment). IPv6 is refused: the sender, the speakers
  and the SDP are IPv4-only, and a group accepted here would fail only when it airs.
- port: even (RTP; RTCP uses port + 1), 1024..65534: stricter than streaming.group, which also lets
  tests and point-to-point links use low ports.
- ttl: 0..255; 0 means 16.
- interface: empty, an interface name (at most 15 characters, as IFNAMSIZ) or an IP address.
- opus_bitrate_bps: 0 (32000) or 6000..128000 (libopus's useful range for speech to music).
- expected_loss_percent: 0..50; playout_delay_s: 0 (0.5 s) or 0.05..10 s.

Broadcasts
- segments: 1..32; each exactly one of text and audio; language ``[a-z]{2,3}`` with an optional
  ``-subtag``, or empty; text not blank, at most 100,000 characters, no control characters except
  newline, carriage return and tab; audio a WAV (RIFF/WAVE) or Ogg file of at most 64 MiB; speed in
  (0.25, 4]; noise_scale and noise_w in [0, 2]; voice_id and speaker at most 128 characters.
- a live segment (LiveSource): a relay's url and backup_urls (at most 4) are at most 2048 characters
  each, under the URL policy of engine/live/urls.py (what a publisher may point the server at); it needs
  a duration or an end time (an endless stream would hold its groups for ever), at most 6 h (duration,
  or the end time after the start); a live voice has no url. A broadcast with a live segment airs once
  (repeat_count 1): a repeat of a live source is another broadcast.
- group_ids: 1..256 ids of the group id form, no duplicates.
- start_time: at most 5 s in the past (clock skew between a content system and the server) and at most
  366 days ahead.
- repeat_count: 0..100, 0 meaning 1; repeat_gap_s: 0..3600; sentence_pause_s: 0..10.
- idempotency_key: at most 128 characters; title: at most 200; requested_by: at most 200.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re

from engine.jobs.model import (
    DEFAULT_OPUS_BITRATE_BPS,
    DEFAULT_PLAYOUT_DELAY_S,
    DEFAULT_TTL,
    LIVE_RELAY,
    LIVE_VOICE,
    BroadcastSpec,
    Group,
    LiveSource,
    Priority,
    Segment,
)
from engine.live.urls import parse_url
from engine.tts.limits import NOISE, SENTENCE_PAUSE_S, SPEED, Limit
from streaming.group import GroupAddressError, check_multicast

GROUP_ID_RE = re.compile(r"[a-z0-9-]{1,63}")
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")
INTERFACE_NAME_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
# Control characters other than \t \n \r; also DEL and the C1 block.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

MAX_SEGMENTS = 32
MAX_TEXT_CHARS = 100_000
MAX_AUDIO_BYTES = 64 * 1024 * 1024
MAX_GROUPS = 256
MAX_REPEATS = 100
MAX_REPEAT_GAP_S = 3600.0
PAST_TOLERANCE_S = 5.0
MAX_AHEAD_S = 366 * 86400.0
MAX_KEY_CHARS = 128
MAX_TITLE_CHARS = 200
MAX_LIVE_S = 6 * 3600.0  # a live segment's longest airing (duration, or end time after the start)
MAX_URL_CHARS = 2048
MAX_BACKUP_URLS = 4


class InvalidField(ValueError):
    """A request field is wrong; ``str()`` is ``"field: message"``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidField(field, message)


def _within(value: float, limit: Limit, field: str) -> None:
    _finite(value, field)
    problem = limit.problem(value)
    _check(problem is None, field, problem or "")


def check_plain_text(value: str, field: str, max_chars: int) -> None:
    """One rule for free text in every API: length first (cheap), then control characters."""
    _check(len(value) <= max_chars, field, f"{len(value)} characters, at most {max_chars}")
    match = CONTROL_RE.search(value)
    _check(match is None, field, f"control character U+{ord(match.group()) if match else 0:04X}")


def _finite(value: float, field: str) -> None:
    _check(isinstance(value, int | float) and math.isfinite(value), field, f"{value!r} is not a number")


def check_group_id(group_id: str, field: str = "group.id") -> None:
    _check(group_id != "", field, "empty")
    _check(
        GROUP_ID_RE.fullmatch(group_id) is not None,
        field,
        f"{group_id!r} must be 1..63 of lowercase letters, digits and '-'",
    )


def check_multicast_address(address: str, field: str = "group.multicast_address") -> str:
    """Returns the address in canonical form, or raises InvalidField saying what is wrong with it."""
    try:
        return check_multicast(address)
    except GroupAddressError as exc:
        raise InvalidField(field, exc.message) from None


def validate_group(group: Group) -> Group:
    """Checks every field of a group; returns it with defaults filled in and the address canonical."""
    check_group_id(group.id)
    check_plain_text(group.name, "group.name", MAX_TITLE_CHARS)
    if group.interface:
        is_name = INTERFACE_NAME_RE.fullmatch(group.interface) is not None
        try:
            ipaddress.ip_address(group.interface)
            is_address = True
        except ValueError:
            is_address = False
        _check(
            is_name or is_address,
            "group.interface",
            f"{group.interface!r} is not an interface name or address",
        )
    address = check_multicast_address(group.multicast_address)
    _check(
        1024 <= group.port <= 65534 and group.port % 2 == 0,
        "group.port",
        f"{group.port} must be even and in 1024..65534 (RTCP uses port + 1)",
    )
    _check(0 <= group.ttl <= 255, "group.ttl", f"{group.ttl} not in 0..255")
    bitrate = group.opus_bitrate_bps or DEFAULT_OPUS_BITRATE_BPS
    _check(6000 <= bitrate <= 128000, "group.opus_bitrate_bps", f"{bitrate} not in 6000..128000")
    loss = group.expected_loss_percent
    _check(0 <= loss <= 50, "group.expected_loss_percent", f"{loss} not in 0..50")
    _finite(group.playout_delay_s, "group.playout_delay_s")
    delay = group.playout_delay_s or DEFAULT_PLAYOUT_DELAY_S
    _check(0.05 <= delay <= 10.0, "group.playout_delay_s", f"{delay} s not in 0.05..10 s")
    return dataclasses.replace(
        group,
        multicast_address=address,
        ttl=group.ttl or DEFAULT_TTL,
        opus_bitrate_bps=bitrate,
        playout_delay_s=float(delay),
    )


def _check_url(url: str, field: str) -> None:
    """The URL's form under the live-source policy (engine/live/urls.py: scheme, host); its addresses are
    checked against the server's allow-list by the servicer and again at each connection (relay.py)."""
    _check(url != "", field, "empty")
    check_plain_text(url, field, MAX_URL_CHARS)
    try:
        parse_url(url, field)
    except ValueError as exc:
        raise InvalidField(field, str(exc).removeprefix(f"{field}: ")) from None


def _validate_live(live: LiveSource, field: str, start: float) -> None:
    _check(live.kind in (LIVE_RELAY, LIVE_VOICE), f"{field}.kind", f"{live.kind!r} is not a live source")
    if live.kind == LIVE_VOICE:
        _check(not live.url and not live.backup_urls, f"{field}.url", "a live voice has no url")
    else:
        _check_url(live.url, f"{field}.url")
        _check(
            len(live.backup_urls) <= MAX_BACKUP_URLS,
            f"{field}.backup_urls",
            f"{len(live.backup_urls)}, at most {MAX_BACKUP_URLS}",
        )
        for i, url in enumerate(live.backup_urls):
            _check_url(url, f"{field}.backup_urls[{i}]")
    _check(
        live.duration_s is not None or live.end_time is not None,
        f"{field}.duration",
        "a live source needs a duration or an end time (at most 6 h)",
    )
    if live.duration_s is not None:
        _finite(live.duration_s, f"{field}.duration")
        _check(
            0 < live.duration_s <= MAX_LIVE_S,
            f"{field}.duration",
            f"{live.duration_s} s not in (0, {MAX_LIVE_S:.0f}] s",
        )
    if live.end_time is not None:
        _finite(live.end_time, f"{field}.end_time")
        span = live.end_time - start
        _check(span > 0, f"{field}.end_time", "not after the broadcast's start")
        _check(span <= MAX_LIVE_S, f"{field}.end_time", f"{span / 3600:.1f} h after the start, at most 6 h")


def _validate_segment(segment: Segment, field: str, start: float = 0.0) -> None:
    has_text, has_audio = segment.text is not None, segment.audio is not None
    kinds = sum((has_text, has_audio, segment.live is not None))
    _check(kinds > 0, field, "needs text or audio (or a live source)")
    _check(not (has_text and has_audio), field, "has both text and audio; give one")
    _check(kinds == 1, field, "has a live source and text or audio; give one")
    if segment.live is not None:
        _validate_live(segment.live, f"{field}.live", start)
    if segment.language:
        _check(
            LANGUAGE_RE.fullmatch(segment.language) is not None,
            f"{field}.language",
            f"{segment.language!r} is not a language code like 'vi' or 'km'",
        )
    check_plain_text(segment.dialect, f"{field}.dialect", 32)
    if segment.text is not None:
        _check(segment.text.strip() != "", f"{field}.text", "empty")
        check_plain_text(segment.text, f"{field}.text", MAX_TEXT_CHARS)
    if segment.audio is not None:
        audio = segment.audio
        _check(len(audio) > 0, f"{field}.audio", "empty")
        size = len(audio)
        _check(size <= MAX_AUDIO_BYTES, f"{field}.audio", f"{size} bytes, at most {MAX_AUDIO_BYTES}")
        is_wav = audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
        _check(is_wav or audio[:4] == b"OggS", f"{field}.audio", "not a WAV or Ogg file")
    check_plain_text(segment.voice_id, f"{field}.voice.voice_id", MAX_KEY_CHARS)
    check_plain_text(segment.speaker, f"{field}.voice.speaker", MAX_KEY_CHARS)
    if segment.speed is not None:
        _within(segment.speed, SPEED, f"{field}.voice.speed")
    for name in ("noise_scale", "noise_w"):
        value = getattr(segment, name)
        if value is not None:
            _within(value, NOISE, f"{field}.voice.{name}")


def validate_broadcast_spec(spec: BroadcastSpec, now: float) -> BroadcastSpec:
    """Checks a CreateBroadcast request at time ``now``; returns it normalized (repeat_count >= 1)."""
    _check(len(spec.segments) > 0, "segments", "empty; give 1..32")
    _check(len(spec.segments) <= MAX_SEGMENTS, "segments", f"{len(spec.segments)}, at most {MAX_SEGMENTS}")
    start = spec.start_time if spec.start_time is not None else now
    for i, segment in enumerate(spec.segments):
        _validate_segment(segment, f"segments[{i}]", start)
    _check(len(spec.group_ids) > 0, "group_ids", "empty; give 1..256")
    _check(len(spec.group_ids) <= MAX_GROUPS, "group_ids", f"{len(spec.group_ids)}, at most {MAX_GROUPS}")
    seen: set[str] = set()
    for i, group_id in enumerate(spec.group_ids):
        check_group_id(group_id, f"group_ids[{i}]")
        _check(group_id not in seen, f"group_ids[{i}]", f"{group_id!r} given twice")
        seen.add(group_id)
    _check(spec.priority in tuple(Priority), "priority", f"{spec.priority!r} is not a priority")
    if spec.start_time is not None:
        _finite(spec.start_time, "start_time")
        late = now - spec.start_time
        _check(late <= PAST_TOLERANCE_S, "start_time", f"{late:.1f} s in the past")
        _check(
            spec.start_time - now <= MAX_AHEAD_S,
            "start_time",
            f"{(spec.start_time - now) / 86400:.0f} days ahead, at most 366",
        )
    repeats = spec.repeat_count or 1
    _check(1 <= repeats <= MAX_REPEATS, "repeat_count", f"{spec.repeat_count} not in 0..{MAX_REPEATS}")
    live = any(seg.live is not None for seg in spec.segments)
    _check(not live or repeats == 1, "repeat_count", "a broadcast with a live segment airs once")
    _finite(spec.repeat_gap_s, "repeat_gap")
    gap = spec.repeat_gap_s
    _check(0 <= gap <= MAX_REPEAT_GAP_S, "repeat_gap", f"{gap} s not in 0..3600 s")
    if spec.sentence_pause_s is not None:
        _finite(spec.sentence_pause_s, "sentence_pause")
        _within(spec.sentence_pause_s, SENTENCE_PAUSE_S, "sentence_pause")
    check_plain_text(spec.idempotency_key, "idempotency_key", MAX_KEY_CHARS)
    check_plain_text(spec.title, "title", MAX_TITLE_CHARS)
    check_plain_text(spec.requested_by, "requested_by", MAX_TITLE_CHARS)
    return dataclasses.replace(
        spec,
        segments=tuple(spec.segments),
        group_ids=tuple(spec.group_ids),
        priority=Priority(spec.priority),
        repeat_count=repeats,
        repeat_gap_s=float(spec.repeat_gap_s),
    )
