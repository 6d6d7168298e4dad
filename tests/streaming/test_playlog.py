"""Play reports as data: frames in, PlayReports out (why each stream stopped, counts, times); the queue
that holds them while the broker link is down; the label's SDES item; the presence status parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming import rtcp
from streaming.broker.messages import PlayReport, State, StopReason
from streaming.broker.presence import Presence, error_state, read_temperature
from streaming.packetizer import sdes_items
from streaming.playlog import REPORTS_FILE, PlayLog, Present, ReportQueue, parse_label
from streaming.playout import PlayedFrame

OFFSET = 0.25  # sender clock minus local clock


def block(
    log: PlayLog, i: int, frames: list[tuple[int, str, int]], present: list[Present], **labels: str
) -> None:
    index = i * 960
    played = [PlayedFrame(ssrc, 0, index, kind, prio) for ssrc, kind, prio in frames]
    top = max((p for _, k, p in frames if k != "silence"), default=0)
    log.on_block(index, OFFSET, played, top, present, {int(k[1:]): v for k, v in labels.items()})


def test_a_stream_heard_to_its_bye_reports_end_with_its_counts_and_sender_times() -> None:
    log = PlayLog()
    kinds = ["packet"] * 5 + ["plc", "fec", "silence"] + ["packet"] * 2
    for i, kind in enumerate(kinds):
        block(log, 100 + i, [(7, kind, 1)], [Present(7, 1, i == len(kinds) - 1)], s7="b-1/0")
    [report] = log.gone([(7, True)])
    assert report == PlayReport("b-1", 0, 100 * 0.02 + OFFSET, 110 * 0.02 + OFFSET, 9, 2, 1, StopReason.END)
    assert list(log.reports) == [report] and not log.tracks


def test_preempted_timeout_stopped_and_unlabelled() -> None:
    log = PlayLog()
    block(
        log, 0, [(1, "packet", 1), (2, "packet", 1)], [Present(1, 1, False), Present(2, 1, False)], s1="a/0"
    )
    # an emergency (3) covers stream 1; stream 2 goes silent without a BYE
    block(
        log,
        1,
        [(3, "packet", 3)],
        [Present(1, 1, False), Present(2, 1, False), Present(3, 3, False)],
        s3="e/2",
    )
    [preempted] = log.gone([(1, False)])
    assert preempted.stop is StopReason.PREEMPTED and preempted.bulletin == "a"
    assert log.gone([(2, False)]) == []  # it had no label: nothing to report, counted
    assert log.unlabelled == 1
    [stopped] = log.stop()
    assert (stopped.bulletin, stopped.airing, stopped.stop) == ("e", 2, StopReason.STOPPED)
    log2 = PlayLog()
    block(log2, 0, [(4, "packet", 1)], [Present(4, 1, False)], s4="x/0")
    assert log2.gone([(4, False)])[0].stop is StopReason.TIMEOUT


@pytest.mark.parametrize("label", ["", "b-1", "b/1/2", "b 1/0", "b-1/-1", "x" * 65 + "/0"])
def test_malformed_labels_are_not_parsed(label: str) -> None:
    assert parse_label(label) is None


def test_reports_wait_for_the_link_in_order_and_the_queue_is_bounded() -> None:
    queue = ReportQueue(limit=3)
    reports = [PlayReport(f"b{i}", 0, 1.0, 2.0, 50, 0, 0, StopReason.END) for i in range(5)]
    for r in reports:
        queue.push(r)
    assert queue.dropped == 2 and len(queue) == 3
    assert queue.drain(lambda r: False) == 0  # link down: nothing goes
    sent: list[PlayReport] = []

    def send(report: PlayReport) -> bool:
        sent.append(report)
        return True

    assert queue.drain(send) == 3
    assert sent == reports[2:] and queue.sent == 3 and len(queue) == 0


def test_queued_reports_survive_a_restart_of_the_speaker_and_leave_once_sent(tmp_path: Path) -> None:
    path = tmp_path / "cache" / REPORTS_FILE
    reports = [PlayReport(f"b{i}", i, 1.0, 2.0, 50, 1, 0, StopReason.END) for i in range(3)]
    queue = ReportQueue(limit=2, path=path)
    for r in reports:
        queue.push(r)
    rebooted = ReportQueue(limit=2, path=path)  # power cut: a new agent reads the file
    sent: list[PlayReport] = []

    def send(report: PlayReport) -> bool:
        sent.append(report)
        return True

    assert rebooted.drain(send) == 2 and sent == reports[1:]
    assert len(ReportQueue(path=path)) == 0, "a sent report is not sent again after the next reboot"


def test_a_torn_line_in_the_kept_queue_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / REPORTS_FILE
    good = PlayReport("b1", 0, 1.0, 2.0, 50, 0, 0, StopReason.TIMEOUT)
    path.write_bytes(good.serialize() + b"\n" + good.serialize()[:17])
    queue = ReportQueue(path=path)
    assert len(queue) == 1 and queue.unreadable == 1


def test_the_label_rides_in_a_priv_sdes_item_beside_the_cname() -> None:
    sdes = rtcp.SourceDescription([(9, sdes_items("loa-server", "b-1/3"))])
    [parsed] = rtcp.parse_compound(rtcp.serialize(sdes))
    assert isinstance(parsed, rtcp.SourceDescription)
    assert parsed.cname(9) == "loa-server" and rtcp.stream_label(parsed, 9) == "b-1/3"
    assert rtcp.stream_label(parsed, 8) is None
    plain = rtcp.SourceDescription([(9, sdes_items("loa-server", ""))])
    assert rtcp.SDES_PRIV not in plain.chunks[0][1]
    other = rtcp.SourceDescription([(9, {rtcp.SDES_PRIV: b"\x03abcvalue"})])  # another application's PRIV
    assert rtcp.stream_label(other, 9) is None


def test_presence_republishes_on_a_new_error_and_every_minute(tmp_path: Path) -> None:
    p = Presence("4g", started=100.0, refresh_s=60.0)
    s = p.status(110.0, "", 41.5)
    assert (s.state, s.network, s.uptime_s, s.temperature_c) == (State.ONLINE, "4g", 10.0, 41.5)
    assert s.version
    assert not p.due(111.0, "")
    assert p.due(111.0, "clock not synced")
    assert p.due(170.0, "")
    with pytest.raises(ValueError):
        Presence("wifi")
    assert error_state() == ""
    text = error_state(refusal="Not authorized", missing_keys=["239.6.0.1:5004"], clock_synced=False)
    assert text == "broker refused: Not authorized; no keys for group 239.6.0.1:5004; clock not synced"
    zone = tmp_path / "temp"
    zone.write_text("48250\n")
    assert read_temperature(zone) == 48.2
    zone.write_text("garbage")
    assert read_temperature(zone) is None
    assert read_temperature(tmp_path / "absent") is None
