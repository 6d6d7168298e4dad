"""The store's connection, lock and transactions, shared by its group and broadcast halves.

One connection serves all threads behind a lock: the gRPC server calls in from many threads, and SQLite
serializes writers anyway. SQLite errors (disk full, read-only directory, a damaged file) come out as
StoreError with the path and the cause; a failed transaction is rolled back whole. An owner (the server)
holds an exclusive lock on ``PATH.lock`` until it closes; a reader takes none.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from engine.db import open_db
from engine.jobs import schema
from engine.jobs.errors import StoreError


class StoreBase:
    """Thread-safe; ``clock`` returns epoch seconds (tests pass a fake one)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        owner: bool = True,
        max_size_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._lock_fd: int | None = self._take_owner_lock() if owner else None
        try:
            self._conn = open_db(self.path)
        except (sqlite3.Error, OSError) as exc:
            self._release_owner_lock()
            raise StoreError(f"state store {self.path}: cannot open: {exc}") from exc
        try:
            with self._guard():
                if max_size_bytes is not None:
                    page = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
                    self._conn.execute(f"PRAGMA max_page_count = {max(1, max_size_bytes // page)}")
                try:
                    schema.migrate(self._conn)
                except schema.SchemaTooNew as exc:
                    raise StoreError(f"state store {self.path}: {exc}") from exc
        except BaseException:
            self._conn.close()
            self._release_owner_lock()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._release_owner_lock()

    def _take_owner_lock(self) -> int:
        lock_path = f"{self.path}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"state store {self.path}: cannot open: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(
                f"state store {self.path}: in use by another server (lock {lock_path})"
            ) from None
        return fd

    def _release_owner_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Holds the lock and turns SQLite's errors into StoreError."""
        with self._lock:
            try:
                yield
            except StoreError:
                raise
            except sqlite3.Error as exc:
                raise StoreError(f"state store {self.path}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and fsynced) or rolled back whole; wakes event watchers."""
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._changed.notify_all()
