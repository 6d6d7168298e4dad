"""The packetizer alone: due times and RTP fields from an injected clock, no pacer and no network."""

from __future__ import annotations

import pytest

from streaming.opus import OpusSettings, encoder_lookahead
from streaming.packetizer import FRAME_SECONDS, Destination, Entry, Stream
from streaming.priority import Priority
from streaming.rtp import CLOCK_RATE, FRAME_SAMPLES, RtpPacket, ts_diff


def test_frames_fall_due_on_the_media_grid_and_a_late_feed_skips_ahead_with_the_marker() -> None:
    now = [1000.0]
    filed: list[Entry] = []
    codec = OpusSettings()
    stream = Stream(
        [Destination("239.1.1.1", 5004)],
        codec,
        Priority.NORMAL,
        "test",
        1000.5,
        ssrc=42,
        phase=0.004,
        enqueue=filed.extend,
        clock=lambda: now[0],
    )
    stream.feed_encoded([b"\x01"] * 3)
    lookahead = encoder_lookahead(codec) / CLOCK_RATE
    due = [at for at, _, _ in filed]
    assert due == pytest.approx([1000.5 + k * FRAME_SECONDS - lookahead - 0.004 for k in range(3)], abs=1e-9)
    now[0] = 1001.0  # the feed fell ~25 frames behind: the next frame goes to the first slot still ahead
    stream.feed_encoded([b"\x02"])
    packets = [RtpPacket.parse(data) for _, _, data in filed if data is not None]
    assert [p.marker for p in packets] == [True, False, False, True] and stream.gaps == 1
    assert [p.ssrc for p in packets] == [42] * 4
    assert [(p.sequence - packets[0].sequence) % 65536 for p in packets] == [0, 1, 2, 3]
    skipped = ts_diff(packets[3].timestamp, packets[2].timestamp) // FRAME_SAMPLES - 1
    assert skipped > 20 and now[0] - FRAME_SECONDS <= filed[3][0] < now[0]
    assert filed[3][0] == pytest.approx(due[0] + (3 + skipped) * FRAME_SECONDS, abs=1e-9)  # same grid
    assert stream.media_time(CLOCK_RATE) == 1001.5
    stream.finish()
    assert filed[-1][2] is None and filed[-1][0] > filed[3][0]  # the BYE, after the last packet
