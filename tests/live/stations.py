"""Upper-level stations for the relay tests and bench: Debian's icecast2 fed by ffmpeg, ffmpeg as an
RTP source with an SDP, and a plain HTTP server (SDP files, garbage). Only inside a namespace we made:
icecast2 refuses to run as root, so :func:`namespace_command` maps us to nobody with our capabilities
kept (docs: /work/shared/notes/live-sources.md).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.netns import SETUP

PASSWORD = "relay-test"
RATE = 48_000
# A known signal: white noise from a fixed seed (the same samples every time ffmpeg makes it); noise
# correlates at one lag only, unlike a tone
FFMPEG = ["ffmpeg", "-nostdin", "-loglevel", "error"]
SIGNAL = "anoisesrc=color=white:seed=7:sample_rate=48000:amplitude=0.3"


def available() -> bool:
    return all(shutil.which(p) for p in ("icecast2", "ffmpeg", "unshare", "ip"))


def namespace_command(argv: Sequence[str]) -> list[str]:
    return [
        "unshare",
        "--net",
        "--map-user=65534",
        "--map-group=65534",
        "--keep-caps",
        "sh",
        "-c",
        SETUP + ' && exec "$@"',
        "netns",
        *argv,
    ]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


CONFIG = """<icecast>
  <limits><clients>200</clients><sources>16</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect><burst-size>65535</burst-size></limits>
  <authentication><source-password>{password}</source-password><admin-user>admin</admin-user>
    <admin-password>{password}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot></security>
</icecast>
"""


@contextlib.contextmanager
def icecast(workdir: Path, port: int = 8000) -> Iterator[str]:
    """A running icecast2 on 127.0.0.1:port; yields its base URL."""
    logdir = workdir / "icecast-log"
    logdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "icecast.xml"
    config.write_text(CONFIG.format(password=PASSWORD, port=port, logdir=logdir))
    proc = subprocess.Popen(
        ["icecast2", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def feed_icecast(
    base: str, mount: str, codec: str, seconds: float, signal: str = SIGNAL
) -> subprocess.Popen[bytes]:
    """ffmpeg sending ``seconds`` of ``signal`` to icecast at real-time pace (codec "mp3" or "opus")."""
    out = base.replace("http://", f"icecast://source:{PASSWORD}@") + mount
    enc = {
        "mp3": ["-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3"],
        "opus": ["-c:a", "libopus", "-b:a", "64k", "-content_type", "application/ogg", "-f", "ogg"],
    }[codec]
    argv = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"{signal}:duration={seconds}",
    ]
    return subprocess.Popen([*argv, "-ac", "1", *enc, out], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_mount(base: str, mount: str, timeout: float = 10.0) -> None:
    """Until icecast serves ``mount`` (its source connected)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + mount, timeout=2) as r:
                if r.status == 200 and r.read(1):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{mount} never came up")
        time.sleep(0.1)


def rtp_source(workdir: Path, port: int, seconds: float) -> tuple[subprocess.Popen[bytes], Path]:
    """ffmpeg sending ``seconds`` of the signal as RTP/Opus to 127.0.0.1:port; returns (process, SDP file)."""
    sdp = workdir / f"rtp{port}.sdp"
    argv = [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        f"{SIGNAL}:duration={seconds}",
    ]
    argv += [
        "-ac",
        "1",
        "-c:a",
        "libopus",
        "-b:a",
        "64k",
        "-f",
        "rtp",
        "-sdp_file",
        str(sdp),
        f"rtp://127.0.0.1:{port}",
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not (sdp.exists() and sdp.stat().st_size):
        if time.monotonic() > deadline:
            raise TimeoutError("no SDP")
        time.sleep(0.05)
    return proc, sdp


def hls_source(workdir: Path, seconds: float) -> tuple[subprocess.Popen[bytes], Path]:
    """ffmpeg writing ``seconds`` of the signal as a live HLS playlist of 2 s AAC segments."""
    out = workdir / "hls"
    out.mkdir(exist_ok=True)
    argv = [*FFMPEG, "-re", "-f", "lavfi", "-i", f"{SIGNAL}:duration={seconds}", "-ac", "1"]
    argv += ["-c:a", "aac", "-b:a", "96k", "-f", "hls", "-hls_time", "2", "-hls_list_size", "5"]
    proc = subprocess.Popen([*argv, str(out / "live.m3u8")], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, out


class DirServer:
    """Serves a directory over HTTP (an HLS playlist and its segments)."""

    def __init__(self, directory: Path) -> None:
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(directory), **kwargs)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reference(seconds: float) -> np.ndarray:
    """The signal as ffmpeg makes it: 48 kHz mono float32."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"{SIGNAL}:duration={seconds}",
            "-ac",
            "1",
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.float32)


class HttpServer:
    """Serves documents and endless bodies from callables: path → (content type, body iterator)."""

    def __init__(self, routes: dict[str, Callable[[], Iterator[bytes]]]) -> None:
        routes_ = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                make = routes_.get(self.path)
                if make is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                with contextlib.suppress(OSError):
                    for part in make():
                        self.wfile.write(part)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def garbage(seconds: float = 30.0) -> Iterator[bytes]:
    """Random bytes at ~64 kb/s: not a stream of any format."""
    rng = np.random.default_rng(3)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield rng.integers(0, 256, 800, dtype=np.uint8).tobytes()
        time.sleep(0.1)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
