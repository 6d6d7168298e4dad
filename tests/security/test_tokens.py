"""API token store: hashed at rest, roles and scopes, revocation and expiry seen across processes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.api.tokens import InvalidToken, Role, TokenStore, ensure_bootstrap_token


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_token_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    token, info = store.create("cms", Role.PUBLISHER, ["ap-phu-hoa"])
    assert token.startswith(f"loa_{info.id}_")
    secret = token.split("_", 2)[2]
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in raw and info.id.encode() in raw
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.sqlite3").st_mode) == 0o600


def test_authenticate_returns_role_and_groups(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    token, info = store.create("cms", "publisher", ["ap-phu-hoa", "xa-an-binh"])
    who = store.authenticate(token)
    assert (who.id, who.role, who.groups) == (info.id, Role.PUBLISHER, ("ap-phu-hoa", "xa-an-binh"))
    assert who.covers("ap-phu-hoa") and not who.covers("emergency")
    _, admin = store.create("root", Role.ADMIN, ["ap-phu-hoa"])
    assert admin.groups == ("*",) and admin.covers("anything")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: "", "malformed"),
        (lambda t: "Bearer " + t, "malformed"),
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "unknown token"),  # right id, wrong secret
        (lambda t: "loa_0000000000000000_" + t.split("_", 2)[2], "unknown token"),  # unknown id
    ],
)
def test_bad_tokens_are_refused(tmp_path: Path, mutate: Callable[[str], str], reason: str) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    token, _ = store.create("cms", Role.VIEWER)
    with pytest.raises(InvalidToken, match=reason):
        store.authenticate(mutate(token))


def test_revocation_by_another_process_takes_effect_at_once(tmp_path: Path) -> None:
    server = TokenStore.in_state_dir(tmp_path)
    token, info = server.create("cms", Role.PUBLISHER)
    server.authenticate(token)
    cli = TokenStore.in_state_dir(tmp_path)  # `loa token revoke` runs as its own process
    assert cli.revoke(info.id).revoked_at is not None
    with pytest.raises(InvalidToken, match=f"token {info.id} \\(cms\\) was revoked"):
        server.authenticate(token)
    assert [t.id for t in server.list()] == [] and [t.id for t in server.list(include_revoked=True)] == [
        info.id
    ]
    with pytest.raises(KeyError, match="token_id"):
        cli.revoke("ffffffffffffffff")


def test_expiry_and_last_used(tmp_path: Path) -> None:
    clock = Clock()
    store = TokenStore.in_state_dir(tmp_path, clock=clock)
    token, info = store.create("temp", Role.VIEWER, expires_at=clock.now + 3600)
    assert store.get(info.id).last_used_at is None
    store.authenticate(token)
    assert store.get(info.id).last_used_at == clock.now
    clock.now += 3600
    with pytest.raises(InvalidToken, match="has expired"):
        store.authenticate(token)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "role": "viewer"}, "name"),
        ({"name": "x", "role": "superuser"}, "role: 'superuser' is not one of viewer, publisher"),
        ({"name": "x", "role": "viewer", "groups": []}, "groups: at least one"),
        ({"name": "x", "role": "viewer", "groups": ["ok", "Not OK"]}, r"groups\[1\]"),
        ({"name": "x", "role": "viewer", "expires_at": 1.0}, "expires_at: must be in the future"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TokenStore.in_state_dir(tmp_path).create(**kwargs)


def test_bootstrap_token_is_created_once_and_never_again(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    token_file = tmp_path / "admin.token"
    token = ensure_bootstrap_token(store, token_file)
    assert token is not None and store.authenticate(token).role is Role.ADMIN
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert ensure_bootstrap_token(store) is None
    store.revoke(store.authenticate(token).id)
    assert ensure_bootstrap_token(TokenStore.in_state_dir(tmp_path)) is None  # restarting grants nothing


def test_read_only_state_directory_does_not_lock_callers_out(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    token, _ = store.create("cms", Role.VIEWER)
    store._db.execute("PRAGMA query_only=ON")  # writes now fail, as on a read-only or full disk
    assert store.authenticate(token).name == "cms"
