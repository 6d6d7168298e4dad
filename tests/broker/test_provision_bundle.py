"""The self-contained provisioning bundle (CA inline, group specs, group keys): what the server's
``loa speakers add`` writes, a speaker reads; every malformed bundle is a ValueError naming the field,
and ``loa speaker`` exits 2 with it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.broker.certs import ensure_pki, issue_pem
from streaming.broker.provision import MAX_BUNDLE, BrokerProvision, bundle_keys
from streaming.keyring import Keyring
from streaming.priority import Priority
from streaming.provisioning import dump_provisioning
from streaming.srtp import MasterKey
from tests import netns

KEY = MasterKey.generate(2, not_before=1.0)


@pytest.fixture(scope="module")
def client_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(certificate, its key, another key) issued by a broker CA for cluster c-a."""
    pki = ensure_pki(tmp_path_factory.mktemp("client-pki"))
    cert, key = issue_pem(pki.ca_cert, pki.ca_key, "c-a")
    return cert, key, issue_pem(pki.ca_cert, pki.ca_key, "c-b")[1]


def test_a_client_certificate_rides_in_the_bundle_and_is_written_0600(
    tmp_path: Path, ca_pem: str, client_pair: tuple[str, str, str]
) -> None:
    cert, key, _ = client_pair
    path = tmp_path / "bundle.json"
    path.write_text(bundle(ca_pem, cert_pem=cert, key_pem=key).serialize())
    settings = BrokerProvision.load(path).settings()
    assert settings.cert_file is not None and settings.cert_file.read_text() == cert
    assert settings.key_file is not None and settings.key_file.read_text() == key
    assert {stat.S_IMODE(f.stat().st_mode) for f in (settings.cert_file, settings.key_file)} == {0o600}
    assert bundle(ca_pem).settings().cert_file is None


@pytest.mark.parametrize("case", ["cert without key", "key without cert", "another key", "not PEM"])
def test_a_client_certificate_without_its_own_key_is_refused_naming_the_field(
    case: str, ca_pem: str, client_pair: tuple[str, str, str]
) -> None:
    cert, key, other = client_pair
    change, field_name = {
        "cert without key": ({"cert_pem": cert}, "key_pem"),
        "key without cert": ({"key_pem": key}, "cert_pem"),
        "another key": ({"cert_pem": cert, "key_pem": other}, "key_pem"),
        "not PEM": ({"cert_pem": "hello", "key_pem": key}, "cert_pem"),
    }[case]
    doc = {**json.loads(bundle(ca_pem).serialize()), **change}
    with pytest.raises(ValueError, match=rf"broker provisioning: {field_name}\b"):
        BrokerProvision.parse(json.dumps(doc))


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    return ensure_pki(tmp_path_factory.mktemp("pki")).ca_cert.read_text()


def bundle(ca_pem: str, **change: Any) -> BrokerProvision:
    """Exactly the call the server side makes."""
    keys = json.loads(dump_provisioning({"ga": [KEY]}))
    fields: dict[str, Any] = {
        "ca": None,
        "groups": {"ga": "239.6.0.1:5004:high:1500", "gb": "239.6.0.2:5004"},
        "prefix": "hue",
        "ca_pem": ca_pem,
        "keys": keys,
    }
    fields.update(change)
    return BrokerProvision("198.18.0.1", 8883, "c-a", "secret", **fields)


def test_a_bundle_round_trips_and_its_groups_are_full_specs(ca_pem: str) -> None:
    b = bundle(ca_pem)
    again = BrokerProvision.parse(b.serialize())
    assert again == b
    specs = again.specs()
    assert [(s.address, s.port, s.priority, s.delay_ms) for s in specs] == [
        ("239.6.0.1", 5004, Priority.HIGH, 1500),
        ("239.6.0.2", 5004, Priority.NORMAL, 500),
    ]
    assert again.addresses() == {"ga": "239.6.0.1:5004", "gb": "239.6.0.2:5004"}


