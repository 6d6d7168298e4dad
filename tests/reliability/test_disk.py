"""A full or read-only state directory: clear errors (UNAVAILABLE naming the store, or exit code 2 with a
message at start), never a lost acknowledged broadcast, never a damaged database.

The state directory is a small tmpfs in a private mount namespace (tests/reliability/harness.py
StateMount): the tests run as root, so file modes would not stop the server, and nothing outside changes.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from engine.api import convert
from engine.api.client import Client
from protos.loa.v1 import loa_pb2 as pb
from tests.reliability.harness import Loa, StateMount

pytestmark = [pytest.mark.netns, pytest.mark.slow]

TEXT = "Xin chào bà con. " * 2000  # 34 kB: a few of these fill what the test leaves free
INTEGRITY = (
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"
)


def _create(client: Client, n: int) -> pb.Broadcast:
    request = pb.CreateBroadcastRequest(
        segments=[pb.Segment(language="vi", text=f"Tin số {n}. {TEXT}")],
        group_ids=["disk"],
        start_time=convert.timestamp(time.time() + 3600),
    )
    return client.broadcasts.CreateBroadcast(request, metadata=client.metadata, timeout=30)


def _stored_ids(client: Client) -> set[str]:
    page = client.broadcasts.ListBroadcasts(
        pb.ListBroadcastsRequest(page_size=1000), metadata=client.metadata
    )
    return {b.id for b in page.broadcasts}


def _integrity(mount: StateMount) -> str:
    code = INTEGRITY.replace("sys.argv[1]", repr(f"{mount.path}/loa.db"))
    done = mount.python(code)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _group(client: Client) -> None:
    group = pb.Group(id="disk", name="disk", multicast_address="239.192.80.1", port=5004)
    client.groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=client.metadata)


def test_a_full_disk_refuses_writes_with_unavailable_and_loses_nothing(tmp_path: Path) -> None:
    with StateMount(tmp_path / "state", size_kb=6000) as mount:
        loa = Loa(tmp_path, mount.path, mount=mount).start()
        try:
            with loa.client() as client:
                _group(client)
                mount.fill(leave_kb=400)
                acked: list[str] = []
                refusal: grpc.RpcError | None = None
                for n in range(100):
                    try:
                        acked.append(_create(client, n).id)
                    except grpc.RpcError as exc:
                        refusal = exc
                        break
                assert refusal is not None, "the disk never filled"
                assert refusal.code() == grpc.StatusCode.UNAVAILABLE
                assert "state store" in (refusal.details() or "") and "full" in (refusal.details() or "")
                assert len(acked) >= 3, "the test should fill the disk with acknowledged broadcasts first"
                # Still up, still answering reads, still refusing writes the same way.
                assert loa.healthy() and _stored_ids(client) == set(acked)
                with pytest.raises(grpc.RpcError) as again:
                    _create(client, 999)
                assert again.value.code() == grpc.StatusCode.UNAVAILABLE
            # A crash on the full disk, then a restart on it: everything acknowledged is there.
            loa.kill()
            loa.start()
            with loa.client() as client:
                assert _stored_ids(client) == set(acked)
                mount.free_ballast()
                acked.append(_create(client, 1000).id)  # space again: writes work again
                assert _stored_ids(client) == set(acked)
            assert _integrity(mount) == "ok"
        finally:
            loa.stop()


def test_a_read_only_state_directory_refuses_to_start_with_exit_2_and_changes_nothing(tmp_path: Path) -> None:
    with StateMount(tmp_path / "state", size_kb=8000) as mount:
        loa = Loa(tmp_path, mount.path, mount=mount).start()
        with loa.client() as client:
            _group(client)
            kept = _create(client, 1).id
        assert loa.stop() == 0
        checksum = f"sha256sum '{mount.path}/loa.db' '{mount.path}/audit.sqlite3'"
        before = mount.sh(checksum).stdout
        mount.remount(read_only=True)
        assert loa.run_to_exit() == 2
        last = loa.tail().rstrip().splitlines()[-1]
        assert last.startswith("loa serve: state store") and "Read-only file system" in last, loa.tail()
        assert mount.sh(checksum).stdout == before
        mount.remount(read_only=False)
        loa.start()
        try:
            with loa.client() as client:
                assert kept in _stored_ids(client)
        finally:
            loa.stop()


def test_an_empty_read_only_state_directory_refuses_to_start_with_exit_2(tmp_path: Path) -> None:
    with StateMount(tmp_path / "state", size_kb=1000) as mount:
        mount.remount(read_only=True)
        loa = Loa(tmp_path, mount.path, mount=mount)
        assert loa.run_to_exit() == 2
        assert "loa serve: " in loa.tail() and "Traceback" not in loa.tail(), loa.tail()
