"""What `loa serve` and `loa speaker` say on stderr: real processes in a private network namespace.

One server (JSON lines, tokens on) airs a bulletin that an emergency preempts and that then resumes,
refuses calls, and feeds two speakers that cannot play its SRTP group: one without keys, one whose key
file lacks the group. Each must say so, once in the rate-limit window. A second, short server checks the
human text lines (docs/LOGGING.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from engine.api import convert
from engine.api.client import Client
from engine.netns import enter_command
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group, wait_state, watch

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LONG_VI = (
    "Ủy ban nhân dân xã thông báo lịch tiêm chủng mở rộng cho trẻ em trong tháng này. "
    "Đề nghị các gia đình đưa con em đến trạm y tế đúng giờ. "
    "Khi đi mang theo sổ tiêm chủng và đeo khẩu trang."
)
BAD_TOKEN = "loa_abcdef_thisisnotavalidsecret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("logs"), auth=True, env={"LOA_LOG_FORMAT": "json"}).start()
    yield srv
    srv.stop()


def _speaker(server: Server, name: str, address: str, *extra: str) -> subprocess.Popen[str]:
    assert server.proc is not None
    argv = [sys.executable, "-m", "streaming", "speaker", "--name", name, "--group", address, *extra]
    proc = subprocess.Popen(
        enter_command(server.proc.pid, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("{")
    return proc


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_lifecycle_refusals_and_silent_speakers_are_logged(server: Server) -> None:
    client = server.client()
    md = client.metadata
    # group "other" first: the key file exported now has its key only, not the bulletin group's
    client.groups.CreateGroup(pb.CreateGroupRequest(group=group("other", "239.192.61.2")), metadata=md)
    keys = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(), metadata=md)
    key_file = server.state / "other-only.keys.json"
    key_file.write_text(keys.provisioning_file)
    delay = convert.duration(0.2)
    bulletin = group("logs", "239.192.61.1", playout_delay=delay)
    client.groups.CreateGroup(pb.CreateGroupRequest(group=bulletin), metadata=md)
    keyless = _speaker(server, "keyless", "239.192.61.1:5004:normal:200")
    unkeyed = _speaker(server, "unkeyed", "239.192.61.1:5004:normal:200", "--keys", str(key_file))

    normal = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(group_ids=["logs"], segments=[pb.Segment(language="vi", text=LONG_VI)]),
        metadata=md,
    )
    wait_state(client, normal.id, {pb.BROADCAST_STATE_ON_AIR})
    time.sleep(0.5)
    emergency = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(
            group_ids=["logs"],
            priority=pb.PRIORITY_EMERGENCY,
            segments=[pb.Segment(language="vi", text="Khẩn cấp: lũ đang lên.")],
        ),
        metadata=md,
    )
    assert watch(client, emergency.id)[-1].type == pb.EVENT_TYPE_FINISHED
    assert watch(client, normal.id)[-1].type == pb.EVENT_TYPE_FINISHED
    intruder = Client.connect(server.socket, BAD_TOKEN)
    with pytest.raises(grpc.RpcError) as refused:
        intruder.broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(), metadata=intruder.metadata)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as invalid:
        client.broadcasts.CreateBroadcast(pb.CreateBroadcastRequest(group_ids=["logs"]), metadata=md)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    time.sleep(0.5)
    speakers_err = {}
    for name, proc in (("keyless", keyless), ("unkeyed", unkeyed)):
        proc.terminate()
        speakers_err[name] = proc.communicate(timeout=20)[1]
    server.stop()
    log = (server.state / "server.log").read_text()
    lines = _json_lines(log)

    (start,) = [x for x in lines if x["event"] == "server.start"]
    assert start["tls"] == "off" and start["broker"] is False and start["level"] == "INFO"
    assert start["state_dir"] == str(server.state)
    mine = [x["event"] for x in lines if x.get("broadcast_id") == normal.id and x["level"] != "DEBUG"]
    assert mine == [
        "broadcast.accepted",
        "broadcast.on_air",
        "broadcast.preempted",
        "broadcast.resumed",
        "broadcast.on_air",
        "broadcast.finished",
    ]
    preempted = next(x for x in lines if x["event"] == "broadcast.preempted")
    assert preempted["groups"] == ["logs"] and preempted["priority"] == "normal"
    assert emergency.id in preempted["message"]
    refusals = {(x["method"], x["status"]) for x in lines if x["event"] == "call.refused"}
    assert ("Broadcasts.ListBroadcasts", "UNAUTHENTICATED") in refusals
    assert ("Broadcasts.CreateBroadcast", "INVALID_ARGUMENT") in refusals
    assert all(x["level"] == "WARNING" for x in lines if x["event"] == "call.refused")
    assert "thisisnotavalidsecret" not in log  # the token never reaches the log
    assert [x["event"] for x in lines][-2:] == ["server.stopping", "server.stopped"]

    keyless_lines = speakers_err["keyless"].splitlines()
    no_keys = "is SRTP but this speaker has no keys (--keys): nothing will play"
    warned = [x for x in keyless_lines if no_keys in x]
    assert len(warned) == 1, speakers_err["keyless"]  # two bulletins, one line in the 60 s window
    assert "239.192.61.1:5004" in warned[0] and " WARNING " in warned[0]
    assert any("[speaker.joined]" in x for x in keyless_lines)
    unkeyed_err = speakers_err["unkeyed"]
    assert unkeyed_err.count("group 239.192.61.1:5004 is missing from the key file") == 1
    assert unkeyed_err.count("is SRTP but the key file has no key for it: nothing will play") == 1


def test_text_lines_say_start_refusal_and_shutdown(tmp_path: Path) -> None:
    server = Server(tmp_path, auth=True).start()
    try:
        intruder = Client.connect(server.socket, BAD_TOKEN)
        for _ in range(3):  # a token guessed in a loop: one line in the window
            with pytest.raises(grpc.RpcError):
                intruder.groups.ListGroups(pb.ListGroupsRequest(), metadata=intruder.metadata)
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "TLS off (plaintext), broker off, state in" in log
    refused = [x for x in log.splitlines() if "refused Groups.ListGroups: UNAUTHENTICATED" in x]
    assert len(refused) == 1 and " WARNING engine.api.calls: " in refused[0]
    assert "[server.stopping]" in log and "thisisnotavalidsecret" not in log
