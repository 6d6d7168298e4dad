"""The 4G speaker's broker provisioning file: round trip, and ValueError for anything wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.broker.provision import BrokerProvision

GOOD = {
    "url": "mqtts://broker.example:8884",
    "ca": "/etc/loa/ca.pem",
    "cluster": "c-a",
    "password": "pw",
    "prefix": "test",
    "groups": {"ga": "239.6.0.1:5004"},
}


def test_round_trip_and_settings() -> None:
    p = BrokerProvision.parse(json.dumps(GOOD))
    assert (p.host, p.port, p.cluster, p.ca) == ("broker.example", 8884, "c-a", Path("/etc/loa/ca.pem"))
    assert BrokerProvision.parse(p.serialize()) == p
    s = p.settings()
    assert (s.host, s.port, s.username, s.password, s.ca_file) == ("broker.example", 8884, "c-a", "pw", p.ca)
    assert p.topics().media("ga") == "loa/v1/test/g/ga/media"


@pytest.mark.parametrize(
    "change",
    [
        {"url": "mqtt://broker.example:1883"},  # no TLS
        {"url": "mqtts://:8883"},
        {"url": "mqtts://broker.example:99999"},
        {"cluster": "bad/id"},
        {"cluster": 7},
        {"password": ""},
        {"groups": {}},
        {"groups": {"ga": "239.6.0.1"}},
        {"groups": {"g/a": "239.6.0.1:5004"}},
        {"groups": ["ga"]},
        {"prefix": "a/b"},
        {"extra": 1},
    ],
)
def test_bad_fields_are_value_errors(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BrokerProvision.parse(json.dumps({**GOOD, **change}))


@pytest.mark.parametrize("text", ["", "[]", "{", "null"])
def test_not_an_object_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        BrokerProvision.parse(text)
