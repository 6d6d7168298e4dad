"""The paced sender, observed from real multicast sockets inside a private network namespace."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.rtp import ts_diff
from tests import netns

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run() -> dict:
    out = netns.run([sys.executable, "-m", "tests.streaming.scenario_sender"], timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.netns
def test_one_encoding_reaches_every_group_paced_at_20_ms(run: dict) -> None:
    a, b = run["packets"]["239.2.0.1:5004"], run["packets"]["239.2.0.2:5006"]
    assert len(a) == len(b) == 126 == run["encoded_once"]  # 2.5 s + one frame flushing the look-ahead
    assert [p[1:] for p in a] == [p[1:] for p in b]  # same sequence, timestamps, payload bytes
    seq = [p[1] for p in a]
    assert all((y - x) % 65536 == 1 for x, y in itertools.pairwise(seq))
    ts = [p[2] for p in a]
    assert all(ts_diff(y, x) == 960 for x, y in itertools.pairwise(ts))
    assert [p[3] for p in a] == [True] + [False] * 125  # marker on the talk-spurt's first packet only
    arrivals = np.array([p[0] for p in a])
    grid = arrivals - 0.02 * np.arange(len(arrivals))
    drift = grid - np.median(grid)  # against the stream's own 20 ms grid, not one packet that may be late
    # each packet leaves at its due time, not in bursts (loose bounds: CI machines are shared)
    assert np.percentile(np.abs(drift), 90) < 0.005
    assert np.median(np.diff(arrivals)) == pytest.approx(0.02, abs=0.002)
    assert run["samples_sent"] == run["samples_fed"] == 120_000
    assert run["first_packet_delay"] < 0.05
    assert run["finished"]


@pytest.mark.netns
def test_sender_reports_map_rtp_to_the_media_clock_and_the_end_trails_the_last_packet(run: dict) -> None:
    rtp = run["packets"]["239.2.0.1:5004"]
    reports = run["packets"]["239.2.0.1:5005"]
    assert [r[1:] for r in reports] == [r[1:] for r in run["packets"]["239.2.0.2:5007"]]
    assert reports[0][0] - rtp[0][0] < 0.05, "first SR goes out with the first packet"
    gaps = np.diff([r[0] for r in reports])
    assert gaps.max() <= 1.0
    assert all(r[1][:3] == ["SenderReport", "SourceDescription", "AppPacket"] for r in reports)
    # a plain group's stream ends with Loa's LOAE block, not a BYE, which would stop ffmpeg reading the
    # group (docs/RECEIVERS.md): one more APP block in the last report only
    assert reports[-1][1] == ["SenderReport", "SourceDescription", "AppPacket", "AppPacket"]
    assert all(len(r[1]) == 3 for r in reports[:-1]) and all("Bye" not in r[1] for r in reports)
    assert 0.08 <= reports[-1][0] - rtp[-1][0] <= 0.2
    # every SR puts the first packet's RTP time exactly at start_time - look-ahead (312 samples)
    first_ts = rtp[0][2]
    for _, _, wall, rtp_ts in reports:
        media_time_of_first = wall + ts_diff(first_ts, rtp_ts) / 48_000
        assert media_time_of_first == pytest.approx(run["start_time"] - 312 / 48_000, abs=2e-6)


@pytest.mark.netns
def test_feedback_port_answers_time_sync_and_keeps_a_speaker_table(run: dict) -> None:
    same_t1, t2, t3 = run["time_reply"]
    assert same_t1 and 0 <= t3 - t2 < 0.01 and abs(t2 - run["t0"]) < 10
    (speaker,) = run["speakers"]
    assert speaker["cname"] == "speaker-7" and speaker["media_ssrc"] == run["ssrc"]
    assert speaker["fraction_lost"] == 0.25 and speaker["cumulative_lost"] == 5
    assert speaker["jitter_s"] == pytest.approx(0.01)
    assert speaker["playout_offset_s"] == pytest.approx(0.0015) and speaker["underruns"] == 2
    assert speaker["playing_priority"] == 2


@pytest.mark.netns
def test_metrics(run: dict) -> None:
    m = run["metrics"]
    assert m["loa_rtp_packets_sent_total"] == 252
    assert m["loa_rtp_sent_bytes_total"] > 252 * 12
    assert m["loa_rtp_send_lateness_seconds_count"] == 126
    assert m["loa_rtp_active_streams"] == 0
    assert m["loa_rtp_reporting_speakers"] == 1
    assert run["lateness_p50"] < 0.002


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="address"):
        Destination("239.1.1", 5004)
    with pytest.raises(ValueError, match="port"):
        Destination("239.1.1.1", 65535)
    with pytest.raises(ValueError, match="ttl"):
        Destination("239.1.1.1", 5004, ttl=256)
    with pytest.raises(ValueError, match="sr_interval"):
        PacedSender(sr_interval=2)
    sender = PacedSender()  # not started: nothing is sent
    with pytest.raises(ValueError, match="destination"):
        sender.open_stream([])
    with pytest.raises(ValueError, match="priority"):
        sender.open_stream([Destination("239.1.1.1", 5004)], priority=7)
    stream = sender.open_stream([Destination("239.1.1.1", 5004)])
    with pytest.raises(ValueError, match="mono"):
        stream.feed(np.zeros((960, 2), np.float32))
    with pytest.raises(ValueError, match=r"1\.\.1275"):
        stream.feed_encoded([b""])
    stream.abort()
    with pytest.raises(ValueError, match="finished"):
        stream.feed(np.zeros(960, np.float32))
    sender.close()


@pytest.mark.parametrize("native", [True, False])
def test_datagram_batch_delivers_each_datagram_to_its_destination_and_counts_refusals(native: bool) -> None:
    """sendmmsg(2) through ctypes (and the sendto fallback): loopback unicast, no namespace needed."""
    from streaming.mmsg import DatagramBatch

    receivers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for r in receivers:
        r.bind(("127.0.0.1", 0))
        r.settimeout(2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    batch = DatagramBatch(sock, capacity=4)  # 11 datagrams: three sendmmsg calls
    batch.native = batch.native and native
    names = [batch.address("127.0.0.1", r.getsockname()[1]) for r in receivers]
    refused = batch.address("127.0.0.1", 0)  # the kernel refuses port 0 (EINVAL)
    datagrams = [bytes([i]) * (1 + 100 * i) for i in range(11)]
    targets = [names[i % 2] for i in range(11)]
    targets[5] = refused
    assert batch.send(datagrams, targets) == (10, sum(map(len, datagrams)) - len(datagrams[5]), 1)
    for k, r in enumerate(receivers):
        expected = [d for i, d in enumerate(datagrams) if i % 2 == k and i != 5]
        assert [r.recv(2048) for _ in expected] == expected
    batch.queued += datagrams[:2]
    batch.names += names
    assert batch.flush() == (2, 1 + 101, 0) and not batch.queued and not batch.names
    assert receivers[0].recv(2048) == datagrams[0] and receivers[1].recv(2048) == datagrams[1]
    for s in (*receivers, sock):
        s.close()


def test_abort_stops_the_filed_packets_and_sends_one_end() -> None:
    """Packets are filed by due time when fed; abort() (preemption) must still stop them at once."""
    from streaming import rtcp

    rtp_rx, rtcp_rx = (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
    )
    rtp_rx.bind(("127.0.0.1", 0))
    port = rtp_rx.getsockname()[1]
    rtcp_rx.bind(("127.0.0.1", port + 1))
    rtp_rx.settimeout(1)
    rtcp_rx.settimeout(1)
    with PacedSender() as sender:
        stream = sender.open_stream([Destination("127.0.0.1", port)])
        stream.feed(np.zeros(48_000, np.float32))  # 1 s filed ahead
        stream.finish()  # its BYE filed too, 100 ms after the last packet
        first = [rtp_rx.recv(2048) for _ in range(5)]
        stream.abort()
        assert stream.wait(1)
        time.sleep(0.3)
    rtp_rx.settimeout(0.05)
    late = []
    with contextlib.suppress(TimeoutError):
        while True:
            late.append(rtp_rx.recv(2048))
    assert len(first) + len(late) < 10, "nothing of the second after abort() was sent"
    reports = []
    rtcp_rx.settimeout(0.05)
    with contextlib.suppress(TimeoutError):
        while True:
            reports.append(rtcp.parse_compound(rtcp_rx.recv(2048)))
    # one end (on a plain destination: LOAE, which Loa speakers read as a BYE), never a BYE
    assert sum(len(rtcp.ended_sources(p)) for r in reports for p in r) == 1
    assert not any(isinstance(p, rtcp.Bye) for r in reports for p in r)
    assert stream.frames_sent == len(first) + len(late)


def test_a_plain_groups_streams_share_one_rtp_timeline() -> None:
    """Third-party receivers (docs/RECEIVERS.md): a plain group's next stream continues the sequence
    numbers, its RTP time is the wall clock at 48 kHz (a pause is a timestamp gap as long), and it ends
    with LOAE, not a BYE; a stream to an SRTP group keeps its random origins and its BYE."""
    from streaming import rtcp
    from streaming.opus import OpusSettings
    from streaming.packetizer import Stream, wall_rtp_time
    from streaming.priority import Priority
    from streaming.rtp import RtpPacket

    now = [1_800_000_000.0]
    sent: list = []

    def stream(start: float, continue_seq: int | None) -> Stream:
        return Stream(
            [Destination("239.1.2.3", 5004)],
            OpusSettings(),
            Priority.NORMAL,
            "loa",
            start,
            ssrc=len(sent) + 1,
            phase=0.0,
            enqueue=sent.extend,
            clock=lambda: now[0],
            continue_seq=continue_seq,
        )

    first = stream(now[0], 65_534)
    first.feed(np.zeros(960 * 3, np.float32))
    second = stream(now[0] + 7.5, first.next_seq())
    second.feed(np.zeros(960 * 2, np.float32))
    packets = [RtpPacket.parse(data) for _, _, data in sent]
    assert [p.sequence for p in packets] == [65_534, 65_535, 0, 1, 2]
    lookahead = 312  # Opus look-ahead folded into the timestamps (packetizer.py)
    assert packets[0].timestamp == (wall_rtp_time(now[0]) - lookahead) & 0xFFFF_FFFF
    assert ts_diff(packets[3].timestamp, packets[0].timestamp) == 7.5 * 48_000
    end = rtcp.parse_compound(second.bye(now[0] + 8))
    assert rtcp.ended_sources(end[-1]) == [second.ssrc]
    assert not any(isinstance(p, rtcp.Bye) for p in end)
    assert any(isinstance(p, rtcp.Bye) for p in rtcp.parse_compound(stream(now[0], None).bye(now[0])))


def test_a_stream_to_several_plain_groups_continues_each_groups_own_numbering() -> None:
    """ffmpeg drops a stream whose sequence numbers jump backwards (docs/RECEIVERS.md): after a stream
    to A alone and one to B alone, a stream to A and B continues A's numbering on A and B's on B."""
    from streaming.rtp import RtpPacket

    receivers = []
    for _ in range(2):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(0.3)
        receivers.append(rx)
    a, b = (Destination("127.0.0.1", rx.getsockname()[1]) for rx in receivers)
    with PacedSender() as sender:
        for destinations, frames in (([a], 3), ([b], 5), ([a, b], 2), ([b], 1)):
            stream = sender.open_stream(destinations)
            stream.feed(np.zeros(960 * frames, np.float32))
            stream.finish()
            assert stream.wait(2)
    for rx, count in zip(receivers, (3 + 1 + 2 + 1, 5 + 1 + 2 + 1 + 1 + 1), strict=True):
        seqs = []
        with contextlib.suppress(TimeoutError):
            while True:
                seqs.append(RtpPacket.parse(rx.recv(2048)).sequence)
        rx.close()
        assert len(seqs) == count  # each stream: its frames and one more flushing the encoder
        assert all((y - x) % 65536 == 1 for x, y in itertools.pairwise(seqs)), seqs
