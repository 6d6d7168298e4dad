"""Group key management: the server's key store, `loa keys`, GetGroupKeys over real gRPC, the speaker's
keyring, and the sender putting SRTP on the wire (to a loopback UDP socket)."""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pytest

from engine.api.audit import AuditLog
from engine.api.auth import AuthInterceptor
from engine.api.groups import GroupsServicer
from engine.api.interceptors import ErrorInterceptor
from engine.api.keys import KEYS_FILE, KeyStore, import_key_file
from engine.api.tokens import Role, TokenStore
from engine.cli import main as loa
from engine.jobs.errors import NotFound, StoreError
from engine.jobs.model import Group
from engine.jobs.store import Store
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc as rpc
from streaming import rtcp
from streaming.keyring import Keyring
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.provisioning import parse_provisioning
from streaming.rtp import RtpPacket, is_rtcp
from streaming.srtp import MasterKey, SrtpSession, UnknownKeyError


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_keys_live_in_the_private_store_and_rotation_overlaps_then_forgets(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path / "loa.db", clock=clock)
    keys = KeyStore(store, clock=clock)
    store.create_group(Group("plain", multicast_address="239.192.1.2", port=5004))
    assert keys.keys("plain") == [] and keys.key_source("plain") is None
    store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004), srtp=True)
    first = keys.keys("ap-1")
    assert [k.mki for k in first] == [1] and first[0].not_before == clock.t and keys.groups() == ["ap-1"]
    assert stat.S_IMODE((tmp_path / "loa.db").stat().st_mode) == 0o600
    new = keys.rotate("ap-1", lead_s=60, overlap_s=300)
    assert new.mki == 2 and new.not_before == clock.t + 60
    old = keys.keys("ap-1")[0]
    assert old.mki == 1 and old.not_after == clock.t + 360
    # a second process (`loa keys` while the server runs) sees the change on its next read
    other = KeyStore(Store(tmp_path / "loa.db", recover=False), clock=clock)
    assert [k.mki for k in other.keys("ap-1")] == [1, 2]
    clock.t += 361
    assert [k.mki for k in keys.keys("ap-1")] == [2]  # expired: no longer handed to anyone
    keys.rotate("ap-1", lead_s=0, overlap_s=0)  # revoke now: only the newest is left
    assert [k.mki for k in keys.keys("ap-1")] == [3]
    assert keys.keys("ap-1")[0].key not in (old.key, new.key)
    assert keys.remove("ap-1") and keys.keys("ap-1") == [] and not keys.remove("ap-1")
    with pytest.raises(NotFound):
        keys.rotate("nope")
    store.delete_group("plain")
    keys.rotate("ap-1")
    store.delete_group("ap-1")  # its keys go with it
    assert keys.groups() == [] and keys.keys("ap-1") == []


def test_a_group_is_never_stored_without_its_key(tmp_path: Path) -> None:
    """The key write fails inside CreateGroup's transaction (a real SQLite error, raised by a trigger):
    no group is stored, and the retry creates group and key (it used to get ALREADY_EXISTS and then air
    the group in plain RTP)."""
    store = Store(tmp_path / "loa.db")
    keys = KeyStore(store)
    group = Group("ap-1", multicast_address="239.192.1.1", port=5004)
    with sqlite3.connect(tmp_path / "loa.db") as other:
        other.execute(
            "CREATE TRIGGER no_keys BEFORE INSERT ON group_keys BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(StoreError, match="disk full"):
        store.create_group(group, srtp=True)
    with pytest.raises(NotFound):
        store.get_group("ap-1")
    with sqlite3.connect(tmp_path / "loa.db") as other:
        other.execute("DROP TRIGGER no_keys")
    store.create_group(group, srtp=True)
    assert [k.mki for k in keys.keys("ap-1")] == [1] and keys.key_source("ap-1") is not None


def test_an_older_servers_store_files_are_made_private(tmp_path: Path) -> None:
    """Stores of older versions were 0644; their WAL, which holds the latest writes (keys too), must not
    stay readable beside a private database file."""
    path = tmp_path / "loa.db"
    older = sqlite3.connect(path, isolation_level=None)  # held open: its -wal and -shm files stay
    older.execute("PRAGMA journal_mode = WAL")
    older.execute("CREATE TABLE t (x)")
    for name in ("loa.db", "loa.db-wal", "loa.db-shm"):
        (tmp_path / name).chmod(0o644)
    with Store(path) as store:
        store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004), srtp=True)
        for name in ("loa.db", "loa.db-wal", "loa.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    older.close()


def test_a_key_file_of_an_older_server_is_imported_once(tmp_path: Path) -> None:
    from streaming.provisioning import dump_provisioning

    store = Store(tmp_path / "loa.db")
    store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004))
    store.create_group(Group("ap-2", multicast_address="239.192.1.2", port=5004), srtp=True)
    ap2 = store.group_keys("ap-2")
    ring = [MasterKey.generate(1, not_before=1.0), MasterKey.generate(2, not_before=2.0)]
    old = {"ap-1": ring, "ap-2": [MasterKey.generate(7)], "gone": [MasterKey.generate(1)]}
    (tmp_path / KEYS_FILE).write_text(dump_provisioning(old))
    assert import_key_file(store, tmp_path) == ["ap-1"]  # ap-2 keeps its keys; "gone" has no group
    assert store.group_keys("ap-1") == ring and store.group_keys("ap-2") == ap2
    assert not (tmp_path / KEYS_FILE).exists() and import_key_file(store, tmp_path) == []


