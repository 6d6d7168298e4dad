"""`loa keys` and `loa token` while a real `loa serve` runs: rotation and export through the API (admin
only), and the state-directory way beside the running server, both seen by a speaker's key loader."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from streaming.keyring import Keyring
from tests.api.harness import Server, group

pytestmark = pytest.mark.netns

ADDRESS = "239.192.50.1:5004"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("keys-live"), auth=True).start()
    client = srv.client()
    for gid, address in (("ap-1", "239.192.50.1"), ("ap-2", "239.192.50.2")):
        client.groups.CreateGroup(pb.CreateGroupRequest(group=group(gid, address)), metadata=client.metadata)
    yield srv
    srv.stop()


def loa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=60, env=env
    )


def api(server: Server, token: str | None = None) -> tuple[str, ...]:
    return ("--server", server.socket, "--token", server.admin_token() if token is None else token)


def speaker_mkis(path: Path) -> list[int]:
    """The MKIs a speaker that loads ``path`` with `loa speaker --keys` accepts on ap-1's address."""
    ring = Keyring(path, [ADDRESS])
    assert ring.missing == []
    return [k.mki for k in ring.sessions[ADDRESS].keys]


def test_rotate_and_export_through_the_running_server_reach_a_speaker(server: Server, tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    assert loa("keys", "export", "--group", "ap-1", "--out", str(before), *api(server)).returncode == 0
    old = speaker_mkis(before)

    rotated = loa("keys", "rotate", "--group", "ap-1", "--lead", "5", "--overlap", "10", *api(server))
    assert rotated.returncode == 0, rotated.stderr
    new_mki = max(old) + 1
    assert rotated.stdout.startswith(f"ap-1: new key mki {new_mki}, senders switch at ")

    after = tmp_path / "after.json"
    exported = loa("keys", "export", "--group", "ap-1", "--out", str(after), *api(server))
    assert exported.returncode == 0, exported.stderr
    assert after.stat().st_mode & 0o777 == 0o600
    assert new_mki in speaker_mkis(after) and new_mki not in old
    listed = loa("keys", "list", "--group", "ap-1", *api(server))
    assert f"ap-1\tmki {new_mki}\tfrom " in listed.stdout
    # the server audited the calls itself (no access to its disk was needed)
    methods = loa("audit", "export", "--format", "json", "--state-dir", str(server.state)).stdout
    assert "/loa.v1.Groups/RotateGroupKeys" in methods


def test_rotation_beside_the_running_server_is_what_the_server_exports(
    server: Server, tmp_path: Path
) -> None:
    state = ("--state-dir", str(server.state))
    rotated = loa("keys", "rotate", "--group", "ap-2", "--lead", "0", *state)
    assert rotated.returncode == 0, rotated.stderr
    mki = int(rotated.stdout.split("mki ")[1].split(",")[0])
    client = server.client()
    ring = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=["ap-2"]), metadata=client.metadata)
    assert mki in [k.mki for k in ring.groups[0].keys]
    both = loa("keys", "export", "--group", "ap-2", *state, *api(server))
    assert both.returncode == 2 and "not both" in both.stderr


def test_only_an_admin_token_rotates_or_exports(server: Server) -> None:
    made = loa("token", "create", "--name", "cms", "--role", "emergency", "--state-dir", str(server.state))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    for action in (("rotate", "--group", "ap-1"), ("export", "--group", "ap-1"), ("list",)):
        refused = loa("keys", *action, *api(server, token))
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"loa keys {action[0]}: PERMISSION_DENIED: ")
        assert "needs role admin" in refused.stderr and "key" not in refused.stdout


def test_rotate_group_keys_names_the_bad_field_and_rotates_nothing(server: Server) -> None:
    client = server.client()
    rotate = client.groups.RotateGroupKeys

    def refused(request: pb.RotateGroupKeysRequest) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as info:
            rotate(request, metadata=client.metadata)
        return info.value

    def mkis() -> list[int]:
        reply = client.groups.GetGroupKeys(
            pb.GetGroupKeysRequest(group_ids=["ap-1"]), metadata=client.metadata
        )
        return [k.mki for k in reply.groups[0].keys]

    start = mkis()
    negative = refused(pb.RotateGroupKeysRequest(group_ids=["ap-1"], lead=convert.duration(-1)))
    assert negative.code() == grpc.StatusCode.INVALID_ARGUMENT and negative.details().startswith("lead: ")
    long = refused(pb.RotateGroupKeysRequest(group_ids=["ap-1"], overlap=convert.duration(30 * 86400)))
    assert long.code() == grpc.StatusCode.INVALID_ARGUMENT and long.details().startswith("overlap: ")
    empty = refused(pb.RotateGroupKeysRequest())
    assert empty.code() == grpc.StatusCode.INVALID_ARGUMENT and empty.details().startswith("group_ids: ")
    unknown = refused(pb.RotateGroupKeysRequest(group_ids=["ap-1", "ghost"]))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert unknown.details() == "group_ids[1]: no group 'ghost'"
    assert mkis() == start  # ap-1 was not rotated by the refused call


def test_tokens_made_and_revoked_beside_the_running_server_take_effect_at_once(server: Server) -> None:
    state = ("--state-dir", str(server.state))
    made = loa("token", "create", "--name", "dashboard", "--role", "viewer", *state)
    token = made.stdout.strip()
    listed = loa("group", "list", *api(server, token))
    assert listed.returncode == 0 and "ap-1" in listed.stdout
    token_id = token.split("_")[1]
    assert loa("token", "revoke", token_id, *state).returncode == 0
    refused = loa("group", "list", *api(server, token))
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr


def test_remove_and_empty_exports_say_why_instead_of_succeeding(server: Server, tmp_path: Path) -> None:
    through_api = loa("keys", "remove", "--group", "ap-1", *api(server))
    assert through_api.returncode == 2 and "state directory only" in through_api.stderr
    client = server.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("plain", "239.192.50.9")), metadata=client.metadata
    )
    state = ("--state-dir", str(server.state))
    assert loa("keys", "remove", "--group", "plain", *state).returncode == 0
    out = tmp_path / "plain.json"
    for how in (state, api(server)):
        empty = loa("keys", "export", "--group", "plain", "--out", str(out), *how)
        assert empty.returncode != 0 and "plain" in empty.stderr and not out.exists()
