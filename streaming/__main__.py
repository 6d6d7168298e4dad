"""``python -m streaming speaker|sdp``: the speaker side alone, without engine/ installed."""

from __future__ import annotations

import argparse
import sys

from streaming import cli


def main() -> int:
    parser = argparse.ArgumentParser(prog="loa")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli.register(sub)
    cli.register_sdp(sub)
    args = parser.parse_args()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
