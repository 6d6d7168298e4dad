"""The files Loa writes for Mosquitto (password, ACL, config) and the cluster side's time request book."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.broker.certs import ensure_pki
from engine.broker.mosquitto import Accounts, Listener, Mosquitto, acl_text
from streaming.broker.messages import TimeReply, TimeRequest
from streaming.broker.subscriber import TimeRequests
from streaming.broker.topics import Topics


def _broker(tmp_path: Path) -> Mosquitto:
    pki = ensure_pki(tmp_path / "pki")
    return Mosquitto(tmp_path / "state", Listener(8883, pki.cert, pki.key, pki.ca_cert), Topics("hue"))


def test_acl_gives_clusters_their_groups_and_their_own_topics_only() -> None:
    accounts = Accounts({"_loa": "$7$x"}, {"c-1": ("$7$y", ("ap-1", "ap-2"))})
    acl = acl_text(accounts, Topics("hue")).splitlines()
    server = acl[acl.index("user _loa") + 1 : acl.index("user _loa") + 6]
    assert server == [
        "topic write loa/v1/hue/g/+/media",
        "topic write loa/v1/hue/c/+/time/resp",
        "topic read loa/v1/hue/c/+/status",
        "topic read loa/v1/hue/c/+/report",
        "topic read loa/v1/hue/c/+/time/req",
    ]
    cluster = acl[acl.index("user c-1") + 1 : acl.index("user c-1") + 3]
    assert cluster == ["topic read loa/v1/hue/g/ap-1/media", "topic read loa/v1/hue/g/ap-2/media"]
    assert [line for line in acl if line.startswith("pattern")] == [
        "pattern write loa/v1/hue/c/%u/status",
        "pattern write loa/v1/hue/c/%u/report",
        "pattern write loa/v1/hue/c/%u/time/req",
        "pattern read loa/v1/hue/c/%u/time/resp",
    ]
    assert acl[acl.index("user _loa") + 6] == "topic write loa/v1/hue/g/+/ahead/+"
    assert acl[acl.index("user c-1") + 3 : acl.index("user c-1") + 5] == [
        "topic read loa/v1/hue/g/ap-1/ahead/+",
        "topic read loa/v1/hue/g/ap-2/ahead/+",
    ]
    writes = [line for line in acl if line.startswith("topic write")]
    assert writes == [*server[:2], "topic write loa/v1/hue/g/+/ahead/+"]  # the server's only


def test_accounts_are_kept_in_the_state_dir_and_revocation_removes_the_password(tmp_path: Path) -> None:
    mq = _broker(tmp_path)
    mq.add_server("_loa", "s")
    mq.add_cluster("c-1", "secret-of-cluster-1", ("ap-1",))
    mq.add_cluster("c-2", "secret-of-cluster-2", ("ap-1",))
    passwd = (tmp_path / "state" / "passwd").read_text().splitlines()
    assert [line.split(":")[0] for line in passwd] == ["_loa", "c-1", "c-2"]
    assert all(line.split(":", 1)[1].startswith("$7$") for line in passwd)  # PBKDF2-SHA512, never plain
    assert "secret-of-cluster-1" not in (tmp_path / "state" / "accounts.json").read_text()
    mq.revoke("c-1")
    again = _broker(tmp_path)  # a restart reads the accounts back
    assert set(again.accounts.clusters) == {"c-2"} and set(again.accounts.servers) == {"_loa"}
    assert "c-1" not in (tmp_path / "state" / "passwd").read_text()
    assert "c-1" not in (tmp_path / "state" / "acl").read_text()


def test_config_is_tls_only_without_anonymous_access(tmp_path: Path) -> None:
    conf = _broker(tmp_path).config_text().splitlines()
    for line in ("allow_anonymous false", "use_username_as_clientid true", "listener 8883 0.0.0.0"):
        assert line in conf
    assert any(line.startswith("certfile ") for line in conf)
    assert sum(line.startswith("listener ") for line in conf) == 1


@pytest.mark.parametrize("name", ["loa", "c-1", "_A", "_", "_a/b"])
def test_server_accounts_cannot_look_like_clusters(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        _broker(tmp_path).add_server(name, "s")


def test_a_time_reply_counts_once_for_an_outstanding_nonce_only() -> None:
    book = TimeRequests(timeout_s=10)
    q = TimeRequest.new(100.0)
    book.add(q, now=0.0)
    assert not book.match(TimeReply("f" * 32, 100.0, 1, 2), now=0.1)  # unknown nonce
    assert not book.match(TimeReply(q.nonce, 99.0, 1, 2), now=0.1)  # right nonce, wrong t1 (consumed)
    q2 = TimeRequest.new(200.0)
    book.add(q2, now=1.0)
    assert book.match(TimeReply(q2.nonce, 200.0, 1, 2), now=1.1)
    assert not book.match(TimeReply(q2.nonce, 200.0, 1, 2), now=1.2)  # a replay
    q3 = TimeRequest.new(300.0)
    book.add(q3, now=2.0)
    assert not book.match(TimeReply(q3.nonce, 300.0, 1, 2), now=12.5)  # too late
