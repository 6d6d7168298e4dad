"""Subcommands ``loa keys list|export|rotate|remove``: the groups' SRTP master keys (keys.py).

Two ways to reach the keys, so that rotation needs no downtime and no access to the server's disk:

- With a token (``--token`` or LOA_TOKEN, an admin's) they go through the running server (``--server``,
  LOA_SERVER): list and export call Groups.GetGroupKeys, rotate calls Groups.RotateGroupKeys. The server
  audits each call and refuses any role below admin (PERMISSION_DENIED).
- Without one they work on the server's state directory (found as ``loa token`` finds it: --state-dir,
  --config, LOA_CONFIG, LOA_STATE_DIR, /etc/loa/loa.toml, /var/lib/loa; never created here), also while
  the server runs: each change is one SQLite transaction in WAL mode, and the server reads a group's keys
  at every stream and sender report. Each export and change is written to the audit log. A store this
  user cannot open is a one-line error that points to the API way.

``remove`` is only the second way: making a group's streams plain RTP is kept to whoever holds the
server's disk.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api.cli_client import add_client_options, connect, rpc_failed, write_output
from engine.timefmt import format_utc

if TYPE_CHECKING:
    from engine.api.keys import KeyStore
    from engine.config import Config

NOTHING_TO_EXPORT = (
    "no group has SRTP keys, so there is nothing for speakers to load (name groups with --group; a group "
    "gets keys when created with srtp on, or with `loa keys rotate --group G`)"
)


def _when(t: float | None) -> str:
    return format_utc(t)


def _audit(state: Path, method: str, groups: list[str], detail: str) -> None:
    from engine.api.audit import AuditLog
    from engine.api.token_cli import _cli_peer

    with AuditLog.in_state_dir(state) as audit:
        audit.record(method=method, code="OK", target=",".join(groups), groups=groups, peer=_cli_peer(),
                     detail=detail)  # fmt: skip


@contextlib.contextmanager
def _keys(config: Config) -> Iterator[KeyStore]:
    """The key store over the state directory's store, opened as a reader next to a running server (no
    owner lock, no recovery); a key file of an older server is imported first. The server's key
    lifetime applies (from --config / LOA_*), so an export made while the server is down still carries
    the next key and no expired one."""
    from engine.api.keys import KeyLifetime, KeyStore, import_key_file
    from engine.jobs.store import Store

    store = Store(config.state_dir / "loa.db", recover=False)
    try:
        import_key_file(store, config.state_dir)
        yield KeyStore(store, lifetime=KeyLifetime.from_config(config))
    finally:
        store.close()


def _lead_overlap(args: argparse.Namespace) -> tuple[float, float]:
    from engine.api.keys import DEFAULT_LEAD_S, DEFAULT_OVERLAP_S

    lead = DEFAULT_LEAD_S if args.lead is None else args.lead
    overlap = DEFAULT_OVERLAP_S if args.overlap is None else args.overlap
    if lead < 0 or overlap < 0:
        raise ValueError(f"--lead {lead:g} / --overlap {overlap:g}: seconds, not negative")
    return lead, overlap


def _rotated(group: str, mki: int, switch: float, overlap: float) -> str:
    return (f"{group}: new key mki {mki}, senders switch at {_when(switch)}; older keys accepted until "
            f"{_when(switch + overlap)}")  # fmt: skip


# -- on the state directory ----------------------------------------------------------------------------


def _list(args: argparse.Namespace, config: Config) -> int:
    with _keys(config) as keys:
        for group in args.group or keys.groups():
            for k in keys.keys(group):
                print(f"{group}\tmki {k.mki}\tfrom {_when(k.not_before)}\tuntil {_when(k.not_after)}")
    return 0


def _export(args: argparse.Namespace, config: Config) -> int:
    with _keys(config) as keys:
        ids = args.group or keys.groups()
        if not ids:
            raise ValueError(NOTHING_TO_EXPORT)
        text = keys.provisioning([keys.store.get_group(g) for g in ids])
    write_output(text, args.out, private=True)
    _audit(config.state_dir, "cli:keys.export", ids, f"out={args.out or 'stdout'}")
    return 0


def _rotate(args: argparse.Namespace, config: Config) -> int:
    lead, overlap = _lead_overlap(args)
    with _keys(config) as keys:
        for group in args.group:
            keys.store.get_group(group)  # NotFound for an unknown group, before any is rotated
        for group in args.group:
            new = keys.rotate(group, lead_s=lead, overlap_s=overlap)
            print(_rotated(group, new.mki, new.not_before, overlap))
        text = keys.provisioning([keys.store.get_group(g) for g in args.group]) if args.out else ""
    if args.out:
        write_output(text, args.out, private=True)
    _audit(config.state_dir, "cli:keys.rotate", args.group, f"lead_s={lead}; overlap_s={overlap}")
    return 0


def _remove(args: argparse.Namespace, config: Config) -> int:
    with _keys(config) as keys:
        for group in args.group:
            if not keys.remove(group):
                print(f"{group}: had no keys", file=sys.stderr)
    _audit(config.state_dir, "cli:keys.remove", args.group, "the groups' streams are plain RTP from now on")
    return 0


# -- through the running server -----------------------------------------------------------------------


def _api_list(args: argparse.Namespace, client: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    reply = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=args.group or []),
                                       metadata=client.metadata, timeout=30)  # fmt: skip
    for ring in reply.groups:
        for k in ring.keys:
            until = k.not_after.ToSeconds() if k.HasField("not_after") else None
            print(
                f"{ring.group_id}\tmki {k.mki}\tfrom {_when(k.not_before.ToSeconds())}\tuntil {_when(until)}"
            )
    return 0


def _api_export(args: argparse.Namespace, client: Any) -> int:
    from protos.loa.v1 import loa_pb2 as pb

    reply = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(group_ids=args.group or []),
                                       metadata=client.metadata, timeout=30)  # fmt: skip
    if not reply.groups:
        raise ValueError(NOTHING_TO_EXPORT)
    write_output(reply.provisioning_file, args.out, private=True)
    return 0


def _api_rotate(args: argparse.Namespace, client: Any) -> int:
    from engine.api import convert
    from protos.loa.v1 import loa_pb2 as pb

    lead, overlap = _lead_overlap(args)
    request = pb.RotateGroupKeysRequest(
        group_ids=args.group, lead=convert.duration(lead), overlap=convert.duration(overlap)
    )
    reply = client.groups.RotateGroupKeys(request, metadata=client.metadata, timeout=30)
    for ring in reply.groups:
        new = ring.keys[-1]
        print(_rotated(ring.group_id, new.mki, new.not_before.ToNanoseconds() / 1e9, overlap))
    if args.out:  # the keys the speakers need next, in the same step
        write_output(reply.provisioning_file, args.out, private=True)
    return 0


def _api_remove(args: argparse.Namespace, client: Any) -> int:
    raise ValueError(
        "remove works on the server's state directory only (on its machine: --state-dir or --config, "
        "no --token): turning a group's streams to plain RTP is not offered through the API"
    )


def _through_server(args: argparse.Namespace) -> bool:
    """A token (--token or LOA_TOKEN) means: through the server; naming the state too is a mistake."""
    token = args.token if args.token is not None else os.environ.get("LOA_TOKEN", "")
    if token and args.state_dir is not None:
        raise ValueError("give either --token (through the running server) or --state-dir, not both")
    return bool(token)


def _run(local: Any, api: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        import sqlite3

        import grpc

        from engine import config
        from engine.jobs.errors import NotFound, StoreError

        name = f"loa keys {args.action}"
        try:
            if _through_server(args):
                with connect(args) as client:
                    return int(api(args, client))
            return int(local(args, config.server_state(args.config, args.state_dir)))
        except grpc.RpcError as exc:
            return rpc_failed(name, exc)
        except (StoreError, sqlite3.Error) as exc:
            # e.g. another user's state directory (mode 0700): the API needs no access to it
            print(f"{name}: {exc} (or go through the running server with an admin --token)", file=sys.stderr)
            return 2
        except (ValueError, NotFound, OSError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2

    return run


def register(sub: argparse._SubParsersAction) -> None:
    from engine.api.token_cli import _common

    keys = sub.add_parser(
        "keys",
        help="SRTP master keys of the groups: list, export, rotate, remove",
        description="With a token (--token or LOA_TOKEN, admin) through the running server; without one "
        "on the server's state directory (--state-dir, --config, LOA_CONFIG, LOA_STATE_DIR, "
        "/etc/loa/loa.toml, /var/lib/loa), also while it runs.",
    )
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    group_help = "group id (repeatable)"

    def options(parser: argparse.ArgumentParser) -> None:
        _common(parser)
        add_client_options(parser)

    listing = actions.add_parser("list", help="key ids and validity (never the keys)")
    listing.add_argument("--group", action="append", help=group_help + "; default: every group with keys")
    options(listing)
    listing.set_defaults(func=_run(_list, _api_list))

    export = actions.add_parser("export", help="provisioning file for speakers (`loa speaker --keys`)")
    export.add_argument("--group", action="append", help=group_help + "; default: every group with keys")
    export.add_argument("--out", help="write here with mode 0600 (default: stdout)")
    options(export)
    export.set_defaults(func=_run(_export, _api_export))

    rotate = actions.add_parser("rotate", help="a new key (new MKI); older keys expire after an overlap")
    rotate.add_argument("--group", action="append", required=True, help=group_help)
    rotate.add_argument("--lead", type=float, help="seconds until senders use it (default 60)")
    rotate.add_argument(
        "--overlap", type=float, help="seconds older keys stay valid after that (default 300)"
    )
    rotate.add_argument("--out", help="also write the provisioning file with the new keys here (0600)")
    options(rotate)
    rotate.set_defaults(func=_run(_rotate, _api_rotate))

    remove = actions.add_parser(
        "remove", help="forget a group's keys: its streams go plain RTP (on the state directory only)"
    )
    remove.add_argument("--group", action="append", required=True, help=group_help)
    options(remove)
    remove.set_defaults(func=_run(_remove, _api_remove))
