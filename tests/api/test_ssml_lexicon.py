"""SSML and the deployment lexicon over real gRPC: a real `loa serve` (with tokens) in a private
namespace, a real speaker recording what it plays, and the tiny MMS Khmer voice installed beside the
built-in Vietnamese one, so a Khmer passage is heard as that voice's 330 Hz tone."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from engine.api import convert
from engine.api.client import Client
from engine.api.tokens import Role, TokenStore
from models import tiny
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc
from tests.api.harness import Server, group, watch

pytestmark = [pytest.mark.netns, pytest.mark.slow]

BULLETIN = (
    '<speak xml:lang="vi">\n'
    "<p>Xin chào bà con.</p>\n"
    '<break time="2s"/>\n'
    '<p xml:lang="km">សួស្តី បងប្អូន។</p><mark name="het"/>\n'
    "</speak>"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("ssml")
    tiny.mms_model(state / "voices" / "mms-khm")
    srv = Server(state, auth=True).start()
    client = srv.client()
    client.groups.CreateGroup(
        pb.CreateGroupRequest(group=group("xa-1", "239.192.41.1", playout_delay=convert.duration(0.3))),
        metadata=client.metadata,
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.client()


def lexicon(client: Client) -> loa_pb2_grpc.LexiconStub:
    return loa_pb2_grpc.LexiconStub(client.channel)


def _error(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def _loud(audio: np.ndarray, rate: int = 48_000) -> np.ndarray:
    """Per 10 ms frame: whether anything in it is above a whisper."""
    frames = audio[: audio.size // (rate // 100) * (rate // 100)].reshape(-1, rate // 100)
    return np.abs(frames).max(axis=1) > 0.01


def _dominant_hz(audio: np.ndarray, rate: int = 48_000) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / rate)[int(np.argmax(spectrum))])


def test_ssml_broadcast_pauses_at_the_break_and_speaks_khmer_with_the_khmer_voice(
    server: Server, client: Client
) -> None:
    speaker = server.speaker("ssml-1", ["239.192.41.1:5004:normal:300"])
    segment = pb.Segment(language="vi", text=BULLETIN)
    created = client.broadcasts.CreateBroadcast(
        pb.CreateBroadcastRequest(segments=[segment], group_ids=["xa-1"]), metadata=client.metadata
    )
    assert created.segments[0].text_format == pb.TEXT_FORMAT_SSML  # detected from <speak
    events = watch(client, created.id)
    assert events[-1].type == pb.EVENT_TYPE_FINISHED
    assert events[-1].progress.sentence_count == 2  # one Vietnamese sentence, one Khmer
    assert "het" in [e.progress.mark for e in events]  # the mark after the Khmer words was reported
    time.sleep(0.5)
    speaker.stop()
    audio, _ = speaker.recording()
    loud = np.flatnonzero(_loud(audio))
    assert loud.size
    gaps = np.diff(loud)
    longest = int(np.argmax(gaps))
    gap_s = (gaps[longest] - 1) / 100
    assert 1.9 <= gap_s <= 2.8, gap_s  # the 2 s break replaced the 0.3 s sentence pause
    after = audio[(loud[longest + 1]) * 480 :][: 48_000 // 4]
    assert _dominant_hz(after) == pytest.approx(tiny.MMS_PITCH_HZ, abs=10)  # the MMS Khmer voice


def test_malformed_ssml_is_refused_with_field_line_and_column_and_nothing_is_queued(
    client: Client,
) -> None:
    before = client.broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(), metadata=client.metadata)
    bad = pb.Segment(language="vi", text="<speak>\n<p>Xin chào</speak>")
    code, message = _error(
        lambda: client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[pb.Segment(text="Một."), bad], group_ids=["xa-1"]),
            metadata=client.metadata,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("segments[1].text: SSML line 2, column"), message
    after = client.broadcasts.ListBroadcasts(pb.ListBroadcastsRequest(), metadata=client.metadata)
    assert len(after.broadcasts) == len(before.broadcasts)
    code, message = _error(
        lambda: client.synthesis.Synthesize(
            pb.SynthesizeRequest(text='<speak><break time="forever"/></speak>'), metadata=client.metadata
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message.startswith("text: SSML line 1, column 8")
    entity = '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "aaaa">]><speak>&a;</speak>'
    code, message = _error(
        lambda: client.synthesis.Normalize(pb.NormalizeRequest(text=entity), metadata=client.metadata)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "DOCTYPE" in message


def test_a_passage_in_a_language_without_a_voice_is_a_clear_error(client: Client) -> None:
    ssml = '<speak>Xin chào.\n<s xml:lang="bdq">Bok kơ̆n</s></speak>'
    code, message = _error(
        lambda: client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[pb.Segment(text=ssml)], group_ids=["xa-1"]),
            metadata=client.metadata,
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert message.startswith("segments[0].text: SSML line 2, column") and "'bdq'" in message


def test_plain_text_that_looks_like_ssml_can_be_sent_as_plain(client: Client) -> None:
    reply = client.synthesis.Normalize(
        pb.NormalizeRequest(text="<speak> là thẻ.", text_format=pb.TEXT_FORMAT_PLAIN),
        metadata=client.metadata,
    )
    assert reply.sentences and reply.sentences[0].language == "vi"


def test_stream_synthesize_speaks_each_run_in_its_language_and_reports_marks(client: Client) -> None:
    ssml = (
        '<speak><mark name="dau"/>Xin chào.<break time="500ms"/>'
        '<s xml:lang="km">សួស្តី។</s><mark name="cuoi"/></speak>'
    )
    chunks = list(
        client.synthesis.StreamSynthesize(pb.SynthesizeRequest(text=ssml), metadata=client.metadata)
    )
    assert [c.language for c in chunks] == ["vi", "km"]
    assert [ssml[c.source_span.start : c.source_span.end] for c in chunks] == ["Xin chào.", "សួស្តី។"]
    marks = [(t.mark_name, convert.seconds_of(t.time)) for c in chunks for t in c.timepoints]
    assert [name for name, _ in marks] == ["dau", "cuoi"]
    whole = client.synthesis.Synthesize(pb.SynthesizeRequest(text=ssml), metadata=client.metadata)
    times = {t.mark_name: convert.seconds_of(t.time) for t in whole.timepoints}
    assert times["dau"] == 0.0
    assert times["cuoi"] == pytest.approx(convert.seconds_of(whole.duration), abs=0.02)  # after the end
    preview = client.synthesis.Normalize(pb.NormalizeRequest(text=ssml), metadata=client.metadata)
    assert [s.language for s in preview.sentences] == ["vi", "km"]


def test_a_lexicon_entry_changes_the_next_reading_without_restart(client: Client) -> None:
    text = "HTXTP họp lúc 7 giờ."
    before = client.synthesis.Normalize(pb.NormalizeRequest(text=text), metadata=client.metadata)
    assert "hợp tác xã tân phú" not in before.normalized_text
    stored = lexicon(client).PutLexiconEntry(
        pb.PutLexiconEntryRequest(
            entry=pb.LexiconEntry(written="HTXTP", spoken="hợp tác xã tân phú", note="xã Tân Phú")
        ),
        metadata=client.metadata,
    )
    assert (stored.language, stored.version >= 1, stored.updated_by) == ("vi", True, "bootstrap admin")
    after = client.synthesis.Normalize(pb.NormalizeRequest(text=text), metadata=client.metadata)
    assert after.normalized_text.startswith("hợp tác xã tân phú họp")
    spoken = client.synthesis.Synthesize(pb.SynthesizeRequest(text=text), metadata=client.metadata)
    assert spoken.normalized_text.startswith("hợp tác xã tân phú họp")
    ssml = client.synthesis.Normalize(
        pb.NormalizeRequest(text=f"<speak>{text}</speak>"), metadata=client.metadata
    )
    assert ssml.normalized_text.startswith("hợp tác xã tân phú họp")
    listed = lexicon(client).ListLexiconEntries(pb.ListLexiconEntriesRequest(), metadata=client.metadata)
    assert [(e.written, e.spoken, e.note) for e in listed.entries] == [
        ("HTXTP", "hợp tác xã tân phú", "xã Tân Phú")
    ]
    removed = lexicon(client).DeleteLexiconEntry(
        pb.DeleteLexiconEntryRequest(written="HTXTP"), metadata=client.metadata
    )
    assert removed.version == listed.version + 1
    again = client.synthesis.Normalize(pb.NormalizeRequest(text=text), metadata=client.metadata)
    assert again.normalized_text == before.normalized_text


def test_the_preview_lists_which_entries_read_what_and_where(client: Client) -> None:
    lex = lexicon(client)
    lex.PutLexiconEntry(
        pb.PutLexiconEntryRequest(entry=pb.LexiconEntry(written="HTXLP", spoken="hợp tác xã long phú")),
        metadata=client.metadata,
    )
    try:
        for text in (
            "Xin chào. UBND xã và HTXLP họp.",
            "<speak><p>Xin chào.</p> UBND xã và HTXLP họp.</speak>",
        ):
            reply = client.synthesis.Normalize(pb.NormalizeRequest(text=text), metadata=client.metadata)
            used = [
                (
                    u.written,
                    u.spoken,
                    u.deployment,
                    u.sentence_index,
                    text[u.source_span.start : u.source_span.end],
                )
                for u in reply.lexicon
            ]
            assert used == [
                ("UBND", "ủy ban nhân dân", False, 1, "UBND"),
                ("HTXLP", "hợp tác xã long phú", True, 1, "HTXLP"),
            ], text
            assert "hợp tác xã long phú" in reply.sentences[1].text
    finally:
        lex.DeleteLexiconEntry(pb.DeleteLexiconEntryRequest(written="HTXLP"), metadata=client.metadata)


def test_a_khmer_entry_changes_the_khmer_reading(client: Client) -> None:
    entry = pb.LexiconEntry(written="ស.ស.យ.ក", spoken="សហភាពសហព័ន្ធយុវជនកម្ពុជា", language="km")
    stored = lexicon(client).PutLexiconEntry(pb.PutLexiconEntryRequest(entry=entry), metadata=client.metadata)
    assert stored.language == "km"
    try:
        text = "ការប្រជុំ ស.ស.យ.ក។"
        reply = client.synthesis.Normalize(
            pb.NormalizeRequest(text=text, language="km"), metadata=client.metadata
        )
        assert reply.normalized_text == "ការប្រជុំ សហភាពសហព័ន្ធយុវជនកម្ពុជា។"
        assert [(u.written, u.deployment) for u in reply.lexicon] == [("ស.ស.យ.ក", True)]
        vi = client.synthesis.Normalize(pb.NormalizeRequest(text="Họp ស.ស.យ.ក."), metadata=client.metadata)
        assert "សហភាព" not in vi.normalized_text  # a Khmer entry is not a Vietnamese reading
        # a Khmer passage of a Vietnamese SSML bulletin reads it; the Vietnamese part keeps its own
        ssml = f'<speak>UBND xã họp. <lang xml:lang="km">{text}</lang></speak>'
        mixed = client.synthesis.Normalize(pb.NormalizeRequest(text=ssml), metadata=client.metadata)
        assert "សហភាពសហព័ន្ធយុវជនកម្ពុជា" in mixed.normalized_text
        assert mixed.normalized_text.startswith("ủy ban nhân dân xã họp")
        assert ("ស.ស.យ.ក", True) in [(u.written, u.deployment) for u in mixed.lexicon]
    finally:
        lexicon(client).DeleteLexiconEntry(
            pb.DeleteLexiconEntryRequest(written="ស.ស.យ.ក", language="km"), metadata=client.metadata
        )


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (pb.LexiconEntry(written="HTXTP", spoken=""), "entry.spoken: empty"),
        (pb.LexiconEntry(written="Tân Phú", spoken="tân phú"), "entry.written:"),
        (pb.LexiconEntry(written="2025", spoken="hai"), "entry.written: '2025' is not read as one word"),
        (pb.LexiconEntry(written="KCN", spoken="khu 1"), "entry.spoken:"),
        (
            pb.LexiconEntry(written="KCN", spoken="khu", language="km"),
            "entry.written: 'KCN' must be in Khmer",
        ),
        (pb.LexiconEntry(written="KCN", spoken="khu", language="xx"), "entry.language:"),
    ],
)
def test_bad_lexicon_entries_are_refused_naming_the_field(
    client: Client, entry: pb.LexiconEntry, field: str
) -> None:
    code, message = _error(
        lambda: lexicon(client).PutLexiconEntry(
            pb.PutLexiconEntryRequest(entry=entry), metadata=client.metadata
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message.startswith(field), message
    code, message = _error(
        lambda: lexicon(client).DeleteLexiconEntry(
            pb.DeleteLexiconEntryRequest(written="NOPE"), metadata=client.metadata
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND and message.startswith("written:")


def test_only_an_admin_may_change_the_lexicon(server: Server, client: Client) -> None:
    with TokenStore.in_state_dir(server.state) as tokens:
        publisher, _ = tokens.create("newsroom", Role.PUBLISHER)
    editor = server.client(publisher)
    entry = pb.LexiconEntry(written="KCNTP", spoken="khu công nghiệp tân phú")
    code, _ = _error(
        lambda: lexicon(editor).PutLexiconEntry(
            pb.PutLexiconEntryRequest(entry=entry), metadata=editor.metadata
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    listed = lexicon(editor).ListLexiconEntries(pb.ListLexiconEntriesRequest(), metadata=editor.metadata)
    assert "KCNTP" not in [e.written for e in listed.entries]


def test_a_token_scoped_to_a_group_writes_only_that_groups_entries(server: Server, client: Client) -> None:
    with TokenStore.in_state_dir(server.state) as tokens:
        commune, _ = tokens.create("xa-1 editor", Role.PUBLISHER, groups=["xa-1"])
    scoped = server.client(commune)
    lex = lexicon(scoped)

    def put(group_id: str) -> Any:
        entry = pb.LexiconEntry(written="HTXTP", spoken="hợp tác xã thạnh phú", group_id=group_id)
        return lex.PutLexiconEntry(pb.PutLexiconEntryRequest(entry=entry), metadata=scoped.metadata)

    stored = put("xa-1")
    assert (stored.group_id, stored.updated_by) == ("xa-1", "xa-1 editor")
    for other, field in (("", "entry.group_id: "), ("xa-9", "entry.group_id[0]: ")):
        code, message = _error(lambda other=other: put(other))
        assert code == grpc.StatusCode.PERMISSION_DENIED and message.startswith(field), message
    code, _ = _error(
        lambda: lex.DeleteLexiconEntry(
            pb.DeleteLexiconEntryRequest(written="HTXTP"), metadata=scoped.metadata
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED  # the deployment's entries are not its to remove
    text = "HTXTP họp."
    as_group = client.synthesis.Normalize(
        pb.NormalizeRequest(text=text, group_ids=["xa-1"]), metadata=client.metadata
    )
    assert as_group.normalized_text == "hợp tác xã thạnh phú họp."
    assert [(u.written, u.deployment) for u in as_group.lexicon] == [("HTXTP", True)]
    deployment = client.synthesis.Normalize(pb.NormalizeRequest(text=text), metadata=client.metadata)
    assert "thạnh phú" not in deployment.normalized_text
    listed = lexicon(client).ListLexiconEntries(
        pb.ListLexiconEntriesRequest(group_id="xa-1"), metadata=client.metadata
    )
    assert [(e.written, e.group_id) for e in listed.entries] == [("HTXTP", "xa-1")]
    lex.DeleteLexiconEntry(
        pb.DeleteLexiconEntryRequest(written="HTXTP", group_id="xa-1"), metadata=scoped.metadata
    )


def test_a_group_entry_changes_what_a_broadcast_to_that_group_says(client: Client) -> None:
    """The audio a broadcast aired is as long as the entry's reading spoken, and seconds longer than
    the same broadcast before the entry (the letters spelled): only the reading can explain both."""
    reading = "hợp tác xã nông nghiệp và dịch vụ tổng hợp long phú"

    def aired(text: str) -> float:
        created = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(segments=[pb.Segment(language="vi", text=text)], group_ids=["xa-1"]),
            metadata=client.metadata,
        )
        events = watch(client, created.id)
        assert events[-1].type == pb.EVENT_TYPE_FINISHED
        return convert.seconds_of(events[-1].progress.total)

    before = aired("HTXNNLP họp.")
    lexicon(client).PutLexiconEntry(
        pb.PutLexiconEntryRequest(entry=pb.LexiconEntry(written="HTXNNLP", spoken=reading, group_id="xa-1")),
        metadata=client.metadata,
    )
    try:
        after = aired("HTXNNLP họp.")
    finally:
        lexicon(client).DeleteLexiconEntry(
            pb.DeleteLexiconEntryRequest(written="HTXNNLP", group_id="xa-1"), metadata=client.metadata
        )

    def spoken(text: str) -> float:
        said = client.synthesis.Synthesize(pb.SynthesizeRequest(text=text), metadata=client.metadata)
        return convert.seconds_of(said.duration)

    # Synthesize reads as a broadcast to the group would, and as the deployment without it
    request = pb.SynthesizeRequest(text="HTXNNLP họp.", group_ids=["xa-1"])
    lexicon(client).PutLexiconEntry(
        pb.PutLexiconEntryRequest(entry=pb.LexiconEntry(written="HTXNNLP", spoken=reading, group_id="xa-1")),
        metadata=client.metadata,
    )
    try:
        for_group = client.synthesis.Synthesize(request, metadata=client.metadata)
        request.ClearField("group_ids")
        for_all = client.synthesis.Synthesize(request, metadata=client.metadata)
    finally:
        lexicon(client).DeleteLexiconEntry(
            pb.DeleteLexiconEntryRequest(written="HTXNNLP", group_id="xa-1"), metadata=client.metadata
        )
    assert for_group.normalized_text.startswith(reading) and not for_all.normalized_text.startswith(reading)

    # an airing's total runs ~0.25 s past Synthesize's audio, alike for both: compare differences
    assert after - before == pytest.approx(spoken(f"{reading} họp.") - spoken("HTXNNLP họp."), abs=0.1)
    assert after - before > 1.0, (before, after)
    assert aired("HTXNNLP họp.") == pytest.approx(before, abs=0.1)  # gone with the entry


def loa(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "engine", "lexicon", *args]
    argv += ["--server", server.socket, "--token", server.admin_token()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_cli_import_export_and_the_lexicon_survives_a_restart(server: Server, tmp_path: Path) -> None:
    tsv = tmp_path / "xa.tsv"
    tsv.write_text(
        "written\tspoken\tlanguage\tnote\n"
        "# the commune's own names\n"
        "HTXĐH\thợp tác xã đồng hiệp\tvi\tHTX Đồng Hiệp\n"
        "KCNTP\tkhu công nghiệp tân phú\n"
        "BAD\t\n",
        encoding="utf-8",
    )
    imported = loa(server, "import", str(tsv))
    assert imported.returncode == 1  # one row refused, named by its line
    assert "imported 2 of 3" in imported.stdout and "xa.tsv:5:" in imported.stderr
    assert loa(server, "add", "Cty", "công ty", "--note", "legal form").returncode == 0
    assert loa(server, "remove", "KCNTP").returncode == 0
    server.stop()
    server.start()  # the same state directory: the entries are in the store
    exported = loa(server, "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines() == [
        "written\tspoken\tlanguage\tnote",
        "Cty\tcông ty\tvi\tlegal form",
        "HTXĐH\thợp tác xã đồng hiệp\tvi\tHTX Đồng Hiệp",
    ]
    client = server.client()
    reply = client.synthesis.Normalize(pb.NormalizeRequest(text="Cty HTXĐH."), metadata=client.metadata)
    assert reply.normalized_text == "công ty hợp tác xã đồng hiệp."
    listing = loa(server, "list")
    assert "Cty\tcông ty" in listing.stdout


def test_cli_group_entries(server: Server) -> None:
    added = loa(server, "add", "KCNLP", "khu công nghiệp long phú", "--group", "xa-1")
    assert added.returncode == 0, added.stderr
    assert "group xa-1" in loa(server, "list", "--group", "xa-1").stdout
    assert "KCNLP" not in loa(server, "export").stdout  # the deployment's file
    assert loa(server, "export", "--group", "xa-1").stdout.splitlines()[1:] == [
        "KCNLP\tkhu công nghiệp long phú\tvi\t"
    ]
    refused = loa(server, "add", "KCNLP", "khu công nghiệp", "--group", "xa-404")
    assert refused.returncode != 0 and "entry.group_id" in refused.stderr
    assert loa(server, "remove", "KCNLP", "--group", "xa-1").returncode == 0
    assert "KCNLP" not in loa(server, "list").stdout
