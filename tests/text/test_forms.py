"""Written forms that need the words around them (issue #15, part 3): Roman numerals after the words that
ask for a number, dates with dots, dates that are names, lists of days, "~" ranges, scores, grouped
account numbers, heights, weekdays written "T7", and the Khmer dotted abbreviations."""

from __future__ import annotations

import pytest

from engine.tts.text import normalize


def vi(text: str) -> str:
    return normalize(text, "vi").text


def km(text: str) -> str:
    return normalize(text, "km").text


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("Đại hội lần thứ X.", "lần thứ mười."),
        ("HĐND huyện khóa X, nhiệm kỳ mới.", "khóa mười,"),
        ("Theo mục X của Kế hoạch.", "mục mười của"),
        ("Mực nước vượt báo động III.", "báo động ba."),
        ("Báo động X", "Báo động mười"),
        ("X. TỔ CHỨC THỰC HIỆN", "mười. TỔ CHỨC"),
    ],
)
def test_a_roman_numeral_is_a_number_where_the_word_before_asks_for_one(text: str, reading: str) -> None:
    assert reading in vi(text)


def test_x_before_a_name_is_still_a_commune() -> None:
    assert vi("X. Tân Hạnh") == "xã Tân Hạnh"


def test_dates_written_with_dots() -> None:
    assert vi("Từ ngày 15.10 đến 20.10.") == "Từ ngày mười lăm tháng mười đến ngày hai mươi tháng mười."
    assert "một chấm năm" in vi("Tăng 1.5 lần.")  # no day word before: a number
    assert "một chấm năm" in vi("Khoảng 1.5 triệu.")


def test_dates_that_are_names_get_no_day_word() -> None:
    assert vi("Nghỉ lễ 30/4.") == "Nghỉ lễ ba mươi tháng tư."
    assert vi("Phố 19/5 đông.") == "Phố mười chín tháng năm đông."


def test_a_list_of_days_says_ngay_once() -> None:
    assert vi("Họp hai ngày 14 và 15/7.") == "Họp hai ngày mười bốn và mười lăm tháng bảy."
    assert vi("Các ngày 5, 6 và 7/8.") == "Các ngày năm, sáu và mùng bảy tháng tám."


def test_tilde_between_numbers_is_a_range_and_alone_is_about() -> None:
    assert vi("Mưa 50~100 mm.") == "Mưa năm mươi đến một trăm mi li mét."
    assert vi("Giá ~50.000 đồng.") == "Giá khoảng năm mươi ngàn đồng."
    assert km("កម្ពស់ ១~២ ម៉ែត្រ។") == "កម្ពស់ មួយដល់ពីរ ម៉ែត្រ។"
    assert "ប្រហែល" in km("សីតុណ្ហភាព ~៣០°C។")


def test_a_score_is_not_a_range() -> None:
    assert vi("Thắng với tỷ số 3-1.") == "Thắng với tỷ số ba một."
    assert vi("Hai đội hòa 2-2.") == "Hai đội hòa hai hai."
    assert vi("Từ 6-10 người.") == "Từ sáu đến mười người."
    assert km("ក្រុមចាញ់ ០-២។") == "ក្រុមចាញ់ សូន្យទល់ពីរ។"
    assert km("ពី ៥-១០ នាក់។") == "ពី ប្រាំដល់ដប់ នាក់។"


def test_grouped_account_and_identity_numbers_are_read_digit_by_digit() -> None:
    assert vi("Số tài khoản 7300 201 012 345.") == (
        "Số tài khoản bảy ba không không, hai không một, không một hai, ba bốn năm."
    )
    assert "không tám sáu, một tám năm" in vi("CCCD số 086 185 001 234.")
    got = km("គណនីលេខ ១២៣ ៤៥៦ ៧៨៩។")
    assert got == "គណនីលេខ មួយ ពីរ បី, បួន ប្រាំ ប្រាំមួយ, ប្រាំពីរ ប្រាំបី ប្រាំបួន។"
    assert km("មានមនុស្ស ១ ០០០ នាក់។") == "មានមនុស្ស មួយពាន់ នាក់។"  # a grouped amount stays one


def test_heights_in_metres_and_centimetres() -> None:
    assert vi("Cao 1m55.") == "Cao một mét năm mươi lăm."
    assert "ba mét" in vi("Dài 3 m.")


def test_weekdays_and_months_written_with_t() -> None:
    assert vi("Làm việc sáng T7.") == "Làm việc sáng thứ bảy."
    assert vi("Vào T2, T4, T6.") == "Vào thứ hai, thứ tư, thứ sáu."
    assert vi("Lương T7/2025.") == "Lương tháng bảy năm hai ngàn không trăm hai mươi lăm."


def test_a_programme_label_keeps_its_leading_zero() -> None:
    assert vi("Đề án 06.") == "Đề án không sáu."
    assert vi("Lớp 06 em.") == "Lớp sáu em."


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("ព.ស. ២៥៦៩", "ពុទ្ធសករាជ ពីរពាន់ប្រាំរយហុកសិបប្រាំបួន"),
        ("ព.ស ២៥៦៨", "ពុទ្ធសករាជ ពីរពាន់ប្រាំរយហុកសិបប្រាំបី"),
        ("ឆ្នាំ គ.ស. ២០២៥។", "ឆ្នាំ គ្រិស្តសករាជ ពីរពាន់ម្ភៃប្រាំ។"),
        ("ប្រវែង ១២ គ.ម។", "ប្រវែង ដប់ពីរ គីឡូម៉ែត្រ។"),
        ("៤០ គ.ម/ម៉ោង", "សែសិប គីឡូម៉ែត្រក្នុងមួយម៉ោង"),
    ],
)
def test_khmer_dotted_abbreviations_are_read_as_words(text: str, reading: str) -> None:
    assert km(text) == reading
