"""Schema migration 4 (security #12): broadcasts stored before it read as created by an unknown caller,
and their idempotency keys belong to no caller of today."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.jobs import schema
from engine.jobs.log import export_log
from engine.jobs.model import Caller
from engine.jobs.store import Store
from tests.jobs.conftest import make_spec


def _version_3_store(path: Path) -> None:
    """A store as the Loa before migration 4 left it: one broadcast with an idempotency key."""
    conn = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:3]:
        for statement in schema._statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO broadcasts (id, idempotency_key, request_digest, spec, priority, state, create_time,"
        " start_time, update_time, progress, interruptions, failure_reason, repeats_done)"
        " VALUES ('0123456789abcdef', 'ban-tin-1', 'x', ?, 1, 6, 10, 10, 11, ?, '[]', '', 0)",
        (
            '{"chime":false,"group_ids":["ap-1"],"idempotency_key":"ban-tin-1","priority":"NORMAL",'
            '"repeat_count":1,"repeat_gap_s":0.0,"requested_by":"ubnd","segments":[{"audio":false,'
            '"dialect":"","language":"vi","noise_scale":null,"noise_w":null,"speaker":"","speed":null,'
            '"ssml":false,"text":"Cũ.","voice_id":""}],"sentence_pause_s":null,"start_time":null,"title":""}',
            '{"aired_s":0.0,"mark":"","repeat_index":0,"segment_index":0,"sentence_count":0,'
            '"sentence_index":0,"total_s":null}',
        ),
    )
    conn.execute("INSERT INTO broadcast_groups (broadcast_seq, group_id) VALUES (1, 'ap-1')")
    conn.close()


def test_broadcasts_from_before_the_migration_read_as_unknown_caller(tmp_path: Path) -> None:
    _version_3_store(tmp_path / "loa.db")
    with Store(tmp_path / "loa.db") as store:
        old = store.get_broadcast("0123456789abcdef")
        assert old.created_by is None and old.spec.requested_by == "ubnd"
        row = export_log(store, 0.0, 100.0, "csv").splitlines()[1]
        assert ",ubnd,unknown,unknown,unknown," in row
        # the old key is no caller's: a token using it now gets a broadcast of its own
        mine, created = store.create_broadcast(
            make_spec("ap-1", text="Cũ.", idempotency_key="ban-tin-1", requested_by="ubnd"),
            Caller("fedcba9876543210", "cms", "publisher"),
        )
        assert created and mine.id != old.id
        assert mine.created_by == Caller("fedcba9876543210", "cms", "publisher")
