"""The pacer's Transport interface: a second transport gets the same protected datagrams, per group id.

No network here: the pacer runs with only an in-memory transport, the shape a broker publisher takes.
"""

from __future__ import annotations

import numpy as np
import pytest

from streaming import rtcp
from streaming.group import GroupAddress
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.rtp import FRAME_SAMPLES, RtpPacket
from streaming.srtp import MasterKey, SrtpSession
from streaming.transport import Sink


class Recording:
    """Keeps what it is given by group id; serves only destinations that have one."""

    def __init__(self) -> None:
        self.pending: dict[str, list[bytes]] = {}
        self.rtp: dict[str, list[bytes]] = {}
        self.rtcp: dict[str, list[bytes]] = {}
        self.closed = False

    def sink(self, group: GroupAddress, group_id: str) -> Sink | None:
        if not group_id:
            return None
        return self.pending.setdefault(group_id, []).append

    def flush(self) -> tuple[int, int, int]:
        sent = nbytes = 0
        for group_id, datagrams in list(self.pending.items()):
            self.rtp.setdefault(group_id, []).extend(datagrams)
            sent, nbytes = sent + len(datagrams), nbytes + sum(map(len, datagrams))
            datagrams.clear()
        return sent, nbytes, 0

    def send_rtcp(self, group: GroupAddress, group_id: str, datagram: bytes) -> bool:
        self.rtcp.setdefault(group_id, []).append(datagram)
        return True

    def close(self) -> None:
        self.closed = True


def test_a_sibling_transport_gets_each_groups_protected_datagrams_in_order() -> None:
    key = MasterKey.generate(7)
    recording = Recording()
    with PacedSender(transports=[recording], sr_interval=0.2) as sender:
        keyed = Destination("239.1.1.1", 5004, keys=lambda: [key])
        plain = Destination("239.1.1.2", 5004)
        stream = sender.open_stream([keyed, plain], groups=("ap-1", "ap-2"))
        stream.feed(np.zeros(FRAME_SAMPLES * 10, np.float32))
        stream.finish()
        assert stream.wait(3)
        assert sender.groups_of(stream.ssrc) == ("ap-1", "ap-2")
    assert recording.closed
    frames = stream.frames_sent
    assert frames >= 10 and sender.packets_sent == 2 * frames and sender.send_errors == 0
    receiver = SrtpSession([key])
    keyed_rtp = [RtpPacket.parse(receiver.unprotect(d)) for d in recording.rtp["ap-1"]]
    plain_rtp = [RtpPacket.parse(d) for d in recording.rtp["ap-2"]]
    assert [p.sequence for p in keyed_rtp] == [p.sequence for p in plain_rtp]
    assert [(p.sequence - plain_rtp[0].sequence) % 65536 for p in plain_rtp] == list(range(frames))
    assert [p.payload for p in keyed_rtp] == [p.payload for p in plain_rtp]
    # RTCP: the first sender report, then the last one with the BYE, to each group
    keyed_rtcp = [rtcp.parse_compound(receiver.unprotect_rtcp(d)) for d in recording.rtcp["ap-1"]]
    plain_rtcp = [rtcp.parse_compound(d) for d in recording.rtcp["ap-2"]]
    for reports in (keyed_rtcp, plain_rtcp):
        assert isinstance(reports[0][0], rtcp.SenderReport)
        assert any(isinstance(p, rtcp.Bye) for p in reports[-1])


def test_a_destination_no_transport_serves_is_refused() -> None:
    with PacedSender(transports=[Recording()]) as sender:
        with pytest.raises(ValueError, match="no transport"):
            sender.open_stream([Destination("239.1.1.1", 5004)])  # no group id: Recording declines
        with pytest.raises(ValueError, match="group ids"):
            sender.open_stream([Destination("239.1.1.1", 5004)], groups=("a", "b"))
