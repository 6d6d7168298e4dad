"""The kinds of failure the core reports, without gRPC: each maps to one status code, in one table
(engine/api/errors.py). Components subclass these (the store's NotFound is a store.NotFound and a
NotFound); a malformed request is a ValueError (InvalidField names the field) and needs no class here.

Messages say what is wrong ("no group 'ap-1'"); the servicer puts the request field in front with
``engine.api.errors.field_named``, so a caller always reads "field: message".
"""

from __future__ import annotations


class NotFound(LookupError):
    """A named thing (voice, group, broadcast) does not exist."""


class AlreadyExists(Exception):
    pass


class Conflict(Exception):
    """The request contradicts the state: an idempotency key reused for another request, cancelling a
    finished broadcast, deleting a group still in use, keys asked of a plain-RTP group."""


class Exhausted(Exception):
    """Bounded queues are full; the caller should retry after the hinted delay."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(Exception):
    """The server cannot do it now (its state store cannot be written); nothing was changed."""
