"""What the speaker agent says on stderr: one line per meaningful event, never one per packet.

The agent calls :meth:`SpeakerLog.on_outcome` with each datagram's ingress outcome and :meth:`tick` from
its network loop; this module turns state changes into single lines (joined, keys missing, clock synced
or not, broker up or down) and floods into rate-limited lines with counts (stream rejected, no key for
an SRTP group). The silent failures it exists for: a speaker without keys on an SRTP group records pure
silence, a group missing from the key file plays nothing, a wrong --time-sync target never answers.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from streaming.logsetup import Repeats, event
from streaming.rtp import is_rtcp
from streaming.srtp import MKI_LEN, SRTCP_INDEX_LEN, TAG_LEN

log = logging.getLogger("streaming.speaker")

SRTCP_TRAILER = TAG_LEN + SRTCP_INDEX_LEN + MKI_LEN  # tag, E flag + index, MKI (srtp.seal_rtcp)
NO_REPLY_AFTER_S = 10.0  # --time-sync: this long without a reply is worth a warning
REJECTIONS = frozenset(
    {
        "rejected_authentication",
        "rejected_replay",
        "rejected_malformed",
        "rejected_stale",
        "rejected_unverified",
    }
)


def looks_srtcp(data: bytes) -> bool:
    """Whether an RTCP datagram that did not parse is SRTCP: its first header plain and within the
    datagram less the trailer, the E flag (encrypted) set in the index word before the MKI. What a speaker
    without keys sees of an SRTP group's sender reports."""
    if not is_rtcp(data) or len(data) < 8 + SRTCP_TRAILER or data[0] >> 6 != 2:
        return False
    first_length = 4 + 4 * int.from_bytes(data[2:4], "big")
    return first_length <= len(data) - SRTCP_TRAILER and bool(data[-(SRTCP_INDEX_LEN + MKI_LEN)] & 0x80)


class SpeakerLog:
    """Watches one :class:`streaming.receiver.SpeakerAgent` (duck-typed: streaming must stay light)."""

    def __init__(self, agent: Any, clock: Any = time.monotonic) -> None:
        self.agent = agent
        self.clock = clock
        self.repeats = Repeats(log, clock=clock)
        self._started = clock()
        self._synced: bool | None = None
        self._no_reply_warned = False
        self._broker_up: bool | None = None
        self._missing: list[str] | None = None
        self._reload_error = ""

    def started(self) -> None:
        a = self.agent
        groups = [str(g) for g in a.config.groups]
        paths = (["multicast"] if a.config.multicast else []) + (["broker"] if a.broker_source else [])
        srtp = a.keyring is not None
        event(
            log,
            logging.INFO,
            "speaker.joined",
            f"{a.config.name} joined {len(groups)} group(s) {', '.join(groups)} via {'+'.join(paths)}"
            + (f", SRTP keys from {a.config.keys}" if srtp else ", no keys (plain RTP only)"),
            name=a.config.name,
            groups=groups,
            paths=paths,
            srtp=srtp,
            time_sync=":".join(map(str, a.config.time_sync)) if a.config.time_sync else None,
        )
        self._check_keys()

    def stopped(self) -> None:
        self.repeats.flush()
        event(log, logging.INFO, "speaker.stopped", f"{self.agent.config.name} stopped")

    # --- per datagram (cheap unless something is wrong) ---

    def on_outcome(self, group: str, outcome: str, data: bytes) -> None:
        if outcome == "rejected_unknown_key":
            self._no_key(group)
        elif outcome in REJECTIONS:
            self.repeats.event(
                logging.WARNING,
                "speaker.stream_rejected",
                f"group {group}: datagram {outcome.removeprefix('rejected_')} rejected",
                (group, outcome),
                group=group,
                reason=outcome.removeprefix("rejected_"),
            )
        elif outcome == "invalid" and self.agent.keyring is None and looks_srtcp(data):
            self.repeats.event(
                logging.WARNING,
                "speaker.no_key",
                f"group {group} is SRTP but this speaker has no keys (--keys): nothing will play",
                group,
                group=group,
                keys=None,
            )

    def _no_key(self, group: str) -> None:
        keyring = self.agent.keyring
        if group in keyring.missing:
            message = f"group {group} is SRTP but the key file has no key for it: nothing will play"
        else:
            message = (
                f"group {group}: a stream under a key the key file does not have (export the keys again)"
            )
        self.repeats.event(
            logging.WARNING, "speaker.no_key", message, group, group=group, keys=str(keyring.path)
        )

    # --- from the network loop ---

    def tick(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self._check_keys()
        self._check_clock(now)
        self._check_broker()
        self.repeats.flush()

    def _check_keys(self) -> None:
        keyring = self.agent.keyring
        if keyring is None:
            return
        missing = list(keyring.missing)
        if missing != self._missing:
            for group in sorted(set(missing) - set(self._missing or [])):
                event(
                    log,
                    logging.WARNING,
                    "speaker.group_missing_from_keys",
                    f"group {group} is missing from the key file {keyring.path}: nothing will play on it"
                    " until the file has its key",
                    group=group,
                    keys=str(keyring.path),
                )
            for group in sorted(set(self._missing or []) - set(missing)):
                event(log, logging.INFO, "speaker.group_keyed", f"group {group} now has keys", group=group)
            self._missing = missing
        if keyring.last_error != self._reload_error:
            self._reload_error = keyring.last_error
            if keyring.last_error:
                event(
                    log,
                    logging.WARNING,
                    "speaker.keys_unreadable",
                    f"{keyring.last_error}; keeping the keys in use",
                    keys=str(keyring.path),
                )

    def _check_clock(self, now: float) -> None:
        a = self.agent
        sync = a.timesync
        if sync is None:
            return
        target = ":".join(map(str, a.config.time_sync)) if a.config.time_sync else "the broker"
        ready = bool(sync.ready)
        if ready != self._synced and (ready or self._synced is not None):
            if ready:
                offset_ms = (sync.offset or 0.0) * 1000
                event(
                    log,
                    logging.INFO,
                    "speaker.clock_synced",
                    f"clock synced with {target} (offset {offset_ms:+.1f} ms)",
                    target=target,
                    offset_ms=round(offset_ms, 3),
                )
            else:
                event(
                    log,
                    logging.WARNING,
                    "speaker.clock_unsynced",
                    f"clock unsynced ({target})",
                    target=target,
                )
        self._synced = ready
        waited = now - self._started
        if not ready and sync.samples == 0 and waited >= NO_REPLY_AFTER_S and not self._no_reply_warned:
            self._no_reply_warned = True
            event(
                log,
                logging.WARNING,
                "speaker.time_sync_no_reply",
                f"no reply from the time-sync target {target} after {waited:.0f} s: the clock is not synced",
                target=target,
                waited_s=round(waited, 1),
            )

    def _check_broker(self) -> None:
        source = self.agent.broker_source
        if source is None:
            return
        up = source.client.connected.is_set()
        was, self._broker_up = self._broker_up, up
        if up == bool(was):
            return  # no change (a link never up yet is not "disconnected")
        url = self.agent.config.broker.url
        if up:
            event(log, logging.INFO, "speaker.broker_connected", f"broker {url} connected", broker=url)
        else:
            reason = getattr(source.client, "refusal_reason", "") or "link lost"
            event(
                log,
                logging.WARNING,
                "speaker.broker_disconnected",
                f"broker {url} disconnected ({reason})",
                broker=url,
                reason=reason,
            )
