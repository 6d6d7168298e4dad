"""Logging as data: the rate limiter, the JSON and text lines, SRTCP seen by a speaker without keys, and
the speaker's lines from a real Keyring and TimeSyncClient (no sockets: SpeakerLog reads their state)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from streaming import rtcp
from streaming.clock import Clock
from streaming.keyring import Keyring
from streaming.logsetup import RateLimiter, Repeats, configure, event, parse_level
from streaming.provisioning import dump_provisioning
from streaming.speaker_log import SpeakerLog, looks_srtcp
from streaming.srtp import MasterKey, SrtpSession
from streaming.timesync import TimeSyncClient


def test_rate_limiter_lets_one_per_window_and_counts_the_rest() -> None:
    limiter = RateLimiter(10.0)
    assert limiter.allow("a", 0.0) == 0
    assert [limiter.allow("a", t) for t in (1.0, 2.0, 9.9)] == [None, None, None]
    assert limiter.allow("b", 5.0) == 0  # another key has its own window
    assert limiter.allow("a", 10.0) == 3  # the next line says three were suppressed
    assert limiter.allow("a", 11.0) is None
    assert limiter.closed(15.0) == []  # b closed with no repeats: nothing to say
    assert limiter.closed(20.0) == [("a", 1)]  # a's did, with one unreported: its count gets a line
    assert limiter.closed(30.0) == []  # and is forgotten
    assert limiter.allow("a", 31.0) == 0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure("debug", "json", stream=stream)
    yield stream
    configure("info", "text")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_event_message_and_fields(captured: io.StringIO) -> None:
    log = logging.getLogger("streaming.test")
    event(log, logging.WARNING, "speaker.no_key", "group g is SRTP", group="239.1.1.1:5004", message="x")
    log.info("plain %s", "line")
    first, second = _lines(captured)
    assert first["level"] == "WARNING" and first["logger"] == "streaming.test"
    assert first["event"] == "speaker.no_key" and first["message"] == "group g is SRTP"
    assert first["group"] == "239.1.1.1:5004"
    assert first["field_message"] == "x"  # a field never overwrites a fixed key
    assert str(first["time"]).endswith("+00:00")
    assert second["event"] is None and second["message"] == "plain line"


def test_repeats_log_once_per_window_then_the_count(captured: io.StringIO) -> None:
    clock = _Clock()
    repeats = Repeats(logging.getLogger("streaming.test"), interval_s=60.0, clock=clock)
    for t in range(0, 50, 5):  # ten rejections in 50 s
        clock.now = float(t)
        repeats.event(logging.WARNING, "speaker.stream_rejected", "rejected", "g1", group="g1")
    repeats.event(logging.WARNING, "speaker.stream_rejected", "rejected", "g2", group="g2")
    clock.now = 61.0
    repeats.flush()  # g1's window closed with nine unreported: one line with the count
    lines = _lines(captured)
    assert [(x["group"], x["suppressed"]) for x in lines] == [("g1", 0), ("g2", 0), ("g1", 9)]
    assert "repeated 9 more times in 60 s" in str(lines[-1]["message"])


def test_text_lines_are_human_with_the_event_name() -> None:
    stream = io.StringIO()
    configure("info", "text", stream=stream)
    try:
        event(logging.getLogger("engine.test"), logging.INFO, "broadcast.on_air", "broadcast b1 on air")
        logging.getLogger("engine.test").debug("not shown at info")
    finally:
        configure("info", "text")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" INFO engine.test: broadcast b1 on air [broadcast.on_air]")


def test_a_level_that_does_not_exist_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="log level 'loud': one of debug, info, warning, error"):
        parse_level("loud")


def test_srtcp_is_recognised_but_plain_rtcp_and_garbage_are_not() -> None:
    report = rtcp.serialize_compound(
        [
            rtcp.SenderReport(0x1234, 1 << 32, 960, 10, 1000),
            rtcp.SourceDescription([(0x1234, {rtcp.SDES_CNAME: b"loa-server"})]),
        ]
    )
    session = SrtpSession([MasterKey.generate(1)])
    for _ in range(20):  # the ciphertext is random: the test must not pass by chance
        sealed = session.protect_rtcp(report)
        with pytest.raises(ValueError):
            rtcp.parse_compound(sealed)  # what a speaker without keys gets: nothing it can read
        assert looks_srtcp(sealed)
    assert not looks_srtcp(report)
    assert not looks_srtcp(b"\x80\xc8" + bytes(40))


def test_server_start_line_says_tls_is_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from engine.api import server_log
    from engine.config import Config

    caplog.set_level(logging.INFO, "engine.api.server")
    config = Config(state_dir=tmp_path, tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")
    server_log.started(config, 50051)
    server_log.started(Config(state_dir=tmp_path, broker=True), 50052)
    first, second = (r.getMessage() for r in caplog.records)
    assert "TLS on" in first and "broker off" in first and f"state in {tmp_path}" in first
    assert "TLS off (plaintext)" in second and "broker on (port 8883)" in second


def _agent(keyring: Keyring | None, timesync: TimeSyncClient | None) -> SimpleNamespace:
    """The parts of a SpeakerAgent that SpeakerLog reads, around a real Keyring and TimeSyncClient."""
    config = SimpleNamespace(
        name="s1", groups=["239.1.1.1:5004"], multicast=True, keys=None, time_sync=("10.0.0.1", 5005)
    )
    return SimpleNamespace(config=config, keyring=keyring, timesync=timesync, broker_source=None)


def test_speaker_warns_of_a_silent_time_sync_target_once_then_says_synced(captured: io.StringIO) -> None:
    clock = _Clock()
    sync = TimeSyncClient(Clock())
    speaker_log = SpeakerLog(_agent(None, sync), clock=clock)
    for t in (1.0, 9.0, 10.5, 30.0):  # no reply at all
        speaker_log.tick(t)
    now = time.time()
    assert sync.add(now, now + 0.25, now + 0.25, now)  # the server's clock is 250 ms ahead
    speaker_log.tick(31.0)
    events = [(x["event"], x["level"]) for x in _lines(captured)]
    assert events == [("speaker.time_sync_no_reply", "WARNING"), ("speaker.clock_synced", "INFO")]
    assert _lines(captured)[0]["target"] == "10.0.0.1:5005"
    assert _lines(captured)[1]["offset_ms"] == pytest.approx(250, abs=1)


def test_speaker_names_a_group_missing_from_the_key_file_and_its_keyless_stream(
    captured: io.StringIO, tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(dump_provisioning({"other": [MasterKey.generate(1)]}, {"other": "239.9.9.9:5004"}))
    keyring = Keyring(path, ["239.1.1.1:5004"])
    speaker_log = SpeakerLog(_agent(keyring, None), clock=_Clock())
    speaker_log.started()
    for _ in range(50):  # a second of a stream nobody here can open
        speaker_log.on_outcome("239.1.1.1:5004", "rejected_unknown_key", b"")
    lines = _lines(captured)
    assert [x["event"] for x in lines] == [
        "speaker.joined",
        "speaker.group_missing_from_keys",
        "speaker.no_key",
    ]
    assert lines[2]["message"] == (
        "group 239.1.1.1:5004 is SRTP but the key file has no key for it: nothing will play"
    )
