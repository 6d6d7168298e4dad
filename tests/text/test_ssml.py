"""SSML input: the subset a bulletin needs, parsed by a hardened XML parser into the normalizer's input,
with every refusal naming the line and column an editor would show."""

from __future__ import annotations

import time

import pytest

from engine.tts.text.ssml import (
    MAX_SSML_CHARS,
    Boundary,
    Break,
    Mark,
    SayAs,
    SSMLError,
    Text,
    looks_like_ssml,
    parse,
)

NS = 'xmlns="http://www.w3.org/2001/10/synthesis"'


def texts(ssml: str) -> list[Text]:
    return [i for i in parse(ssml).items if isinstance(i, Text)]


def test_plain_speak_is_its_text() -> None:
    ssml = f'<speak version="1.1" {NS} xml:lang="vi-VN">\n  Xin chào bà con.</speak>'
    doc = parse(ssml)
    assert doc.lang == "vi"
    at = ssml.index("\n")
    assert doc.items == (Text("\n  Xin chào bà con.", "vi", line=1, column=at + 1, offset=at),)
    assert doc.text() == "Xin chào bà con."


def test_each_run_says_where_it_starts_in_the_source() -> None:
    ssml = (
        '<speak>\r\n<p>Ủy ban <say-as interpret-as="date">2/9</say-as>\n<sub alias="ủy ban">UBND</sub>'
        "</p></speak>"
    )
    runs = [r for r in texts(ssml) if r.text.strip()]
    for run in runs:
        assert ssml[run.offset :].startswith(("Ủy ban", "<say-as", "<sub")), run
    assert (runs[1].line, runs[1].column) == (2, 11)
    assert (runs[-1].line, runs[-1].column) == (3, 1)


def test_paragraphs_and_sentences_are_boundaries() -> None:
    doc = parse("<speak><p><s>Một.</s><s>Hai.</s></p><p>Ba.</p></speak>")
    kinds = [type(i).__name__ if not isinstance(i, Boundary) else i.kind for i in doc.items]
    assert kinds == ["paragraph", "sentence", "Text", "sentence", "sentence", "Text", "sentence",
                     "paragraph", "paragraph", "Text", "paragraph"]  # fmt: skip
    assert doc.text() == "Một. Hai. Ba."


def test_breaks_by_time_and_strength() -> None:
    doc = parse(
        '<speak>A<break time="500ms"/>B<break time="2s"/>C<break strength="strong"/>D<break/></speak>'
    )
    breaks = [i.seconds for i in doc.items if isinstance(i, Break)]
    assert breaks == [0.5, 2.0, 0.8, 0.5]
    assert doc.text() == "A B C D"


def test_sub_reads_its_alias_and_keeps_what_was_written() -> None:
    (run,) = texts('<speak><sub alias="ủy ban nhân dân">UBND</sub></speak>')
    assert (run.text, run.written) == ("ủy ban nhân dân", "UBND")


@pytest.mark.parametrize("kind", ["cardinal", "ordinal", "characters", "date", "time", "telephone"])
def test_say_as_kinds_are_kept_for_the_normalizer(kind: str) -> None:
    (run,) = texts(f'<speak><say-as interpret-as="{kind}">12</say-as></speak>')
    assert run.say_as == SayAs(kind) and run.text == "12"


def test_say_as_date_format_and_detail() -> None:
    (run,) = texts('<speak>Ngày <say-as interpret-as="date" format="dmy">02/09/2025</say-as></speak>')[1:]
    assert run.say_as == SayAs("date", "dmy") and run.text == "02/09/2025"
    with pytest.raises(SSMLError, match="format 'xyz'"):
        parse('<speak><say-as interpret-as="date" format="xyz">1</say-as></speak>')


def test_a_khmer_passage_inside_a_vietnamese_bulletin() -> None:
    ssml = '<speak xml:lang="vi">Thông báo. <lang xml:lang="km">សូមជម្រាបសួរ</lang> Hết.</speak>'
    runs = texts(ssml)
    assert [(r.text, r.lang) for r in runs] == [("Thông báo. ", "vi"), ("សូមជម្រាបសួរ", "km"), (" Hết.", "vi")]
    (p,) = texts('<speak><p xml:lang="khm">ព.ស. ២៥៦៩</p></speak>')
    assert p.lang == "km"


