"""Third-party receivers on a real `loa serve`: `loa sdp GROUP_ID` gives them what they can play, and real
ffmpeg and GStreamer, each started once on a plain group, record every bulletin of it: back-to-back ones
and an EMERGENCY cutting a NORMAL (docs/RECEIVERS.md). Bulletins are pre-recorded tones, one frequency
each, so a recording says which bulletin played when."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.netns import enter_command
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        not (shutil.which("ffmpeg") and shutil.which("gst-launch-1.0")), reason="needs ffmpeg and GStreamer"
    ),
]

PLAIN, NO_FEC, SECRET = ("239.192.60.1", "239.192.60.2", "239.192.60.3")
RATE = 48_000
WINDOW = 0.05  # seconds per analysis window
CAPS = "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("receivers"), auth=True).start()
    client = srv.client()
    for gid, address, fec in (
        ("plain", PLAIN, True),
        ("plain-nofec", NO_FEC, False),
        ("secret", SECRET, True),
    ):
        client.groups.CreateGroup(
            pb.CreateGroupRequest(group=group(gid, address, fec=fec)), metadata=client.metadata
        )
    for gid in ("plain", "plain-nofec"):  # what the refusal tells an operator to do
        assert loa("keys", "remove", "--group", gid, "--state-dir", str(srv.state)).returncode == 0
    yield srv
    srv.stop()


def loa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60)


def sdp(server: Server, group_id: str, *extra: str, token: str = "") -> subprocess.CompletedProcess[str]:
    return loa("sdp", group_id, "--server", server.socket, "--token", token or server.admin_token(), *extra)


def test_sdp_follows_the_group_and_refuses_srtp_with_the_reason(server: Server) -> None:
    plain = sdp(server, "plain")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert f"c=IN IP4 {PLAIN}/16" in lines and "m=audio 5004 RTP/AVP 96" in lines
    assert "useinbandfec=1" in plain.stdout
    no_fec = sdp(server, "plain-nofec")
    assert no_fec.returncode == 0 and "useinbandfec=0" in no_fec.stdout

    secret = sdp(server, "secret")
    assert secret.returncode == 1 and secret.stdout == ""
    assert "SRTP" in secret.stderr and "RFC 7714" in secret.stderr and "cannot decrypt" in secret.stderr
    assert "srtp = false" in secret.stderr and "loa keys remove --group" in secret.stderr
    missing = sdp(server, "ghost")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    # only an admin may learn whether a group is SRTP (GetGroupKeys): anyone else is refused, not guessed at
    viewer = loa(
        "token", "create", "--name", "dashboard", "--role", "viewer", "--state-dir", str(server.state)
    )
    unsure = sdp(server, "plain", token=viewer.stdout.strip())
    assert unsure.returncode == 1 and unsure.stdout == "" and "admin token" in unsure.stderr


def tone(hz: float, seconds: float) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def air(
    server: Server, hz: float, seconds: float, priority: pb.Priority = pb.PRIORITY_NORMAL
) -> pb.Broadcast:
    client = server.client()
    request = pb.CreateBroadcastRequest(
        group_ids=["plain"], priority=priority, segments=[pb.Segment(language="vi", audio=tone(hz, seconds))]
    )
    return client.broadcasts.CreateBroadcast(request, metadata=client.metadata)


def tones(path: Path, expected: list[int]) -> list[tuple[int, float]]:
    """(frequency, start in seconds) of each run of one of ``expected`` tones in the recording."""
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio[:, 0]
    n = int(rate * WINDOW)
    runs: list[tuple[int, float]] = []
    for k in range(0, len(audio) - n, n):
        x = audio[k : k + n]
        if np.sqrt(np.mean(x**2)) < 0.05:
            continue
        peak = np.fft.rfftfreq(n, 1 / rate)[np.argmax(np.abs(np.fft.rfft(x * np.hanning(n))))]
        hz = min(expected, key=lambda f: abs(f - peak))
        if abs(hz - peak) > 40:
            continue
        if not runs or runs[-1][0] != hz:
            runs.append((hz, k / rate))
    return runs


def test_ffmpeg_and_gstreamer_started_once_record_every_bulletin(server: Server, tmp_path: Path) -> None:
    stream_sdp = tmp_path / "plain.sdp"
    assert sdp(server, "plain", "--out", str(stream_sdp)).returncode == 0
    ns = server.proc.pid if server.proc else 0
    ffmpeg_argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp"]
    ffmpeg_argv += ["-i", str(stream_sdp), "-af", "aresample=async=1", "-ac", "1", "-ar", "48000"]
    ffmpeg_argv += ["-y", str(tmp_path / "ffmpeg.wav")]
    gst_argv = ["gst-launch-1.0", "-e", "udpsrc", f"address={PLAIN}", "port=5004", "auto-multicast=true"]
    gst_argv += [f"caps={CAPS}", "!", "rtpjitterbuffer", "latency=200", "!", "rtpopusdepay", "!", "opusdec"]
    gst_argv += ["!", "audioconvert", "!", "audioresample", "!", "audio/x-raw,rate=48000,channels=1"]
    gst_argv += ["!", "audiorate", "skip-to-first=true", "!", "wavenc", "!", "filesink"]
    gst_argv += [f"location={tmp_path / 'gst.wav'}"]
    ffmpeg = subprocess.Popen(enter_command(ns, ffmpeg_argv), stderr=subprocess.PIPE, text=True)
    vlc, vlc_dir = None, tmp_path
    if shutil.which("cvlc") and shutil.which("setpriv"):  # optional: not in the project's apt packages
        # VLC refuses to run as root: it runs as nobody, in a directory nobody can reach (pytest's are 0700)
        vlc_dir = Path(tempfile.mkdtemp(prefix="loa-vlc-"))
        vlc_dir.chmod(0o777)
        shutil.copy(stream_sdp, vlc_dir / "plain.sdp")
        (vlc_dir / "plain.sdp").chmod(0o644)
        sout = "#transcode{acodec=s16l,channels=1,samplerate=48000}"
        sout += f":std{{access=file,mux=wav,dst={vlc_dir / 'vlc.wav'}}}"
        vlc_argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "cvlc", "-q"]
        vlc_argv += ["--demux=avformat", str(vlc_dir / "plain.sdp"), "--sout", sout]
        vlc = subprocess.Popen(
            enter_command(ns, vlc_argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
        )
    gst = subprocess.Popen(
        enter_command(ns, gst_argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    time.sleep(1.0)  # both have joined the group
    client = server.client()
    # three bulletins back to back (queued together: FIFO airs them one after another), each its own stream
    queued = [air(server, hz, 0.6) for hz in (500, 700, 900)]
    for b in queued:
        wait_state(client, b.id, {pb.BROADCAST_STATE_FINISHED})
    # a NORMAL cut by an EMERGENCY on the same group; the NORMAL resumes after it
    normal = air(server, 1100, 2.0)
    wait_state(client, normal.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(0.6)
    emergency = air(server, 1500, 0.6, pb.PRIORITY_EMERGENCY)
    for b in (emergency, normal):
        assert wait_state(client, b.id, {pb.BROADCAST_STATE_FINISHED}).state == pb.BROADCAST_STATE_FINISHED
    time.sleep(0.5)
    receivers = {"ffmpeg": ffmpeg, "gst": gst} | ({"vlc": vlc} if vlc else {})
    alive = {name: proc.poll() is None for name, proc in receivers.items()}
    for proc in receivers.values():
        proc.send_signal(signal.SIGINT)  # ffmpeg writes its WAV header, GStreamer (-e) sends EOS
    for proc in receivers.values():
        proc.communicate(timeout=15)
    assert all(alive.values()), f"a receiver stopped before the last bulletin ended: {alive}"

    expected = [500, 700, 900, 1100, 1500, 1100]
    got = [
        client.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=b.id), metadata=client.metadata)
        for b in (*queued, normal, emergency)
    ]
    air_times = [b.air_time.ToNanoseconds() / 1e9 for b in got]
    sent = [t - air_times[0] for t in air_times]  # 500, 700, 900, 1100, 1500 onsets, as the server aired them
    for name in ("ffmpeg", "gst"):
        runs = tones(tmp_path / f"{name}.wav", expected)
        assert [hz for hz, _ in runs] == expected, f"{name} recorded {runs}"
        heard = [start - runs[0][1] for _, start in runs[:5]]
        print(f"{name}: {runs}; onsets {np.round(heard, 3).tolist()}, aired {np.round(sent, 3).tolist()}")
        # each bulletin at its time: the receivers keep the pauses between bulletins (timestamp gaps)
        assert np.allclose(heard, sent, atol=0.15), f"{name}: onsets {heard} against aired {sent}"
    if vlc:  # VLC's transcode joins the bulletins end to end: their order, not their times
        runs = tones(vlc_dir / "vlc.wav", expected)
        shutil.rmtree(vlc_dir)
        assert [hz for hz, _ in runs] == expected, f"vlc recorded {runs}"
