"""The clocked buffer as data: a fake clock, a writer's pushes, the reader's steps."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.live.clocked import RATE, ClockedBuffer, stretch
from engine.live.feed import LiveSourceFailed

CHUNK = 0.02
N = round(CHUNK * RATE)


def ramp(n: int, start: int = 0) -> np.ndarray:
    """Samples that say where they came from: sample i of the source is i / 1e6."""
    return (np.arange(start, start + n) / 1e6).astype(np.float32)


def read_all(buf: ClockedBuffer, t: float, until: float) -> tuple[list[np.ndarray], float]:
    out = []
    while t < until:
        s = buf.step(t)
        if s.end:
            break
        if s.chunk is not None:
            out.append(s.chunk)
        elif s.wait_until is not None:
            t = s.wait_until
        else:
            break
    return out, t


def test_reader_waits_for_the_target_latency_then_paces_by_the_clock() -> None:
    buf = ClockedBuffer(target_s=0.5, max_s=2.0)
    buf.write(ramp(RATE // 4))
    assert buf.step(100.0).chunk is None and not buf.started
    buf.write(ramp(RATE // 4, RATE // 4))
    first = buf.step(100.1).chunk
    assert first is not None and first.size == N and first[0] == 0
    # the second chunk is due 20 ms after the first, not before
    s = buf.step(100.1)
    assert s.chunk is None and s.wait_until == pytest.approx(100.12)
    assert buf.step(100.12).chunk is not None


def test_a_burst_beyond_the_maximum_drops_the_oldest_down_to_the_target() -> None:
    buf = ClockedBuffer(target_s=0.5, max_s=2.0)
    buf.write(ramp(5 * RATE))  # 5 s of backlog at connect
    assert buf.buffered_s == pytest.approx(0.5)
    assert buf.dropped_samples == 4.5 * RATE
    chunk = buf.step(0.0).chunk
    assert chunk is not None and chunk[0] == pytest.approx(4.5 * RATE / 1e6)  # the newest half second


def test_a_stall_plays_filler_and_records_a_gap_with_the_writers_cause() -> None:
    buf = ClockedBuffer(target_s=0.1, max_s=1.0, filler=lambda n: np.full(n, 0.5, np.float32))
    buf.write(ramp(RATE // 10))
    t = 10.0
    chunks, t = read_all(buf, t, t + 0.2)  # 100 ms of audio, then 100 ms dry
    pcm = np.concatenate(chunks)
    assert np.all(pcm[: RATE // 10] < 0.5) and np.all(pcm[RATE // 10 :] == 0.5)
    buf.fault("unreachable")
    buf.write(ramp(RATE // 20))  # half the target: still rebuffering
    more, t = read_all(buf, t, t + 0.1)
    assert np.all(np.concatenate(more) == 0.5)
    buf.write(ramp(RATE // 10))
    back = buf.step(t).chunk
    assert back is not None and np.all(back < 0.5)
    [gap] = buf.gaps
    assert gap.cause == "unreachable"
    assert gap.start_time == pytest.approx(10.1)
    assert gap.length_s == pytest.approx(0.2, abs=0.021)


def test_a_gap_without_a_reported_fault_is_a_stall_and_shows_while_open() -> None:
    buf = ClockedBuffer(target_s=0.02, max_s=1.0)
    buf.write(ramp(N))
    read_all(buf, 0.0, 0.1)
    [gap] = buf.gaps
    assert gap.cause == "stalled" and gap.length_s == pytest.approx(0.08)


@pytest.mark.parametrize("ppm", [-500, 300])
def test_a_drifting_source_clock_keeps_the_level_near_the_target(ppm: int) -> None:
    """A source whose clock runs ``ppm`` fast or slow, delivering in 100 ms bursts, over 10 minutes."""
    buf = ClockedBuffer(target_s=0.5, max_s=3.0)
    src_rate = RATE * (1 + ppm / 1e6)
    written = 0.0
    t = 0.0
    levels = []
    served = 0
    while t < 600.0:
        due = src_rate * (t + 0.1)
        buf.write(ramp(int(due - written), int(written)))
        written = float(int(due))
        chunks, _ = read_all(buf, t, t + 0.1)
        served += sum(c.size for c in chunks)
        t += 0.1
        levels.append(buf.buffered_s)
    assert not buf.gaps
    assert buf.dropped_samples == 0
    assert all(abs(lv - 0.5) < 0.2 for lv in levels[-600:])  # the last minute
    assert buf.start_time is not None
    assert served == pytest.approx((600.0 - buf.start_time) * RATE, abs=2 * N)  # the clock's pace


def test_duration_ends_the_reader_exactly() -> None:
    buf = ClockedBuffer(target_s=0.0, max_s=1.0, duration_s=0.05)
    buf.write(ramp(RATE))
    chunks, _ = read_all(buf, 0.0, 1.0)
    assert sum(c.size for c in chunks) == round(0.05 * RATE)
    assert buf.end_reason == "duration reached"
    assert buf.write(ramp(10)) is False


def test_end_time_ends_the_reader_and_closes_an_open_gap() -> None:
    buf = ClockedBuffer(target_s=0.0, max_s=1.0, end_time=1.03)
    buf.write(ramp(N))
    chunks, _ = read_all(buf, 1.0, 5.0)
    assert sum(c.size for c in chunks) == round(0.03 * RATE)
    assert buf.end_reason == "end time reached"
    [gap] = buf.gaps
    assert gap.length_s == pytest.approx(0.01)


def test_a_finished_writer_is_drained_then_ends() -> None:
    buf = ClockedBuffer(target_s=0.5, max_s=1.0)
    buf.write(ramp(RATE // 10))
    buf.finish("ended")
    chunks, _ = read_all(buf, 0.0, 1.0)
    assert sum(c.size for c in chunks) == RATE // 10
    assert buf.end_reason == "ended" and not buf.gaps


def test_a_source_that_never_came_up_raises_its_reason() -> None:
    buf = ClockedBuffer()
    assert buf.step(0.0).chunk is None
    buf.fail("live.url: connection refused after 3 tries")
    with pytest.raises(LiveSourceFailed, match="connection refused"):
        buf.step(1.0)


def test_bad_sizes_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="chunk_s"):
        ClockedBuffer(chunk_s=0.2)
    with pytest.raises(ValueError, match="max_s"):
        ClockedBuffer(target_s=1.0, max_s=0.5)


def test_stretch_keeps_the_ends() -> None:
    pcm = ramp(961)
    out = stretch(pcm, 960)
    assert out.size == 960 and out[0] == pcm[0] and out[-1] == pytest.approx(pcm[-1])


def test_chunks_are_paced_by_the_wall_clock_and_close_ends_them() -> None:
    buf = ClockedBuffer(target_s=0.05, max_s=1.0)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set() and buf.write(np.zeros(N, np.float32)):
            time.sleep(CHUNK)

    th = threading.Thread(target=writer)
    th.start()
    t0 = time.monotonic()
    got = 0
    for chunk in buf.chunks():
        got += chunk.size
        if got >= 0.3 * RATE:
            buf.close()
    elapsed = time.monotonic() - t0
    stop.set()
    th.join()
    assert got == pytest.approx(0.3 * RATE, abs=N)
    assert 0.3 <= elapsed < 0.6  # 50 ms to fill, then 300 ms at the clock's pace


def test_a_standing_backlog_under_the_maximum_is_dropped_at_once() -> None:
    """A connect burst of 2 s (under max_s) would take half an hour to air away at 0.1 %."""
    buf = ClockedBuffer(target_s=0.5, max_s=3.0)
    buf.write(ramp(RATE // 2))
    t = 0.0
    _chunks, t = read_all(buf, t, t + 0.02)
    buf.write(ramp(2 * RATE, RATE // 2))  # the rest of the burst
    written = 2.5 * RATE
    while t < 5.0:  # then the source at its pace, 20 ms at a time
        buf.write(ramp(N, int(written)))
        written += N
        _more, t = read_all(buf, t, t + 0.02)
    assert buf.dropped_samples >= 1.5 * RATE
    assert buf.buffered_s == pytest.approx(0.5, abs=0.1)
    assert not buf.gaps


def test_a_source_in_large_pieces_is_not_cut() -> None:
    """HLS: 2 s segments arrive at once every 2 s; the level swings, but its low point over a settling
    window longer than a segment is the target."""
    buf = ClockedBuffer(target_s=2.1, max_s=6.0, settle_s=4.0)
    t = 0.0
    written = 0
    for _ in range(15):
        buf.write(ramp(2 * RATE, written))
        written += 2 * RATE
        _, t = read_all(buf, t, t + 2.0)
    assert buf.dropped_samples == 0 and not buf.gaps
