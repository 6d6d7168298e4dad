"""`loa token create|list|revoke` and `loa audit export|verify`, through the real `loa` dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api.audit import AuditLog
from engine.api.token_cli import parse_duration, parse_when
from engine.api.tokens import InvalidToken, Role, TokenStore
from engine.cli import main
from engine.jobs.store import Store


def _loa(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _server_state(path: Path) -> None:
    """What `loa serve` leaves at its first start: token commands refuse a directory without it."""
    Store(path / "loa.db").close()


def test_create_list_revoke_and_the_audit_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _server_state(tmp_path)
    state = ["--state-dir", str(tmp_path)]
    code, out, err = _loa(
        capsys, "token", "create", "--name", "district cms", "--role", "publisher",
        "--groups", "ap-phu-hoa,xa-an-binh", "--expires-in", "90d", *state,
    )  # fmt: skip
    assert code == 0 and "shown only now" in err
    token = out.strip()
    info = TokenStore.in_state_dir(tmp_path).authenticate(token)
    assert (info.name, info.role, info.groups) == (
        "district cms",
        Role.PUBLISHER,
        ("ap-phu-hoa", "xa-an-binh"),
    )
    assert info.expires_at is not None

    code, out, _ = _loa(capsys, "token", "list", "--json", *state)
    (row,) = json.loads(out)
    assert row["id"] == info.id and row["role"] == "publisher" and token.split("_")[2] not in out

    assert _loa(capsys, "token", "revoke", info.id, *state)[0] == 0
    with pytest.raises(InvalidToken, match="revoked"):
        TokenStore.in_state_dir(tmp_path).authenticate(token)
    assert _loa(capsys, "token", "list", *state)[1].count("\n") == 1  # header only
    code, _, err = _loa(capsys, "token", "revoke", "0000000000000000", *state)
    assert code == 1 and "no token" in err

    export = tmp_path / "audit.csv"
    assert _loa(capsys, "audit", "export", "--since", "1h", "-o", str(export), *state)[0] == 0
    lines = export.read_text().splitlines()
    assert lines[0].startswith("seq,time,token_id") and len(lines) == 3
    assert "cli:token.create" in lines[1] and "cli:token.revoke" in lines[2]
    code, out, _ = _loa(
        capsys, "audit", "export", "--format", "json", "--until", "2000-01-01T00:00:00Z", *state
    )
    assert json.loads(out) == []
    assert _loa(capsys, "audit", "verify", *state)[0] == 0
    assert len(AuditLog.in_state_dir(tmp_path).entries()) == 2


def test_bad_arguments_are_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _server_state(tmp_path)
    code, _, err = _loa(
        capsys, "token", "create", "--name", "x", "--role", "viewer", "--expires-in", "soon",
        "--state-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 2 and "--expires-in: 'soon' is not a duration" in err
    code, _, err = _loa(capsys, "audit", "export", "--since", "last week", "--state-dir", str(tmp_path))
    assert code == 2 and "--since" in err


def test_time_arguments() -> None:
    assert parse_when("24h", "--since", now=100_000.0) == 100_000.0 - 86_400
    assert parse_when("2026-11-26T08:00:00+07:00", "--since") == 1_795_654_800.0
    assert parse_duration("90d", "--expires-in") == 90 * 86_400
    with pytest.raises(ValueError, match="no time zone"):
        parse_when("2026-11-26T08:00:00", "--since")
