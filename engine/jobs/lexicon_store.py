"""The deployment lexicon, a part of the Store (engine/jobs/store.py): a province's own readings.

Entries are checked by engine/tts/text/entries.py before they are written. Every change adds one to the
lexicon's version in the same transaction, so a reader that cached the entries knows when to read them
again: the synthesis API and each airing ask :meth:`LexiconStore.lexicon` per request, which costs one
indexed read while nothing changed, and a change takes effect on the next request, without a restart.

An entry is the deployment's (group_id "") or one group's (a commune's place names). A broadcast reads
the deployment's entries and, over them, the group entries its groups AGREE on: for a broadcast to
several groups a group entry applies only when every one of its groups has an entry for that written
form with the same reading; otherwise the deployment's entry (or the built-in table) reads it, so no
group hears another commune's reading and a broadcast reads one way everywhere.

The tables were first created here if missing (``CREATE TABLE IF NOT EXISTS``); migration 5 in
schema.py makes them in their current shape (with group_id), so these statements only matter for a
store whose schema was made before the lexicon existed and then migrated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from engine.jobs.errors import NotFound
from engine.jobs.store_base import StoreBase
from engine.tts.text.entries import Entry, check_entry, check_language, check_written

_TABLES = (
    """CREATE TABLE IF NOT EXISTS lexicon_entries (
        language TEXT NOT NULL,
        written TEXT NOT NULL,
        spoken TEXT NOT NULL,
        note TEXT NOT NULL,
        update_time REAL NOT NULL,
        updated_by TEXT NOT NULL,
        version INTEGER NOT NULL,
        group_id TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (language, written, group_id)
    )""",
    "CREATE TABLE IF NOT EXISTS lexicon_version"
    " (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO lexicon_version (id, version) VALUES (1, 0)",
)
MAX_ENTRIES = 20_000  # per language: far beyond a province's own names, small enough to load per change


@dataclass(frozen=True)
class StoredEntry:
    entry: Entry
    update_time: float
    updated_by: str
    version: int
    group_id: str = ""  # "" for the whole deployment


class LexiconStore(StoreBase):
    _lexicon_ready = False
    _lexicon_cache: dict[tuple[str, tuple[str, ...]], tuple[int, dict[str, str]]]  # (language, groups)

    def _lexicon_conn(self) -> sqlite3.Connection:
        """The connection, with the lexicon's tables made on first use. Call under the store's lock."""
        if not self._lexicon_ready:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _TABLES:
                    self._conn.execute(statement)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._lexicon_cache = {}
            self._lexicon_ready = True
        return self._conn

    def put_lexicon_entry(self, entry: Entry, updated_by: str = "", group_id: str = "") -> StoredEntry:
        """Adds the entry, or replaces the one with its language, written form and group; checks it
        first. ``group_id``: "" for the deployment, else a group that exists (NotFound otherwise)."""
        entry = check_entry(entry)
        with self._guard():
            self._lexicon_conn()
        with self._tx() as conn:
            if group_id and conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone() is None:
                raise NotFound(f"entry.group_id: no group {group_id!r}")
            count = conn.execute(
                "SELECT COUNT(*) FROM lexicon_entries"
                " WHERE language = ? AND NOT (written = ? AND group_id = ?)",
                (entry.language, entry.written, group_id),
            ).fetchone()[0]
            if count >= MAX_ENTRIES:
                raise ValueError(f"entry: the {entry.language} lexicon already has {MAX_ENTRIES} entries")
            version = _bump(conn)
            now = self._clock()
            conn.execute(
                "INSERT OR REPLACE INTO lexicon_entries (language, written, spoken, note, update_time,"
                " updated_by, version, group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.language, entry.written, entry.spoken, entry.note, now, updated_by, version, group_id),
            )
        return StoredEntry(entry, now, updated_by, version, group_id)

    def delete_lexicon_entry(self, language: str, written: str, group_id: str = "") -> int:
        """Removes an entry (the deployment's, or ``group_id``'s); returns the new version. NotFound
        when there is none."""
        language = check_language(language)
        written = check_written(written)
        with self._guard():
            self._lexicon_conn()
        with self._tx() as conn:
            gone = conn.execute(
                "DELETE FROM lexicon_entries WHERE language = ? AND written = ? AND group_id = ?",
                (language, written, group_id),
            ).rowcount
            if not gone:
                whose = f" of group {group_id!r}" if group_id else ""
                raise NotFound(f"no {language} lexicon entry {written!r}{whose}")
            return _bump(conn)

    def delete_group_lexicon(self, group_id: str) -> int:
        """Removes every entry of a group (the group was deleted: a new group of the same id must not
        inherit its readings); returns how many."""
        with self._guard():
            self._lexicon_conn()
        with self._tx() as conn:
            gone = conn.execute("DELETE FROM lexicon_entries WHERE group_id = ?", (group_id,)).rowcount
            if gone:
                _bump(conn)
            return int(gone)

    def list_lexicon_entries(
        self, language: str = "", group_id: str | None = None
    ) -> tuple[list[StoredEntry], int]:
        """(entries by language, written form, then group; the lexicon version). ``group_id``: only
        that group's entries ("" the deployment's); None: all."""
        code = check_language(language) if language else ""
        with self._guard():
            conn = self._lexicon_conn()
            rows = conn.execute(
                "SELECT written, spoken, language, note, update_time, updated_by, version, group_id"
                " FROM lexicon_entries WHERE (? = '' OR language = ?) AND (? IS NULL OR group_id = ?)"
                " ORDER BY language, written, group_id",
                (code, code, group_id, group_id),
            ).fetchall()
            version = _version(conn)
        return [StoredEntry(Entry(*r[:4]), r[4], r[5], r[6], r[7]) for r in rows], version

    def lexicon(self, language: str, group_ids: Sequence[str] = ()) -> dict[str, str]:
        """written form -> spoken form for one language, as normalize(lexicon=) takes it: the
        deployment's entries, and over them the group entries all of ``group_ids`` agree on (module
        docstring). Read again only when the version changed. Empty for a language without entries."""
        groups = tuple(sorted(set(group_ids)))
        with self._guard():
            conn = self._lexicon_conn()
            version = _version(conn)
            cached = self._lexicon_cache.get((language, groups))
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = conn.execute(
                "SELECT written, spoken, group_id FROM lexicon_entries WHERE language = ?", (language,)
            ).fetchall()
            table = {written: spoken for written, spoken, group in rows if not group}
            by_group: dict[str, dict[str, str]] = {}
            for written, spoken, group in rows:
                if group in groups:
                    by_group.setdefault(group, {})[written] = spoken
            if groups and len(by_group) == len(groups):
                first, *rest = (by_group[g] for g in groups)
                for written, spoken in first.items():
                    if all(other.get(written) == spoken for other in rest):
                        table[written] = spoken
            if len(self._lexicon_cache) > 1024:  # one per group combination seen; bounded
                self._lexicon_cache.clear()
            self._lexicon_cache[(language, groups)] = (version, table)
            return table


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT version FROM lexicon_version WHERE id = 1").fetchone()[0])


def _bump(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE lexicon_version SET version = version + 1 WHERE id = 1")
    return _version(conn)
