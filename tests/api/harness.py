"""A real `loa serve` in a private network namespace, reached from the test over a unix socket.

The server (and any speaker started with :meth:`Server.speaker`) lives in a namespace the test made, so
its multicast never leaves it; the test process stays outside and talks gRPC through the socket file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine.api.client import Client
from engine.netns import command, enter_command
from protos.loa.v1 import loa_pb2 as pb

METRICS_PORT = 9464


@dataclass
class Speaker:
    proc: subprocess.Popen[str]
    wav: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def recording(self) -> tuple[np.ndarray, dict[str, Any]]:
        audio, _ = sf.read(self.wav, dtype="float32")
        return audio, json.loads(self.wav.with_name(self.wav.name + ".json").read_text())

    def first_sound_wall(self, threshold: float = 0.02) -> float:
        """Wall time at which this speaker played its first sample louder than ``threshold``."""
        audio, meta = self.recording()
        loud = np.flatnonzero(np.abs(audio) > threshold)
        assert loud.size, f"{self.wav} recorded only silence"
        return float(meta["first_sample_wall"] + loud[0] / meta["sample_rate"])


@dataclass
class Server:
    state: Path
    auth: bool = False
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    speakers: list[Speaker] = field(default_factory=list)
    # a namespace that outlives the server (a process in it): the server and its speakers run there, so
    # a test can kill and restart the server while the speakers keep listening
    netns_pid: int | None = None

    @property
    def socket(self) -> str:
        return f"unix:{self.state}/loa.sock"

    def start(self) -> Server:
        argv = [
            sys.executable,
            "-m",
            "engine",
            "serve",
            "--listen",
            self.socket,
            "--state-dir",
            str(self.state),
        ]
        argv += ["--metrics-port", str(METRICS_PORT)] + ([] if self.auth else ["--no-auth"])
        log_path = self.state / "server.log"
        seen = log_path.stat().st_size if log_path.exists() else 0
        log = open(log_path, "a")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            command(argv) if self.netns_pid is None else enter_command(self.netns_pid, argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            # Hermetic: only voices the test put in STATE/voices, never the developer's installed ones.
            env={**os.environ, "LOA_VOICES_DIR": str(self.state / "voices"), **self.env},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            if "serving on" in log_path.read_text()[seen:]:
                return self
            time.sleep(0.1)
        raise TimeoutError("server did not start")

    def client(self, token: str | None = None) -> Client:
        return Client.connect(self.socket, token if token is not None else self.admin_token())

    def admin_token(self) -> str:
        path = self.state / "admin-token"
        return path.read_text().strip() if self.auth and path.exists() else ""

    def speaker(self, name: str, groups: list[str], *extra: str) -> Speaker:
        """A `loa speaker` in the server's namespace, recording to STATE/NAME.wav; ``extra``: more
        options (e.g. --metrics-port)."""
        assert self.proc is not None
        wav = self.state / f"{name}.wav"
        argv = [sys.executable, "-m", "streaming", "speaker", "--name", name, "--sink", str(wav)]
        for group in groups:
            argv += ["--group", group]
        argv += extra
        client = self.client()  # SRTP keys, provisioned the way a speaker fetches them: over the API
        keys = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(), metadata=client.metadata)
        if keys.groups:
            (self.state / f"{name}.keys.json").write_text(keys.provisioning_file)
            argv += ["--keys", str(self.state / f"{name}.keys.json")]
        proc = subprocess.Popen(
            enter_command(self.netns_pid or self.proc.pid, argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), f"speaker failed: {line} {proc.stderr.read() if proc.stderr else ''}"
        speaker = Speaker(proc, wav)
        self.speakers.append(speaker)
        return speaker

    def metrics(self, port: int = METRICS_PORT) -> str:
        """The /metrics page on ``port`` in the server's namespace (the server's, or a speaker's)."""
        assert self.proc is not None
        code = f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())"
        out = subprocess.run(
            enter_command(self.proc.pid, [sys.executable, "-c", code]),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def stop(self, kill: bool = False) -> None:
        for speaker in self.speakers:
            speaker.stop()
        self.speakers = []
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def group(group_id: str, address: str, port: int = 5004, **kw: Any) -> pb.Group:
    return pb.Group(id=group_id, name=group_id, multicast_address=address, port=port, **kw)


def watch(client: Client, broadcast_id: str, timeout: float = 60) -> list[pb.BroadcastEvent]:
    """Every event until the broadcast ends."""
    return list(
        client.broadcasts.WatchBroadcast(
            pb.WatchBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata, timeout=timeout
        )
    )


def wait_state(client: Client, broadcast_id: str, states: set[int], timeout: float = 30) -> pb.Broadcast:
    deadline = time.monotonic() + timeout
    while True:
        b = client.broadcasts.GetBroadcast(
            pb.GetBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata
        )
        if b.state in states or time.monotonic() > deadline:
            return b
        time.sleep(0.05)
