"""Servers to break: a real `loa serve` in a private network namespace, killed and restarted at will, and
optionally on a state directory that is a size-limited or read-only tmpfs in a private mount namespace.

The test process stays outside every namespace and talks gRPC through a unix socket kept outside the state
directory, so the socket stays reachable when the state directory is a private mount. A private mount is
held by a ``sleep`` process (:class:`StateMount`): it outlives server restarts, so a test can fill the
disk, kill the server, free space and start again on the same files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from engine.api.client import Client
from engine.api.healthcheck import check
from engine.netns import command

START_TIMEOUT_S = 60.0


@dataclass
class StateMount:
    """A tmpfs of ``size_kb`` at ``path``, visible only to processes entered into its mount namespace."""

    path: Path
    size_kb: int
    proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> StateMount:
        self.path.mkdir(parents=True, exist_ok=True)
        script = f"mount -t tmpfs -o size={self.size_kb}k,mode=0755 loa-state '{self.path}' && echo ready"
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script + " && exec sleep 3600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"cannot mount a tmpfs: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def prefix(self) -> list[str]:
        """The argv prefix that runs a command inside this mount namespace."""
        assert self.proc is not None
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--"]

    def sh(self, script: str) -> subprocess.CompletedProcess[str]:
        argv = [*self.prefix(), "sh", "-c", script]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    def remount(self, read_only: bool) -> None:
        done = self.sh(f"mount -o remount,{'ro' if read_only else 'rw'} '{self.path}'")
        assert done.returncode == 0, done.stderr

    def available_kb(self) -> int:
        return int(self.sh(f"df -k --output=avail '{self.path}' | tail -1").stdout.strip())

    def fill(self, leave_kb: int = 0) -> None:
        """Takes all the space but ``leave_kb`` with a ballast file, so that freeing it is one command."""
        kb = max(0, self.available_kb() - leave_kb)
        self.sh(f"dd if=/dev/zero of='{self.path}/ballast' bs=1k count={kb} 2>/dev/null")

    def free_ballast(self) -> None:
        self.sh(f"rm -f '{self.path}/ballast'")

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        """Runs ``python -c code`` where the files are visible (to read the store as a server would)."""
        return subprocess.run(
            [*self.prefix(), sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )


@dataclass
class Loa:
    """One server. ``home`` holds the socket and the log; ``state`` is the state directory."""

    home: Path
    state: Path
    env: dict[str, str] = field(default_factory=dict)
    auth: bool = False
    mount: StateMount | None = None
    proc: subprocess.Popen[str] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"unix:{self.home}/loa.sock"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def argv(self) -> list[str]:
        serve = [sys.executable, "-m", "engine", "serve", "--listen", self.address]
        serve += ["--state-dir", str(self.state)]
        serve += ["--metrics-port", "0", "--grace", "1"] + ([] if self.auth else ["--no-auth"])
        inner = command(serve)
        return [*self.mount.prefix(), *inner] if self.mount is not None else inner

    def spawn(self) -> subprocess.Popen[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.mount is None:
            self.state.mkdir(parents=True, exist_ok=True)
        socket = self.home / "loa.sock"
        socket.unlink(missing_ok=True)
        with open(self.log, "a") as log:
            log.write(f"--- start {self.starts + 1}\n")
            log.flush()
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **self.env}
            )
        self.starts += 1
        return self.proc

    def start(self) -> Loa:
        """Starts the server and waits until it answers grpc.health SERVING."""
        proc = self.spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: {self.tail()}")
            if (self.home / "loa.sock").exists() and self.healthy(timeout=1.0):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"server did not start: {self.tail()}")

    def run_to_exit(self, timeout: float = START_TIMEOUT_S) -> int:
        """Starts the server expecting it to refuse; returns its exit code."""
        proc = self.spawn()
        try:
            return proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def kill(self) -> None:
        """kill -9: no graceful shutdown, no flush, no goodbye."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            self.proc = None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory of the server process now (its pid is the python process: unshare and sh exec)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (user + system), from /proc: its work, not the machine's."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self, token: str | None = None) -> Client:
        return Client.connect(self.address, token if token is not None else self.admin_token())

    def admin_token(self) -> str:
        if not self.auth:
            return ""
        if self.mount is not None:
            return self.mount.sh(f"cat '{self.state}/admin-token'").stdout.strip()
        path = self.state / "admin-token"
        return path.read_text().strip() if path.exists() else ""

    def healthy(self, timeout: float = 5.0) -> bool:
        """grpc.health.v1 says SERVING."""
        return check(self.address, timeout)


def retry_after_ms(error: grpc.RpcError) -> int | None:
    """The server's retry hint on a RESOURCE_EXHAUSTED answer, from the trailing metadata."""
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    for key, value in trailers or ():
        if key == "retry-after-ms":
            return int(value)
    return None
