from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from engine.jobs.log import CSV_COLUMNS, export_log, iso
from engine.jobs.model import BroadcastState, EventType, Priority, Progress, ResumeMode, Segment
from engine.jobs.store import Store
from tests.jobs.conftest import FakeClock, make_spec

S = BroadcastState
TEXT = "UBND xã thông báo: ngày 26/11/2026 tiêm vắc-xin tại trạm y tế, lúc 7h30."


def _history(store: Store, clock: FakeClock) -> dict[str, str]:
    """Old (before since), aired-with-interruption, cancelled, emergency, future (after until)."""
    old, _ = store.create_broadcast(make_spec("ap-1", text="Cũ."))
    store.update_broadcast(old.id, EventType.FINISHED, state=S.FINISHED)
    clock.advance(3600)
    since = clock.now
    spec = make_spec(
        "ap-1", "ap-2", text=TEXT, title="Tiêm chủng", requested_by="ubnd-phu-hoa", repeat_count=2
    )
    spec = dataclasses.replace(
        spec, segments=(*spec.segments, Segment(language="km", audio=b"OggS" + bytes(96)))
    )
    aired, _ = store.create_broadcast(spec)
    clock.advance(1)
    store.update_broadcast(aired.id, EventType.ON_AIR, state=S.ON_AIR)
    for i in range(3):
        clock.advance(2)
        store.update_broadcast(
            aired.id, EventType.PROGRESS, progress=Progress(sentence_index=i, aired_s=2.0 * i)
        )
    urgent, _ = store.create_broadcast(make_spec("ap-2", text="Bão số 9!", priority=Priority.EMERGENCY))
    store.update_broadcast(urgent.id, EventType.ON_AIR, state=S.ON_AIR)
    store.preempt_broadcast(aired.id, by=urgent)
    clock.advance(10)
    store.update_broadcast(urgent.id, EventType.FINISHED, state=S.FINISHED, progress=Progress(aired_s=10.0))
    store.update_broadcast(aired.id, EventType.RESUMED, state=S.ON_AIR, resume_mode=ResumeMode.FROM_SENTENCE)
    clock.advance(20)
    store.update_broadcast(
        aired.id,
        EventType.FINISHED,
        state=S.FINISHED,
        progress=Progress(repeat_index=1, aired_s=24.0),
        repeats_done=2,
    )
    gone, _ = store.create_broadcast(make_spec("ap-3", text="Hủy.", start_time=clock.now + 600))
    store.cancel_broadcast(gone.id, "sai nội dung")
    clock.advance(100)
    until = clock.now
    future, _ = store.create_broadcast(make_spec("ap-1", text="Sau."))
    return {"since": str(since), "until": str(until), "old": old.id, "aired": aired.id, "urgent": urgent.id,
            "gone": gone.id, "future": future.id}  # fmt: skip


def test_csv_log(store: Store, clock: FakeClock) -> None:
    h = _history(store, clock)
    text = export_log(store, float(h["since"]), float(h["until"]), "csv")
    assert text.startswith("\ufeffbroadcast_id,")  # a BOM: Excel reads the Vietnamese as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["broadcast_id"] for r in rows] == [h["aired"], h["urgent"], h["gone"]]
    aired = rows[0]
    assert aired["title"] == "Tiêm chủng" and aired["requested_by"] == "ubnd-phu-hoa"
    assert (aired["priority"], aired["state"], aired["groups"], aired["languages"]) == (
        "NORMAL", "FINISHED", "ap-1;ap-2", "vi;km"
    )  # fmt: skip
    since = float(h["since"])
    assert aired["create_time"] == iso(since) and aired["air_time"] == iso(since + 1)
    assert aired["end_time"] == iso(since + 37) and float(aired["wall_seconds"]) == 36.0
    assert float(aired["aired_seconds"]) == 24.0 and (aired["airings_done"], aired["airings_asked"]) == (
        "2",
        "2",
    )
    assert aired["interruption_count"] == "1"
    assert aired["interruptions"] == (
        f"{iso(since + 7)}..{iso(since + 17)} by emergency {h['urgent']} "
        "at segment 1 sentence 3: from_sentence"
    )
    assert aired["text"] == f"{TEXT} | [audio 100 bytes]"
    gone = rows[2]
    assert (gone["state"], gone["end_reason"], gone["air_time"], gone["wall_seconds"]) == (
        "CANCELLED", "sai nội dung", "", ""
    )  # fmt: skip
    assert iso(since).endswith("Z") and len(iso(since)) == len("2026-11-26T08:00:00.000Z")


def test_json_log(store: Store, clock: FakeClock) -> None:
    h = _history(store, clock)
    doc = json.loads(export_log(store, float(h["since"]), None, "json"))
    assert doc["since"] == iso(float(h["since"])) and doc["until"] == ""
    entries = {e["broadcast_id"]: e for e in doc["broadcasts"]}
    assert list(entries) == [h["aired"], h["urgent"], h["gone"], h["future"]]  # until None: up to now
    aired = entries[h["aired"]]
    (cut,) = aired["interruptions"]
    assert cut["by_broadcast_id"] == h["urgent"] and cut["by_priority"] == "EMERGENCY"
    assert (cut["resume_mode"], cut["at_sentence"]) == ("FROM_SENTENCE", 3)
    assert aired["segments"][0]["text"] == TEXT and aired["segments"][1]["audio_bytes"] == 100
    assert [e["type"] for e in aired["events"]] == ["QUEUED", "ON_AIR", "PREEMPTED", "RESUMED", "FINISHED"]
    assert entries[h["urgent"]]["priority"] == "EMERGENCY" and entries[h["urgent"]]["aired_seconds"] == 10.0


def test_log_arguments() -> None:
    with pytest.raises(ValueError, match="format: 'xml'"):
        export_log(None, 0.0, None, "xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"until: .* is not after since"):
        export_log(None, 10.0, 5.0, "csv")  # type: ignore[arg-type]


def test_empty_log_has_a_header(store: Store) -> None:
    assert export_log(store, 0.0, 1.0, "csv") == "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"
