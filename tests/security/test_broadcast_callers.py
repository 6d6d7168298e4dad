"""Who made a broadcast, whose idempotency key it is, and who may read it (security #12 items 6, 7), over
a real `loa serve` with tokens in a private namespace.

The broadcasts are scheduled an hour ahead, so nothing airs: these tests are about the store and the API.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from engine.api import convert
from engine.api.client import Client
from engine.api.tokens import Role, TokenStore
from protos.loa.v1 import loa_pb2 as pb
from tests.api.harness import Server, group

pytestmark = [pytest.mark.netns]

FORGED = "Chủ tịch UBND tỉnh (ký)"
START = time.time() + 3600  # every broadcast scheduled then: never airs during the test; retries equal


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("callers"), auth=True).start()
    admin = srv.client()
    for i, gid in enumerate(("xa-1", "xa-2")):
        admin.groups.CreateGroup(
            pb.CreateGroupRequest(group=group(gid, f"239.192.61.{i + 1}")), metadata=admin.metadata
        )
    yield srv
    srv.stop()


def _token(server: Server, name: str, role: Role, groups: list[str]) -> tuple[Client, str]:
    """A client with a new token, and the token's id."""
    with TokenStore.in_state_dir(server.state) as tokens:
        token, info = tokens.create(name, role, groups)
    return server.client(token), info.id


def _create(client: Client, groups: list[str], text: str = "Thông báo.", **kw: Any) -> pb.Broadcast:
    request = pb.CreateBroadcastRequest(
        segments=[pb.Segment(language="vi", text=text)],
        group_ids=groups,
        start_time=convert.timestamp(START),
        **kw,
    )
    return client.broadcasts.CreateBroadcast(request, metadata=client.metadata, timeout=30)


def _error(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_broadcast_records_the_token_beside_a_forged_signature(server: Server) -> None:
    publisher, token_id = _token(server, "district cms", Role.PUBLISHER, ["xa-1"])
    made = _create(publisher, ["xa-1"], requested_by=FORGED)
    assert "created_by" not in pb.CreateBroadcastRequest.DESCRIPTOR.fields_by_name  # no way to set it
    admin = server.client()
    read = admin.broadcasts.GetBroadcast(
        pb.GetBroadcastRequest(broadcast_id=made.id), metadata=admin.metadata
    )
    for b in (made, read):
        assert b.created_by == pb.Caller(token_id=token_id, name="district cms", role="publisher")
        assert b.requested_by == FORGED  # kept, but only as the caller's free text
    # the nhật ký phát, as `loa broadcast log` exports it from the state directory
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "broadcast",
            "log",
            "--since",
            "1h",
            "--state-dir",
            str(server.state),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    row = next(
        r
        for r in csv.DictReader(io.StringIO(out.stdout.removeprefix("\ufeff")))
        if r["broadcast_id"] == made.id
    )
    assert row["requested_by"] == FORGED
    assert (row["created_by"], row["created_by_role"], row["created_by_token"]) == (
        "district cms",
        "publisher",
        token_id,
    )


def test_idempotency_keys_are_per_token(server: Server) -> None:
    first, _ = _token(server, "cms a", Role.PUBLISHER, ["xa-1"])
    second, _ = _token(server, "cms b", Role.PUBLISHER, ["xa-1"])
    mine = _create(first, ["xa-1"], idempotency_key="ban-tin-7")
    # another token, same key, even another request: its own broadcast, and no trace of the first's id
    theirs = _create(second, ["xa-1"], text="Khác hẳn.", idempotency_key="ban-tin-7")
    assert theirs.id != mine.id
    assert mine.id not in theirs.SerializeToString().decode("utf-8", "replace")
    # each token's retry still returns its own first broadcast
    assert _create(first, ["xa-1"], idempotency_key="ban-tin-7").id == mine.id
    assert _create(second, ["xa-1"], text="Khác hẳn.", idempotency_key="ban-tin-7").id == theirs.id
    code, message = _error(lambda: _create(second, ["xa-1"], text="Lần ba.", idempotency_key="ban-tin-7"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert theirs.id in message and mine.id not in message  # a conflict names only its own broadcast


def test_a_scoped_token_reads_only_broadcasts_within_its_groups(server: Server) -> None:
    admin = server.client()
    on_1 = _create(admin, ["xa-1"], title="xa 1")
    on_both = _create(admin, ["xa-1", "xa-2"], title="both")
    on_2 = _create(admin, ["xa-2"], title="xa 2")
    viewer, _ = _token(server, "xa 2 dashboard", Role.VIEWER, ["xa-2"])
    publisher, _ = _token(server, "xa 2 cms", Role.PUBLISHER, ["xa-2"])
    md = viewer.metadata

    # GetBroadcast: others are NOT_FOUND, word for word as an id that does not exist
    unknown = _error(
        lambda: viewer.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id="0" * 16), metadata=md)
    )
    assert unknown[0] == grpc.StatusCode.NOT_FOUND
    for hidden in (on_1, on_both):
        code, message = _error(
            lambda b=hidden: viewer.broadcasts.GetBroadcast(
                pb.GetBroadcastRequest(broadcast_id=b.id), metadata=md
            )
        )
        assert code == grpc.StatusCode.NOT_FOUND
        assert message == unknown[1].replace("0" * 16, hidden.id)
    assert (
        viewer.broadcasts.GetBroadcast(pb.GetBroadcastRequest(broadcast_id=on_2.id), metadata=md).title
        == "xa 2"
    )

    # ListBroadcasts: filtered in the query, over pages too; asking for another group finds nothing
    seen, token = [], ""
    while True:
        page = viewer.broadcasts.ListBroadcasts(
            pb.ListBroadcastsRequest(page_size=1, page_token=token), metadata=md
        )
        seen += [b.id for b in page.broadcasts]
        token = page.next_page_token
        if not token:
            break
    assert on_2.id in seen and on_1.id not in seen and on_both.id not in seen
    everything = admin.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(page_size=1000), metadata=admin.metadata
    )
    expected = [b.id for b in everything.broadcasts if set(b.group_ids) <= {"xa-2"}]
    assert seen == expected
    other = viewer.broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(group_id="xa-1"), metadata=md)
    assert list(other.broadcasts) == []

    # WatchBroadcast: the same NOT_FOUND; its own group's broadcast streams its current state
    code, _ = _error(
        lambda: list(
            viewer.broadcasts.WatchBroadcast(pb.WatchBroadcastRequest(broadcast_id=on_1.id), metadata=md)
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    stream = viewer.broadcasts.WatchBroadcast(
        pb.WatchBroadcastRequest(broadcast_id=on_2.id), metadata=md, timeout=10
    )
    first = next(stream)
    stream.cancel()
    assert first.broadcast_id == on_2.id and first.state == pb.BROADCAST_STATE_QUEUED

    # CancelBroadcast by a publisher of xa-2: another group's broadcast is not found, not forbidden
    code, _ = _error(
        lambda: publisher.broadcasts.CancelBroadcast(
            pb.CancelBroadcastRequest(broadcast_id=on_both.id), metadata=publisher.metadata
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
