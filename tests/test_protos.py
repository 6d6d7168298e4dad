"""The committed gRPC stubs are exactly what the pinned generator makes from the .proto files."""

from __future__ import annotations

from pathlib import Path

from protos.generate import ROOT, generate
from protos.loa.v1 import loa_pb2, loa_pb2_grpc


def test_committed_stubs_are_up_to_date(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = sorted((tmp_path / "protos" / "loa" / "v1").iterdir())
    assert [p.name for p in fresh] == ["loa_pb2.py", "loa_pb2.pyi", "loa_pb2_grpc.py"]
    for path in fresh:
        committed = ROOT / "protos" / "loa" / "v1" / path.name
        assert committed.read_text() == path.read_text(), f"{committed} is stale: run `make protos`"


def test_services_are_in_package_loa_v1() -> None:
    services = loa_pb2.DESCRIPTOR.services_by_name
    assert loa_pb2.DESCRIPTOR.package == "loa.v1"
    assert {"Synthesis", "Lexicon", "Broadcasts", "Groups", "Clusters"} <= set(services)
    assert hasattr(loa_pb2_grpc, "BroadcastsServicer")
