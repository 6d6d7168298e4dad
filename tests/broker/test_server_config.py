"""The broker's config keys: defaults, the TOML file, LOA_* variables, and bad values named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.config import Config, load


def test_the_broker_is_off_by_default_and_listens_on_8883_when_on() -> None:
    config = load(None, {})
    assert config.broker is False
    assert (config.broker_port, config.broker_bind, config.broker_public_host) == (
        8883,
        "0.0.0.0",
        "localhost",
    )
    assert config.broker_prefix == "" and config.broker_client_certs is False


def test_the_file_and_the_environment_set_the_broker_keys(tmp_path: Path) -> None:
    path = tmp_path / "loa.toml"
    path.write_text('broker = true\nbroker_port = 9883\nbroker_public_host = "loa.hue.gov.vn"\n')
    env = {"LOA_BROKER_PREFIX": "hue", "LOA_BROKER_CLIENT_CERTS": "yes", "LOA_BROKER_BIND": "10.0.0.5"}
    config = load(path, env)
    assert config.time_zone, "load() fills in the machine's zone"
    assert dataclasses.replace(config, time_zone="") == Config(
        broker=True,
        broker_port=9883,
        broker_public_host="loa.hue.gov.vn",
        broker_prefix="hue",
        broker_client_certs=True,
        broker_bind="10.0.0.5",
    )


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"LOA_BROKER_PORT": "0"}, "broker_port"),
        ({"LOA_BROKER_PORT": "eighty"}, "broker_port"),
        ({"LOA_BROKER_PREFIX": "Huế/#"}, "broker_prefix"),
        ({"LOA_BROKER_PUBLIC_HOST": "mqtts://x"}, "broker_public_host"),
        ({"LOA_BROKER": "maybe"}, "broker"),
    ],
)
def test_a_bad_broker_value_is_refused_naming_the_key(env: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=f"config {field}"):
        load(None, env)
