"""A server in Asia/Ho_Chi_Minh (config time_zone) and the CLI: naive times are local, UTC on the wire,
every time shown with its offset; schedules air at local times and survive restarts (a real server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

pytestmark = [pytest.mark.netns, pytest.mark.slow]

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("tz"), auth=True, env={"LOA_TIME_ZONE": "Asia/Ho_Chi_Minh"}).start()
    client = srv.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("xa-an-binh", "239.192.36.1")), metadata=client.metadata
    )
    yield srv
    srv.stop()


def loa(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "engine", *args, "--server", server.socket, "--token", server.admin_token()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_the_server_says_its_zone(server: Server) -> None:
    client = server.client()
    info = client.server.GetServerInfo(pb.GetServerInfoRequest(), metadata=client.metadata)
    assert info.time_zone == "Asia/Ho_Chi_Minh" and info.version


def test_a_naive_time_is_the_servers_local_time_and_is_listed_with_its_offset(server: Server) -> None:
    tomorrow = (datetime.now(HCM) + timedelta(days=1)).date()
    sent = loa(server, "broadcast", "send", "--group", "xa-an-binh", "--at", f"{tomorrow} 07:00",
               "--no-watch", "Bản tin sáng.")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    broadcast_id = sent.stdout.split()[1]
    assert f"starts {tomorrow} 07:00:00 +07" in sent.stdout
    client = server.client()
    got = client.broadcasts.GetBroadcast(
        pb.GetBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata
    )
    # on the wire: 00:00 UTC
    assert got.start_time.ToDatetime(tzinfo=UTC) == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC
    )
    listed = loa(server, "broadcast", "list", "--group", "xa-an-binh")
    assert f"{broadcast_id}  {tomorrow} 07:00:00 +07  queued" in listed.stdout, listed.stdout
    # --tz overrides the server's zone; an explicit offset is honoured whatever the zone
    in_utc = loa(server, "broadcast", "list", "--group", "xa-an-binh", "--tz", "UTC")
    assert f"{tomorrow} 00:00:00 +00" in in_utc.stdout
    bad = loa(server, "broadcast", "send", "--group", "xa-an-binh", "--at", "mai 7h", "x")
    assert bad.returncode == 2 and "--at: not a time" in bad.stderr
    client.broadcasts.CancelBroadcast(
        pb.CancelBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata
    )
