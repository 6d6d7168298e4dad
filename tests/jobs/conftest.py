from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.jobs.model import BroadcastSpec, Group, Segment
from engine.jobs.store import Store
from engine.jobs.validation import validate_group


class FakeClock:
    """Epoch seconds that tests move by hand, so times in assertions are exact."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store(tmp_path / "loa.db", clock=clock) as s:
        yield s


def make_group(group_id: str, address: str, **kw: Any) -> Group:
    return validate_group(Group(id=group_id, multicast_address=address, **kw))


def make_spec(*groups: str, text: str = "Xin chào bà con.", **kw: Any) -> BroadcastSpec:
    return BroadcastSpec(segments=(Segment(language="vi", text=text),), group_ids=groups, **kw)
