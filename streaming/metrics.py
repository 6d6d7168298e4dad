"""Prometheus metrics of the sender and the speaker, on a registry the caller passes in.

The sender's hot loop only bumps plain integers; a custom collector turns them into metric families when
Prometheus scrapes, so pacing thousands of streams does not pay for a lock per packet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

if TYPE_CHECKING:
    from streaming.sender import PacedSender


class SenderCollector:
    def __init__(self, sender: PacedSender) -> None:
        self._sender = sender

    def collect(self) -> Iterator[Any]:
        from streaming.sender import LATENESS_BUCKETS

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
