"""Prometheus metrics of the sender and the speaker, on a registry the caller passes in.

The sender's hot loop only bumps plain integers; a custom collector turns them into metric families when
Prometheus scrapes, so pacing thousands of streams does not pay for a lock per packet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

# upper bounds (seconds) of the send lateness histogram; the pacer counts into them
LATENESS_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5)


class SenderCounters(Protocol):
    """What the collector reads of a sender (pacer.PacedSender)."""

    packets_sent: int
    bytes_sent: int
    rtcp_sent: int
    lateness_counts: list[int]
    lateness_sum: float

    @property
    def send_errors(self) -> int: ...

    @property
    def active_streams(self) -> int: ...

    def speakers(self) -> Sized: ...

    def report_rejections(self) -> dict[str, int]: ...


class SenderCollector:
    def __init__(self, sender: SenderCounters) -> None:
        self._sender = sender

    def collect(self) -> Iterator[Any]:
        s = self._sender
        yield CounterMetricFamily(
            "loa_rtp_packets_sent", "RTP packets sent (one per destination)", s.packets_sent
        )
        yield CounterMetricFamily("loa_rtp_sent_bytes", "RTP bytes sent, headers included", s.bytes_sent)
        yield CounterMetricFamily("loa_rtcp_packets_sent", "RTCP compound packets sent", s.rtcp_sent)
        yield CounterMetricFamily("loa_rtp_send_errors", "datagrams the kernel refused", s.send_errors)
        yield GaugeMetricFamily(
            "loa_rtp_active_streams", "streams open on the paced sender", s.active_streams
        )
        yield GaugeMetricFamily(
            "loa_rtp_reporting_speakers", "speakers that sent a receiver report", len(s.speakers())
        )
        rejected = CounterMetricFamily(
            "loa_speaker_reports_rejected",
            "receiver reports not taken: forged, unauthenticated (plain about an SRTP stream), "
            "wrong_group, unknown_stream; never shown as speakers",
            labels=["reason"],
        )
        for reason, count in s.report_rejections().items():
            rejected.add_metric([reason], count)
        yield rejected
        counts = list(s.lateness_counts)
        buckets, total = [], 0
        for bound, count in zip([*LATENESS_BUCKETS, float("inf")], counts, strict=True):
            total += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
        yield HistogramMetricFamily(
            "loa_rtp_send_lateness_seconds",
            "how long after its due time each RTP packet left",
            buckets=buckets,
            sum_value=s.lateness_sum,
        )


class SpeakerMetrics:
    """The speaker agent's own metrics (served by ``loa speaker --metrics-port``)."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge

        self.frames = Counter(
            "loa_speaker_frames",
            "20 ms frames played, by how they were obtained",
            ["kind"],
            registry=registry,
        )
        self.datagrams = Counter(
            "loa_speaker_datagrams", "datagrams received, by outcome", ["outcome"], registry=registry
        )
        self.received_bytes = Counter("loa_speaker_received_bytes", "bytes received", registry=registry)
        self.underruns = Counter(
            "loa_speaker_underruns", "blocks where a playing stream had no data", registry=registry
        )
        self.expired = Counter(
            "loa_speaker_streams_expired", "streams dropped after silence", registry=registry
        )
        self.streams = Gauge("loa_speaker_streams", "streams being received", registry=registry)
        self.priority = Gauge("loa_speaker_playing_priority", "priority in play (0: none)", registry=registry)
        self.key_reloads = Counter(
            "loa_speaker_key_reloads", "times the SRTP keys file was re-read", registry=registry
        )
        self.clock_offset = Gauge(
            "loa_speaker_clock_offset_seconds",
            "sender clock minus local clock (time sync)",
            registry=registry,
        )

        # every kind and outcome at zero: increase() sees the first rejected datagram after a restart
        from streaming.ingress import OUTCOMES
        from streaming.jitter import FEC, PACKET, PLC, SILENCE

        for kind in (PACKET, FEC, PLC, SILENCE):
            self.frames.labels(kind)
        for outcome in OUTCOMES:
            self.datagrams.labels(outcome)

    def on_block(self, block: Any, streams: int, expired: int) -> None:
        for frame in block.frames:
            self.frames.labels(frame.kind).inc()
        self.underruns.inc(int(block.underrun))
        self.expired.inc(expired)
        self.streams.set(streams)
        self.priority.set(block.playing_priority)

    def on_datagram(self, outcome: str, size: int) -> None:
        self.datagrams.labels(outcome).inc()
        self.received_bytes.inc(size)
