"""Progress from playout time, as data: which sentence plays at a sample, and when it is news."""

from __future__ import annotations

from engine.jobs.model import Progress
from engine.jobs.progress import Timeline, playing_sample

RATE = 48_000


def test_playing_sample_is_one_playout_delay_behind_the_media_clock() -> None:
    assert playing_sample(now=101.5, start_time=100.0, delay_s=0.5) == RATE
    assert playing_sample(now=100.2, start_time=100.0, delay_s=0.5) < 0  # not playing yet
    assert playing_sample(now=100.0, start_time=None, delay_s=0.5) == -1  # no start time yet


def test_pieces_of_one_sentence_share_a_mark() -> None:
    timeline = Timeline()
    timeline.mark(0, Progress(sentence_index=0, sentence_count=2))
    timeline.mark(RATE, Progress(sentence_index=0, sentence_count=2))  # the second clause
    timeline.mark(2 * RATE, Progress(sentence_index=1, sentence_count=2))
    assert [m.sample for m in timeline.marks] == [0, 2 * RATE]


def test_the_sentence_playing_is_news_once() -> None:
    timeline = Timeline(aired_before=10.0)
    timeline.mark(0, Progress(sentence_index=0, sentence_count=2))
    timeline.mark(2 * RATE, Progress(sentence_index=1, sentence_count=2))
    fed = 3 * RATE
    assert timeline.at(-1, fed) is None
    first, new = timeline.at(RATE // 2, fed) or (None, None)
    assert first == Progress(sentence_index=0, sentence_count=2, aired_s=10.5) and new
    again, new = timeline.at(RATE, fed) or (None, None)
    assert again is not None and again.sentence_index == 0 and again.aired_s == 11.0 and not new
    second, new = timeline.at(2 * RATE, fed) or (None, None)
    assert second is not None and second.sentence_index == 1 and new


def test_aired_time_stops_at_what_was_fed() -> None:
    timeline = Timeline()
    timeline.mark(0, Progress())
    progress, _ = timeline.at(5 * RATE, fed=RATE) or (None, None)
    assert progress is not None and progress.aired_s == 1.0
