"""What the store raises. Each is a StoreError (UNAVAILABLE when nothing more specific applies: the disk
is full, the file is damaged) and, where it is one, a kind from engine/errors.py that decides the status
code (engine/api/errors.py)."""

from __future__ import annotations

from engine import errors


class StoreError(errors.Unavailable):
    """The store could not do what was asked; nothing was changed."""


class NotFound(StoreError, errors.NotFound):
    pass


class AlreadyExists(StoreError, errors.AlreadyExists):
    pass


class IdempotencyConflict(StoreError, errors.Conflict):
    """The idempotency key was used before, for a different request."""


class InvalidTransition(StoreError, errors.Conflict):
    """The broadcast's state forbids the change, e.g. cancelling a finished broadcast."""


class InUse(StoreError, errors.Conflict):
    """A group that unfinished broadcasts still target cannot be deleted."""


class InvalidPageToken(StoreError, ValueError):
    pass
