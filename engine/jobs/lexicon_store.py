"""The deployment lexicon, a part of the Store (engine/jobs/store.py): a province's own readings.

Entries are checked by engine/tts/text/entries.py before they are written. Every change adds one to the
lexicon's version in the same transaction, so a reader that cached the entries knows when to read them
again: the synthesis API and each airing ask :meth:`LexiconStore.lexicon` per request, which costs one
indexed read while nothing changed, and a change takes effect on the next request, without a restart.

The two tables are created here if missing (``CREATE TABLE IF NOT EXISTS``) rather than by a numbered
migration in schema.py: they are additive, read by nothing else, and this keeps the lexicon independent
of the order in which other features add their migrations.
"""

from __future__ import annotations

import sqlite3
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
        PRIMARY KEY (language, written)
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


class LexiconStore(StoreBase):
    _lexicon_ready = False
    _lexicon_cache: dict[str, tuple[int, dict[str, str]]]  # language -> (version, entries)

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

    def put_lexicon_entry(self, entry: Entry, updated_by: str = "") -> StoredEntry:
        """Adds the entry, or replaces the one with its language and written form; checks it first."""
        entry = check_entry(entry)
        with self._guard():
            self._lexicon_conn()
        with self._tx() as conn:
            count = conn.execute(
                "SELECT COUNT(*) FROM lexicon_entries WHERE language = ? AND written != ?",
                (entry.language, entry.written),
            ).fetchone()[0]
            if count >= MAX_ENTRIES:
                raise ValueError(f"entry: the {entry.language} lexicon already has {MAX_ENTRIES} entries")
            version = _bump(conn)
            now = self._clock()
            conn.execute(
                "INSERT OR REPLACE INTO lexicon_entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.language, entry.written, entry.spoken, entry.note, now, updated_by, version),
            )
        return StoredEntry(entry, now, updated_by, version)

    def delete_lexicon_entry(self, language: str, written: str) -> int:
        """Removes an entry; returns the new version. NotFound when there is none."""
        language = check_language(language)
        written = check_written(written)
        with self._guard():
            self._lexicon_conn()
        with self._tx() as conn:
            gone = conn.execute(
                "DELETE FROM lexicon_entries WHERE language = ? AND written = ?", (language, written)
            ).rowcount
            if not gone:
                raise NotFound(f"no {language} lexicon entry {written!r}")
            return _bump(conn)

    def list_lexicon_entries(self, language: str = "") -> tuple[list[StoredEntry], int]:
        """(entries by language then written form, the lexicon version)."""
        code = check_language(language) if language else ""
        with self._guard():
            conn = self._lexicon_conn()
            rows = conn.execute(
                "SELECT written, spoken, language, note, update_time, updated_by, version"
                " FROM lexicon_entries WHERE ? = '' OR language = ? ORDER BY language, written",
                (code, code),
            ).fetchall()
            version = _version(conn)
        return [StoredEntry(Entry(*r[:4]), r[4], r[5], r[6]) for r in rows], version

    def lexicon(self, language: str) -> dict[str, str]:
        """written form -> spoken form for one language, as normalize(lexicon=) takes it; read again
        only when the version changed. Empty for a language without entries."""
        with self._guard():
            conn = self._lexicon_conn()
            version = _version(conn)
            cached = self._lexicon_cache.get(language)
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = conn.execute(
                "SELECT written, spoken FROM lexicon_entries WHERE language = ?", (language,)
            ).fetchall()
            table = {written: spoken for written, spoken in rows}
            self._lexicon_cache[language] = (version, table)
            return table


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT version FROM lexicon_version WHERE id = 1").fetchone()[0])


def _bump(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE lexicon_version SET version = version + 1 WHERE id = 1")
    return _version(conn)
