"""Per-group lexicon entries in the store (#15): a commune's own readings apply only to broadcasts to it;
a broadcast to several groups takes a group entry only when all its groups agree on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.jobs.errors import NotFound
from engine.jobs.schema import MIGRATIONS, _statements
from engine.jobs.store import Store
from engine.tts.text.entries import Entry
from tests.jobs.conftest import make_group


def _with_groups(store: Store) -> Store:
    for i, name in enumerate(("xa-a", "xa-b", "xa-c")):
        store.create_group(make_group(name, f"239.192.50.{i + 1}"))
    return store


def test_a_group_entry_reads_only_for_its_groups_and_only_when_all_agree(store: Store) -> None:
    _with_groups(store)
    store.put_lexicon_entry(Entry("HTXTP", "hợp tác xã tân phú"))  # the deployment's
    store.put_lexicon_entry(Entry("HTXTP", "hợp tác xã thạnh phú"), group_id="xa-a")
    store.put_lexicon_entry(Entry("HTXTP", "hợp tác xã thạnh phú"), group_id="xa-b")
    store.put_lexicon_entry(Entry("HTXTP", "hợp tác xã tây phú"), group_id="xa-c")
    store.put_lexicon_entry(Entry("KCNA", "khu công nghiệp an"), group_id="xa-a")
    assert store.lexicon("vi") == {"HTXTP": "hợp tác xã tân phú"}
    assert store.lexicon("vi", ["xa-a"]) == {"HTXTP": "hợp tác xã thạnh phú", "KCNA": "khu công nghiệp an"}
    assert store.lexicon("vi", ["xa-a", "xa-b"]) == {
        "HTXTP": "hợp tác xã thạnh phú"
    }  # agree; KCNA: xa-b lacks it
    assert store.lexicon("vi", ["xa-a", "xa-c"]) == {
        "HTXTP": "hợp tác xã tân phú"
    }  # disagree: the deployment's
    entries, _ = store.list_lexicon_entries(group_id="xa-a")
    assert [(e.entry.written, e.group_id) for e in entries] == [("HTXTP", "xa-a"), ("KCNA", "xa-a")]
    version = store.delete_lexicon_entry("vi", "HTXTP", group_id="xa-c")
    assert store.lexicon("vi", ["xa-a", "xa-c"]) == {"HTXTP": "hợp tác xã tân phú"}
    assert store.list_lexicon_entries()[1] == version
    with pytest.raises(NotFound, match=r"entry\.group_id"):
        store.put_lexicon_entry(Entry("KCNB", "khu công nghiệp bê"), group_id="no-such-group")
    with pytest.raises(NotFound, match="of group 'xa-b'"):
        store.delete_lexicon_entry("vi", "KCNA", group_id="xa-b")


def test_entries_written_before_groups_become_the_deployments(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    conn = sqlite3.connect(path, isolation_level=None)  # a store of schema 4, its lexicon made on first use
    for script in MIGRATIONS[:4]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.executescript(
        "CREATE TABLE lexicon_entries (language TEXT NOT NULL, written TEXT NOT NULL, spoken TEXT NOT NULL,"
        " note TEXT NOT NULL, update_time REAL NOT NULL, updated_by TEXT NOT NULL, version INTEGER NOT NULL,"
        " PRIMARY KEY (language, written));"
        "CREATE TABLE lexicon_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);"
        "INSERT INTO lexicon_version VALUES (1, 1);"
        "INSERT INTO lexicon_entries VALUES ('vi', 'Cty', 'công ty', 'legal form', 1.0, 'admin', 1);"
        "PRAGMA user_version = 4;"
    )
    conn.close()
    with _with_groups(Store(path)) as store:
        entries, version = store.list_lexicon_entries()
        assert [(e.entry.written, e.entry.note, e.group_id) for e in entries] == [("Cty", "legal form", "")]
        assert version == 1
        store.put_lexicon_entry(Entry("Cty", "công ty cổ phần"), group_id="xa-a")  # same word, a group's
        assert store.lexicon("vi", ["xa-a"]) == {"Cty": "công ty cổ phần"}
        assert store.lexicon("vi", ["xa-b"]) == {"Cty": "công ty"}


def test_a_deleted_groups_entries_go_with_it_and_a_new_group_of_its_id_starts_clean(store: Store) -> None:
    _with_groups(store)
    store.put_lexicon_entry(Entry("HTXTP", "hợp tác xã tân phú"))
    store.put_lexicon_entry(Entry("KCNA", "khu công nghiệp an"), group_id="xa-a")
    assert store.lexicon("vi", ["xa-a"])["KCNA"] == "khu công nghiệp an"  # cached at this version
    store.delete_group("xa-a")
    store.create_group(make_group("xa-a", "239.192.50.1"))
    assert store.lexicon("vi", ["xa-a"]) == {"HTXTP": "hợp tác xã tân phú"}
    assert store.list_lexicon_entries(group_id="xa-a")[0] == []