def test_the_inline_ca_is_written_0600_next_to_the_bundle_and_preferred_over_the_path(
    tmp_path: Path, ca_pem: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(bundle(ca_pem, ca=Path("/nonexistent/ca.pem")).serialize())
    loaded = BrokerProvision.load(path)
    ca = loaded.settings().ca_file
    assert ca is not None and ca.parent == tmp_path and ca.read_text() == ca_pem
    assert stat.S_IMODE(ca.stat().st_mode) == 0o600
    assert loaded.settings().ca_file == ca  # the same file again, not a new one per call
    plain = BrokerProvision("h", 8883, "c-a", "pw", Path("/etc/loa/ca.pem"), {"ga": "239.6.0.1:5004"})
    assert plain.settings().ca_file == Path("/etc/loa/ca.pem")


def test_the_keyring_reads_the_keys_out_of_the_bundle_and_rereads_them_when_it_changes(
    tmp_path: Path, ca_pem: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(bundle(ca_pem).serialize())
    doc = json.loads(bundle_keys(path.read_text()))
    assert doc["groups"][0]["address"] == "239.6.0.1:5004"  # the speaker knows its groups by address
    ring = Keyring(path, ["239.6.0.1:5004", "239.6.0.2:5004"], extract=bundle_keys, check_interval=0)
    assert ring.missing == ["239.6.0.2:5004"]
    assert [k.mki for k in ring.sessions["239.6.0.1:5004"].keys] == [2]
    both = json.loads(dump_provisioning({"ga": [KEY], "gb": [MasterKey.generate(3)]}))
    path.write_text(bundle(ca_pem, keys=both).serialize())
    os.utime(path, ns=(1, 10**18))  # a new mtime even within the file system's timestamp granularity
    assert ring.poll(1.0)
    assert ring.missing == []


def _bad(ca_pem: str) -> dict[str, tuple[Any, str]]:
    good = json.loads(bundle(ca_pem).serialize())
    key0 = good["keys"]["groups"][0]["keys"][0]

    def keys(*entries: dict[str, Any]) -> dict[str, Any]:
        return {**good, "keys": {"version": 1, "groups": list(entries)}}

    def groups(**specs: str) -> dict[str, Any]:
        return {**good, "groups": specs, "keys": None}

    bad_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    return {
        "missing url": ({k: v for k, v in good.items() if k != "url"}, "url"),
        "missing groups": ({k: v for k, v in good.items() if k != "groups"}, "groups"),
        "extra field": ({**good, "admin": True}, "admin"),
        "url wrong type": ({**good, "url": 8883}, "url"),
        "password wrong type": ({**good, "password": ["x"]}, "password"),
        "ca wrong type": ({**good, "ca": 1}, "ca"),
        "ca_pem wrong type": ({**good, "ca_pem": 1}, "ca_pem"),
        "ca_pem not PEM": ({**good, "ca_pem": "hello"}, "ca_pem"),
        "ca_pem bad PEM": ({**good, "ca_pem": bad_pem}, "ca_pem"),
        "groups wrong type": ({**good, "groups": ["ga"]}, "groups"),
        "group bad spec": (groups(ga="239.6.0.1:5004:loud"), "groups.ga"),
        "group bad address": (groups(ga="239.6.0.300:5004"), "groups.ga"),
        "group bad delay": (groups(ga="239.6.0.1:5004:normal:99999"), "groups.ga"),
        "group bad id": ({**good, "groups": {"g/a": "239.6.0.1:5004"}, "keys": None}, "groups"),
        "two ids one address": (groups(ga="239.6.0.1:5004", gx="239.6.0.1:5004"), "groups.gx"),
        "keys wrong type": ({**good, "keys": "k"}, "keys"),
        "keys bad version": ({**good, "keys": {**good["keys"], "version": 9}}, "keys"),
        "keys bad hex": (keys({"group": "ga", "keys": [{**key0, "key": "zz"}]}), "keys"),
        "keys for a stranger": (keys({"group": "gz", "keys": [key0]}), "keys"),
        "keys wrong address": (keys({"group": "ga", "address": "239.6.0.9:5004", "keys": [key0]}), "keys"),
    }


CASES = [
    "missing url", "missing groups", "extra field", "url wrong type", "password wrong type",
    "ca wrong type", "ca_pem wrong type", "ca_pem not PEM", "ca_pem bad PEM", "groups wrong type",
    "group bad spec", "group bad address", "group bad delay", "group bad id", "two ids one address",
    "keys wrong type", "keys bad version", "keys bad hex", "keys for a stranger", "keys wrong address",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_malformed_bundle_is_a_value_error_naming_the_field(case: str, ca_pem: str) -> None:
    doc, field_name = _bad(ca_pem)[case]
    with pytest.raises(ValueError, match=rf"broker provisioning: {field_name}\b"):
        BrokerProvision.parse(json.dumps(doc))


def test_a_bundle_over_one_mebibyte_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (MAX_BUNDLE + 1))
    with pytest.raises(ValueError, match=r"broker provisioning: file: .* bytes"):
        BrokerProvision.load(path)


def _speaker(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streaming", "speaker", *argv], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("case", ["extra field", "ca_pem bad PEM", "keys for a stranger", "group bad spec"])
def test_loa_speaker_exits_2_naming_the_field_of_a_malformed_bundle(
    case: str, tmp_path: Path, ca_pem: str
) -> None:
    doc, field_name = _bad(ca_pem)[case]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    done = _speaker("--provision", str(path), "--sink", "null", "--duration", "0")
    assert done.returncode == 2
    assert f"broker provisioning: {field_name}" in done.stderr


def test_loa_speaker_without_groups_or_bundle_exits_2() -> None:
    done = _speaker("--sink", "null", "--duration", "0")
    assert done.returncode == 2 and "--group" in done.stderr


@pytest.mark.netns
def test_loa_speaker_runs_from_the_bundle_alone_its_groups_and_keys(tmp_path: Path, ca_pem: str) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    path = tmp_path / "bundle.json"
    path.write_text(bundle(ca_pem).serialize())
    argv = ["--provision", str(path), "--sink", "null", "--duration", "0.5"]
    done = netns.run([sys.executable, "-m", "streaming", "speaker", *argv], timeout=30)
    assert done.returncode == 0, done.stderr
    ready = json.loads(done.stdout.splitlines()[0])
    assert ready["groups"] == ["239.6.0.1:5004:2:1500", "239.6.0.2:5004:1:500"]  # priority, delay
    assert ready["srtp"] is True and ready["groups_without_keys"] == ["239.6.0.2:5004"]
