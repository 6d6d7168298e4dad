"""gRPC server reflection, both protocols: grpc.reflection.v1 (what current grpcurl and Postman ask first)
and grpc.reflection.v1alpha (what older clients ask).

grpcio-reflection (1.85) ships only ``grpc_reflection.v1alpha``. The v1 protocol is the same proto with
the package renamed: every message, field number and method is identical, so the same bytes are a valid
v1 message. We therefore serve the package's v1alpha servicer under the v1 service name as well, and
add a v1 descriptor (the v1alpha one, renamed) to the pool so that clients can also describe the v1
service itself. tests/api/test_reflection.py calls each with a client of that version's messages.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha

V1ALPHA_SERVICE = reflection.SERVICE_NAME  # grpc.reflection.v1alpha.ServerReflection
V1_PACKAGE = "grpc.reflection.v1"
V1_FILE = "grpc/reflection/v1/reflection.proto"
V1_SERVICE = f"{V1_PACKAGE}.ServerReflection"


def v1_descriptor(pool: descriptor_pool.DescriptorPool | None = None) -> FileDescriptor:
    """grpc/reflection/v1/reflection.proto in ``pool`` (the default one), made from v1alpha's once."""
    pool = pool if pool is not None else descriptor_pool.Default()
    try:
        return pool.FindFileByName(V1_FILE)
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    v1alpha.DESCRIPTOR.CopyToProto(proto)
    old = v1alpha.DESCRIPTOR.package
    proto.name, proto.package = V1_FILE, V1_PACKAGE
    proto.ClearField("options")  # java_package etc. name v1alpha; none matters to a client
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):  # messages and enums only; scalars must not get one
                field.type_name = field.type_name.replace(f".{old}.", f".{V1_PACKAGE}.")
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{old}.", f".{V1_PACKAGE}.")
            method.output_type = method.output_type.replace(f".{old}.", f".{V1_PACKAGE}.")
    pool.AddSerializedFile(proto.SerializeToString())
    return pool.FindFileByName(V1_FILE)


def enable(service_names: Iterable[str], server: grpc.Server) -> None:
    """Reflection v1 and v1alpha on ``server``, listing ``service_names`` and both reflection services."""
    names = (*service_names, V1_SERVICE, V1ALPHA_SERVICE)
    v1_descriptor()
    servicer = reflection.ReflectionServicer(names)
    reflection_handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=v1alpha.ServerReflectionRequest.FromString,
        response_serializer=v1alpha.ServerReflectionResponse.SerializeToString,
    )
    for service in (V1ALPHA_SERVICE, V1_SERVICE):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service, {"ServerReflectionInfo": reflection_handler}),)
        )
