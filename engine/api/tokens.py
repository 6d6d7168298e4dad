"""API tokens: who may call the server, with which role, on which groups.

A token is ``loa_<id>_<secret>``: the id finds the row, the secret proves possession. Only SHA-256 of the
32-byte random secret is stored (a stolen database grants nothing), and it is compared in constant time.
The store is its own SQLite file in the state directory, so ``loa token revoke`` in another process takes
effect on the next call: nothing is cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from engine.db import open_db

TOKENS_FILE = "tokens.sqlite3"
PREFIX = "loa"
ALL_GROUPS = "*"
_LAST_USED_EVERY_S = 60.0  # last_used_at is written at most this often per token: no write per RPC
_TOKEN_RE = re.compile(r"^loa_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_GROUP_RE = re.compile(r"^([a-z0-9-]{1,63}|\*)$")


class Role(IntEnum):
    """Ordered: each role may do what the ones below it may."""

    VIEWER = 1  # read: broadcasts, groups, speakers, voices, normalize
    PUBLISHER = 2  # + NORMAL and PRIORITY broadcasts on its groups, synthesis
    EMERGENCY = 3  # + EMERGENCY broadcasts on its groups
    ADMIN = 4  # + groups and tokens, every group

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"role: {name!r} is not one of {choices}") from None


class InvalidToken(Exception):
    """Authentication failed; the message says why without revealing whether the id exists."""


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: Role
    groups: tuple[str, ...]  # group ids, or ("*",) for every group
    created_at: float
    expires_at: float | None = None
    last_used_at: float | None = None
    revoked_at: float | None = None

    def covers(self, group_id: str) -> bool:
        return ALL_GROUPS in self.groups or group_id in self.groups

    def active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role INTEGER NOT NULL,
    groups TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    last_used_at REAL,
    revoked_at REAL
);
"""


class TokenStore:
    """Thread-safe (one connection behind a lock): the gRPC server authenticates from many threads."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_db(self.path)
        self._db.executescript(_SCHEMA)
        self._written: dict[str, float] = {}

    @classmethod
    def in_state_dir(cls, state_dir: str | Path, **kw: Callable[[], float]) -> TokenStore:
        return cls(Path(state_dir) / TOKENS_FILE, **kw)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- management -------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        role: Role | str,
        groups: Iterable[str] = (ALL_GROUPS,),
        *,
        expires_at: float | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token: (the token string, shown once and never stored; its record)."""
        role = Role.parse(role) if isinstance(role, str) else Role(role)
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("name: must be 1..200 characters")
        scopes = tuple(dict.fromkeys(g.strip() for g in groups))
        if not scopes:
            raise ValueError("groups: at least one group id, or * for every group")
        for i, group in enumerate(scopes):
            if not _GROUP_RE.match(group):
                raise ValueError(f"groups[{i}]: {group!r} is not a group id ([a-z0-9-]{{1,63}}) or *")
        if role is Role.ADMIN:
            scopes = (ALL_GROUPS,)
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise ValueError("expires_at: must be in the future")
        token_id = secrets.token_hex(8)
        secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
        info = TokenInfo(token_id, name, role, scopes, now, expires_at)
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (id, name, role, groups, secret_sha256, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, name, int(role), ",".join(scopes), _hash(secret), now, expires_at),
            )
        return f"{PREFIX}_{token_id}_{secret}", info

    def get(self, token_id: str) -> TokenInfo:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise KeyError(f"token_id: no token {token_id!r}")
        return _info(row)

    def list(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM tokens{where} ORDER BY created_at").fetchall()
        return [_info(r) for r in rows]

    def count(self) -> int:
        """Every token ever created, revoked ones included."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0])

    def revoke(self, token_id: str) -> TokenInfo:
        """Takes effect on the next call, in every process using this file. Revoking twice is harmless."""
        with self._lock:
            self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (self._clock(), token_id),
            )
        return self.get(token_id)

    # --- authentication ---------------------------------------------------------------------------

    def authenticate(self, token: str) -> TokenInfo:
        """The token's record, or InvalidToken saying why (malformed, unknown, revoked, expired)."""
        match = _TOKEN_RE.match(token.strip())
        if match is None:
            raise InvalidToken("malformed token (expected loa_<id>_<secret>)")
        token_id, secret = match.groups()
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS}, secret_sha256 FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
        # Hash and compare even for an unknown id, so timing does not tell which ids exist.
        stored = row[-1] if row is not None else "0" * 64
        if not hmac.compare_digest(_hash(secret), stored) or row is None:
            raise InvalidToken("unknown token")
        info = _info(row[:-1])
        now = self._clock()
        if info.revoked_at is not None:
            raise InvalidToken(f"token {info.id} ({info.name}) was revoked")
        if info.expires_at is not None and now >= info.expires_at:
            raise InvalidToken(f"token {info.id} ({info.name}) has expired")
        self._touch(info.id, now)
        return info

    def _touch(self, token_id: str, now: float) -> None:
        if now - self._written.get(token_id, float("-inf")) < _LAST_USED_EVERY_S:
            return
        self._written[token_id] = now
        try:
            with self._lock:
                self._db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now, token_id))
        except sqlite3.OperationalError:
            pass  # a read-only or full disk must not lock callers out; last use is advisory


_COLUMNS = "id, name, role, groups, created_at, expires_at, last_used_at, revoked_at"


def _info(row: tuple[object, ...]) -> TokenInfo:
    token_id, name, role, groups, created, expires, used, revoked = row
    return TokenInfo(
        str(token_id),
        str(name),
        Role(int(role)),  # type: ignore[call-overload]
        tuple(str(groups).split(",")),
        float(created),  # type: ignore[arg-type]
        None if expires is None else float(expires),  # type: ignore[arg-type]
        None if used is None else float(used),  # type: ignore[arg-type]
        None if revoked is None else float(revoked),  # type: ignore[arg-type]
    )


def ensure_bootstrap_token(store: TokenStore, token_file: str | Path | None = None) -> str | None:
    """On the very first start (no token was ever created), an admin token; returned once for the server
    to print, and written to token_file (mode 0600) when given, for scripts such as ``make demo``. Later
    starts return None, even if every token was revoked: nobody gets a fresh admin token by restarting."""
    if store.count():
        return None
    token, _ = store.create("bootstrap admin", Role.ADMIN)
    if token_file is not None:
        path = Path(token_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
    return token
