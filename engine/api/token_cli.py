"""Subcommands: ``loa token create|list|revoke`` and ``loa audit export|verify``.

They work on the state directory's files directly (tokens.sqlite3, audit.sqlite3), so they need access to
the server machine's disk, not a token: that is how the first admin and lost-token recovery work. Every
token change is written to the audit log.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from engine.timefmt import format_utc

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str, field: str, now: float | None = None) -> float:
    """RFC 3339 ("2026-11-26T08:00:00+07:00") or an age back from now ("24h", "7d")."""
    now = time.time() if now is None else now
    text = text.strip()
    if text.lower().endswith(" ago"):  # "24h ago" means what "24h" means here
        text = text[:-4].rstrip()
    match = _DURATION.match(text)
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    return _absolute(text, field)


def parse_duration(text: str, field: str) -> float:
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{field}: {text!r} is not a duration such as 90d, 12h or 30m")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _absolute(text: str, field: str) -> float:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is neither an RFC 3339 time nor an age such as 24h") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{field}: {text!r} has no time zone (add Z or +07:00)")
    return parsed.timestamp()


def _state_dir(args: argparse.Namespace) -> Path:
    """The running (or stopped) server's state directory; never created here (config.server_state)."""
    from engine import config

    return config.server_state(args.config, args.state_dir).state_dir


def _when(t: float | None) -> str:
    return format_utc(t)


def _cli_peer() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except Exception:
        return "local"


def _create(args: argparse.Namespace) -> int:
    from engine.api.audit import AuditLog
    from engine.api.tokens import TokenStore

    state = _state_dir(args)
    expires_at = None
    if args.expires_in is not None:
        expires_at = time.time() + parse_duration(args.expires_in, "--expires-in")
    elif args.expires_at is not None:
        expires_at = _absolute(args.expires_at, "--expires-at")
    groups = [g for g in args.groups.split(",") if g.strip()] if args.groups else []
    with TokenStore.in_state_dir(state) as store:
        token, info = store.create(args.name, args.role, groups, expires_at=expires_at)
    with AuditLog.in_state_dir(state) as audit:
        audit.record(
            method="cli:token.create",
            code="OK",
            target=info.id,
            groups=info.groups,
            peer=_cli_peer(),
            detail=f"name={info.name}; role={info.role.name.lower()}; expires={_when(info.expires_at)}",
        )
    print(
        f"created token {info.id} ({info.name}), role {info.role.name.lower()},"
        f" groups {','.join(info.groups)}, expires {_when(info.expires_at)}. It is shown only now:",
        file=sys.stderr,
    )
    print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    from engine.api.tokens import TokenStore

    with TokenStore.in_state_dir(_state_dir(args)) as store:
        tokens = store.list(include_revoked=args.all)
    if args.json:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "role": t.role.name.lower(),
                "groups": list(t.groups),
                "created": _when(t.created_at),
                "expires": None if t.expires_at is None else _when(t.expires_at),
                "last_used": None if t.last_used_at is None else _when(t.last_used_at),
                "revoked": None if t.revoked_at is None else _when(t.revoked_at),
            }
            for t in tokens
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'ID':16}  {'ROLE':9}  {'GROUPS':20}  {'EXPIRES':20}  {'LAST USED':20}  {'REVOKED':20}  NAME")
    for t in tokens:
        print(
            f"{t.id:16}  {t.role.name.lower():9}  {','.join(t.groups):20}  {_when(t.expires_at):20}  "
            f"{_when(t.last_used_at):20}  {_when(t.revoked_at):20}  {t.name}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from engine.api.audit import AuditLog
    from engine.api.tokens import TokenStore

    state = _state_dir(args)
    with TokenStore.in_state_dir(state) as store:
        try:
            info = store.revoke(args.token_id)
        except KeyError:
            print(f"loa token revoke: token_id: no token {args.token_id!r}", file=sys.stderr)
            return 1
    with AuditLog.in_state_dir(state) as audit:
        audit.record(
            method="cli:token.revoke",
            code="OK",
            target=info.id,
            groups=info.groups,
            peer=_cli_peer(),
            detail=f"name={info.name}",
        )
    print(f"revoked token {info.id} ({info.name}) at {_when(info.revoked_at)}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from engine.api.audit import AuditLog

    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    with AuditLog.in_state_dir(_state_dir(args)) as audit:
        write = audit.export_json if args.format == "json" else audit.export_csv
        if args.output in (None, "-"):
            count = write(sys.stdout, since=since, until=until)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = write(out, since=since, until=until)
    print(f"{count} audit entries", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from engine.api.audit import AuditLog

    with AuditLog.in_state_dir(_state_dir(args)) as audit:
        broken = audit.verify()
    if broken is None:
        print("audit log intact", file=sys.stderr)
        return 0
    print(f"audit log altered: the chain breaks at entry {broken}", file=sys.stderr)
    return 1


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import sqlite3

        try:
            return func(args)
        except ValueError as exc:
            print(f"loa {args.command}: {exc}", file=sys.stderr)
            return 2
        except (sqlite3.Error, OSError) as exc:
            # a damaged file, or a state directory this user may not write: one line, not a traceback
            print(f"loa {args.command} {args.action}: {_state_dir(args)}: {exc}", file=sys.stderr)
            return 2

    return run


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        help="the server's state directory (default: from --config, LOA_CONFIG, LOA_STATE_DIR, "
        "/etc/loa/loa.toml, else /var/lib/loa; never created)",
    )
    parser.add_argument("--config", type=Path, help="the server's TOML config, to find its state directory")


def register(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="create, list and revoke API tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="a new token, printed once")
    create.add_argument("--name", required=True, help="who or what uses it, e.g. 'provincial CMS'")
    create.add_argument("--role", required=True, choices=["viewer", "publisher", "emergency", "admin"])
    create.add_argument("--groups", default="*", help="comma-separated group ids, or * (default) for all")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", help="lifetime, e.g. 90d, 12h")
    expiry.add_argument("--expires-at", help="RFC 3339 time")
    _common(create)
    create.set_defaults(func=_run(_create))

    listing = actions.add_parser("list", help="tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.add_argument("--json", action="store_true")
    _common(listing)
    listing.set_defaults(func=_run(_list))

    revoke = actions.add_parser("revoke", help="refuse a token from the next call on")
    revoke.add_argument("token_id")
    _common(revoke)
    revoke.set_defaults(func=_run(_revoke))

    audit = sub.add_parser("audit", help="export or verify the audit log of mutating calls")
    audit_actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = audit_actions.add_parser("export", help="entries as CSV or JSON")
    export.add_argument("--since", help="RFC 3339 time or an age such as 24h, 7d (or 24h ago)")
    export.add_argument("--until", help="RFC 3339 time or an age")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", "-o", help="file (default: stdout)")
    _common(export)
    export.set_defaults(func=_run(_export))
    verify = audit_actions.add_parser("verify", help="check that no entry was altered or removed")
    _common(verify)
    verify.set_defaults(func=_run(_verify))
