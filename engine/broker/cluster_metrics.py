"""/metrics for clusters reached through the broker, read from the store at each scrape (like the
speakers' SpeakerCollector): presence per group, the oldest last-seen, missed bulletins, play reports and
the inbox's messages by kind and outcome. Labels are groups, kinds and outcomes, never cluster ids (a
province has thousands). Every known group is present, at zero when it has no cluster."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.jobs.store import Store

MISSED_WINDOW_S = 86_400.0  # missed bulletins are counted over the last day
MISSED_GRACE_S = 300.0  # a report may come this long after its airing ended (a cluster reconnecting)


class ClusterCollector(Collector):
    def __init__(
        self,
        store: Store,
        messages: Callable[[], dict[tuple[str, str], int]] | None = None,
        reports: Callable[[], int] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._messages = messages
        self._reports = reports
        self._wall = wall

    def collect(self) -> Iterator[Metric]:
        now = self._wall()
        groups = [g.id for g in self._store.list_groups()]
        counts = self._store.cluster_counts()
        online = GaugeMetricFamily(
            "loa_clusters_online", "Clusters connected to the broker", labels=["group"]
        )
        offline = GaugeMetricFamily(
            "loa_clusters_offline", "Clusters not connected (not revoked)", labels=["group"]
        )
        seen = GaugeMetricFamily(
            "loa_cluster_last_seen_max_seconds",
            "Seconds since the least recently heard cluster of the group sent a status or report",
            labels=["group"],
        )
        missed = GaugeMetricFamily(
            "loa_cluster_bulletins_missed",
            f"Airings in the last {MISSED_WINDOW_S / 3600:.0f} h that a cluster of the group did not report",
            labels=["group"],
        )
        per_group = Counter(
            m.group for m in self._store.missed_bulletins(now, MISSED_GRACE_S, since=now - MISSED_WINDOW_S)
        )
        for group in sorted(set(groups) | set(counts)):
            on, off, oldest = counts.get(group, (0, 0, None))
            online.add_metric([group], on)
            offline.add_metric([group], off)
            if oldest is not None:
                seen.add_metric([group], max(0.0, now - oldest))
            missed.add_metric([group], per_group.get(group, 0))
        yield from (online, offline, seen, missed)
        if self._reports is not None:
            stored = CounterMetricFamily("loa_cluster_play_reports", "Play reports stored since start")
            stored.add_metric([], self._reports())
            yield stored
        if self._messages is not None:
            inbox = CounterMetricFamily(
                "loa_broker_inbox_messages",
                "Messages from clusters by kind and outcome (malformed, unexpected: dropped)",
                labels=["kind", "outcome"],
            )
            for (kind, outcome), count in sorted(self._messages().items()):
                inbox.add_metric([kind, outcome], count)
            yield inbox
