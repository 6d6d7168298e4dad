"""`make demo`: the main job end to end on embedded defaults, in a private network namespace.

It starts `loa serve` (SQLite state, the built-in voice, a token made on first start, and the embedded MQTT
broker), creates a hamlet group, provisions two 4G loudspeaker clusters for it (each on a host of its own
that reaches the broker but hears no multicast, as behind carrier NAT; one with a clock 150 ms off that it
corrects over the broker), starts three LAN `loa speaker` agents on multicast, submits a Vietnamese
bulletin with a Khmer segment, follows it to the end, and prints what was read, time to first audio and
to first packet, the skew between all five speakers, the clusters' presence and their broadcast log
(nhật ký phát). No packet leaves the machine; the recordings land in ./demo-out/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine import netns
from engine.timefmt import format_clock, local_zone

OUT = Path("demo-out")
GROUP = "239.192.10.1:5004"
SPEAKERS = 3
CLUSTERS = 2  # 4G clusters through the broker; the group's playout delay becomes the broker's (1.5 s)
CLUSTER_CLOCK_OFFSET_MS = (0, 150)  # the second cluster's clock is wrong; it syncs over the broker
METRICS_PORT = 9464
BULLETIN_VI = (
    "Thông báo của UBND xã Phú Hòa: do triều cường dâng cao, từ 6h30 ngày 15/10/2025 sẽ tạm ngưng cấp "
    "điện ấp 3 để gia cố đường dây, dự kiến đến 11h cùng ngày. Độ mặn trên sông đo được 4‰, bà con chưa "
    "lấy nước tưới cho 2,5 ha lúa. Mọi thắc mắc xin gọi 0270 3822 115."
)
BULLETIN_KM = "សេចក្តីជូនដំណឹង៖ ថ្ងៃទី ១៥ ខែតុលា នឹងផ្អាកការផ្គត់ផ្គង់អគ្គិសនី។"


def _in_namespace() -> bool:
    return os.environ.get("LOA_DEMO_NETNS") == "1"


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


def _metric(text: str, name: str) -> tuple[float, float]:
    """(sum, count) of a histogram over all its labels, from a /metrics page."""
    from prometheus_client.parser import text_string_to_metric_families

    total = count = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_sum":
                total += sample.value
            elif sample.name == f"{name}_count":
                count += sample.value
    return total, count


def _voices(voices_dir: Path) -> str:
    """The demo's voices: those installed on this machine, and a Khmer one (the tiny test model, which
    plays tones, not speech) when none is installed. Returns what the Khmer segment will sound like."""
    from engine.tts.catalog import default_voices_dir
    from engine.tts.voices.registry import VoiceRegistry

    voices_dir.mkdir(parents=True)
    installed = default_voices_dir()
    if installed.is_dir():
        for folder in installed.iterdir():
            (voices_dir / folder.name).symlink_to(folder.resolve())
    khmer = [v for v in VoiceRegistry(voices_dir, builtin=False).list() if v.language == "km"]
    if khmer:
        return f"installed voice {khmer[0].id}"
    from models.tiny import mms_model

    mms_model(voices_dir / "mms-khm-tiny", "khm")
    return (
        "no Khmer voice is installed (MMS khm can't be downloaded here): the Khmer segment is read by the "
        "tiny test model, which plays tones, not speech, to show the pipeline"
    )


def _skews(paths: list[Path]) -> list[float]:
    """Each speaker's playout time of the same audio, in ms, against the first speaker."""
    onsets = []
    for path in paths:
        audio, rate = sf.read(path, dtype="float32")
        meta = json.loads(path.with_name(path.name + ".json").read_text())
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        if loud.size == 0:
            raise RuntimeError(f"{path} recorded silence")
        # the true wall time: a speaker whose clock is off plays by its corrected clock, not the system's
        onsets.append(meta.get("first_sample_true_wall", meta["first_sample_wall"]) + loud[0] / rate)
    return [(t - onsets[0]) * 1000 for t in onsets]


