"""`loa normalize` (one line out per line in, warnings on stderr) and the warnings themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.tts.text import normalize

ROOT = Path(__file__).resolve().parents[2]


def _loa(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "normalize", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_one_line_out_per_line_in_with_warnings_on_stderr() -> None:
    lines = ["UBND xã thông báo.", "", "   ", "Gọi ☎ số 0913 456 789.", "Độ mặn 4‰. Trời mưa.", "XYZW họp"]
    out = _loa("--lang", "vi", stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    got = out.stdout.split("\n")
    assert got[-1] == ""
    assert got[:-1] == [
        "ủy ban nhân dân xã thông báo.",
        "",
        "",
        "Gọi ký hiệu số không chín một ba, bốn năm sáu, bảy tám chín.",
        "Độ mặn bốn phần ngàn. Trời mưa.",
        "ích i dài dét vê kép họp",
    ]
    assert "line 4: unknown_symbol" in out.stderr
    assert "line 6: spelled_out" in out.stderr


def test_dialect_and_language_flags() -> None:
    out = _loa("--lang", "vi", "--dialect", "north", stdin="1.005 hộ\n")
    assert out.stdout == "một nghìn không trăm linh năm hộ\n"
    out = _loa("--lang", "km", stdin="១៥ នាក់\n១០០%\n")
    assert out.stdout == "ដប់ប្រាំ នាក់\nមួយរយភាគរយ\n"


def test_show_lexicon_lists_the_entries_that_read_each_line() -> None:
    out = _loa("--lang", "vi", "--show-lexicon", stdin="Họp tại UBND xã.\nXin chào.\n")
    assert out.stdout == "Họp tại ủy ban nhân dân xã.\nXin chào.\n"
    assert out.stderr == "line 1: lexicon: 'UBND' -> 'ủy ban nhân dân' (built-in) at 8-12\n"


def test_bad_flags_are_reported_with_the_field_name() -> None:
    out = _loa("--lang", "vi", "--dialect", "central", stdin="1\n")
    assert out.returncode == 2
    assert "dialect" in out.stderr
    out = _loa("--lang", "xx", stdin="1\n")
    assert out.returncode == 2
    assert "lang" in out.stderr


def test_input_without_final_newline_and_crlf() -> None:
    out = _loa("--lang", "vi", stdin="5 hộ\r\n7 hộ")
    assert out.stdout == "năm hộ\nbảy hộ\n"


def test_warnings_say_what_was_read_and_where() -> None:
    text = "Theo CT số 5, mời ông XYZW đến ★."
    norm = normalize(text)
    by_code = {w.code: w for w in norm.warnings}
    assert set(by_code) == {"ambiguous_abbreviation", "spelled_out", "unknown_symbol"}
    amb = by_code["ambiguous_abbreviation"]
    assert (amb.source_text, amb.spoken_as) == ("CT", "xê tê")
    assert text[amb.source_span.start : amb.source_span.end] == "CT"
    assert by_code["spelled_out"].spoken_as == "ích i dài dét vê kép"
    assert by_code["unknown_symbol"].source_text == "★"
    assert "ký hiệu" in norm.text


def test_foreign_words_are_kept_and_reported() -> None:
    norm = normalize("Tham gia livestream và smartwatch.")
    assert norm.text == "Tham gia lai trim và smartwatch."
    assert [w.source_text for w in norm.warnings if w.code == "foreign_word"] == ["smartwatch"]


def test_known_text_has_no_warnings() -> None:
    norm = normalize("UBND xã Tân Hạnh thông báo lịch tiêm vắc xin ngày 2/9/2025 lúc 7h30 tại TYT xã.")
    assert norm.warnings == ()
