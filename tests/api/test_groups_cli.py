"""`loa group`: what an operator types to make the groups a fresh server lacks, against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.api.harness import Server

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("groups-cli"), auth=True).start()
    yield srv
    srv.stop()


def loa(server: Server, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    token = server.admin_token() if token is None else token
    argv = [sys.executable, "-m", "engine", *args, "--server", server.socket, "--token", token]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_create_list_get_update_delete_a_group(server: Server) -> None:
    empty = loa(server, "group", "list")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "loa group create" in empty.stderr  # a fresh server says how to start

    created = loa(
        server,
        *("group", "create", "phu-hoa", "--address", "239.192.40.1", "--name", "Ấp Phú Hòa"),
        *("--playout-delay", "0.8", "--fec", "--expected-loss", "10"),
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "group phu-hoa created: 239.192.40.1:5004"

    got = json.loads(loa(server, "group", "get", "phu-hoa").stdout)
    assert got["name"] == "Ấp Phú Hòa" and got["fec"] is True
    assert got["playoutDelay"] == "0.800s" and got["expectedLossPercent"] == 10 and got["port"] == 5004

    updated = loa(server, "group", "update", "phu-hoa", "--name", "Ấp Phú Hòa 2", "--port", "5006")
    assert updated.returncode == 0, updated.stderr
    after = json.loads(loa(server, "group", "get", "phu-hoa").stdout)
    assert after["name"] == "Ấp Phú Hòa 2" and after["port"] == 5006
    # only the options given changed
    assert after["fec"] is True and after["playoutDelay"] == "0.800s" and after["expectedLossPercent"] == 10

    listed = loa(server, "group", "list")
    (line,) = listed.stdout.splitlines()
    assert line.split()[:2] == ["phu-hoa", "239.192.40.1:5006"] and "delay  800 ms" in line
    assert "fec" in line and line.endswith("Ấp Phú Hòa 2")

    deleted = loa(server, "group", "delete", "phu-hoa")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    gone = loa(server, "group", "get", "phu-hoa")
    assert gone.returncode == 1
    assert gone.stderr.strip() == "loa group get: NOT_FOUND: group_id: no group 'phu-hoa'"


def test_bad_input_and_no_token_are_one_clear_line(server: Server) -> None:
    ipv6 = loa(server, "group", "create", "v6", "--address", "ff05::1")
    assert ipv6.returncode == 1
    assert ipv6.stderr.startswith("loa group create: INVALID_ARGUMENT: group.multicast_address")
    odd = loa(server, "group", "create", "odd", "--address", "239.192.40.2", "--port", "5005")
    assert odd.returncode == 1 and "group.port" in odd.stderr
    nothing = loa(server, "group", "update", "v6")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    anonymous = loa(server, "group", "list", token="")
    assert anonymous.returncode == 1 and "UNAUTHENTICATED" in anonymous.stderr


def test_a_broadcast_to_a_missing_group_says_how_to_create_it(server: Server) -> None:
    sent = loa(server, "broadcast", "send", "--group", "ghost", "--no-watch", "Xin chào.")
    assert sent.returncode == 1
    assert sent.stderr.strip() == (
        "loa broadcast: NOT_FOUND: group_ids[0]: no group 'ghost'; "
        "create it first: loa group create ghost --address ADDR (or the CreateGroup call)"
    )
