"""Opening the server's SQLite files (the store, the tokens, the audit log) one way.

Each is shared by the gRPC threads of one server and by ``loa`` commands in other processes, so every
connection gets: autocommit mode (transactions are explicit, ``BEGIN IMMEDIATE``), WAL (readers never
block the writer), a busy timeout (a second process waits for the lock instead of failing at once) and
foreign keys. The files hold secrets (SRTP master keys, token hashes), so the file is made mode 0600 and
a state directory created here is made 0700; an existing directory keeps the mode its owner gave it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Literal

BUSY_TIMEOUT_S = 10.0


def open_db(path: str | Path, *, synchronous: Literal["FULL", "NORMAL"] = "FULL") -> sqlite3.Connection:
    """A connection usable from any thread (callers hold their own lock). ``synchronous=FULL`` fsyncs
    every commit (what a reply promises survives a power cut); NORMAL may lose the last commits to a
    power cut but never corrupts the file, for records whose loss costs less than an fsync per call."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created here, 0600, before SQLite opens it: SQLite gives its -wal and -shm files the database
    # file's mode, and the WAL holds every recent write (keys included) until a checkpoint.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _make_private(file)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _make_private(file: Path) -> None:
    """Mode 0600 for a file of ours that others may read (files of older versions were 0644); a reader
    running as another user leaves the owner's files alone."""
    try:
        st = os.stat(file)
    except FileNotFoundError:
        return
    if st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(file, 0o600)
