"""`loa lexicon list|add|remove|import|export`: the deployment lexicon, over the API (writes need an
admin token). The TSV form is the one ``export`` writes and ``import`` reads: a header line, then
written, spoken, language, note, tab-separated; "#" lines and blank lines are skipped."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.api.cli_client import add_client_options, connect, rpc_failed, write_output

HEADER = "written\tspoken\tlanguage\tnote"


def parse_tsv(text: str) -> Iterator[tuple[int, tuple[str, str, str, str]]]:
    """(line number, (written, spoken, language, note)) per entry; ValueError naming the line."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.strip() == HEADER:
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 2 or len(fields) > 4:
            raise ValueError(f"line {number}: expected written<TAB>spoken[<TAB>language[<TAB>note]]")
        written, spoken, language, note = (*fields, "", "")[:4]
        yield number, (written, spoken, language, note)


def serialize_tsv(rows: list[tuple[str, str, str, str]]) -> str:
    for row in rows:
        if any("\t" in f or "\n" in f for f in row):
            raise ValueError(f"entry {row[0]!r}: a field holds a tab or a newline")
    return "".join(f"{line}\n" for line in [HEADER, *("\t".join(r) for r in rows)])


def _run(handler: Callable[[argparse.Namespace, Any, Any], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import grpc

        from protos.loa.v1 import loa_pb2_grpc

        try:
            with connect(args) as client:
                stub = loa_pb2_grpc.LexiconStub(client.channel)
                return handler(args, stub, client.metadata)
        except grpc.RpcError as exc:
            return rpc_failed(f"loa lexicon {args.action}", exc)
        except (ValueError, OSError) as exc:
            print(f"loa lexicon {args.action}: {exc}", file=sys.stderr)
            return 2

    return run


def _list(args: argparse.Namespace, stub: Any, metadata: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    request = pb.ListLexiconEntriesRequest(language=args.language or "")
    if args.group is not None:
        request.group_id = args.group
    reply = stub.ListLexiconEntries(request, metadata=metadata)
    for e in reply.entries:
        note = f"  # {e.note}" if e.note else ""
        scope = f"\tgroup {e.group_id}" if e.group_id else ""
        print(f"{e.language}\t{e.written}\t{e.spoken}{scope}{note}")
    print(f"{len(reply.entries)} entries, lexicon version {reply.version}", file=sys.stderr)
    return 0


def _add(args: argparse.Namespace, stub: Any, metadata: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    entry = pb.LexiconEntry(
        written=args.written,
        spoken=args.spoken,
        language=args.language or "",
        note=args.note or "",
        group_id=args.group or "",
    )
    stored = stub.PutLexiconEntry(pb.PutLexiconEntryRequest(entry=entry), metadata=metadata)
    print(f"{stored.written} -> {stored.spoken} ({stored.language}), lexicon version {stored.version}")
    return 0


def _remove(args: argparse.Namespace, stub: Any, metadata: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    reply = stub.DeleteLexiconEntry(
        pb.DeleteLexiconEntryRequest(
            language=args.language or "", written=args.written, group_id=args.group or ""
        ),
        metadata=metadata,
    )
    print(f"removed {args.written}, lexicon version {reply.version}")
    return 0


def _import(args: argparse.Namespace, stub: Any, metadata: Any) -> int:
    """Every row is sent; a refused row is reported with its line and the rest still go in."""
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    rows = list(parse_tsv(Path(args.file).read_text(encoding="utf-8")))
    refused = 0
    for number, (written, spoken, language, note) in rows:
        entry = pb.LexiconEntry(
            written=written, spoken=spoken, language=language, note=note, group_id=args.group or ""
        )
        try:
            stub.PutLexiconEntry(pb.PutLexiconEntryRequest(entry=entry), metadata=metadata)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                raise
            refused += 1
            print(f"{args.file}:{number}: {exc.details()}", file=sys.stderr)
    print(f"imported {len(rows) - refused} of {len(rows)} entries")
    return 1 if refused else 0


def _export(args: argparse.Namespace, stub: Any, metadata: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    reply = stub.ListLexiconEntries(  # one scope per file: the deployment's, or --group's
        pb.ListLexiconEntriesRequest(language=args.language or "", group_id=args.group or ""),
        metadata=metadata,
    )
    text = serialize_tsv([(e.written, e.spoken, e.language, e.note) for e in reply.entries])
    write_output(text, args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    lexicon = sub.add_parser(
        "lexicon", help="the deployment's own readings: list, add, remove, import, export"
    )
    actions = lexicon.add_subparsers(dest="action", required=True, metavar="ACTION")
    language_help = "language (default: all for list/export, vi otherwise)"

    listing = actions.add_parser("list", help="entries, one a line: language, written, spoken")
    listing.add_argument("--group", help="only this group's entries (\"\" the deployment's); default: all")
    listing.add_argument("--language", help=language_help)
    add_client_options(listing)
    listing.set_defaults(func=_run(_list))

    add = actions.add_parser("add", help="add or replace an entry (admin)")
    add.add_argument(
        "--group", help="the entry is this group's: read only in broadcasts to it (docs/TEXT.md)"
    )
    add.add_argument("written", help="one written word, e.g. HTXTP")
    add.add_argument("spoken", help='how it is read, e.g. "hợp tác xã tân phú"')
    add.add_argument("--language", help=language_help)
    add.add_argument("--note", help="for editors: source, why")
    add_client_options(add)
    add.set_defaults(func=_run(_add))

    remove = actions.add_parser("remove", help="remove an entry (admin)")
    remove.add_argument("--group", help="remove this group's entry (default: the deployment's)")
    remove.add_argument("written")
    remove.add_argument("--language", help=language_help)
    add_client_options(remove)
    remove.set_defaults(func=_run(_remove))

    importing = actions.add_parser("import", help="add or replace the entries of a TSV file (admin)")
    importing.add_argument("--group", help="import the rows as this group's entries")
    importing.add_argument("file", help="written<TAB>spoken[<TAB>language[<TAB>note]] per line")
    add_client_options(importing)
    importing.set_defaults(func=_run(_import))

    export = actions.add_parser("export", help="the entries as TSV, as import reads it")
    export.add_argument("--group", help="export this group's entries (default: the deployment's)")
    export.add_argument("--language", help=language_help)
    export.add_argument("-o", "--output", help="write here (default: stdout)")
    add_client_options(export)
    export.set_defaults(func=_run(_export))
