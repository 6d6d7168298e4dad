"""The server's one Prometheus registry, and the metrics of the server and of synthesis.

Streaming (streaming/) registers its own metrics on the registry it is handed, so a process has one
/metrics page. Labels stay bounded: method, code, priority (``Priority.label``), family, group, and
speaker (a speaker's name, at most feedback.MAX_SPEAKERS of them).

Every label value known in advance is created at zero when the metric is made (:func:`zero`): a series
that first appears with the value 1 is invisible to ``increase()``/``rate()``, so without this the first
failure or emergency after each restart would never alert. docs/METRICS.md lists every metric.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streaming.priority import Priority

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PRIORITIES = tuple(p.label for p in Priority)
BROADCAST_OUTCOMES = ("finished", "failed")  # the final states airing.py counts in loa_broadcasts
# why a live source left a gap (engine/live/feed.py Gap.cause); other causes still appear when first seen
LIVE_GAP_CAUSES = ("stalled", "unreachable", "ended early", "malformed", "client gone")
VOICE_FAMILIES = ("piper", "mms", "espeak")  # engine/tts/voices/base.py VoiceInfo.family
CACHE_RESULTS = ("hit", "miss")
# the codes alerts and dashboards read; any other code still appears, at its first call
RPC_CODES: tuple[str, ...] = ("OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED", "INTERNAL")
RPC_CODES += ("PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED")


def zero(metric: Counter | Gauge | Histogram, *values: Sequence[str]) -> None:
    """Creates the child of every combination of ``values`` (one sequence per label) at zero."""
    for combination in itertools.product(*values):
        metric.labels(*combination)


def add_process_collectors(registry: CollectorRegistry) -> None:
    """process_* (memory, CPU, open files, start time), python_info and python_gc_*: what the default
    registry of prometheus_client would show, on a registry of our own."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


