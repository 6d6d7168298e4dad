"""The public-sector lexicon (data/abbreviations_vi*.tsv): every row reads as its expansion where its rule
applies, every topic file names its sources, and a deployment's own entries layer on top at call time."""

from __future__ import annotations

import pytest

from engine.tts.text import normalize, sentences
from engine.tts.text.tables import DATA, abbreviations, layered, parts, rows

ROWS = [(part, row) for part in parts("abbreviations_vi") for row in rows(part)]
TOPIC_FILES = [p for p in parts("abbreviations_vi") if p != "abbreviations_vi"]


def _sentence_for(written: str, when: str) -> str:
    """A sentence in which the row's rule applies."""
    if when == "always":
        return f"Theo {written} tỉnh."
    if when == "before_name":
        return f"Theo {written} Vĩnh Long."
    if when == "before_phone":
        return f"{written}: 0913 456 789."
    if when == "code":
        return f"Văn bản số 12/UBND-{written}."
    if when.startswith("next:"):
        return f"Theo {written} {when[5:].split(',')[0]}."
    assert when.startswith("prev:")
    return f"Theo {when[5:].split(',')[0]} {written} tỉnh."


@pytest.mark.parametrize(("part", "row"), ROWS, ids=[f"{p}:{r[0]}:{r[2]}" for p, r in ROWS])
def test_every_row_reads_as_its_expansion(part: str, row: tuple[str, ...]) -> None:
    written, reading, when = row[:3]
    got = normalize(_sentence_for(written, when)).text
    assert reading.casefold() in got.casefold(), (part, written, when, got)
    assert written not in got.split(), (part, written, got)


def test_the_lexicon_is_large_and_every_topic_row_names_a_source() -> None:
    topic_rows = [r for p in TOPIC_FILES for r in rows(p)]
    assert len(topic_rows) >= 1400
    assert sum(len(v) for v in abbreviations("abbreviations_vi").values()) >= 1500
    for part in TOPIC_FILES:
        header = (DATA / f"{part}.tsv").read_text(encoding="utf-8")
        for row in rows(part):
            assert len(row) == 4, (part, row)
            assert f"#   {row[3]}: " in header, f"{part}: source {row[3]!r} of {row[0]!r} is not described"


def test_document_type_codes_of_decree_30_are_read_inside_codes() -> None:
    assert "công điện ủy ban nhân dân" in normalize("Công điện số 05/CĐ-UBND.").text
    assert "giấy mời" in normalize("Giấy mời số 120/GM-UBND.").text
    assert "cao đẳng" in normalize("Trường CĐ Vĩnh Long.").text  # outside a code CĐ is still cao đẳng


def test_context_rules_pick_the_reading() -> None:
    assert "công ty cổ phần" in normalize("Công ty CP Cấp thoát nước.").text.lower()
    assert "chính phủ" in normalize("Nghị định của CP.").text
    assert "bí thư đảng ủy" in normalize("Ông Tư, BT Đảng ủy xã.").text.lower()


def test_an_unknown_acronym_is_still_spelled_and_reported() -> None:
    norm = normalize("Dự án XQZW đã khởi công.")
    assert "ích quy dét vê kép" in norm.text
    assert [w.code for w in norm.warnings] == ["spelled_out"]


def test_a_deployment_lexicon_is_layered_on_top_at_call_time() -> None:
    extra: dict[str, str | dict[str, str]] = {"HTXĐH": "hợp tác xã đồng hiệp", "UBND": {"always": "ủy ban"}}
    assert "hợp tác xã đồng hiệp" in normalize("HTXĐH thông báo.", lexicon=extra).text
    assert normalize("UBND xã.", lexicon=extra).text == "ủy ban xã."
    said = " ".join(s.text for s in sentences("HTXĐH thông báo. UBND xã họp.", lexicon=extra))
    assert "hợp tác xã đồng hiệp" in said and "ủy ban xã" in said
    assert "ủy ban nhân dân" in normalize("UBND xã.").text  # the built-in table is untouched


def test_a_bad_deployment_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="lexicon"):
        normalize("UBND.", lexicon={"UBND": {"sometimes": "ủy ban"}})
    with pytest.raises(ValueError, match="lexicon"):
        normalize("UBND.", lexicon={"UBND": ""})
    with pytest.raises(ValueError, match="Vietnamese"):
        normalize("abc", "en", lexicon={"X": "y"})  # no reading rules, so no lexicon


def test_layering_replaces_all_rows_of_a_form() -> None:
    base = abbreviations("abbreviations_vi")
    top = layered(base, {"ĐT": "đoàn thể"})
    assert top["ĐT"] == {"always": "đoàn thể"}
    assert base["ĐT"] != top["ĐT"]


def test_a_document_type_before_a_document_number_is_that_type() -> None:
    assert normalize("Theo TT 08/2024/TT-BTNMT.").text.startswith("Theo thông tư tám")
    assert normalize("Căn cứ CT 05/CT-TTg.").text.startswith("Căn cứ chỉ thị năm")
    assert normalize("TT Cái Nhum có 5 khóm.").text.startswith("thị trấn Cái Nhum")


def test_a_sector_after_so_or_phong_is_read_whole() -> None:
    assert normalize("Sở NN&MT tỉnh.").text == "Sở nông nghiệp và môi trường tỉnh."
    assert normalize("Phòng TC-KH huyện.").text == "Phòng tài chính kế hoạch huyện."
