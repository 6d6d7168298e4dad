"""The audit log: every mutating call (who, what, on which groups, when, from where, with what outcome).

Append-only three ways: the class has no update or delete; SQLite triggers refuse UPDATE and DELETE from
any client; and each row carries a SHA-256 chained over the previous row, so an edit made by going around
both (dropping the triggers) shows up in verify(). It is its own SQLite file in the state directory.
"""

from __future__ import annotations

import csv
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from engine.db import open_db

AUDIT_FILE = "audit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    token_id TEXT NOT NULL,
    token_name TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    groups TEXT NOT NULL,
    peer TEXT NOT NULL,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    chain TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

_FIELDS = ("time", "token_id", "token_name", "role", "method", "target", "groups", "peer", "code", "detail")
_SELECT = ", ".join((*_FIELDS, "chain"))


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: float
    token_id: str  # empty: no valid token was presented
    token_name: str
    role: str
    method: str  # full gRPC method, or "cli:token.create" and the like
    target: str  # the broadcast or group acted on, when known
    groups: tuple[str, ...]
    peer: str  # gRPC peer, e.g. "ipv4:10.0.0.7:51234"; "local" for the CLI
    code: str  # gRPC status code name of the outcome: OK, PERMISSION_DENIED, ...
    detail: str
    chain: str

    def exported(self) -> dict[str, object]:
        row = asdict(self)
        row["time"] = datetime.fromtimestamp(self.time, UTC).isoformat(timespec="milliseconds")
        row["groups"] = list(self.groups)
        del row["chain"]
        return row


def _link(previous: str, values: tuple[object, ...]) -> str:
    return hashlib.sha256((previous + json.dumps(values, ensure_ascii=False)).encode()).hexdigest()


class AuditLog:
    """Thread-safe; several processes (server and CLI) may append to the same file."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_db(self.path, synchronous="NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_state_dir(cls, state_dir: str | Path, **kw: Callable[[], float]) -> AuditLog:
        return cls(Path(state_dir) / AUDIT_FILE, **kw)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        *,
        method: str,
        code: str,
        token_id: str = "",
        token_name: str = "",
        role: str = "",
        target: str = "",
        groups: Iterable[str] = (),
        peer: str = "",
        detail: str = "",
    ) -> None:
        """Appends one entry; raises sqlite3.Error if it cannot be written (full or read-only disk)."""
        values = (
            self._clock(),
            token_id,
            token_name,
            role,
            method,
            target,
            ",".join(groups),
            peer,
            code,
            detail[:1000],
        )
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT chain FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                chain = _link(row[0] if row else "", values)
                self._db.execute(
                    f"INSERT INTO audit ({', '.join(_FIELDS)}, chain) VALUES ({', '.join('?' * 11)})",
                    (*values, chain),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def entries(
        self, *, since: float | None = None, until: float | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Oldest first, within [since, until)."""
        sql = f"SELECT seq, {_SELECT} FROM audit WHERE time >= ? AND time < ? ORDER BY seq"
        args: list[object] = [since if since is not None else float("-inf"), until or float("inf")]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_entry(r) for r in rows]

    def verify(self) -> int | None:
        """The seq of the first entry whose chain does not match (edited or removed rows), or None."""
        previous = ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, {', '.join(_FIELDS)}, chain FROM audit ORDER BY seq"
            ).fetchall()
        for row in rows:
            if _link(previous, tuple(row[1:-1])) != row[-1]:
                return int(row[0])
            previous = row[-1]
        return None

    def export_csv(self, out: TextIO, *, since: float | None = None, until: float | None = None) -> int:
        entries = self.entries(since=since, until=until)
        writer = csv.DictWriter(out, fieldnames=["seq", *_FIELDS])
        writer.writeheader()
        for entry in entries:
            row = entry.exported()
            row["groups"] = " ".join(entry.groups)
            writer.writerow(row)
        return len(entries)

    def export_json(self, out: TextIO, *, since: float | None = None, until: float | None = None) -> int:
        entries = self.entries(since=since, until=until)
        json.dump([e.exported() for e in entries], out, ensure_ascii=False, indent=1)
        out.write("\n")
        return len(entries)


def _entry(row: tuple[object, ...]) -> AuditEntry:
    seq, t, token_id, name, role, method, target, groups, peer, code, detail, chain = row
    return AuditEntry(
        int(seq),  # type: ignore[call-overload]
        float(t),  # type: ignore[arg-type]
        str(token_id),
        str(name),
        str(role),
        str(method),
        str(target),
        tuple(g for g in str(groups).split(",") if g),
        str(peer),
        str(code),
        str(detail),
        str(chain),
    )
