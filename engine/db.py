"""Opening the server's SQLite files (the store, the tokens, the audit log) one way.

Each is shared by the gRPC threads of one server and by ``loa`` commands in other processes, so every
connection gets: autocommit mode (transactions are explicit, ``BEGIN IMMEDIATE``), WAL (readers never
block the writer), a busy timeout (a second process waits for the lock instead of failing at once) and
foreign keys. The files hold secrets (SRTP master keys, token hashes), so the file is made mode 0600 and
a state directory created here is made 0700; an existing directory keeps the mode its owner gave it.
"""

from __future__ import annotations

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
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        st = os.stat(path)
        if st.st_mode & 0o077 and st.st_uid == os.geteuid():  # a reader running as another user leaves it
            os.chmod(path, 0o600)
    except BaseException:
        conn.close()
        raise
    return conn
