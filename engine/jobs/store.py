"""The durable store of groups, their SRTP keys and broadcasts: SQLite in WAL mode with synchronous=FULL.

Store is the one object the server, the runner and the CLI hold; its halves are by job:
store_base.py (connection, lock, transactions, owner lock), group_store.py (groups and their keys),
broadcast_store.py (broadcasts and their events; rows and queries in broadcast_rows.py), cluster_store.py
(clusters reached through the MQTT broker: accounts' groups, presence, play reports), lexicon_store.py
(the deployment lexicon), schedule_store.py (schedules and their occurrences), and the errors it raises
in errors.py.

On open, broadcasts a crash left synthesizing, on air or preempted get an Interruption (reason "server
restart", at their last progress) and go back to QUEUED, so the scheduler resumes them from the sentence
they were cut in. Only one owner may do that: the owner holds an exclusive lock on ``PATH.lock`` until
it closes, and a second owner gets a StoreError instead of re-queuing a live server's broadcasts. A
reader (``loa broadcast log`` next to a running server) opens with ``recover=False`` and takes no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from engine.jobs.broadcast_store import BroadcastStore
from engine.jobs.cluster_store import ClusterStore
from engine.jobs.group_store import GroupStore
from engine.jobs.heard import HeardMarks
from engine.jobs.lexicon_store import LexiconStore
from engine.jobs.schedule_store import ScheduleStore


class Store(GroupStore, BroadcastStore, ClusterStore, LexiconStore, ScheduleStore):
    """Thread-safe; ``clock`` returns epoch seconds (tests pass a fake one)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        recover: bool = True,
        max_size_bytes: int | None = None,
    ) -> None:
        super().__init__(path, clock=clock, owner=recover, max_size_bytes=max_size_bytes)
        self.recovered: tuple[str, ...] = ()
        if recover:
            self.heard = HeardMarks(Path(f"{self.path}.heard"))  # the owner's: airings write, recovery reads
            try:
                self.recovered = self._recover()
            except BaseException:
                self.close()
                raise

    def delete_group(self, group_id: str) -> None:
        """The group, then its own lexicon entries (a crash between leaves entries no broadcast can use
        until a group of that id is made again; the next delete of it clears them)."""
        super().delete_group(group_id)
        self.delete_group_lexicon(group_id)
