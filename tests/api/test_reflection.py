"""Server reflection of a real `loa serve`, asked in both protocols: v1 (current grpcurl, Postman) and
v1alpha (older clients), each with that version's own messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha

from engine.api.reflection import v1_descriptor
from tests.api.harness import Server

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("reflection"), auth=True).start()
    yield srv
    srv.stop()


def v1_messages() -> tuple[Any, Any]:
    """Request and response classes of grpc.reflection.v1, as a v1 client has them (a pool of its own)."""
    pool = descriptor_pool.DescriptorPool()
    v1 = v1_descriptor(pool)
    return (
        message_factory.GetMessageClass(v1.message_types_by_name["ServerReflectionRequest"]),
        message_factory.GetMessageClass(v1.message_types_by_name["ServerReflectionResponse"]),
    )


def ask(server: Server, version: str, requests: list[Any], request_cls: Any, response_cls: Any) -> list[Any]:
    """One ServerReflectionInfo stream, with no token: reflection is open."""
    with grpc.insecure_channel(server.socket) as channel:
        call = channel.stream_stream(
            f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        return list(call(iter(requests), timeout=10))


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_and_describes_the_api_in_both_protocols(server: Server, version: str) -> None:
    request_cls, response_cls = (
        v1_messages()
        if version == "v1"
        else (v1alpha.ServerReflectionRequest, v1alpha.ServerReflectionResponse)
    )
    assert request_cls.DESCRIPTOR.full_name == f"grpc.reflection.{version}.ServerReflectionRequest"
    listed, described, own = ask(
        server,
        version,
        [
            request_cls(list_services=""),
            request_cls(file_containing_symbol="loa.v1.Broadcasts"),
            request_cls(file_containing_symbol=f"grpc.reflection.{version}.ServerReflection"),
        ],
        request_cls,
        response_cls,
    )
    services = {s.name for s in listed.list_services_response.service}
    assert {"loa.v1.Broadcasts", "loa.v1.Groups", "loa.v1.Synthesis", "grpc.health.v1.Health"} <= services
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= services

    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in described.file_descriptor_response.file_descriptor_proto
    ]
    loa = next(f for f in files if f.package == "loa.v1")
    broadcasts = next(s for s in loa.service if s.name == "Broadcasts")
    assert "CreateBroadcast" in {m.name for m in broadcasts.method}

    (reflection_file,) = (
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in own.file_descriptor_response.file_descriptor_proto
    )
    assert reflection_file.package == f"grpc.reflection.{version}"


def test_an_unknown_symbol_is_not_found_not_a_crash(server: Server) -> None:
    request_cls, response_cls = v1_messages()
    (reply,) = ask(
        server, "v1", [request_cls(file_containing_symbol="no.such.Service")], request_cls, response_cls
    )
    assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
