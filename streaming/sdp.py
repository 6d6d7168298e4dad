"""Groups and their session descriptions (RFC 4566, Opus RFC 7587, clock signalling RFC 7273).

A group is a multicast address and RTP port with a priority and a fixed playout delay. The same string
names it on the command line of ``loa speaker --group`` and ``python -m streaming sdp``:
``ADDR:PORT[:PRIORITY[:DELAY_MS]]``
(priority ``normal``/``high``/``emergency`` or 1..3; delay default 500 ms).

The SDP lets any RFC 7587 receiver (ffmpeg, GStreamer) play a group. ``a=mediaclk:sender`` says the RTP
clock is the sender's and is mapped to wall time by RTCP sender reports (our RTP origins are random),
``a=ts-refclk`` which wall clock that is. The playout delay and priority, which only Loa speakers use,
travel as ``a=x-loa-playout-delay`` (milliseconds) and ``a=x-loa-priority``.

There is no SDP for an SRTP group (:class:`EncryptedGroup`): Loa's SRTP is AEAD_AES_128_GCM (RFC 7714),
which ffmpeg, GStreamer and VLC cannot decrypt, and given a plain ``RTP/AVP`` description they decode the
ciphertext as loud noise. Describing it (``RTP/SAVP`` + ``a=crypto``) would put the group key, which makes
every loudspeaker of the group speak, into a file handed to third parties, and still play nothing there.
Third-party receivers get plain groups only (docs/RECEIVERS.md).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from streaming.group import DEFAULT_TTL, GroupAddress
from streaming.opus import OpusSettings
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES, PAYLOAD_TYPE

DEFAULT_DELAY_MS = 500
PTIME_MS = FRAME_SAMPLES * 1000 // CLOCK_RATE  # one Opus frame per packet
SRTP_REFUSAL = (
    "its stream is SRTP (AEAD_AES_128_GCM, RFC 7714), which third-party receivers (ffmpeg, GStreamer, "
    "VLC) cannot decrypt: with a plain-RTP SDP they would decode the ciphertext as loud noise"
)


class EncryptedGroup(ValueError):
    """The group's stream is SRTP: no third-party receiver can play it, so it gets no SDP."""


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group as a speaker joins it: where (validated as a :class:`GroupAddress`), at which priority,
    and with which playout delay."""

    address: str
    port: int
    priority: Priority = Priority.NORMAL
    delay_ms: int = DEFAULT_DELAY_MS

    def __post_init__(self) -> None:
        GroupAddress(self.address, self.port)
        try:
            object.__setattr__(self, "priority", Priority(self.priority))
        except ValueError:
            raise ValueError(f"group priority {self.priority} not in 1..3") from None
        if not 20 <= self.delay_ms <= 10_000:
            raise ValueError(f"group playout delay {self.delay_ms} ms not in 20..10000")

    @property
    def delay(self) -> float:
        return self.delay_ms / 1000

    @classmethod
    def parse(cls, text: str) -> GroupSpec:
        parts = text.strip().split(":")
        if not 2 <= len(parts) <= 4:
            raise ValueError(f"group {text!r}: expected ADDR:PORT[:PRIORITY[:DELAY_MS]]")
        try:
            port = int(parts[1])
        except ValueError:
            raise ValueError(f"group {text!r}: port {parts[1]!r} is not a number") from None
        priority = Priority.NORMAL
        if len(parts) > 2 and parts[2]:
            try:
                priority = Priority.parse(parts[2])
            except ValueError as exc:
                raise ValueError(f"group {text!r}: {exc}") from None
        delay = DEFAULT_DELAY_MS
        if len(parts) > 3:
            try:
                delay = int(parts[3])
            except ValueError:
                raise ValueError(f"group {text!r}: delay {parts[3]!r} is not a whole number of ms") from None
        return cls(parts[0], port, priority, delay)

    def __str__(self) -> str:
        return f"{self.address}:{self.port}:{int(self.priority)}:{self.delay_ms}"


def build_sdp(
    group: GroupSpec,
    codec: OpusSettings | None = None,
    *,
    ttl: int = DEFAULT_TTL,
    origin: str = "0.0.0.0",
    name: str = "Loa broadcast",
    reference_clock: str = "ntp=/traceable/",
    session_id: int | None = None,
    srtp: bool = False,
) -> str:
    """The SDP of one group's stream. ``reference_clock`` is an RFC 7273 ts-refclk value (``local`` when
    speakers use Loa's own time sync instead of NTP). ``useinbandfec`` follows ``codec.fec``, so it is
    advertised only when the group's encoder adds FEC. ``srtp``: the stream is SRTP, which raises
    :class:`EncryptedGroup` (see the module note)."""
    if srtp:
        raise EncryptedGroup(SRTP_REFUSAL)
    codec = codec or OpusSettings()
    if not 0 <= ttl <= 255:
        raise ValueError(f"ttl {ttl} not in 0..255")
    if any(c in name for c in "\r\n"):
        raise ValueError("session name must be one line")
    ipaddress.IPv4Address(origin)
    session = session_id if session_id is not None else int(time.time())
    multicast = ipaddress.IPv4Address(group.address).is_multicast
    connection = f"IN IP4 {group.address}/{ttl}" if multicast else f"IN IP4 {group.address}"
    fmtp = [
        f"minptime={PTIME_MS}",
        "stereo=0",
        "sprop-stereo=0",
        f"maxaveragebitrate={codec.bitrate}",
        f"useinbandfec={int(codec.fec)}",
        f"cbr={int(not codec.vbr)}",
    ]
    lines = [
        "v=0",
        f"o=- {session} {session} IN IP4 {origin}",
        f"s={name}",
        f"c={connection}",
        "t=0 0",
        "a=tool:loa",
        "a=recvonly",
        f"m=audio {group.port} RTP/AVP {PAYLOAD_TYPE}",
        f"a=rtpmap:{PAYLOAD_TYPE} opus/{CLOCK_RATE}/2",
        f"a=fmtp:{PAYLOAD_TYPE} {';'.join(fmtp)}",
        f"a=ptime:{PTIME_MS}",
        f"a=rtcp:{group.port + 1}",
        f"a=ts-refclk:{reference_clock}",
        "a=mediaclk:sender",
        f"a=x-loa-playout-delay:{group.delay_ms}",
        f"a=x-loa-priority:{int(group.priority)}",
    ]
    return "\r\n".join(lines) + "\r\n"


def parse_sdp_group(text: str) -> GroupSpec:
    """The group an SDP made by :func:`build_sdp` describes (c=, m=, and Loa's attributes)."""
    address = port = None
    priority, delay = Priority.NORMAL, DEFAULT_DELAY_MS
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("c=IN IP4 "):
            address = line[len("c=IN IP4 ") :].split("/")[0]
        elif line.startswith("m=audio "):
            fields = line.split()
            if len(fields) < 4 or not fields[1].isdigit():
                raise ValueError(f"bad media line {line!r}")
            port = int(fields[1])
        elif line.startswith("a=x-loa-playout-delay:"):
            delay = int(line.split(":", 1)[1])
        elif line.startswith("a=x-loa-priority:"):
            priority = Priority(int(line.split(":", 1)[1]))
    if address is None or port is None:
        raise ValueError("SDP has no c=IN IP4 connection or no m=audio line")
    return GroupSpec(address, port, priority, delay)
