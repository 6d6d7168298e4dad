"""The bad-input corpus over real gRPC: the right status and a message naming the field, and after each the
server is healthy and serves the next good request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.reliability import corpus
from tests.reliability.harness import Loa

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loa]:
    home = tmp_path_factory.mktemp("corpus")
    loa = Loa(home, home / "state", auth=True).start()
    yield loa
    assert loa.alive(), f"the server died: {loa.tail()}"
    assert loa.stop() == 0, loa.tail()


@pytest.fixture(scope="module")
def context(server: Loa) -> corpus.Context:
    with server.client() as admin:
        return corpus.prepare(server.state, admin)


@pytest.fixture(scope="module")
def channel(server: Loa) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as chan:
        yield chan


def test_the_corpus_is_large_and_covers_every_method() -> None:
    assert len(corpus.CASES) >= 100
    assert len({c.name for c in corpus.CASES}) == len(corpus.CASES), "case names must be unique"
    assert {c.method for c in corpus.CASES} >= set(corpus.METHODS) - {"ListGroups"}


@pytest.mark.parametrize("case", corpus.CASES, ids=[c.name for c in corpus.CASES])
def test_bad_input_gets_the_right_status_and_the_server_carries_on(
    server: Loa, context: corpus.Context, channel: grpc.Channel, case: corpus.Case
) -> None:
    result = corpus.run(channel, context, case)
    assert result.passed, result.describe()
    assert server.alive()


def test_no_bad_input_was_stored(server: Loa, context: corpus.Context, tmp_path: Path) -> None:
    """Only the broadcasts prepare() made are in the store: nothing refused slipped in."""
    with server.client() as admin:
        from protos.loa.v1 import loa_pb2 as pb

        listed = admin.broadcasts.ListBroadcasts(
            pb.ListBroadcastsRequest(page_size=100), metadata=admin.metadata
        )
    assert len(listed.broadcasts) == 3
