"""Clusters reached through the MQTT broker (issue #11): their groups, presence and play reports, part of
the Store (engine/jobs/store.py).

A cluster's password is not here: the broker keeps its hash (engine/broker/mosquitto.py), and the
servicer (engine/api/clusters.py) writes both. A revoked cluster keeps its row (revoke_time set) so that
the broadcast log still names it; creating it again clears the revocation (a replaced box).

Presence comes from the cluster's retained status (engine/broker/inbox.py): "online" on every connect,
"offline" on a clean stop or from its last will. Retained messages come again to a server that
reconnects, so an "online" equal to the one stored is a redelivery, not a reconnect.

Play reports are keyed by (cluster, bulletin, airing, started_at): QoS 1 may deliver one twice, and the
second is ignored. Missed bulletins are computed on read from the broadcasts that aired on a cluster's
groups (see :meth:`ClusterStore.missed_bulletins`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import errors
from engine.jobs.errors import AlreadyExists, NotFound, StoreError
from engine.jobs.model import DEFAULT_PLAYOUT_DELAY_S, BroadcastState
from engine.jobs.store_base import StoreBase
from engine.jobs.validation import InvalidField
from streaming.broker.messages import PlayReport, State, Status
from streaming.broker.topics import ID_RE


class Revoked(StoreError, errors.Conflict):
    """A change asked of a revoked cluster (create it again instead)."""


@dataclass(frozen=True)
class Presence:
    online: bool = False
    connect_time: float | None = None
    disconnect_time: float | None = None
    last_seen: float | None = None  # the last status or report received from it
    reconnects: int = 0  # connects after its first
    version: str = ""
    uptime_s: float = 0.0
    network: str = ""
    error: str = ""
    temperature_c: float | None = None


@dataclass(frozen=True)
class Cluster:
    id: str
    groups: tuple[str, ...]
    create_time: float
    update_time: float
    revoke_time: float | None = None
    presence: Presence = field(default_factory=Presence)

    @property
    def revoked(self) -> bool:
        return self.revoke_time is not None


@dataclass(frozen=True)
class PlayRecord:
    """One play report as stored: what a cluster played of one airing of a bulletin."""

    cluster: str
    bulletin: str
    airing: int
    started_at: float
    ended_at: float
    played: int
    concealed: int
    lost: int
    stop: str
    received_at: float


@dataclass(frozen=True)
class Missed:
    """An airing that ended on one of the cluster's groups with no report from the cluster."""

    cluster: str
    group: str
    bulletin: str
    airing: int
    aired_at: float
    ended_at: float


@dataclass
class Intake:
    """What one batch of inbox messages did to the store."""

    statuses: int = 0
    reports: int = 0
    duplicates: int = 0  # reports delivered again (QoS 1)
    unknown: int = 0  # from clusters the store does not know, or revoked ones: dropped


def check_cluster_id(cluster_id: str, field_name: str = "cluster_id") -> str:
    if not isinstance(cluster_id, str) or ID_RE.fullmatch(cluster_id) is None:
        raise InvalidField(field_name, f"{cluster_id!r} is not of the form [a-z0-9-]{{1,63}}")
    return cluster_id


