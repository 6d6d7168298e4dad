"""Broadcasts and events as rows: the queries that read them, the event insert and the page tokens.
Functions of a connection, called inside the store's lock or transaction."""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Sequence

from engine.jobs import serialize
from engine.jobs.errors import InvalidPageToken, NotFound
from engine.jobs.model import TERMINAL_STATES, Broadcast, BroadcastState, Caller, EventType, Progress

TERMINAL_SQL = ", ".join(str(int(s)) for s in TERMINAL_STATES)


def progress_json(progress: Progress) -> str:
    return serialize.dumps(serialize.progress_to_dict(progress))


def idempotency_column(scope: str, key: str) -> str:
    """The stored form of an idempotency key: per caller (schema migration 4). A scope never holds "/",
    so "<scope>/<key>" is unambiguous whatever the key."""
    if not scope or "/" in scope:
        raise ValueError(f"idempotency scope: {scope!r} is empty or holds '/'")
    return f"{scope}/{key}"


def caller(token_id: str | None, name: str | None, role: str | None) -> Caller | None:
    """The created_by columns as a Caller; None for rows from before they existed."""
    if token_id is None and name is None and role is None:
        return None
    return Caller(token_id or "", name or "", role or "")


def encode_token(seq: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{seq}:{fingerprint}".encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        seq, found = raw.split(":")
        value = int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidPageToken("page_token: not a token this server gave") from None
    if found != fingerprint:
        raise InvalidPageToken("page_token: given with different filters than the first page")
    return value


def append_event(
    conn: sqlite3.Connection,
    broadcast_id: str,
    event: EventType,
    now: float,
    state: BroadcastState,
    progress: Progress,
    message: str,
) -> None:
    conn.execute(
        "INSERT INTO events (broadcast_id, type, time, state, progress, message) VALUES (?, ?, ?, ?, ?, ?)",
        (broadcast_id, int(event), now, int(state), progress_json(progress), message),
    )


def get(conn: sqlite3.Connection, broadcast_id: str) -> Broadcast:
    found = select(conn, "WHERE id = ?", (broadcast_id,))
    if not found:
        raise NotFound(f"no broadcast {broadcast_id!r}")
    return found[0]


def select(
    conn: sqlite3.Connection, where: str, args: Sequence[object], with_audio: bool = True
) -> list[Broadcast]:
    """Broadcasts in one query (and their audio in one more). Without audio, a pre-recorded segment's
    ``audio`` is None: enough for scheduling, which must not pull megabytes per plan."""
    rows = conn.execute(
        "SELECT id, seq, spec, state, create_time, start_time, update_time, air_time, end_time, progress,"
        f" interruptions, failure_reason, repeats_done, created_by_token, created_by_name, created_by_role"
        f" FROM broadcasts {where}",
        args,
    ).fetchall()
    audio: dict[int, dict[int, bytes]] = {}
    seqs = [row[1] for row in rows]
    for start in range(0, len(seqs) if with_audio else 0, 500):
        chunk = seqs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for seq, index, blob in conn.execute(
            f"SELECT broadcast_seq, segment_index, audio FROM segment_audio WHERE broadcast_seq IN ({marks})",
            chunk,
        ):
            audio.setdefault(seq, {})[index] = blob
    return [
        Broadcast(
            id=bid,
            spec=serialize.spec_from_dict(json.loads(spec), audio.get(seq, {})),
            state=BroadcastState(state),
            seq=seq,
            create_time=created,
            start_time=start_time,
            update_time=updated,
            air_time=aired,
            end_time=ended,
            progress=serialize.progress_from_dict(json.loads(progress)),
            interruptions=tuple(serialize.interruption_from_dict(c) for c in json.loads(cuts)),
            failure_reason=failure,
            repeats_done=repeats,
            created_by=caller(by_token, by_name, by_role),
        )
        for (
            bid,
            seq,
            spec,
            state,
            created,
            start_time,
            updated,
            aired,
            ended,
            progress,
            cuts,
            failure,
            repeats,
            by_token,
            by_name,
            by_role,
        ) in rows
    ]
