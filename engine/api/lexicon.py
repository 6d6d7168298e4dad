"""loa.v1.Lexicon: a deployment's own readings, stored (engine/jobs/lexicon_store.py) and applied by
Normalize, Synthesize and broadcasts from the next request on. Writes need the admin role (auth.py)."""

from __future__ import annotations

import grpc

from engine.api.auth import principal
from engine.api.convert import timestamp
from engine.api.errors import field_named
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
    )


class LexiconServicer(loa_pb2_grpc.LexiconServicer):
    def __init__(self, store: LexiconStore) -> None:
        self.store = store

    def ListLexiconEntries(
        self, request: pb.ListLexiconEntriesRequest, context: grpc.ServicerContext
    ) -> pb.ListLexiconEntriesResponse:
        entries, version = self.store.list_lexicon_entries(request.language)
        return pb.ListLexiconEntriesResponse(entries=[entry_to_pb(e) for e in entries], version=version)

    def PutLexiconEntry(
        self, request: pb.PutLexiconEntryRequest, context: grpc.ServicerContext
    ) -> pb.LexiconEntry:
        if not request.HasField("entry"):
            raise ValueError("entry: missing")
        e = request.entry
        stored = self.store.put_lexicon_entry(
            Entry(e.written, e.spoken, e.language, e.note), updated_by=principal(context).name
        )
        return entry_to_pb(stored)

    def DeleteLexiconEntry(
        self, request: pb.DeleteLexiconEntryRequest, context: grpc.ServicerContext
    ) -> pb.DeleteLexiconEntryResponse:
        with field_named("written"):
            version = self.store.delete_lexicon_entry(request.language, request.written)
        return pb.DeleteLexiconEntryResponse(version=version)
