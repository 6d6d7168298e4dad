"""Subcommands: speaker, sdp. Placeholder until its issue lands."""

from __future__ import annotations

import argparse
import sys


def _not_yet(args: argparse.Namespace) -> int:
    print(f"loa {args.command}: not implemented yet", file=sys.stderr)
    return 2


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("speaker", help="speaker").set_defaults(func=_not_yet)
    sub.add_parser("sdp", help="sdp").set_defaults(func=_not_yet)
