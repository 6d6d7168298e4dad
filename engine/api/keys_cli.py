"""Subcommands ``loa keys list|export|rotate|remove``: the groups' SRTP master keys (keys.py).

Like ``loa token``, they work on the state directory's store (loa.db, where the keys live beside their
groups) on the server's machine, also while the server runs: it notices the change at its next stream or
key refresh. Every export and change is written to the audit log. Speakers can also fetch their keys over
the API (Groups.GetGroupKeys, admin token).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api.cli_client import write_output

if TYPE_CHECKING:
    from engine.api.keys import KeyStore


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _audit(state: Path, method: str, groups: list[str], detail: str) -> None:
    from engine.api.audit import AuditLog
    from engine.api.token_cli import _cli_peer

    with AuditLog.in_state_dir(state) as audit:
        audit.record(method=method, code="OK", target=",".join(groups), groups=groups, peer=_cli_peer(),
                     detail=detail)  # fmt: skip


@contextlib.contextmanager
def _keys(state: Path, config_path: Path | None = None) -> Iterator[KeyStore]:
    """The key store over the state directory's store, opened as a reader next to a running server (no
    owner lock, no recovery); a key file of an older server is imported first. The server's key
    lifetime applies (from --config / LOA_*), so an export made while the server is down still carries
    the next key and no expired one."""
    from engine import config
    from engine.api.keys import KeyLifetime, KeyStore, import_key_file
    from engine.jobs.store import Store

    lifetime = KeyLifetime.from_config(config.load(config_path))
    store = Store(state / "loa.db", recover=False)
    try:
        import_key_file(store, state)
        yield KeyStore(store, lifetime=lifetime)
    finally:
        store.close()


def _list(args: argparse.Namespace, state: Path) -> int:
    with _keys(state, args.config) as keys:
        for group in args.group or keys.groups():
            for k in keys.keys(group):
                print(f"{group}\tmki {k.mki}\tfrom {_when(k.not_before)}\tuntil {_when(k.not_after)}")
    return 0


def _export(args: argparse.Namespace, state: Path) -> int:
    with _keys(state, args.config) as keys:
        ids = args.group or keys.groups()
        text = keys.provisioning([keys.store.get_group(g) for g in ids])
    write_output(text, args.out, private=True)
    _audit(state, "cli:keys.export", ids, f"out={args.out or 'stdout'}")
    return 0


def _rotate(args: argparse.Namespace, state: Path) -> int:
    from engine.api.keys import DEFAULT_LEAD_S, DEFAULT_OVERLAP_S

    lead = DEFAULT_LEAD_S if args.lead is None else args.lead
    overlap = DEFAULT_OVERLAP_S if args.overlap is None else args.overlap
    with _keys(state, args.config) as keys:
        for group in args.group:
            keys.store.get_group(group)  # NotFound for an unknown group, before any is rotated
        for group in args.group:
            new = keys.rotate(group, lead_s=lead, overlap_s=overlap)
            print(f"{group}: new key mki {new.mki}, senders switch at {_when(new.not_before)}; older keys "
                  f"accepted until {_when(new.not_before + overlap)}")  # fmt: skip
    _audit(state, "cli:keys.rotate", args.group, f"lead_s={lead}; overlap_s={overlap}")
    return 0


def _remove(args: argparse.Namespace, state: Path) -> int:
    with _keys(state, args.config) as keys:
        for group in args.group:
            if not keys.remove(group):
                print(f"{group}: had no keys", file=sys.stderr)
    _audit(state, "cli:keys.remove", args.group, "the groups' streams are plain RTP from now on")
    return 0


def _run(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        from engine.api.token_cli import _state_dir
        from engine.jobs.errors import NotFound

        try:
            return int(handler(args, _state_dir(args)))
        except (ValueError, NotFound, OSError) as exc:
            print(f"loa keys {args.action}: {exc}", file=sys.stderr)
            return 2

    return run


def register(sub: argparse._SubParsersAction) -> None:
    from engine.api.token_cli import _common

    keys = sub.add_parser("keys", help="SRTP master keys of the groups: list, export, rotate, remove")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    group_help = "group id (repeatable)"

    listing = actions.add_parser("list", help="key ids and validity (never the keys)")
    listing.add_argument("--group", action="append", help=group_help + "; default: every group with keys")
    _common(listing)
    listing.set_defaults(func=_run(_list))

    export = actions.add_parser("export", help="provisioning file for speakers (`loa speaker --keys`)")
    export.add_argument("--group", action="append", help=group_help + "; default: every group with keys")
    export.add_argument("--out", help="write here with mode 0600 (default: stdout)")
    _common(export)
    export.set_defaults(func=_run(_export))

    rotate = actions.add_parser("rotate", help="a new key (new MKI); older keys expire after an overlap")
    rotate.add_argument("--group", action="append", required=True, help=group_help)
    rotate.add_argument("--lead", type=float, help="seconds until senders use it (default 60)")
    rotate.add_argument(
        "--overlap", type=float, help="seconds older keys stay valid after that (default 300)"
    )
    _common(rotate)
    rotate.set_defaults(func=_run(_rotate))

    remove = actions.add_parser("remove", help="forget a group's keys: its streams go plain RTP")
    remove.add_argument("--group", action="append", required=True, help=group_help)
    _common(remove)
    remove.set_defaults(func=_run(_remove))
