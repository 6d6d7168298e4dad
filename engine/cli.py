"""The ``loa`` command. Each subcommand lives next to the code it drives; this module only dispatches.

A module named here exposes ``register(subparsers)``, which adds its subcommands and sets ``func`` on
each parser. Modules keep heavy imports inside their handlers so that ``loa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "engine.api.cli",  # serve, broadcast
    "engine.api.token_cli",  # token, audit
    "engine.api.keys_cli",  # keys
    "engine.api.groups_cli",  # group
    "engine.api.healthcheck",  # health
    "engine.api.lexicon_cli",  # lexicon
    "engine.api.clusters_cli",  # speakers (clusters on the broker)
    "engine.api.schedules_cli",  # schedule (calendar recurrence)
    "engine.tts.cli",  # say, voices
    "engine.tts.text.cli",  # normalize
    "engine.api.sdp_cli",  # sdp (asks the server; refuses SRTP groups)
    "streaming.cli",  # speaker
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loa",
        description="Loa: text-to-speech broadcasts to IP loudspeakers (Vietnamese and ethnic languages).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
