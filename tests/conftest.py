from __future__ import annotations

import pytest

from tests import netns

_NETNS: bool | None = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked netns are skipped, with the reason, where private network namespaces can't be made."""
    global _NETNS
    if not any(item.get_closest_marker("netns") for item in items):
        return
    if _NETNS is None:
        _NETNS = netns.available()
    if not _NETNS:
        skip = pytest.mark.skip(reason="cannot create a private network namespace (unshare --net)")
        for item in items:
            if item.get_closest_marker("netns"):
                item.add_marker(skip)