def _speaker(name: str, sink: Path, args: list[str], host: Any = None) -> subprocess.Popen[str]:
    """A `loa speaker` agent recording what it plays; on ``host`` (an engine.netns.RemoteHost) if given."""
    argv = [sys.executable, "-m", "streaming", "speaker", "--name", name, "--sink", str(sink), *args]
    return subprocess.Popen(
        host.command(argv) if host is not None else argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _when(ts: Any) -> str:
    return format_clock(ts.ToNanoseconds() / 1e9, local_zone()) if ts.seconds else "-"


def run() -> int:
    from engine.api.client import Client
    from protos.loa.v1 import loa_pb2 as pb

    OUT.mkdir(exist_ok=True)
    for old in [*OUT.glob("speaker-*"), *OUT.glob("cluster-*")]:
        old.unlink()
    state = Path(tempfile.mkdtemp(prefix="loa-demo-"))
    procs: list[subprocess.Popen[str]] = []
    hosts: list[Any] = []
    started = time.monotonic()
    try:
        print(
            "== Loa demo: one process, SQLite, built-in voice, embedded MQTT broker; 3 LAN speakers and 2 4G "
            "clusters in a private network namespace"
        )
        # first: the hosts' bridge holds the address the clusters dial, and their hosts hear no multicast
        hosts = [netns.RemoteHost(2 + i) for i in range(CLUSTERS)]
        khmer_note = _voices(state / "voices")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine",
                "serve",
                "--state-dir",
                str(state),
                "--listen",
                "127.0.0.1:50051",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(
                os.environ,
                LOA_METRICS_PORT=str(METRICS_PORT),
                LOA_VOICES_DIR=str(state / "voices"),
                LOA_BROKER="1",
                LOA_BROKER_PUBLIC_HOST=netns.HOST_GATEWAY,
            ),
        )
        procs.append(server)
        _wait_for(lambda: (state / "admin-token").exists(), 20, "the server's first token")
        token = (state / "admin-token").read_text().strip()
        print(f"server: first start made an admin token ({token[:12]}…), kept in {state}/admin-token")
        client = Client.connect("127.0.0.1:50051", token)
        from engine.api.healthcheck import check

        _wait_for(lambda: check("127.0.0.1:50051", 1.0), 30, "the server")

        address, port = GROUP.split(":")
        client.groups.CreateGroup(
            pb.CreateGroupRequest(
                group=pb.Group(
                    id="ap-3",
                    name="Ấp 3, xã Phú Hòa",
                    multicast_address=address,
                    port=int(port),
                    fec=True,
                    expected_loss_percent=5,
                )
            ),
            metadata=client.metadata,
        )
        # Each 4G cluster gets an account on the broker and a provisioning bundle (broker URL, CA, its
        # password, its groups with their playout delay, their SRTP keys), the only copy of its password.
        bundles = []
        for i in range(CLUSTERS):
            reply = client.clusters.CreateCluster(
                pb.CreateClusterRequest(cluster_id=f"ap-3-4g-{i + 1}", group_ids=["ap-3"]),
                metadata=client.metadata,
            )
            bundles.append(state / f"cluster-{i + 1}.json")
            bundles[-1].touch(mode=0o600)
            bundles[-1].write_text(reply.provisioning_bundle)
        group = client.groups.GetGroup(pb.GetGroupRequest(group_id="ap-3"), metadata=client.metadata)
        delay_ms = round(group.playout_delay.ToNanoseconds() / 1e6)
        # The LAN speakers fetch the group's SRTP master key over the API (an admin call) and play only
        # what authenticates under it; the clusters have theirs in their bundles.
        request = pb.GetGroupKeysRequest(group_ids=["ap-3"])
        keys = client.groups.GetGroupKeys(request, metadata=client.metadata)
        keys_file = state / "speaker-keys.json"
        keys_file.touch(mode=0o600)
        keys_file.write_text(keys.provisioning_file)
        for i in range(SPEAKERS):
            lan = ["--group", f"{GROUP}:normal:{delay_ms}", "--keys", str(keys_file)]
            procs.append(_speaker(f"speaker-{i + 1}@ap-3", OUT / f"speaker-{i + 1}.wav", lan))
        for i, (host, bundle) in enumerate(zip(hosts, bundles, strict=True)):
            far = ["--provision", str(bundle), "--no-multicast", "--network", "4g", "--broker-time"]
            far += ["--clock-offset-ms", str(CLUSTER_CLOCK_OFFSET_MS[i])]
            procs.append(_speaker(f"ap-3-4g-{i + 1}", OUT / f"cluster-{i + 1}.wav", far, host))
        for proc in procs[1:]:
            assert proc.stdout is not None
            if not proc.stdout.readline().startswith("{"):
                raise RuntimeError("a speaker failed to start")
        mki = ", ".join(str(k.mki) for k in keys.groups[0].keys)
        print(f"group ap-3 → {GROUP}, SRTP key {mki}, playout delay {delay_ms} ms (the broker's, for 4G)")
        print(
            f"  {SPEAKERS} LAN speakers on multicast; {CLUSTERS} 4G clusters through the broker at "
            f"mqtts://{netns.HOST_GATEWAY}:8883, hearing no multicast"
        )

        def online() -> bool:
            listed = client.clusters.ListClusters(pb.ListClustersRequest(), metadata=client.metadata)
            return sum(c.online for c in listed.clusters) == CLUSTERS

        _wait_for(online, 30, "the 4G clusters' presence")
        time.sleep(1.0)  # the clusters' clock sync over the broker settles within its first requests

        preview = client.synthesis.Normalize(
            pb.NormalizeRequest(text=BULLETIN_VI, language="vi", dialect="south"), metadata=client.metadata
        )
        print("\n== What will be read (Vietnamese, southern reading):")
        for sentence in preview.sentences:
            print(f"  • {sentence.text}")
        for warning in preview.warnings:
            print(f"  ! {warning.source_text!r}: {warning.message}")
        print(f"\n== Khmer segment: {BULLETIN_KM}\n   ({khmer_note})")

        submitted = time.time()
        broadcast = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(
                title="Tạm ngưng cấp điện ấp 3",
                group_ids=["ap-3"],
                priority=pb.PRIORITY_NORMAL,
                chime=True,
                idempotency_key=f"demo-{int(submitted)}",
                segments=[
                    pb.Segment(language="vi", dialect="south", text=BULLETIN_VI),
                    pb.Segment(language="km", text=BULLETIN_KM),
                ],
            ),
            metadata=client.metadata,
        )
        print(f"\n== Broadcast {broadcast.id} accepted and stored; following it:")
        final = 0
        for event in client.broadcasts.WatchBroadcast(
            pb.WatchBroadcastRequest(broadcast_id=broadcast.id), metadata=client.metadata, timeout=60
        ):
            p = event.progress
            kind = pb.EventType.Name(event.type).removeprefix("EVENT_TYPE_").lower()
            at = event.time.ToNanoseconds() / 1e9 - submitted
            print(
                f"  +{at:5.2f} s  {kind:<12} segment {p.segment_index + 1} sentence {p.sentence_index + 1}"
                f"/{max(p.sentence_count, 1)}  {event.message}"
            )
            final = event.state
        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).read().decode()
        )
        time.sleep(delay_ms / 1000 + 1.0)  # the last packets play one playout delay after they are sent
        speakers = client.groups.ListSpeakers(pb.ListSpeakersRequest(), metadata=client.metadata).speakers
        log = pb.ListPlayReportsRequest(bulletin_id=broadcast.id)

        def reported() -> bool:
            return len(client.clusters.ListPlayReports(log, metadata=client.metadata).reports) >= CLUSTERS

        try:
            _wait_for(reported, 10, "the clusters' play reports")
        except TimeoutError as exc:
            print(f"  ! {exc}")
        reports = client.clusters.ListPlayReports(log, metadata=client.metadata).reports
        clusters = client.clusters.ListClusters(pb.ListClustersRequest(), metadata=client.metadata).clusters
    finally:
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc in procs[1:]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if procs:
            procs[0].send_signal(signal.SIGTERM)
            try:
                procs[0].wait(timeout=15)
            except subprocess.TimeoutExpired:
                procs[0].kill()
        for host in hosts:
            host.close()
        shutil.rmtree(state, ignore_errors=True)

    first_audio = _metric(metrics, "loa_tts_first_audio_seconds")
    first_packet = _metric(metrics, "loa_request_to_first_packet_seconds")
    print("\n== Latency")
    if first_audio[1]:
        print(
            f"  time to first audio (synthesis, mean of {first_audio[1]:.0f} requests): "
            f"{first_audio[0] / first_audio[1] * 1000:.0f} ms"
        )
    if first_packet[1]:
        print(f"  time from request to first RTP packet: {first_packet[0] / first_packet[1] * 1000:.0f} ms")
    print("\n== Speakers (RTCP receiver reports heard by the server)")
    for s in speakers:
        loss, jitter_ms = s.fraction_lost * 100, s.jitter.ToNanoseconds() / 1e6
        print(f"  {s.cname:<18} loss {loss:4.1f}%  jitter {jitter_ms:5.2f} ms  online {s.online}")
    print("\n== 4G clusters (presence from their retained status and last will)")
    for c in clusters:
        print(
            f"  {c.id:<12} {'online' if c.online else 'offline':<8} network {c.network or '-':<4} "
            f"version {c.version or '-':<8} connected {_when(c.connect_time)}  "
            f"last seen {_when(c.last_seen_time)}"
        )
    print("\n== Broadcast log per cluster (nhật ký phát, from the clusters' play reports)")
    for r in reports:
        seconds = (r.end_time.ToNanoseconds() - r.start_time.ToNanoseconds()) / 1e9
        print(
            f"  {r.cluster_id:<12} {r.bulletin_id} airing {r.airing}  "
            f"{_when(r.start_time)}–{_when(r.end_time)}"
            f"  {seconds:5.1f} s  frames played {r.frames_played}, concealed {r.frames_concealed}, "
            f"lost {r.frames_lost}  ({r.stop_reason})"
        )
    wavs = sorted(OUT.glob("speaker-*.wav")) + sorted(OUT.glob("cluster-*.wav"))
    skews = _skews(wavs)
    print("\n== What each speaker played, and when: true wall time of its first sound against speaker 1's")
    for path, skew in zip(wavs, skews, strict=True):
        seconds = sf.info(path).duration
        print(f"  {path}  {seconds:5.1f} s  skew {skew:+.3f} ms")
    ok = (
        final == pb.BROADCAST_STATE_FINISHED and max(abs(s) for s in skews) < 5.0 and len(reports) == CLUSTERS
    )
    state = pb.BroadcastState.Name(final).removeprefix("BROADCAST_STATE_").lower()
    print(
        f"\n== {'OK' if ok else 'FAILED'}: broadcast {state}, "
        f"max skew {max(abs(s) for s in skews):.3f} ms, {time.monotonic() - started:.0f} s in all"
    )
    return 0 if ok else 1


def main() -> int:
    if _in_namespace():
        return run()
    if not netns.available():
        print("make demo needs private network namespaces (unshare --net, iproute2)", file=sys.stderr)
        return 2
    argv = netns.command([sys.executable, "-m", "engine.demo"])
    return subprocess.run(argv, env=dict(os.environ, LOA_DEMO_NETNS="1")).returncode


if __name__ == "__main__":
    sys.exit(main())
