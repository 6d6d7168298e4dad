"""An SSML document planned once into pieces: each run in its language, breaks as pauses, marks where
they stand, spans into the SSML as sent, and the deployment's lexicon on Vietnamese runs."""

from __future__ import annotations

import pytest

from engine.tts.text.pieces import CLAUSE_PAUSE_S
from engine.tts.text.ssml import SSMLError
from engine.tts.text.ssml_plan import plan_ssml, read_ssml

BULLETIN = (
    '<speak xml:lang="vi">\n'
    '<p>Ủy ban nhân dân xã thông báo lịch tiêm chủng.<mark name="km"/><break time="1500ms"/></p>\n'
    '<p xml:lang="km">សួស្តី ឆ្នាំ ២០២៥។</p>\n'
    '<p>Gọi <say-as interpret-as="telephone">0912 345 678</say-as> ngay.'
    '<prosody rate="slow">Chậm thôi.</prosody><mark name="end"/></p>\n'
    "</speak>"
)


def test_each_run_is_a_piece_in_its_language_with_the_break_as_its_pause() -> None:
    plan = plan_ssml(BULLETIN, "vi", None, 0.3)
    got = [(p.sentence_index, p.language, p.rate, p.pause_s) for p in plan.pieces]
    assert got == [(0, None, None, 1.5), (1, "km", None, 0.3), (2, None, None, 0.3), (3, None, 0.8, 0.3)]
    assert plan.sentence_count == 4
    texts = [p.text for p in plan.pieces]
    assert texts[1] == "សួស្តី ឆ្នាំ ពីរពាន់ម្ភៃប្រាំ។"  # the Khmer rules read the Khmer year
    assert "không chín một hai" in texts[2]  # say-as telephone, digit by digit


def test_spans_point_into_the_ssml_as_sent() -> None:
    plan = plan_ssml(BULLETIN, "vi", None, 0.3)
    spans = [BULLETIN[p.source_span.start : p.source_span.end] for p in plan.pieces]
    assert spans[0] == "Ủy ban nhân dân xã thông báo lịch tiêm chủng."
    assert spans[1] == "សួស្តី ឆ្នាំ ២០២៥។"
    assert spans[2].startswith("Gọi <say-as") and spans[2].endswith("ngay.")
    assert spans[3] == "Chậm thôi."


def test_marks_before_a_break_come_after_the_words_and_at_the_end_after_the_last() -> None:
    plan = plan_ssml(BULLETIN, "vi", None, 0.3)
    assert plan.pieces[0].end_marks == ("km",) and plan.pieces[0].marks == ()
    assert plan.pieces[-1].end_marks == ("end",)
    opening = plan_ssml('<speak><mark name="a"/>Xin chào. <mark name="b"/>Tạm biệt.</speak>', "vi", None, 0.3)
    assert [p.marks for p in opening.pieces] == [("a",), ("b",)]


def test_a_language_change_in_mid_sentence_has_no_sentence_pause() -> None:
    plan = plan_ssml(
        '<speak>Bà con nghe tiếng <lang xml:lang="km">ខ្មែរ</lang> sau đây: '
        '<lang xml:lang="km">សួស្តី។</lang></speak>',
        "vi",
        None,
        0.3,
    )
    assert [(p.language, p.pause_s) for p in plan.pieces] == [
        (None, 0.0),
        ("km", 0.0),
        (None, CLAUSE_PAUSE_S),
        ("km", 0.3),
    ]


def test_breaks_add_up_and_a_break_after_a_paragraph_replaces_its_pause() -> None:
    plan = plan_ssml(
        '<speak><p>Một.</p><break time="2s"/><break time="1s"/><p>Hai.</p></speak>', "vi", None, 0.3
    )
    assert [p.pause_s for p in plan.pieces] == [3.0, 0.3]


def test_resume_starts_at_a_sentence_counted_over_the_whole_document() -> None:
    plan = plan_ssml(BULLETIN, "vi", None, 0.3, start_sentence=2)
    assert [p.sentence_index for p in plan.pieces] == [2, 3]
    assert plan.sentence_count == 4


def test_the_lexicon_reads_vietnamese_runs_only() -> None:
    ssml = '<speak>HTXTP họp.<lang xml:lang="km">សួស្តី។</lang></speak>'
    plan = plan_ssml(ssml, "vi", None, 0.3, lexicon={"HTXTP": "hợp tác xã tân phú"})
    assert plan.pieces[0].text == "hợp tác xã tân phú họp."
    assert plan.pieces[1].language == "km"


def test_the_reading_previews_sentences_with_their_language() -> None:
    reading = read_ssml(BULLETIN, "vi", None, 0.3)
    assert [s.language for s in reading.sentences] == ["vi", "km", "vi", "vi"]
    assert reading.sentences[1].sentence.clauses


def test_bad_ssml_and_nothing_to_say_are_errors() -> None:
    with pytest.raises(SSMLError, match="line 1, column"):
        plan_ssml("<speak><p>Một.</speak>", "vi", None, 0.3)
    with pytest.raises(ValueError, match="nothing speakable"):
        plan_ssml('<speak><break time="1s"/></speak>', "vi", None, 0.3)
