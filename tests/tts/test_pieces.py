"""One piece plan for a text: sentences, the first cut short, pauses, and where a resumed airing starts."""

from __future__ import annotations

import pytest

from engine.tts.text import sentences
from engine.tts.text.pieces import CLAUSE_PAUSE_S, plan_pieces

BULLETIN = (
    "Ủy ban nhân dân xã thông báo, từ ngày mai, người dân không được đốt rơm rạ trên đồng ruộng. "
    "Xin cảm ơn bà con! Hẹn gặp lại."
)


def test_a_plan_speaks_every_sentence_once_with_its_pause() -> None:
    plan = plan_pieces(BULLETIN, "vi", None, 0.5)
    front = sentences(BULLETIN, lang="vi")
    assert plan.sentence_count == len(front) == 3
    by_sentence = [" ".join(p.text for p in plan.pieces if p.sentence_index == i) for i in range(3)]
    assert by_sentence == [s.text for s in front]
    for piece, following in zip(plan.pieces, (*plan.pieces[1:], None), strict=True):
        if following is None or following.sentence_index != piece.sentence_index:
            assert piece.pause_s == 0.5
        else:  # a clause of the first sentence, or its first words
            assert piece.pause_s in (0.0, CLAUSE_PAUSE_S)
    assert len(plan.pieces) > plan.sentence_count


def test_a_resumed_plan_starts_at_its_sentence_with_spans_in_the_whole_text() -> None:
    text = "Xin chào bà con. Ủy ban nhân dân xã thông báo: ngày mai các hộ dân đã được cấp nước sạch. Hết."
    plan = plan_pieces(text, "vi", None, 0.3, start_sentence=1)
    assert plan.sentence_count == 3
    assert plan.pieces[0].sentence_index == 1
    assert plan.pieces[0].source_span.start == text.index("Ủy ban")
    assert [text[p.source_span.start : p.source_span.end] for p in plan.pieces][-1] == "Hết."
    # the sentence it starts at is cut short, as a first sentence is, so the first audio comes early
    assert len([p for p in plan.pieces if p.sentence_index == 1]) > 1
    assert plan_pieces(text, "vi", None, 0.3, start_sentence=3).pieces == ()


def test_nothing_speakable_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nothing speakable"):
        plan_pieces("... !!!", "vi", None, 0.3)
