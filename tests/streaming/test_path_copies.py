"""A speaker that hears a group on two paths (multicast and a broker) gets the same SRTP datagrams twice:
the second copy is a duplicate, not a replay attack, and each frame reaches the jitter buffer once.
A replay on the same path is still refused and counted (streaming/ingress.py, PathCopies)."""

from __future__ import annotations

import pytest

from streaming.rtp import is_rtcp
from streaming.srtp import SrtpSession
from tests.streaming.test_ingress_fuzz import KEY, LABEL, _genuine, _ingress


def _protected() -> list[bytes]:
    sender = SrtpSession([KEY])
    return [sender.protect_rtcp(d) if is_rtcp(d) else sender.protect(d) for d in _genuine()]


@pytest.mark.parametrize(("first", "second"), [("multicast", "broker"), ("broker", "multicast")])
def test_a_copy_from_the_other_path_is_a_duplicate_not_a_replay(first: str, second: str) -> None:
    ingress = _ingress(True)
    assert ingress.keyring is not None
    datagrams = _protected()
    outcomes = [ingress.receive(LABEL, d, 1000.0 + i * 0.02, path=first) for i, d in enumerate(datagrams)]
    assert outcomes == ["rtcp"] + ["ok"] * 8
    copies = [ingress.receive(LABEL, d, 1000.1 + i * 0.02, path=second) for i, d in enumerate(datagrams)]
    assert copies == ["duplicate"] * 9
    assert ingress.keyring.rejected == 0 and ingress.path_copies == 9
    stream = ingress.playout.streams[0x1234]
    assert stream.duplicates == 0 and stream.late == 0  # each frame went into the buffer once
    # the same bytes again on the path they came by: a replay, refused and counted
    assert ingress.receive(LABEL, datagrams[3], 1000.5, path=first) == "rejected_replay"
    assert ingress.keyring.rejected == 1


def test_a_forged_packet_is_never_remembered_as_passed() -> None:
    ingress = _ingress(True)
    assert ingress.keyring is not None
    forged = bytearray(_protected()[1])
    forged[20] ^= 1  # in the encrypted payload
    assert ingress.receive(LABEL, bytes(forged), 1000.0, path="multicast") == "rejected_authentication"
    assert ingress.receive(LABEL, bytes(forged), 1000.0, path="broker") == "rejected_authentication"
    assert ingress.keyring.rejected == 2 and ingress.path_copies == 0
