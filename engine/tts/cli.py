"""Subcommands: say, voices. Placeholder until its issue lands."""

from __future__ import annotations

import argparse
import sys


def _not_yet(args: argparse.Namespace) -> int:
    print(f"loa {args.command}: not implemented yet", file=sys.stderr)
    return 2


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser('say', help='say').set_defaults(func=_not_yet)
    sub.add_parser('voices', help='voices').set_defaults(func=_not_yet)
