"""Sentence and clause segmentation: what must never split a sentence, and what must."""

from __future__ import annotations

import pytest

from engine.tts.text import sentences
from engine.tts.text.segment import FIRST_CLAUSE_CHARS


def _sources(text: str, lang: str = "vi") -> list[str]:
    return [text[s.source_span.start : s.source_span.end] for s in sentences(text, lang)]


@pytest.mark.parametrize(
    "text",
    [
        "UBND TP. Vĩnh Long thông báo lịch cúp điện.",
        "Người dân Q. Ninh Kiều và P. 5 chú ý.",
        "Sạt lở tại H. Long Hồ, X. Tân Hạnh và TX. Bình Minh.",
        "Lượng mưa đạt 3.5 mm, độ mặn 4,5‰ vào ngày 26.11.2025.",
        "Gặp ThS. Nguyễn Văn A và BS. Trần Thị B tại trạm.",
        "Trồng lúa, rau màu, cây ăn trái... đều bị ảnh hưởng.",
        "Xem tại www.vinhlong.gov.vn hoặc dichvucong.gov.vn để biết thêm.",
        "Áp dụng Nghị định 100/2019/NĐ-CP từ 1.1.2020 trên toàn quốc.",
    ],
)
def test_never_split(text: str) -> None:
    assert _sources(text) == [text]


def test_splits_at_sentence_ends() -> None:
    text = "Trời mưa to. Bà con chú ý! Có ai bị ảnh hưởng không? Xin cảm ơn."
    assert _sources(text) == ["Trời mưa to.", "Bà con chú ý!", "Có ai bị ảnh hưởng không?", "Xin cảm ơn."]


def test_list_markers_stay_with_their_item() -> None:
    text = "Thông báo:\n1. Các hộ dân trữ nước.\n2. Không tắm sông.\na. Trẻ em ở nhà.\nII. Tổ chức thực hiện."
    assert _sources(text) == [
        "Thông báo:",
        "1. Các hộ dân trữ nước.",
        "2. Không tắm sông.",
        "a. Trẻ em ở nhà.",
        "II. Tổ chức thực hiện.",
    ]


def test_line_breaks_end_headings_and_blank_lines_vanish() -> None:
    text = "THÔNG BÁO\n\n\nLịch cúp điện ngày 27/11\n  Khu vực ấp 1  "
    assert _sources(text) == ["THÔNG BÁO", "Lịch cúp điện ngày 27/11", "Khu vực ấp 1"]


def test_a_wrapped_line_does_not_end_a_sentence() -> None:
    text = "Dự báo đêm nay có mưa rào,\nlượng mưa 10-20 mm và\ncó nơi trên 50 mm.\n- Bà con chú ý.\nHẾT"
    assert _sources(text) == [
        "Dự báo đêm nay có mưa rào,\nlượng mưa 10-20 mm và\ncó nơi trên 50 mm.",
        "- Bà con chú ý.",
        "HẾT",
    ]
    (first, *_) = sentences(text)
    assert "\n" not in first.text
    wrapped = (
        "Nhiệt độ thấp nhất 24-26°C, cao nhất 31-33°C, độ ẩm 75-85% và gió Đông Bắc mạnh cấp 3, giật\n"
        "Cấp 5. Mọi thắc mắc xin liên hệ với Ủy ban nhân dân xã Tân Hạnh qua số điện thoại của\n"
        "SĐT 0270.3822.123 trong giờ hành chính."
    )
    assert _sources(wrapped) == [wrapped[: wrapped.index(" Mọi")], wrapped[wrapped.index("Mọi") :]]


def test_quote_after_full_stop_belongs_to_the_sentence() -> None:
    text = 'Ông nói: "Phải trữ nước." Bà con đồng tình.'
    assert _sources(text) == ['Ông nói: "Phải trữ nước."', "Bà con đồng tình."]


def test_khmer_sentence_marks() -> None:
    text = "ថ្ងៃនេះមានភ្លៀង។ សូមប្រយ័ត្ន៕ កិច្ចប្រជុំម៉ោង ៨:៣០។"
    assert _sources(text, "km") == ["ថ្ងៃនេះមានភ្លៀង។", "សូមប្រយ័ត្ន៕", "កិច្ចប្រជុំម៉ោង ៨:៣០។"]


def test_other_languages_are_segmented_too() -> None:
    text = "Flood warning. Stay home!"
    assert _sources(text, "en") == ["Flood warning.", "Stay home!"]
    assert [s.text for s in sentences("  a  b.  ", "bdq")] == ["a b."]


def test_clauses_cut_at_commas_and_cover_the_sentence() -> None:
    text = (
        "Do ảnh hưởng của triều cường, mực nước trên sông Cổ Chiên dâng cao; "
        "các hộ dân ven sông cần chủ động kê cao tài sản: di dời người già và trẻ em đến nơi an toàn."
    )
    (s,) = sentences(text)
    assert [c.text[-1] for c in s.clauses[:-1]] == [",", ";", ":"]
    assert " ".join(c.text for c in s.clauses) == s.text
    starts = [c.source_span.start for c in s.clauses]
    assert starts == sorted(starts)
    assert s.clauses[0].source_span.start == 0
    assert s.clauses[-1].source_span.end == len(text)


def test_first_clause_of_a_bulletin_is_short() -> None:
    text = (
        "Ủy ban nhân dân xã Tân Hạnh thông báo đến toàn thể bà con nhân dân trên địa bàn xã về việc tạm "
        "ngưng cung cấp điện để bảo trì đường dây trong ngày mai và ngày kia. Bà con chú ý."
    )
    first, second = sentences(text)
    assert len(first.clauses) >= 2
    assert len(first.clauses[0].text) <= FIRST_CLAUSE_CHARS
    assert " ".join(c.text for c in first.clauses) == first.text
    assert len(second.clauses) == 1


def test_a_clause_never_cuts_inside_a_reading() -> None:
    text = "Tổng kinh phí hỗ trợ là 1.234.567.891 đồng " * 4
    (s,) = sentences(text)
    assert len(s.clauses) > 1
    for c in s.clauses:  # each reading runs from "một tỷ" to "chín mươi mốt": never split apart
        assert c.text.count("một tỷ") == c.text.count("chín mươi mốt")


def test_warnings_belong_to_their_sentence() -> None:
    text = "Trời mưa. Gọi ☎ ngay."
    first, second = sentences(text)
    assert first.warnings == ()
    (w,) = second.warnings
    assert w.code == "unknown_symbol"
    assert text[w.source_span.start : w.source_span.end] == "☎"
