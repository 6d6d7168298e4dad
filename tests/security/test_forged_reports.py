"""Forged receiver reports (security #12, item 4): plain or SRTCP under a thief's own key, naming a live
stream's SSRC, never show a speaker; they are counted. The real speakers, reporting as SRTCP under the
group key, still show (real `loa speaker` processes in a private namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streaming import rtcp
from streaming.feedback import SpeakerTable
from streaming.srtp import MasterKey, SrtpSession
from tests.streaming.scenario_forged_reports import forged_compound
from tests.streaming.test_speakers import scenario


def _metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not in metrics"
    return float(match.group(1))


@pytest.mark.netns
@pytest.mark.slow
def test_forged_reports_are_not_speakers_and_are_counted(tmp_path: Path) -> None:
    result = scenario("scenario_forged_reports", tmp_path, timeout=60)
    names = sorted(s["cname"] for s in result["speakers"])
    assert names == ["spk0", "spk1"], names
    assert all(s["media_ssrc"] == result["ssrc"] for s in result["speakers"])
    rejected = result["rejections"]
    assert rejected["unauthenticated"] == result["plain_forged"] > 100
    assert rejected["forged"] == result["srtcp_forged"] > 100
    metrics = result["metrics"]
    assert _metric(metrics, "loa_rtp_reporting_speakers") == 2
    for reason in ("unauthenticated", "forged"):
        assert (
            _metric(metrics, "loa_speaker_reports_rejected_total", f'{{reason="{reason}"}}')
            == rejected[reason]
        )


def test_a_report_authentic_under_another_groups_key_is_refused() -> None:
    """A speaker of group A (it holds A's key) cannot report about a stream that went only to B."""
    key_a, key_b = MasterKey.generate(1), MasterKey.generate(1)
    table = SpeakerTable()
    a_stream, b_stream = table.new_ssrc(["a"]), table.new_ssrc(["b"])
    table.bind_keys(a_stream, [("a", lambda: [key_a])])
    table.bind_keys(b_stream, [("b", lambda: [key_b])])
    speaker = SrtpSession([key_a])
    for media, expected in ((b_stream, []), (a_stream, ["spk"])):
        data = speaker.protect_rtcp(forged_compound(7, media, "spk"))
        opened = table.auth.open(data, table.keyed_groups())
        assert opened is not None and opened[1] == "a"
        table.on_packets(rtcp.parse_compound(opened[0]), ("10.0.0.9", 5000), 1.0, opened[1])
        assert [s.cname for s in table.speakers()] == expected
    assert table.rejections()["wrong_group"] == 1
    # the same SRTCP again is a replay: no key opens it twice
    assert table.auth.open(data, table.keyed_groups()) is None


def test_plain_reports_still_count_for_streams_to_plain_groups() -> None:
    table = SpeakerTable()
    ssrc = table.new_ssrc(["plain"])
    table.bind_keys(ssrc, [("plain", None)])
    table.on_packets(rtcp.parse_compound(forged_compound(9, ssrc, "vlc")), ("10.0.0.9", 5000), 1.0)
    assert [s.cname for s in table.speakers()] == ["vlc"]
    table.on_packets(rtcp.parse_compound(forged_compound(9, 12345, "x")), ("10.0.0.9", 5000), 1.0)
    assert table.rejections()["unknown_stream"] == 1
