"""`loa broadcast`: what an operator types, against a real server."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("cli"), auth=True).start()
    client = srv.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("ap-1", "239.192.35.1")), metadata=client.metadata
    )
    yield srv
    srv.stop()


def loa(server: Server, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env_token = server.admin_token() if token is None else token
    argv = [sys.executable, "-m", "engine", "broadcast", *args]
    if args[0] != "log":
        argv += ["--server", server.socket, "--token", env_token]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_send_watches_until_finished_then_list_get_and_log(server: Server) -> None:
    sent = loa(
        server,
        "send",
        "--group",
        "ap-1",
        "--title",
        "Cắt điện",
        "--then",
        "vi:Xin cảm ơn.",
        "Ngày 2/9 nghỉ lễ.",
    )
    assert sent.returncode == 0, sent.stderr
    lines = sent.stdout.splitlines()
    broadcast_id = lines[0].split()[1]
    assert "accepted" in lines[0]
    assert any(" on_air " in line for line in lines)
    assert "finished" in lines[-1]

    listed = loa(server, "list", "--group", "ap-1")
    assert broadcast_id in listed.stdout and "finished" in listed.stdout
    got = json.loads(loa(server, "get", broadcast_id).stdout)
    assert got["title"] == "Cắt điện" and len(got["segments"]) == 2

    log_csv = loa(server, "log", "--since", "1h", "--state-dir", str(server.state))
    assert log_csv.returncode == 0, log_csv.stderr
    assert log_csv.stdout.startswith("\ufeff")  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(log_csv.stdout.removeprefix("\ufeff"))))
    assert [r for r in rows if broadcast_id in r.values()]
    log_json = json.loads(
        loa(server, "log", "--since", "1h", "--format", "json", "--state-dir", str(server.state)).stdout
    )
    assert broadcast_id in json.dumps(log_json)


def test_errors_are_one_clear_line(server: Server) -> None:
    no_group = loa(server, "send", "--group", "ghost", "Xin chào.")
    assert no_group.returncode == 1
    assert no_group.stderr.strip().startswith("loa broadcast: NOT_FOUND: group_ids[0]: no group 'ghost'; ")
    assert "loa group create ghost" in no_group.stderr  # how to make one (tests/api/test_groups_cli.py)
    no_token = loa(server, "list", token="")
    assert no_token.returncode == 1 and "UNAUTHENTICATED" in no_token.stderr
    cancel = loa(server, "cancel", "nope")
    assert cancel.returncode == 1 and "NOT_FOUND" in cancel.stderr
