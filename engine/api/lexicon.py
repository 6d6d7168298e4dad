"""loa.v1.Lexicon: a deployment's own readings, stored (engine/jobs/lexicon_store.py) and applied by
Normalize, Synthesize and broadcasts from the next request on. The deployment's entries are written by
admins only; a group's entries also by a publisher (or emergency) token that covers the group, so a
commune's editor keeps its own place names and cannot change another commune's or everyone's."""

from __future__ import annotations

import grpc

from engine.api.auth import check_groups, principal
from engine.api.convert import timestamp
from engine.api.errors import field_named
from engine.api.tokens import ALL_GROUPS, Role
from engine.jobs.lexicon_store import LexiconStore, StoredEntry
from engine.tts.text.entries import Entry
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc


def entry_to_pb(stored: StoredEntry) -> pb.LexiconEntry:
    e = stored.entry
    return pb.LexiconEntry(
        written=e.written,
        spoken=e.spoken,
        language=e.language,
        note=e.note,
        update_time=timestamp(stored.update_time),
        updated_by=stored.updated_by,
        version=stored.version,
        group_id=stored.group_id,
    )


def _check_scope(context: grpc.ServicerContext, group_id: str, field: str) -> None:
    """A group's entry: the token must cover the group (auth.py has checked it is a publisher or
    higher). The deployment's entries read in every group's broadcasts: admin only."""
    who = principal(context)
    if group_id:
        check_groups(who, [group_id], field)
    elif who.role < Role.ADMIN:
        scope = "its groups'" if not who.covers(ALL_GROUPS) else "groups'"
        raise PermissionError(
            f"{field}: {who.describe()} may write only {scope} entries (the deployment's need admin);"
            f" give {field}"
        )


class LexiconServicer(loa_pb2_grpc.LexiconServicer):
    def __init__(self, store: LexiconStore) -> None:
        self.store = store

    def ListLexiconEntries(
        self, request: pb.ListLexiconEntriesRequest, context: grpc.ServicerContext
    ) -> pb.ListLexiconEntriesResponse:
        group = request.group_id if request.HasField("group_id") else None
        entries, version = self.store.list_lexicon_entries(request.language, group)
        return pb.ListLexiconEntriesResponse(entries=[entry_to_pb(e) for e in entries], version=version)

    def PutLexiconEntry(
        self, request: pb.PutLexiconEntryRequest, context: grpc.ServicerContext
    ) -> pb.LexiconEntry:
        if not request.HasField("entry"):
            raise ValueError("entry: missing")
        e = request.entry
        _check_scope(context, e.group_id, "entry.group_id")
        stored = self.store.put_lexicon_entry(
            Entry(e.written, e.spoken, e.language, e.note), principal(context).name, e.group_id
        )
        return entry_to_pb(stored)

    def DeleteLexiconEntry(
        self, request: pb.DeleteLexiconEntryRequest, context: grpc.ServicerContext
    ) -> pb.DeleteLexiconEntryResponse:
        _check_scope(context, request.group_id, "group_id")
        with field_named("written"):
            version = self.store.delete_lexicon_entry(request.language, request.written, request.group_id)
        return pb.DeleteLexiconEntryResponse(version=version)