def test_export_finds_speakers_keys_by_address_and_refuses_plain_groups(tmp_path: Path) -> None:
    store = Store(tmp_path / "loa.db")
    keys = KeyStore(store)
    groups = [store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5004), srtp=True)]
    text = keys.provisioning(groups)
    assert json.loads(text)["groups"][0]["address"] == "239.192.1.1:5004"
    assert parse_provisioning(text)["ap-1"] == keys.keys("ap-1")
    with pytest.raises(ValueError, match=r"group_ids\[1\]: group 'ap-2' has no SRTP keys"):
        keys.provisioning([*groups, Group("ap-2", multicast_address="239.192.1.2")])
    path = tmp_path / "speaker.json"
    path.write_text(text)
    ring = Keyring(path, ["239.192.1.1:5004", "239.192.1.9:5004"])
    assert ring.missing == ["239.192.1.9:5004"]  # joined but not provisioned: accepts nothing
    assert ring.sessions["239.192.1.1:5004"].keys == keys.keys("ap-1")


def test_keys_cli_rotates_and_exports_for_the_groups_speakers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path / "loa.db")
    store.create_group(Group("ap-1", multicast_address="239.192.1.1", port=5006))
    store.close()
    state = ["--state-dir", str(tmp_path)]
    assert loa(["keys", "rotate", "--group", "ap-1", "--lead", "0", *state]) == 0
    assert loa(["keys", "rotate", "--group", "ap-1", "--lead", "5", "--overlap", "10", *state]) == 0
    out = tmp_path / "speakers.json"
    assert loa(["keys", "export", "--group", "ap-1", "--out", str(out), *state]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [k.mki for k in parse_provisioning(out.read_text())["ap-1"]] == [1, 2]
    capsys.readouterr()
    assert loa(["keys", "list", *state]) == 0
    listing = capsys.readouterr().out
    assert "mki 1" in listing and "mki 2" in listing and out.read_text().count("key") > 2
    with Store(tmp_path / "loa.db", recover=False) as store:
        assert all(k.key.hex() not in listing for k in KeyStore(store).keys("ap-1"))
    assert loa(["keys", "rotate", "--group", "nope", *state]) == 2
    assert "nope" in capsys.readouterr().err
    with AuditLog.in_state_dir(tmp_path) as audit:
        methods = [e.method for e in audit.entries()]
    assert methods.count("cli:keys.rotate") == 2 and "cli:keys.export" in methods


@pytest.fixture
def groups_api(tmp_path: Path) -> Iterator[tuple[int, dict[str, str], KeyStore]]:
    tokens = TokenStore.in_state_dir(tmp_path)
    secrets = {
        "viewer": tokens.create("dashboard", Role.VIEWER)[0],
        "emergency": tokens.create("civil defence", Role.EMERGENCY)[0],
        "admin": tokens.create("root", Role.ADMIN)[0],
    }
    store = Store(tmp_path / "loa.db")
    keys = KeyStore(store)
    server = grpc.server(
        futures.ThreadPoolExecutor(4),
        interceptors=[AuthInterceptor(tokens, AuditLog.in_state_dir(tmp_path)), ErrorInterceptor()],
    )
    sender = PacedSender()
    rpc.add_GroupsServicer_to_server(GroupsServicer(store, sender, lambda _: (), keys=keys), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, secrets, keys
    server.stop(None)
    store.close()


def test_get_group_keys_is_admin_only_and_new_groups_get_keys(
    groups_api: tuple[int, dict[str, str], KeyStore],
) -> None:
    port, secrets, keys = groups_api
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        groups = rpc.GroupsStub(channel)

        def auth(role: str) -> list[tuple[str, str]]:
            return [("authorization", f"Bearer {secrets[role]}")]

        group = pb.Group(id="ap-1", multicast_address="239.192.1.1", port=5004)
        groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=auth("admin"))
        assert [k.mki for k in keys.keys("ap-1")] == [1]  # SRTP on by default for a new group
        for role in ("viewer", "emergency"):
            with pytest.raises(grpc.RpcError) as info:
                groups.GetGroupKeys(pb.GetGroupKeysRequest(), metadata=auth(role))
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "needs role admin" in (info.value.details() or "")
        reply = groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=["ap-1"]), metadata=auth("admin"))
        assert reply.groups[0].keys[0].master_key == keys.keys("ap-1")[0].key
        assert reply.groups[0].multicast_address == "239.192.1.1" and reply.groups[0].port == 5004
        assert parse_provisioning(reply.provisioning_file)["ap-1"] == keys.keys("ap-1")
        with pytest.raises(grpc.RpcError) as info:
            groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=["zz"]), metadata=auth("admin"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        groups.DeleteGroup(pb.DeleteGroupRequest(group_id="ap-1"), metadata=auth("admin"))
        assert keys.keys("ap-1") == []


def test_keyring_reloads_on_change_and_keeps_keys_when_the_file_is_bad(tmp_path: Path) -> None:
    k1, k2 = MasterKey.generate(1), MasterKey.generate(2)
    path = tmp_path / "speaker.json"

    def write(*ring: MasterKey) -> None:
        from streaming.provisioning import dump_provisioning

        path.write_text(dump_provisioning({"g": list(ring)}, {"g": "239.1.1.1:5004"}))

    write(k1)
    ring = Keyring(path, ["239.1.1.1:5004"], check_interval=0.0)
    assert [k.mki for k in ring.sessions["239.1.1.1:5004"].keys] == [1]
    write(k1, k2)
    assert ring.poll(time.monotonic()) and [k.mki for k in ring.sessions["239.1.1.1:5004"].keys] == [1, 2]
    assert not ring.poll(time.monotonic())  # unchanged: not re-read
    path.write_text("{half written")
    assert not ring.poll(time.monotonic())
    assert ring.reload_errors == 1 and "not JSON" in ring.last_error
    assert [k.mki for k in ring.sessions["239.1.1.1:5004"].keys] == [1, 2]
    with pytest.raises(ValueError, match="keys file"):
        Keyring(tmp_path / "absent.json", ["239.1.1.1:5004"])


def test_sender_puts_only_srtp_on_the_wire_and_switches_mki_without_a_gap() -> None:
    now = time.time()
    k1, k2 = MasterKey.generate(1, not_before=now - 10), MasterKey.generate(2, not_before=now + 0.3)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtcp_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]
    rtcp_rx.bind(("127.0.0.1", port + 1))
    rx.settimeout(2)
    rtcp_rx.settimeout(2)
    with PacedSender(sr_interval=0.2) as sender:
        dest = Destination("127.0.0.1", port, keys=lambda: [k1, k2])
        stream = sender.open_stream([dest])
        stream.feed(np.zeros(48_000 // 2 * 3, dtype=np.float32))  # 0.75 s
        stream.finish()
        datagrams = [rx.recv(2048) for _ in range(38)]  # 37 frames + the encoder's tail
        assert stream.wait(3)
        second = sender.open_stream([dest])
        second.abort()
        assert second.wait(2)
    reports = []
    while True:
        try:
            reports.append(rtcp_rx.recv(2048))
        except TimeoutError:
            break
        rtcp_rx.settimeout(0.3)
    receiver = SrtpSession([k1, k2])
    plain = [RtpPacket.parse(receiver.unprotect(d)) for d in datagrams]
    assert [(p.sequence - plain[0].sequence) % 65536 for p in plain] == list(range(len(plain)))
    mkis = [int.from_bytes(d[-4:], "big") for d in datagrams]
    switch = mkis.index(2)
    assert switch > 0 and set(mkis[:switch]) == {1} and set(mkis[switch:]) == {2}
    for d in datagrams:  # what a speaker without the key would see: not the Opus payload
        with pytest.raises(UnknownKeyError):
            SrtpSession([MasterKey.generate(9)]).unprotect(d)
    opened = [rtcp.parse_compound(receiver.unprotect_rtcp(r)) for r in reports]
    assert all(is_rtcp(r) for r in reports) and opened
    assert any(isinstance(p, rtcp.Bye) for packets in opened for p in packets)
    assert {p.ssrc for packets in opened for p in packets if isinstance(p, rtcp.SenderReport)} == {
        stream.ssrc,
        second.ssrc,
    }
    assert stream.ssrc != second.ssrc


def test_sender_refuses_to_send_plain_when_the_group_has_no_usable_key() -> None:
    with PacedSender() as sender, pytest.raises(ValueError, match="no key is active"):
        sender.open_stream([Destination("127.0.0.1", 9, keys=lambda: [])])


def test_receiver_reports_about_foreign_streams_are_ignored_and_the_table_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streaming.feedback as feedback_mod

    monkeypatch.setattr(feedback_mod, "MAX_SPEAKERS", 50)
    sender = PacedSender()
    stream = sender.open_stream([Destination("127.0.0.1", 9)])

    def report(speaker: int, media: int) -> list[rtcp.Packet]:
        return [rtcp.ReceiverReport(speaker, [rtcp.ReportBlock(media, 0, 0, 1, 0)])]

    for i in range(200):
        forged = report(i, i + 1)  # about no such stream
        sender.feedback.on_packets(forged, ("10.0.0.9", 4000), time.time())
    assert sender.speakers() == []
    for i in range(200):
        sender.feedback.on_packets(report(i, stream.ssrc), ("10.0.0.9", 4000), time.time() + i)
    assert len(sender.speakers()) == 50
    assert {r.ssrc for r in sender.speakers()} == set(range(150, 200))  # the latest heard are kept
