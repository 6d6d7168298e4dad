"""The broker as the pacer's second transport, against the real Mosquitto in a private namespace: the
cluster receives exactly the protected datagrams the multicast group got (scenario_transport.py)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from streaming.broker.transport import BrokerTransport
from streaming.group import GroupAddress
from tests import netns

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_the_broker_carries_the_same_srtp_datagrams_as_the_multicast_group(tmp_path: Path) -> None:
    if not netns.available():
        pytest.skip("no network namespaces here")
    done = netns.run_python("tests.broker.scenario_transport", str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    multicast, brokered = r["multicast"], r["broker"]
    rtp = [bytes.fromhex(d) for is_rtcp, d in multicast if not is_rtcp]
    assert len(rtp) >= 50  # 1 s of 20 ms frames
    # same bytes, hence same SSRC and sequence numbers; RTCP order between the two sockets is not kept by
    # the capture, so RTP and RTCP are compared apart
    assert [bytes.fromhex(d) for is_rtcp, d in brokered if not is_rtcp] == rtp
    assert {struct.unpack_from("!I", d, 8)[0] for d in rtp} == {r["ssrc"]}
    sequences = [struct.unpack_from("!H", d, 2)[0] for d in rtp]
    assert [(s - sequences[0]) % 65536 for s in sequences] == list(range(len(rtp)))
    assert sorted(d for is_rtcp, d in brokered if is_rtcp) == sorted(d for is_rtcp, d in multicast if is_rtcp)
    assert r["source"]["malformed"] == 0 and r["publisher"]["unsent"] == 0


class _Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[bytes], bool]] = []
        self.ended: list[str] = []

    def send(self, group_id: str, datagrams: list[bytes], rtcp: bool) -> None:
        self.sent.append((group_id, datagrams, rtcp))

    def end(self, group_id: str) -> None:
        self.ended.append(group_id)


def test_the_transport_serves_group_ids_keeps_order_and_ends_groups_at_close() -> None:
    pub = _Publisher()
    transport = BrokerTransport(pub)
    group = GroupAddress("239.1.1.1", 5004)
    assert transport.sink(group, "") is None  # no id, no topic
    sink = transport.sink(group, "ga")
    assert sink is not None
    sink(b"a")
    sink(b"b")
    assert transport.flush() == (2, 2, 0)
    assert transport.flush() == (0, 0, 0)
    sink(b"c")
    assert transport.send_rtcp(group, "ga", b"sr")  # the queued RTP goes before the report
    transport.close()
    assert pub.sent == [("ga", [b"a", b"b"], False), ("ga", [b"c"], False), ("ga", [b"sr"], True)]
    assert pub.ended == ["ga"]
