"""A server in Asia/Ho_Chi_Minh (config time_zone) and the CLI: naive times are local, UTC on the wire,
every time shown with its offset; schedules air at local times and survive restarts (a real server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from engine.api.client import Client
from engine.api.tokens import Role, TokenStore
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


def scheduled(server: Server, schedule_id: str) -> list[pb.Broadcast]:
    client = server.client()
    reply = client.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(group_id="xa-an-binh"), metadata=client.metadata
    )
    return [b for b in reply.broadcasts if b.schedule_id == schedule_id]


def wait_for(check: Callable[[], list[pb.Broadcast]], timeout: float = 15) -> list[pb.Broadcast]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError("nothing made")


def test_a_schedule_makes_its_next_occurrence_at_the_local_time_once_across_a_restart(server: Server) -> None:
    due = (datetime.now(HCM) + timedelta(seconds=150)).replace(microsecond=0)
    added = loa(server, "schedule", "add", "--group", "xa-an-binh", "--at", f"{due:%H:%M:%S}",
                "--weekdays", "mon-sun", "--title", "Bản tin", "--text", "Bản tin buổi sáng.")  # fmt: skip
    assert added.returncode == 0, added.stderr
    schedule_id = added.stdout.split()[0]
    assert "(Asia/Ho_Chi_Minh)" in added.stdout and f"next {due:%Y-%m-%d %H:%M:%S} +07" in added.stdout
    made = wait_for(lambda: scheduled(server, schedule_id))
    assert len(made) == 1 and made[0].start_time.ToDatetime(tzinfo=UTC) == due.astimezone(UTC)
    assert made[0].title == "Bản tin"
    server.stop()
    server.start()
    time.sleep(2.5)  # a few runner passes of the restarted server
    assert [b.id for b in scheduled(server, schedule_id)] == [made[0].id]
    shown = loa(server, "schedule", "show", schedule_id)
    assert f"{due:%Y-%m-%d %H:%M:%S} +07  scheduled {made[0].id}" in shown.stdout, shown.stdout
    removed = loa(server, "schedule", "remove", schedule_id)
    assert removed.returncode == 0, removed.stderr
    assert scheduled(server, schedule_id)[0].state == pb.BROADCAST_STATE_CANCELLED


def test_bad_schedule_fields_are_invalid_argument_naming_the_field(server: Server) -> None:
    bad = loa(server, "schedule", "add", "--group", "xa-an-binh", "--at", "25:00", "--text", "x")
    assert bad.returncode == 1 and "INVALID_ARGUMENT: schedule.recurrence.times[0]" in bad.stderr
    bad = loa(
        server,
        "schedule",
        "add",
        "--group",
        "xa-an-binh",
        "--at",
        "06:00",
        "--tz",
        "Asia/Hanoi",
        "--text",
        "x",
    )
    assert bad.returncode == 2 and "--tz: unknown time zone 'Asia/Hanoi'" in bad.stderr
    missing = loa(server, "schedule", "add", "--group", "nowhere", "--at", "06:00", "--text", "x")
    assert missing.returncode == 1 and "NOT_FOUND: group_ids[0]" in missing.stderr


def test_schedules_are_authorized_like_broadcasts(server: Server) -> None:
    admin = server.client()
    admin.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("xa-khac", "239.192.36.2")), metadata=admin.metadata
    )
    with TokenStore.in_state_dir(server.state) as tokens:
        publisher, _ = tokens.create("xa-an-binh newsroom", Role.PUBLISHER, groups=["xa-an-binh"])
        viewer, _ = tokens.create("dashboard", Role.VIEWER)
    commune, dashboard = server.client(publisher), server.client(viewer)

    def create(client: Client, priority: pb.Priority, groups: list[str]) -> pb.Schedule:
        template = pb.CreateBroadcastRequest(
            segments=[pb.Segment(language="vi", text="Bản tin.")], group_ids=groups, priority=priority
        )
        request = pb.CreateScheduleRequest(
            schedule=pb.Schedule(template=template, recurrence=pb.Recurrence(times=["06:00"]))
        )
        return client.schedules.CreateSchedule(request, metadata=client.metadata)

    def refused(call: Callable[[], object]) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        return caught.value.code()

    assert (
        refused(lambda: create(commune, pb.PRIORITY_EMERGENCY, ["xa-an-binh"]))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        refused(lambda: create(commune, pb.PRIORITY_NORMAL, ["xa-khac"])) == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        refused(lambda: create(dashboard, pb.PRIORITY_NORMAL, ["xa-an-binh"]))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    own = create(commune, pb.PRIORITY_NORMAL, ["xa-an-binh"])
    assert own.recurrence.time_zone == "Asia/Ho_Chi_Minh" and own.created_by.name == "xa-an-binh newsroom"
    other = create(admin, pb.PRIORITY_NORMAL, ["xa-khac"])
    # another commune's schedule: NOT_FOUND as an unknown id, left out of its list, not deletable
    request = pb.GetScheduleRequest(schedule_id=other.id)
    assert (
        refused(lambda: commune.schedules.GetSchedule(request, metadata=commune.metadata))
        == grpc.StatusCode.NOT_FOUND
    )
    listed = commune.schedules.ListSchedules(pb.ListSchedulesRequest(), metadata=commune.metadata)
    assert other.id not in [s.id for s in listed.schedules] and own.id in [s.id for s in listed.schedules]
    delete = pb.DeleteScheduleRequest(schedule_id=other.id)
    assert (
        refused(lambda: commune.schedules.DeleteSchedule(delete, metadata=commune.metadata))
        == grpc.StatusCode.NOT_FOUND
    )
    # a viewer reads, never pauses
    pause = pb.UpdateScheduleRequest(schedule_id=own.id, paused=True)
    assert (
        refused(lambda: dashboard.schedules.UpdateSchedule(pause, metadata=dashboard.metadata))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert commune.schedules.UpdateSchedule(pause, metadata=commune.metadata).paused
    for s in (own, other):
        admin.schedules.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id=s.id), metadata=admin.metadata)


def test_the_log_export_writes_times_in_the_servers_zone_with_their_offset(server: Server) -> None:
    argv = [sys.executable, "-m", "engine", "broadcast", "log", "--since", "1h", "--format", "json",
            "--state-dir", str(server.state)]  # fmt: skip
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOA_TIME_ZONE": "Asia/Ho_Chi_Minh"},
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["time_zone"] == "Asia/Ho_Chi_Minh" and doc["since"].endswith("+07:00")
    assert doc["broadcasts"] and all(b["create_time"].endswith("+07:00") for b in doc["broadcasts"])
    assert any(b["schedule_id"] for b in doc["broadcasts"])  # an occurrence names its schedule
