"""Audit log: append-only in the API, in SQLite itself, and tamper-evident; CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from engine.api.audit import AuditLog


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1
        return self.now


def _filled(path: Path) -> AuditLog:
    log = AuditLog.in_state_dir(path, clock=Clock())
    log.record(
        method="/loa.v1.Groups/CreateGroup",
        code="OK",
        token_id="a1",
        token_name="admin",
        role="admin",
        target="ap-phu-hoa",
        groups=["ap-phu-hoa"],
        peer="ipv4:10.0.0.7:5000",
    )
    log.record(
        method="/loa.v1.Broadcasts/CreateBroadcast",
        code="PERMISSION_DENIED",
        token_id="p1",
        token_name='cms, "district"',
        role="publisher",
        groups=["ap-phu-hoa", "xa-an-binh"],
        peer="ipv6:[::1]:6000",
        detail="priority=EMERGENCY; priority: needs emergency",
    )
    return log


def test_entries_keep_who_what_where_when_and_outcome(tmp_path: Path) -> None:
    entries = _filled(tmp_path).entries()
    assert [(e.seq, e.token_name, e.code) for e in entries] == [
        (1, "admin", "OK"),
        (2, 'cms, "district"', "PERMISSION_DENIED"),
    ]
    assert entries[1].groups == ("ap-phu-hoa", "xa-an-binh") and entries[1].peer == "ipv6:[::1]:6000"
    assert entries[1].time > entries[0].time


def test_sqlite_itself_refuses_update_and_delete(tmp_path: Path) -> None:
    _filled(tmp_path).close()
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET code = 'OK' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    assert not hasattr(AuditLog, "delete") and not hasattr(AuditLog, "update")


def test_verify_detects_an_edit_that_bypassed_the_triggers(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    log.record(method="/loa.v1.Groups/DeleteGroup", code="OK", token_name="admin")
    assert log.verify() is None
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET code = 'OK' WHERE seq = 2")
    db.commit()
    assert log.verify() == 2


def test_export_csv_and_json_with_time_range(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    first, second = log.entries()
    out = io.StringIO()
    assert log.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[1]["token_name"] == 'cms, "district"' and rows[1]["groups"] == "ap-phu-hoa xa-an-binh"
    assert rows[0]["time"].endswith("+00:00") and rows[0]["peer"] == "ipv4:10.0.0.7:5000"
    out = io.StringIO()
    assert log.export_json(out, since=second.time) == 1
    (only,) = json.loads(out.getvalue())
    assert only["code"] == "PERMISSION_DENIED" and only["groups"] == ["ap-phu-hoa", "xa-an-binh"]
    assert log.entries(until=second.time) == [first]


def test_full_or_read_only_disk_raises_instead_of_corrupting(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    log._db.execute("PRAGMA query_only=ON")
    with pytest.raises(sqlite3.Error):
        log.record(method="/loa.v1.Groups/DeleteGroup", code="OK")
    log._db.execute("PRAGMA query_only=OFF")
    assert len(log.entries()) == 2 and log.verify() is None
