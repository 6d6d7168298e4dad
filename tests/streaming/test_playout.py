"""The jitter buffer and priority playout as pure logic: datagrams and times in, samples and frames out.

A stream whose media time starts at S = 1000 s presents frame k at S + 0.5 + k * 0.02 s, which is exactly
the start of output block (1000.5 + 0.02 k) * 48000 on a speaker whose clock matches the sender's.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from streaming import rtcp
from streaming.clock import ntp_from_wall
from streaming.jitter import MAX_CONCEALED
from streaming.opus import encode_pcm
from streaming.playout import Playout
from streaming.priority import Priority
from streaming.rtp import RtpPacket
from streaming.sdp import GroupSpec
from tests.streaming.harness import speech_like

NORMAL = GroupSpec("239.7.0.1", 5004, Priority.NORMAL, 500)
EMERGENCY = GroupSpec("239.7.0.2", 5006, Priority.EMERGENCY, 500)
KEY = {1: "239.7.0.1:5004", 3: "239.7.0.2:5006"}
START = 1000.0
FIRST_BLOCK = int((START + 0.5) * 48_000)


class Source:
    def __init__(
        self,
        seconds: float,
        ssrc: int = 0x1111,
        ts0: int = 5000,
        seq0: int = 100,
        seed: int = 0,
        start: float = START,
    ) -> None:
        self.payloads = encode_pcm(speech_like(seconds, seed))
        self.ssrc, self.ts0, self.seq0, self.start = ssrc, ts0, seq0, start

    def packet(self, k: int) -> bytes:
        ts = (self.ts0 + 960 * k) & 0xFFFFFFFF
        return RtpPacket(
            96, (self.seq0 + k) & 0xFFFF, ts, self.ssrc, self.payloads[k], marker=k == 0
        ).serialize()

    def sender_report(self, k: int = 0) -> bytes:
        sr = rtcp.SenderReport(
            self.ssrc, ntp_from_wall(self.start + 0.02 * k), (self.ts0 + 960 * k) & 0xFFFFFFFF, 0, 0
        )
        return rtcp.serialize(sr)

    def bye(self) -> bytes:
        return rtcp.serialize(rtcp.Bye([self.ssrc]))

    def arrival(self, k: int) -> float:
        return self.start + 0.02 * k


def play(
    playout: Playout,
    blocks: int,
    deliveries: dict[int, list[tuple[str, bytes, float]]] | None = None,
    first: int = FIRST_BLOCK,
) -> tuple[np.ndarray, list]:
    """Renders ``blocks`` blocks; before block b, delivers deliveries[b] (group key, datagram, arrival)."""
    audio, frames = [], []
    for b in range(blocks):
        for group, data, arrival in (deliveries or {}).get(b, []):
            playout.on_datagram(group, data, arrival)
        block = playout.render(first + 960 * b, 0.0)
        audio.append(block.samples)
        frames.extend(block.frames)
    return np.concatenate(audio), frames


def all_upfront(
    src: Source, order: list[int], group: int = 1, bye: bool = True
) -> dict[int, list[tuple[str, bytes, float]]]:
    """Every datagram before the first block: SR, the packets in ``order``, and BYE (unless not ``bye``)."""
    datagrams = [(KEY[group], src.sender_report(), START)]
    datagrams += [(KEY[group], src.packet(k), src.arrival(k)) for k in order]
    if bye:
        datagrams.append((KEY[group], src.bye(), src.arrival(max(order)) + 0.1))
    return {0: datagrams}


def test_in_order_stream_plays_each_frame_at_its_presentation_time() -> None:
    src = Source(1.0)
    audio, frames = play(Playout([NORMAL]), 55, all_upfront(src, list(range(51))))
    assert [f.kind for f in frames] == ["packet"] * 51
    assert [f.index for f in frames] == [FIRST_BLOCK + 960 * k for k in range(51)]
    assert [f.rtp for f in frames] == [5000 + 960 * k for k in range(51)]
    assert np.abs(audio[: 51 * 960]).max() > 0.1 and not audio[51 * 960 :].any()


def test_reordered_and_duplicated_packets_play_as_if_in_order() -> None:
    src = Source(1.0)
    clean, _ = play(Playout([NORMAL]), 52, all_upfront(src, list(range(51))))
    order = [*list(range(51)), 3, 3, 10, 40]
    random.Random(1).shuffle(order)
    playout = Playout([NORMAL])
    shuffled, frames = play(playout, 52, all_upfront(src, order))
    np.testing.assert_array_equal(shuffled, clean)
    assert {f.kind for f in frames} == {"packet"}
    assert playout.streams[src.ssrc].duplicates == 4


def test_lost_frames_come_back_from_fec_then_plc_and_late_packets_are_dropped() -> None:
    src = Source(1.0)
    lost = {10, 20, 21}  # 10 and 21: FEC in the next packet; 20: nothing follows it, so PLC
    deliveries = all_upfront(src, [k for k in range(51) if k not in lost])
    deliveries[30] = [(KEY[1], src.packet(20), src.arrival(40))]  # after frame 20 played: late
    playout = Playout([NORMAL])
    _, frames = play(playout, 52, deliveries)
    kinds = {f.rtp: f.kind for f in frames}
    assert kinds[5000 + 960 * 10] == "fec" and kinds[5000 + 960 * 21] == "fec"
    assert kinds[5000 + 960 * 20] == "plc"
    assert sum(k == "packet" for k in kinds.values()) == 48
    assert playout.streams[src.ssrc].late == 1


def test_sequence_and_timestamp_wrap_are_seamless() -> None:
    plain = Source(1.0)
    wrapping = Source(1.0, ts0=2**32 - 960 * 20, seq0=65536 - 25)
    a, _ = play(Playout([NORMAL]), 52, all_upfront(plain, list(range(51))))
    b, frames = play(Playout([NORMAL]), 52, all_upfront(wrapping, list(range(51))))
    np.testing.assert_array_equal(a, b)
    assert [f.kind for f in frames] == ["packet"] * 51


def test_joining_mid_stream_starts_in_sync_at_the_next_frame() -> None:
    src = Source(2.0)
    full, _ = play(Playout([NORMAL]), 100, all_upfront(src, list(range(100))))
    joined = {0: [], 60: [(KEY[1], src.sender_report(50), src.arrival(55))]}
    joined[60] += [(KEY[1], src.packet(k), src.arrival(k)) for k in range(61, 100)]
    late_audio, frames = play(Playout([NORMAL]), 100, joined)
    assert frames[0].index == FIRST_BLOCK + 960 * 61, "first whole frame received, at its own time"
    assert not late_audio[: 61 * 960].any()
    # the decoder starts cold at frame 61; a few frames later it matches a speaker that heard everything
    np.testing.assert_allclose(late_audio[70 * 960 : 99 * 960], full[70 * 960 : 99 * 960], atol=0.02)


def test_outage_conceals_briefly_then_silence_then_resyncs() -> None:
    src = Source(3.0)
    deliveries = all_upfront(src, list(range(40)), bye=False)
    deliveries[99] = [(KEY[1], src.packet(k), src.arrival(k)) for k in range(100, 151)]  # back after 1.2 s
    playout = Playout([NORMAL], stream_timeout=0.5)
    _, frames = play(playout, 151, deliveries)
    kinds = [f.kind for f in frames]
    assert kinds[:40] == ["packet"] * 40
    assert kinds[40 : 40 + MAX_CONCEALED] == ["plc"] * MAX_CONCEALED
    resumed = [f for f in frames if f.kind == "packet" and f.rtp >= 5000 + 960 * 100]
    assert resumed[0].index == FIRST_BLOCK + 960 * 100, "back in sync at the first frame after the outage"


def test_new_ssrc_on_a_group_is_a_new_broadcast_that_replaces_the_old() -> None:
    old = Source(2.0, ssrc=1)
    new = Source(1.0, ssrc=2, ts0=123_456, seed=4, start=START + 0.5)
    deliveries = all_upfront(old, list(range(30)), bye=False)  # the old sender vanished, no BYE
    deliveries[20] = (
        [(KEY[1], new.sender_report(), START + 0.5)]
        + [(KEY[1], new.packet(k), new.arrival(k)) for k in range(51)]
        + [(KEY[1], new.bye(), new.arrival(51))]
    )
    _, frames = play(Playout([NORMAL]), 100, deliveries)
    new_frames = [f for f in frames if f.ssrc == 2]
    assert new_frames[0].index == FIRST_BLOCK + 25 * 960 and len(new_frames) == 51
    assert not [f for f in frames if f.ssrc == 1 and f.index >= FIRST_BLOCK + 25 * 960]


def test_emergency_layered_over_normal_sample_exactly_and_normal_resumes() -> None:
    normal = Source(3.0, ssrc=1)
    emergency = Source(1.0, ssrc=3, ts0=777, seed=9, start=START + 1.0 + 3 / 48)  # starts mid-block
    deliveries = all_upfront(normal, list(range(151)))
    deliveries[0] += all_upfront(emergency, list(range(51)), group=3, bye=False)[0]
    deliveries[80] = [(KEY[3], emergency.bye(), START + 2.2)]
    playout = Playout([NORMAL, EMERGENCY])
    audio, frames = play(playout, 152, deliveries)
    e_start = FIRST_BLOCK + 50 * 960 + 3000
    e_end = e_start + 51 * 960
    assert [f.index for f in frames if f.ssrc == 3] == [e_start + 960 * k for k in range(51)]
    assert all(f.priority == 3 for f in frames if f.ssrc == 3)
    assert not [f for f in frames if f.ssrc == 1 and e_start <= f.index < e_end]
    assert next(f for f in frames if f.ssrc == 1 and f.index >= e_end).index == FIRST_BLOCK + 960 * 105
    # sample-exact: normal-only playout up to the emergency's first sample and again from its last
    alone, _ = play(Playout([NORMAL]), 152, all_upfront(normal, list(range(151))))
    begin, end = e_start - FIRST_BLOCK, e_end - FIRST_BLOCK
    np.testing.assert_array_equal(audio[:begin], alone[:begin])
    np.testing.assert_array_equal(audio[end:], alone[end:])
    assert not np.array_equal(audio[begin:end], alone[begin:end])


def test_bad_datagrams_are_counted_not_fatal() -> None:
    playout = Playout([NORMAL])
    assert playout.on_datagram(KEY[1], b"\x80", 0.0) == "invalid"
    assert playout.on_datagram(KEY[1], RtpPacket(0, 1, 2, 3, b"x").serialize(), 0.0) == "invalid"
    assert playout.on_datagram(KEY[1], b"\x80\xc8\x00\x09", 0.0) == "invalid"
    assert playout.invalid == 3
    with pytest.raises(ValueError, match="unknown group"):
        playout.on_datagram("1.2.3.4:5", b"", 0.0)
    with pytest.raises(ValueError, match="twice"):
        Playout([NORMAL, NORMAL])
    assert not playout.render(FIRST_BLOCK, None).samples.any()


# --- keyed groups: a new SSRC plays only after a live sender report (replays of old broadcasts) ---


def _deliver(playout: Playout, datagrams: list[tuple[bytes, float]], offset: float | None = 0.0) -> list[str]:
    return [playout.on_datagram(KEY[1], data, arrival, offset=offset) for data, arrival in datagrams]


def test_keyed_rtp_before_the_first_report_is_held_then_plays_from_the_first_frame() -> None:
    src = Source(1.0)
    playout = Playout([NORMAL], sr_tolerance=5.0)
    early = [(src.packet(k), src.arrival(k)) for k in range(5)]
    assert _deliver(playout, early) == ["held"] * 5 and not playout.streams
    assert _deliver(playout, [(src.sender_report(), src.arrival(5))]) == ["rtcp"]
    rest = {0: [(KEY[1], src.packet(k), src.arrival(k)) for k in range(5, 51)]}
    rest[0].append((KEY[1], src.bye(), src.arrival(51)))
    _, frames = play(playout, 55, rest)
    assert [f.kind for f in frames] == ["packet"] * 51
    assert [f.index for f in frames] == [FIRST_BLOCK + 960 * k for k in range(51)], "in sync, none lost"
    assert playout.admitted == 1 and playout.unverified == 0 and not playout.pending


@pytest.mark.parametrize("keyed", [True, False])
def test_keyed_replay_of_an_old_broadcast_never_touches_the_live_one(keyed: bool) -> None:
    live = Source(3.0, ssrc=1)
    old = Source(1.0, ssrc=2, ts0=99_000, seed=3, start=START - 60)  # captured a minute ago
    deliveries: dict[int, list[tuple[str, bytes, float]]] = {0: [(KEY[1], live.sender_report(), START)]}
    for k in range(151):  # each packet arrives 400 ms before it plays
        deliveries.setdefault(max(0, k - 20), []).append((KEY[1], live.packet(k), live.arrival(k)))
    deliveries[130].append((KEY[1], live.bye(), live.arrival(151)))
    replay = [(KEY[1], old.sender_report(), START + 0.4)]
    replay += [(KEY[1], old.packet(k), START + 0.4 + 0.02 * k) for k in range(51)]
    replay.insert(26, (KEY[1], old.sender_report(25), START + 0.9))
    deliveries[20] += [*replay, (KEY[1], old.bye(), START + 1.5)]
    playout = Playout([NORMAL], sr_tolerance=5.0 if keyed else None)
    _, frames = play(playout, 152, deliveries)
    live_frames = [f for f in frames if f.ssrc == 1]
    if not keyed:  # what the gate prevents: the replay's new SSRC ends the live stream
        assert len(live_frames) < 151
        return
    assert [f.kind for f in frames] == ["packet"] * 151 and len(live_frames) == 151
    assert playout.stale_reports == 2 and playout.unverified == 51  # every replayed datagram counted
    assert 2 not in playout.streams and not playout.pending and playout.admitted == 1


def test_keyed_report_is_judged_on_the_senders_clock() -> None:
    src = Source(1.0)
    sr = src.sender_report()
    # no time sync sample yet: not judged, the stream waits (its packets held) for a later report
    playout = Playout([NORMAL], sr_tolerance=5.0)
    assert _deliver(playout, [(src.packet(0), START)], offset=None) == ["held"]
    assert _deliver(playout, [(sr, START)], offset=None) == ["rtcp"] and not playout.streams
    assert playout.stale_reports == 0 and len(playout.pending[src.ssrc].held) == 1
    assert _deliver(playout, [(sr, START)], offset=0.0) == ["rtcp"] and src.ssrc in playout.streams
    assert len(playout.streams[src.ssrc]._packets) == 1, "the held packet went into the new stream"
    # a speaker clock 3 s behind (offset +3 s): the report is 3 s ahead of it, within the tolerance
    playout = Playout([NORMAL], sr_tolerance=5.0)
    assert _deliver(playout, [(sr, START - 3)], offset=3.0) == ["rtcp"] and src.ssrc in playout.streams
    # ... 6 s ahead: refused; and behind by more than the 500 ms playout delay: refused
    for arrival in (START - 6, START + 0.6):
        playout = Playout([NORMAL], sr_tolerance=5.0)
        assert _deliver(playout, [(sr, arrival)]) == ["rejected_stale"] and not playout.streams
        assert _deliver(playout, [(src.packet(1), arrival)]) == ["rejected_unverified"]
    with pytest.raises(ValueError, match="sr_tolerance"):
        Playout([NORMAL], sr_tolerance=0)


def test_keyed_stream_back_after_an_outage_resumes_but_its_old_packets_do_not() -> None:
    src = Source(3.0)
    playout = Playout([NORMAL], stream_timeout=0.5, sr_tolerance=5.0)
    deliveries = all_upfront(src, list(range(40)), bye=False)
    deliveries[99] = [(KEY[1], src.packet(k), src.arrival(k)) for k in range(100, 151)]  # no new report
    _, frames = play(playout, 151, deliveries)
    resumed = [f for f in frames if f.kind == "packet" and f.rtp >= 5000 + 960 * 100]
    assert len(resumed) == 51 and resumed[0].index == FIRST_BLOCK + 960 * 100
    playout.expire(START + 10)
    assert _deliver(playout, [(src.packet(10), START + 10)]) == ["held"], "media time 10 s ago: not live"


def test_loas_end_block_ends_a_stream_as_a_bye_does() -> None:
    """A plain group's streams end with Loa's LOAE block, not a BYE (which stops ffmpeg for good):
    a speaker must end the stream at the same frame either way (playlog END, priority hand-back)."""
    ended = []
    for with_bye in (True, False):
        src = Source(0.5)
        playout = Playout([NORMAL])
        deliveries = all_upfront(src, list(range(26)), bye=False)
        block = rtcp.Bye([src.ssrc]) if with_bye else rtcp.stream_end_app(src.ssrc)
        deliveries[0].append((KEY[1], rtcp.serialize(block), src.arrival(25) + 0.1))
        play(playout, 30, deliveries)
        ended.append(playout.streams[src.ssrc].ended_at)
    assert ended[0] is not None and ended[0] == ended[1]
