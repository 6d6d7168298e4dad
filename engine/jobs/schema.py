"""The store's SQLite schema and its migrations, in one place.

``PRAGMA user_version`` holds the number of migrations applied. A new schema version appends one entry
to MIGRATIONS (never edits an old one); :func:`migrate` applies the missing ones in one transaction, so
a crash half-way leaves the old version intact.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: groups, broadcasts and their event history.
    """
    CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        multicast_address TEXT NOT NULL,
        port INTEGER NOT NULL,
        ttl INTEGER NOT NULL,
        interface TEXT NOT NULL,
        opus_bitrate_bps INTEGER NOT NULL,
        fec INTEGER NOT NULL,
        expected_loss_percent INTEGER NOT NULL,
        playout_delay_s REAL NOT NULL,
        emergency INTEGER NOT NULL,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL
    );
    CREATE UNIQUE INDEX groups_address ON groups (multicast_address, port);
    CREATE UNIQUE INDEX groups_one_emergency ON groups (emergency) WHERE emergency = 1;

    CREATE TABLE broadcasts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        idempotency_key TEXT UNIQUE,          -- NULL when the request had none
        request_digest TEXT NOT NULL,         -- tells a retry from a different request with the same key
        spec TEXT NOT NULL,                   -- JSON; segment audio lives in segment_audio
        priority INTEGER NOT NULL,
        state INTEGER NOT NULL,
        create_time REAL NOT NULL,
        start_time REAL NOT NULL,
        update_time REAL NOT NULL,
        air_time REAL,
        end_time REAL,
        progress TEXT NOT NULL,
        interruptions TEXT NOT NULL,
        failure_reason TEXT NOT NULL,
        repeats_done INTEGER NOT NULL
    );
    CREATE INDEX broadcasts_state ON broadcasts (state);
    CREATE INDEX broadcasts_create_time ON broadcasts (create_time);
    CREATE INDEX broadcasts_end_time ON broadcasts (end_time);

    CREATE TABLE broadcast_groups (
        broadcast_seq INTEGER NOT NULL REFERENCES broadcasts (seq),
        group_id TEXT NOT NULL,
        PRIMARY KEY (broadcast_seq, group_id)
    );
    CREATE INDEX broadcast_groups_by_group ON broadcast_groups (group_id, broadcast_seq);

    CREATE TABLE segment_audio (
        broadcast_seq INTEGER NOT NULL REFERENCES broadcasts (seq),
        segment_index INTEGER NOT NULL,
        audio BLOB NOT NULL,
        PRIMARY KEY (broadcast_seq, segment_index)
    );

    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        broadcast_id TEXT NOT NULL,
        type INTEGER NOT NULL,
        time REAL NOT NULL,
        state INTEGER NOT NULL,
        progress TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX events_by_broadcast ON events (broadcast_id, seq);
    """,
    # 2: the groups' SRTP master keys, written in the same transaction as the group (they were a JSON
    # file beside the store: a failed key write after the group's left a group that aired in clear).
    """
    CREATE TABLE group_keys (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        mki INTEGER NOT NULL,
        master_key BLOB NOT NULL,
        master_salt BLOB NOT NULL,
        not_before REAL NOT NULL,
        not_after REAL,                       -- NULL: until a newer key has been in use for a while
        PRIMARY KEY (group_id, mki)
    );
    """,
    # 3: clusters reached through the MQTT broker (issue #11): their accounts' groups, presence and play
    # reports (engine/jobs/cluster_store.py). Passwords are not here: the broker keeps their hashes.
    """
    CREATE TABLE clusters (
        id TEXT PRIMARY KEY,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL,
        revoke_time REAL,                     -- NULL while the cluster may connect
        online INTEGER NOT NULL DEFAULT 0,
        connect_time REAL,
        disconnect_time REAL,
        last_seen REAL,
        reconnects INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT ''       -- the last status as the cluster sent it (JSON)
    );
    CREATE TABLE cluster_groups (
        cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        group_id TEXT NOT NULL,              -- no foreign key: a deleted group leaves the ACL line idle
        PRIMARY KEY (cluster_id, group_id)
    );
    CREATE INDEX cluster_groups_by_group ON cluster_groups (group_id, cluster_id);
    CREATE TABLE play_reports (
        cluster_id TEXT NOT NULL,
        bulletin TEXT NOT NULL,
        airing INTEGER NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL,
        played INTEGER NOT NULL,
        concealed INTEGER NOT NULL,
        lost INTEGER NOT NULL,
        stop TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (cluster_id, bulletin, airing, started_at)  -- QoS 1 may deliver a report twice
    );
    CREATE INDEX play_reports_by_bulletin ON play_reports (bulletin, airing);
    CREATE INDEX play_reports_by_time ON play_reports (started_at);
    """,
    # 4: who created each broadcast, as authenticated (security #12): the token, its name and role at the
    # time, beside the free-text requested_by. NULL in rows from before: shown as unknown. Idempotency
    # keys become per caller: the column holds "<scope>/<key>" (scope: the token id, "local" with auth
    # off), so the same key from two tokens makes two broadcasts; keys stored before get the scope
    # "legacy", which no caller has (a token id is 16 hex digits), so no token can learn their ids.
    """
    ALTER TABLE broadcasts ADD COLUMN created_by_token TEXT;
    ALTER TABLE broadcasts ADD COLUMN created_by_name TEXT;
    ALTER TABLE broadcasts ADD COLUMN created_by_role TEXT;
    UPDATE broadcasts SET idempotency_key = 'legacy/' || idempotency_key WHERE idempotency_key IS NOT NULL;
    """,
    # 5: lexicon entries per group (#15): group_id '' is the whole deployment, as every entry before. The
    # lexicon's tables used to be made on first use (engine/jobs/lexicon_store.py), so they may be
    # missing: made in the old shape if so, then rebuilt with group_id in the key.
    """
    CREATE TABLE IF NOT EXISTS lexicon_entries (
        language TEXT NOT NULL, written TEXT NOT NULL, spoken TEXT NOT NULL, note TEXT NOT NULL,
        update_time REAL NOT NULL, updated_by TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (language, written)
    );
    CREATE TABLE lexicon_entries_5 (
        language TEXT NOT NULL,
        written TEXT NOT NULL,
        spoken TEXT NOT NULL,
        note TEXT NOT NULL,
        update_time REAL NOT NULL,
        updated_by TEXT NOT NULL,
        version INTEGER NOT NULL,
        group_id TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (language, written, group_id)
    );
    INSERT INTO lexicon_entries_5 (language, written, spoken, note, update_time, updated_by, version)
        SELECT language, written, spoken, note, update_time, updated_by, version FROM lexicon_entries;
    DROP TABLE lexicon_entries;
    ALTER TABLE lexicon_entries_5 RENAME TO lexicon_entries;
    """,
    # 6: schedules (#13, engine/jobs/schedule_store.py, docs/SCHEDULES.md): a broadcast template and its
    # calendar recurrence; made_until: every occurrence up to that instant was made or recorded.
    # occurrences: one row per occurrence made, missed, skipped or failed; its key makes it happen once.
    """
    CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        template TEXT NOT NULL,               -- JSON BroadcastSpec, segment audio in base64
        recurrence TEXT NOT NULL,             -- JSON (engine/jobs/recurrence.py to_dict)
        paused INTEGER NOT NULL DEFAULT 0,
        create_time REAL NOT NULL,
        update_time REAL NOT NULL,
        made_until REAL NOT NULL,
        created_by_token TEXT,
        created_by_name TEXT,
        created_by_role TEXT
    );
    CREATE TABLE occurrences (
        schedule_id TEXT NOT NULL,
        at REAL NOT NULL,                     -- its instant, epoch seconds UTC
        state TEXT NOT NULL,                  -- scheduled, missed, skipped, failed
        broadcast_id TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        record_time REAL NOT NULL,
        PRIMARY KEY (schedule_id, at)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The database was written by a newer Loa; refusing to touch it protects its data."""


def migrate(conn: sqlite3.Connection) -> int:
    """Brings the schema to SCHEMA_VERSION; returns the version found. The connection is autocommit."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(f"schema version {found} is newer than this Loa's {SCHEMA_VERSION}")
    if found == SCHEMA_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        for script in MIGRATIONS[found:]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """Splits a migration into statements (executescript would commit behind our transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line.split("--", 1)[0] + ("\n" if "--" in line else "")
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
