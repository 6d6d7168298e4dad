"""A second `loa serve` on an address a first one holds is refused, by name, and the first keeps serving.

Without this, gRPC's SO_REUSEPORT let two servers share a TCP port (the kernel split the clients between
them), and a second server on a unix socket took the socket's name from the first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.netns import command, enter_command
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

pytestmark = pytest.mark.netns

TCP = "127.0.0.1:50051"


def serve_argv(listen: str, state: Path) -> list[str]:
    argv = [sys.executable, "-m", "engine", "serve", "--listen", listen, "--state-dir", str(state)]
    return [*argv, "--no-auth", "--metrics-port", "0"]


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = tmp_path / "first.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command(serve_argv(TCP, tmp_path / "first")),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "LOA_VOICES_DIR": str(tmp_path / "voices")},
        )
    deadline = time.monotonic() + 60
    while "serving on" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def healthy(pid: int, address: str) -> bool:
    probe = enter_command(pid, [sys.executable, "-m", "engine.api.healthcheck", address])
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


def test_a_second_server_on_a_busy_tcp_port_is_refused_by_address(
    tcp_server: subprocess.Popen[str], tmp_path: Path
) -> None:
    second = subprocess.run(
        enter_command(tcp_server.pid, serve_argv(TCP, tmp_path / "second")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert f"listen {TCP}: the address is already in use" in second.stderr
    assert not (tmp_path / "second" / "loa.db").exists()  # refused before it opened any state
    assert healthy(tcp_server.pid, TCP)  # the first one still answers every call
    # the same state directory too: the first server's store is left alone
    again = subprocess.run(
        enter_command(tcp_server.pid, serve_argv(TCP, tmp_path / "first")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and TCP in again.stderr
    assert healthy(tcp_server.pid, TCP)


def test_a_second_server_on_a_unix_socket_in_use_is_refused_and_a_stale_one_is_reused(
    tmp_path: Path,
) -> None:
    (tmp_path / "first").mkdir()
    first = Server(tmp_path / "first").start()
    assert first.proc is not None
    try:
        second = subprocess.run(
            enter_command(first.proc.pid, serve_argv(first.socket, tmp_path / "second")),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert f"listen {first.socket}: another server is already listening" in second.stderr
        client = first.client()  # the socket is still the first server's
        client.groups.CreateGroup(pb.CreateGroupRequest(group=group("still-me", "239.192.31.1")))
        assert [g.id for g in client.groups.ListGroups(pb.ListGroupsRequest()).groups] == ["still-me"]
        first.stop(kill=True)  # leaves its socket file behind
        assert Path(first.socket.removeprefix("unix:")).exists()
        first.start()  # a stale socket file is no server: replaced
        assert first.client().groups.GetGroup(pb.GetGroupRequest(group_id="still-me")).id == "still-me"
    finally:
        first.stop()
