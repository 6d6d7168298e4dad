"""``loa speaker``'s broker options become the same BrokerProvision as a ``--provision`` file (parsing
only: no agent starts, nothing is sent)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streaming import cli
from streaming.broker.provision import BrokerProvision


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="loa")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["speaker", "--group", "239.6.0.1:5004", *argv])


def test_broker_flags_and_provision_file_give_the_same_provisioning(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("secret\n")
    flags = cli._broker(
        _args(
            "--broker", "mqtts://198.18.0.1:8883", "--cluster", "c-a",
            "--password-file", str(tmp_path / "pw"), "--ca", "/etc/loa/ca.pem",
            "--broker-group", "ga=239.6.0.1:5004",
        )
    )  # fmt: skip
    assert flags == BrokerProvision(
        "198.18.0.1", 8883, "c-a", "secret", Path("/etc/loa/ca.pem"), {"ga": "239.6.0.1:5004"}
    )
    (tmp_path / "p.json").write_text(flags.serialize())
    assert cli._broker(_args("--provision", str(tmp_path / "p.json"))) == flags
    assert cli._broker(_args()) is None


def test_broker_without_its_companions_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="--cluster"):
        cli._broker(_args("--broker", "mqtts://198.18.0.1:8883"))
