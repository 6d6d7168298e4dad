"""The contract between a live source and the airing that plays it.

A live source (a station relayed, engine/live/relay.py; an operator's microphone over gRPC,
engine/live/voice.py) is a :class:`LiveFeed`: 48 kHz mono float32 PCM handed out at the pace of the
wall clock, so the airing feeds it to its stream exactly as it comes and the stream never runs dry or
ahead. Whatever the source does (a stall, a burst, a drifting clock) is absorbed inside the feed: a stall
becomes filler or silence and is recorded as a :class:`Gap` with its cause and length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Gap:
    """A stretch of a live airing that the source did not fill (filler or silence went out instead)."""

    start_time: float  # wall clock (Unix seconds) of the gap's first sample at the feed
    length_s: float
    cause: str  # "stalled", "unreachable", "ended early", "malformed", "client gone", ...


class LiveSourceFailed(Exception):
    """The source never came up (or failed for good before anything aired): the airing fails with this
    message as its reason, e.g. "live.url: connection refused after 5 tries (30 s)"."""


class LiveFeed(Protocol):
    def chunks(self) -> Iterator[np.ndarray]:
        """Consecutive chunks of 48 kHz mono float32 PCM, each yielded when the wall clock reaches it
        (a chunk is at most 100 ms), until the source's end (its duration or end time, the client's
        end) or :meth:`close`. Raises :class:`LiveSourceFailed` if the source never comes up."""
        ...

    def close(self) -> None:
        """Stops the feed and frees its threads and sockets; chunks() then ends. Idempotent."""
        ...

    @property
    def gaps(self) -> list[Gap]:
        """Every gap so far, oldest first (a copy)."""
        ...