def test_prosody_rate_words_percentages_and_nesting() -> None:
    runs = texts(
        '<speak><prosody rate="slow">A<prosody rate="+10%">B</prosody></prosody>'
        '<prosody rate="120%">C</prosody><prosody rate="1.5">D</prosody>E</speak>'
    )
    assert [(r.text, r.rate) for r in runs] == [
        ("A", 0.8),
        ("B", pytest.approx(0.88)),
        ("C", 1.2),
        ("D", 1.5),
        ("E", None),
    ]


def test_marks_and_ignored_elements() -> None:
    doc = parse(
        '<speak><mark name="m1"/><emphasis>Chú ý</emphasis> <desc>no</desc>'
        '<prosody volume="loud">x</prosody></speak>'
    )
    assert Mark("m1") in doc.items
    assert doc.text() == "Chú ý x"
    assert [n.message.split()[0] for n in doc.notices] == ["<emphasis>", "<desc>", "prosody"]


@pytest.mark.parametrize(
    ("ssml", "line", "column", "words"),
    [
        ("<speak>\n  <p>Một\n</speak>", 3, 3, "mismatched tag"),
        ("<speak>\n<foo>x</foo></speak>", 2, 1, "unknown element <foo>"),
        ('<speak>\n\n    <break time="soon"/></speak>', 3, 5, "break time 'soon'"),
        ('<speak><say-as interpret-as="emoji">x</say-as></speak>', 1, 8, "interpret-as 'emoji'"),
        ('<speak><lang xml:lang="fr">Bonjour</lang></speak>', 1, 8, "unsupported language"),
        ('<speak><prosody rate="9">x</prosody></speak>', 1, 8, "allowed 0.5x to 2x"),
        ("<speak><sub>UBND</sub></speak>", 1, 8, "alias"),
        ("<speak><say-as interpret-as='date'><p/></say-as></speak>", 1, 36, "only text"),
        ("<p>no speak</p>", 1, 1, "one <speak>"),
        ("<speak>&nbsp;</speak>", 1, 8, "undefined entity"),
        ("", 1, 1, "no element found"),
    ],
)
def test_invalid_ssml_names_line_and_column(ssml: str, line: int, column: int, words: str) -> None:
    with pytest.raises(SSMLError) as err:
        parse(ssml)
    assert (err.value.line, err.value.column) == (line, column), str(err.value)
    assert words in str(err.value) and f"line {line}, column {column}" in str(err.value)


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY l0 "lol">{lol}]><speak>&l9;</speak>'
    start = time.perf_counter()
    with pytest.raises(SSMLError, match="DOCTYPE"):
        parse(bomb)
    assert time.perf_counter() - start < 0.1


def test_external_entities_are_refused() -> None:
    xxe = '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>&x;</speak>'
    with pytest.raises(SSMLError, match="DOCTYPE"):
        parse(xxe)
    with pytest.raises(SSMLError, match="DOCTYPE"):
        parse('<!DOCTYPE speak SYSTEM "http://example.invalid/ssml.dtd"><speak>x</speak>')


def test_ten_megabytes_is_refused_fast_and_unread() -> None:
    huge = "<speak>" + "a" * 10_000_000 + "</speak>"
    start = time.perf_counter()
    with pytest.raises(SSMLError, match=f"at most {MAX_SSML_CHARS:,}"):
        parse(huge)
    assert time.perf_counter() - start < 0.05


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(SSMLError, match="nested deeper"):
        parse("<speak>" + "<s>" * 40 + "x" + "</s>" * 40 + "</speak>")


def test_a_foreign_namespace_is_refused() -> None:
    with pytest.raises(SSMLError, match="not in the SSML namespace"):
        parse('<speak xmlns:h="http://www.w3.org/1999/xhtml"><h:b>x</h:b></speak>')


def test_ssml_is_told_from_plain_text() -> None:
    assert looks_like_ssml('  <speak version="1.1">x</speak>')
    assert looks_like_ssml('<?xml version="1.0"?>\n<speak>x</speak>')
    assert not looks_like_ssml("UBND xã thông báo <khẩn> cấp")