@dataclass(frozen=True)
class ServerMetrics:
    registry: CollectorRegistry
    rpc_total: Counter
    rpc_seconds: Histogram
    queue_depth: Gauge
    on_air: Gauge
    request_to_first_packet_seconds: Histogram
    request_to_playout_seconds: Histogram
    start_lateness_seconds: Histogram
    broadcasts_total: Counter
    preemptions_total: Counter
    live_gaps_total: Counter
    live_gap_seconds_total: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> ServerMetrics:
        """A fresh registry (with the process collectors) unless one is given."""
        r = registry if registry is not None else CollectorRegistry()
        if registry is None:
            add_process_collectors(r)
        metrics = cls(
            registry=r,
            rpc_total=Counter("loa_rpc", "gRPC calls handled", ["method", "code"], registry=r),
            rpc_seconds=Histogram(
                "loa_rpc_duration_seconds",
                "gRPC call latency",
                ["method"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            queue_depth=Gauge("loa_queue_depth", "Broadcasts waiting to air", ["priority"], registry=r),
            on_air=Gauge("loa_broadcasts_on_air", "Broadcasts on air now", ["priority"], registry=r),
            request_to_first_packet_seconds=Histogram(
                "loa_request_to_first_packet_seconds",
                "From CreateBroadcast (or its start time) to the first RTP packet sent",
                ["priority"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            request_to_playout_seconds=Histogram(
                "loa_request_to_playout_seconds",
                "From CreateBroadcast (or its start time) to the scheduled playout of its first sample",
                ["priority"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            start_lateness_seconds=Histogram(
                "loa_start_lateness_seconds",
                "How late a scheduled broadcast started against its start time",
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
                registry=r,
            ),
            broadcasts_total=Counter(
                "loa_broadcasts", "Broadcasts that ended, by final state", ["priority", "state"], registry=r
            ),
            preemptions_total=Counter(
                "loa_preemptions", "Broadcasts held back by a higher priority", ["priority"], registry=r
            ),
            live_gaps_total=Counter(
                "loa_live_gaps", "Gaps a live source left in its airing", ["cause"], registry=r
            ),
            live_gap_seconds_total=Counter(
                "loa_live_gap_seconds", "Seconds a live source did not fill", ["cause"], registry=r
            ),
        )
        for metric in (
            metrics.queue_depth,
            metrics.on_air,
            metrics.request_to_first_packet_seconds,
            metrics.request_to_playout_seconds,
            metrics.preemptions_total,
        ):
            zero(metric, PRIORITIES)
        zero(metrics.broadcasts_total, PRIORITIES, BROADCAST_OUTCOMES)
        zero(metrics.live_gaps_total, LIVE_GAP_CAUSES)
        zero(metrics.live_gap_seconds_total, LIVE_GAP_CAUSES)
        return metrics

    def zero_rpcs(self, methods: Iterable[str]) -> None:
        """The RPC series of each method (``Service.Method``, as the interceptor names them) at zero."""
        methods = list(methods)
        zero(self.rpc_total, methods, RPC_CODES)
        zero(self.rpc_seconds, methods)


@dataclass(frozen=True)
class SynthesisMetrics:
    """What the synthesizer measures: speed per voice family, first audio per priority, the cache."""

    real_time_factor: Histogram
    first_audio_seconds: Histogram
    cache_lookups: Counter
    audio_seconds: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> SynthesisMetrics:
        r = registry if registry is not None else CollectorRegistry()
        metrics = cls(
            real_time_factor=Histogram(
                "loa_tts_real_time_factor",
                "Synthesis compute time over audio duration, per piece",
                ["family"],
                buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
                registry=r,
            ),
            first_audio_seconds=Histogram(
                "loa_tts_first_audio_seconds",
                "Time from a request to its first audio piece",
                ["priority"],
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
                registry=r,
            ),
            cache_lookups=Counter("loa_tts_cache_lookups", "Speech cache lookups", ["result"], registry=r),
            audio_seconds=Counter("loa_tts_audio_seconds", "Seconds of speech produced", registry=r),
        )
        zero(metrics.real_time_factor, VOICE_FAMILIES)
        zero(metrics.first_audio_seconds, PRIORITIES)
        zero(metrics.cache_lookups, CACHE_RESULTS)
        return metrics


@dataclass(frozen=True)
class SpeakerSample:
    """One speaker's last receiver report, as the metrics see it."""

    group: str
    online: bool
    loss_ratio: float
    jitter_s: float
    round_trip_s: float | None
    playout_offset_s: float | None
    speaker: str = ""  # its RTCP CNAME (``loa speaker --name``)
    report_age_s: float = 0.0  # since its last receiver report


class SpeakerCollector(Collector):
    """Speaker health, computed from the latest receiver reports at each scrape.

    Reports are a snapshot, not events, so they are read when Prometheus asks rather than copied into
    gauges on a timer. One series per group: worst jitter, round trip and playout offset, mean loss; and
    one per speaker: its report age and its own loss, because a mean hides one dead speaker among 50.
    Speakers report only while a stream of theirs is on air, so an old report means trouble only when
    its group has a stream open: ``loa_group_streams`` (every known group, 0 included) says when.
    """

    def __init__(
        self,
        samples: Callable[[], Iterable[SpeakerSample]],
        groups: Callable[[], Iterable[str]] = tuple,
        group_streams: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self._samples = samples
        self._groups = groups
        self._group_streams = group_streams

    def collect(self) -> Iterator[GaugeMetricFamily]:
        groups: dict[str, list[SpeakerSample]] = {group: [] for group in self._groups()}
        latest: dict[tuple[str, str], SpeakerSample] = {}
        for sample in self._samples():
            groups.setdefault(sample.group, []).append(sample)
            # a restarted speaker reports under a new SSRC with the same name: one series, the newest
            key = (sample.group, sample.speaker)
            if key not in latest or sample.report_age_s < latest[key].report_age_s:
                latest[key] = sample
        streams = GaugeMetricFamily(
            "loa_group_streams", "RTP streams open to the group (it is on air)", labels=["group"]
        )
        counts = self._group_streams()
        for group in sorted(set(groups) | set(counts)):
            streams.add_metric([group], counts.get(group, 0))
        yield streams
        age = GaugeMetricFamily(
            "loa_speaker_report_age_seconds",
            "Seconds since the speaker's last receiver report",
            labels=["group", "speaker"],
        )
        lost = GaugeMetricFamily(
            "loa_speaker_report_loss_ratio",
            "Fraction lost in the speaker's last receiver report",
            labels=["group", "speaker"],
        )
        for (group, speaker), sample in sorted(latest.items()):
            age.add_metric([group, speaker], sample.report_age_s)
            lost.add_metric([group, speaker], sample.loss_ratio)
        yield age
        yield lost
        families = {
            "online": GaugeMetricFamily(
                "loa_speakers_online", "Speakers that reported within 15 s", labels=["group"]
            ),
            "loss": GaugeMetricFamily(
                "loa_speaker_loss_ratio",
                "Mean fraction lost in online speakers' last reports",
                labels=["group"],
            ),
            "jitter": GaugeMetricFamily(
                "loa_speaker_jitter_seconds", "Worst interarrival jitter reported", labels=["group"]
            ),
            "rtt": GaugeMetricFamily(
                "loa_speaker_round_trip_seconds", "Worst round-trip time", labels=["group"]
            ),
            "offset": GaugeMetricFamily(
                "loa_speaker_playout_offset_seconds",
                "Largest |measured - intended| playout time reported",
                labels=["group"],
            ),
        }
        for group, samples in sorted(groups.items()):
            online = [s for s in samples if s.online]
            families["online"].add_metric([group], len(online))
            if not online:
                continue
            families["loss"].add_metric([group], sum(s.loss_ratio for s in online) / len(online))
            families["jitter"].add_metric([group], max(s.jitter_s for s in online))
            rtts = [s.round_trip_s for s in online if s.round_trip_s is not None]
            if rtts:
                families["rtt"].add_metric([group], max(rtts))
            offsets = [abs(s.playout_offset_s) for s in online if s.playout_offset_s is not None]
            if offsets:
                families["offset"].add_metric([group], max(offsets))
        yield from families.values()


def serve_http(registry: CollectorRegistry, port: int, address: str = "127.0.0.1") -> WSGIServer:
    """Starts /metrics on its own port, served from a daemon thread; .shutdown() on the result stops it."""
    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server