class ClusterStore(StoreBase):
    # -- accounts -------------------------------------------------------------------------------------

    def create_cluster(
        self, cluster_id: str, groups: Sequence[str], *, broker_delay_s: float | None = None
    ) -> tuple[Cluster, list[str]]:
        """Stores a cluster for existing groups; a revoked one of the same id is replaced. With
        ``broker_delay_s``, those groups whose playout delay is still the default get it, in the same
        transaction (docs/BROKER.md: a group served through the broker needs more). Returns the cluster
        and the ids of the groups whose delay was raised."""
        check_cluster_id(cluster_id)
        now = self._clock()
        with self._tx() as conn:
            row = conn.execute("SELECT revoke_time FROM clusters WHERE id = ?", (cluster_id,)).fetchone()
            if row is not None and row[0] is None:
                raise AlreadyExists(f"cluster {cluster_id!r} already exists")
            _check_groups(conn, groups)
            conn.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))
            conn.execute(
                "INSERT INTO clusters (id, create_time, update_time) VALUES (?, ?, ?)", (cluster_id, now, now)
            )
            raised = _set_groups(conn, cluster_id, groups, broker_delay_s, now)
            return _read_cluster(conn, cluster_id), raised

    def get_cluster(self, cluster_id: str) -> Cluster:
        with self._guard():
            return _read_cluster(self._conn, cluster_id)

    def list_clusters(self, group: str | None = None, *, revoked: bool = True) -> list[Cluster]:
        with self._guard():
            if group:
                sql = "SELECT cluster_id FROM cluster_groups WHERE group_id = ? ORDER BY cluster_id"
                ids = [r[0] for r in self._conn.execute(sql, (group,))]
            else:
                ids = [r[0] for r in self._conn.execute("SELECT id FROM clusters ORDER BY id")]
            clusters = [_read_cluster(self._conn, i) for i in ids]
        return [c for c in clusters if revoked or not c.revoked]

    def set_cluster_groups(
        self, cluster_id: str, groups: Sequence[str], *, broker_delay_s: float | None = None
    ) -> tuple[Cluster, list[str]]:
        with self._tx() as conn:
            current = _read_cluster(conn, cluster_id)
            if current.revoked:
                raise Revoked(f"cluster_id: cluster {cluster_id!r} is revoked; create it again")
            _check_groups(conn, groups)
            now = self._clock()
            raised = _set_groups(conn, cluster_id, groups, broker_delay_s, now)
            conn.execute("UPDATE clusters SET update_time = ? WHERE id = ?", (now, cluster_id))
            return _read_cluster(conn, cluster_id), raised

    def revoke_cluster(self, cluster_id: str) -> Cluster:
        """Marks the cluster revoked (and offline); revoking it again changes nothing."""
        now = self._clock()
        with self._tx() as conn:
            if _read_cluster(conn, cluster_id).revoked:
                return _read_cluster(conn, cluster_id)
            conn.execute(
                "UPDATE clusters SET revoke_time = ?, update_time = ?, online = 0,"
                " disconnect_time = CASE WHEN online = 1 THEN ? ELSE disconnect_time END WHERE id = ?",
                (now, now, now, cluster_id),
            )
            return _read_cluster(conn, cluster_id)

    def delete_cluster(self, cluster_id: str) -> None:
        """Removes a cluster that never came to be (its broker account could not be written)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))

    # -- what clusters send ---------------------------------------------------------------------------

    def record_cluster_messages(
        self,
        statuses: Sequence[tuple[str, Status, float]],
        reports: Sequence[tuple[str, PlayReport, float]],
    ) -> Intake:
        """Applies one batch of (cluster, message, received at) in one transaction; messages of unknown
        or revoked clusters are counted and dropped."""
        out = Intake()
        if not statuses and not reports:
            return out
        with self._tx() as conn:
            for cluster_id, status, at in statuses:
                if _apply_status(conn, cluster_id, status, at):
                    out.statuses += 1
                else:
                    out.unknown += 1
            for cluster_id, report, at in reports:
                if not _active(conn, cluster_id):
                    out.unknown += 1
                    continue
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO play_reports (cluster_id, bulletin, airing, started_at, ended_at,"
                    " played, concealed, lost, stop, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cluster_id, report.bulletin, report.airing, report.started_at, report.ended_at,
                        report.frames_played, report.frames_concealed, report.frames_lost,
                        report.stop.value, at,
                    ),
                )  # fmt: skip
                conn.execute("UPDATE clusters SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?",
                             (at, cluster_id))  # fmt: skip
                if cursor.rowcount:
                    out.reports += 1
                else:
                    out.duplicates += 1
        return out

    def play_reports(
        self,
        cluster: str | None = None,
        bulletin: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10_000,
    ) -> list[PlayRecord]:
        """Reports by start time, filtered by cluster, bulletin and [since, until) on started_at."""
        where, args = _filters(cluster, bulletin, since, until, "cluster_id", "bulletin", "started_at")
        with self._guard():
            rows = self._conn.execute(
                "SELECT cluster_id, bulletin, airing, started_at, ended_at, played, concealed, lost, stop,"
                f" received_at FROM play_reports {where} ORDER BY started_at, cluster_id LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [PlayRecord(*row) for row in rows]

    def missed_bulletins(
        self,
        now: float,
        grace_s: float,
        cluster: str | None = None,
        bulletin: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Missed]:
        """Airings that ended on a cluster's groups more than ``grace_s`` before ``now`` (time for a
        report to come in) with no report from the cluster. A cluster counts only for airings while it
        existed and was not revoked. Airings: the completed repeats of an aired broadcast (all of a
        finished one)."""
        where, args = _filters(cluster, bulletin, since, until, "cg.cluster_id", "b.id", "b.end_time")
        where = (where + " AND" if where else "WHERE") + (
            " b.air_time IS NOT NULL AND b.end_time IS NOT NULL AND b.end_time <= ?"
            " AND c.create_time <= b.air_time AND (c.revoke_time IS NULL OR c.revoke_time > b.end_time)"
        )
        with self._guard():
            rows = self._conn.execute(
                "SELECT cg.cluster_id, bg.group_id, b.id, b.state, b.repeats_done, b.air_time,"
                " b.end_time FROM broadcasts b"
                " JOIN broadcast_groups bg ON bg.broadcast_seq = b.seq"
                " JOIN cluster_groups cg ON cg.group_id = bg.group_id"
                " JOIN clusters c ON c.id = cg.cluster_id"
                f" {where} ORDER BY b.end_time, cg.cluster_id, bg.group_id",
                (*args, now - grace_s),
            ).fetchall()
            bulletins = sorted({r[2] for r in rows})
            played: set[tuple[str, str, int]] = set()
            for i in range(0, len(bulletins), 500):  # SQLite's limit on bound variables
                chunk = bulletins[i : i + 500]
                sql = "SELECT cluster_id, bulletin, airing FROM play_reports WHERE bulletin IN ({})"
                played.update(self._conn.execute(sql.format(",".join("?" * len(chunk))), chunk))
        out: list[Missed] = []
        seen: set[tuple[str, str, int]] = set()
        for cluster_id, group_id, bid, state, repeats_done, aired, ended in rows:
            # a finished broadcast aired every repeat; a cancelled or failed one, those it completed
            airings = max(repeats_done, 1) if state == BroadcastState.FINISHED else repeats_done
            for airing in range(airings):
                key = (cluster_id, bid, airing)
                if key not in played and key not in seen:
                    seen.add(key)
                    out.append(Missed(cluster_id, group_id, bid, airing, aired, ended))
        return out

    def cluster_counts(self) -> dict[str, tuple[int, int, float | None]]:
        """Per group id: (clusters online, clusters offline, oldest last-seen time of them), over the
        clusters that are not revoked; for /metrics."""
        with self._guard():
            rows = self._conn.execute(
                "SELECT cg.group_id, SUM(c.online), SUM(1 - c.online),"
                " MIN(COALESCE(c.last_seen, c.create_time))"
                " FROM cluster_groups cg JOIN clusters c ON c.id = cg.cluster_id"
                " WHERE c.revoke_time IS NULL GROUP BY cg.group_id"
            ).fetchall()
        return {g: (int(on), int(off), oldest) for g, on, off, oldest in rows}


# -- rows --------------------------------------------------------------------------------------------------


def _check_groups(conn: sqlite3.Connection, groups: Sequence[str]) -> None:
    if not groups:
        raise InvalidField("group_ids", "a cluster needs at least one group")
    for i, group_id in enumerate(groups):
        if not conn.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone():
            raise NotFound(f"group_ids[{i}]: no group {group_id!r}")
        if group_id in groups[:i]:
            raise InvalidField(f"group_ids[{i}]", f"group {group_id!r} is named twice")


def _set_groups(
    conn: sqlite3.Connection, cluster_id: str, groups: Sequence[str], delay_s: float | None, now: float
) -> list[str]:
    conn.execute("DELETE FROM cluster_groups WHERE cluster_id = ?", (cluster_id,))
    conn.executemany(
        "INSERT INTO cluster_groups (cluster_id, group_id) VALUES (?, ?)", [(cluster_id, g) for g in groups]
    )
    if delay_s is None:
        return []
    marks = ",".join("?" * len(groups))
    raised = [
        r[0]
        for r in conn.execute(
            f"SELECT id FROM groups WHERE id IN ({marks}) AND playout_delay_s = ? ORDER BY id",
            (*groups, DEFAULT_PLAYOUT_DELAY_S),
        )
    ]
    conn.executemany(
        "UPDATE groups SET playout_delay_s = ?, update_time = ? WHERE id = ?",
        [(delay_s, now, g) for g in raised],
    )
    return raised


def _read_cluster(conn: sqlite3.Connection, cluster_id: str) -> Cluster:
    row = conn.execute(
        "SELECT create_time, update_time, revoke_time, online, connect_time, disconnect_time, last_seen,"
        " reconnects, status FROM clusters WHERE id = ?",
        (cluster_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no cluster {cluster_id!r}")
    created, updated, revoked, online, connected, disconnected, seen, reconnects, status = row
    groups = tuple(
        r[0]
        for r in conn.execute(
            "SELECT group_id FROM cluster_groups WHERE cluster_id = ? ORDER BY group_id", (cluster_id,)
        )
    )
    last: dict[str, Any] = json.loads(status) if status else {}
    presence = Presence(
        bool(online),
        connected,
        disconnected,
        seen,
        reconnects,
        str(last.get("version", "")),
        float(last.get("uptime_s", 0.0)),
        str(last.get("network", "")),
        str(last.get("error", "")),
        last.get("temperature_c"),
    )
    return Cluster(cluster_id, groups, created, updated, revoked, presence)


def _active(conn: sqlite3.Connection, cluster_id: str) -> bool:
    row = conn.execute("SELECT revoke_time FROM clusters WHERE id = ?", (cluster_id,)).fetchone()
    return row is not None and row[0] is None


def _apply_status(conn: sqlite3.Connection, cluster_id: str, status: Status, at: float) -> bool:
    row = conn.execute(
        "SELECT revoke_time, online, connect_time, status FROM clusters WHERE id = ?", (cluster_id,)
    ).fetchone()
    if row is None or row[0] is not None:
        return False
    _, online, connect_time, stored = row
    text = status.serialize().decode()
    if status.state is State.OFFLINE:
        if online:
            conn.execute(
                "UPDATE clusters SET online = 0, disconnect_time = ?, last_seen = ? WHERE id = ?",
                (at, at, cluster_id),
            )
        return True
    if online and text == stored:  # the retained status again (the server reconnected): not a connect
        conn.execute("UPDATE clusters SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?",
                     (at, cluster_id))  # fmt: skip
        return True
    conn.execute(
        "UPDATE clusters SET online = 1, connect_time = ?, last_seen = ?, status = ?,"
        " reconnects = reconnects + ? WHERE id = ?",
        (at, at, text, 1 if connect_time is not None else 0, cluster_id),
    )
    return True


def _filters(
    cluster: str | None,
    bulletin: str | None,
    since: float | None,
    until: float | None,
    cluster_col: str,
    bulletin_col: str,
    time_col: str,
) -> tuple[str, list[Any]]:
    terms: list[str] = []
    args: list[Any] = []
    for value, sql in (
        (cluster, f"{cluster_col} = ?"),
        (bulletin, f"{bulletin_col} = ?"),
        (since, f"{time_col} >= ?"),
        (until, f"{time_col} < ?"),
    ):
        if value is not None and value != "":
            terms.append(sql)
            args.append(value)
    return ("WHERE " + " AND ".join(terms)) if terms else "", args
