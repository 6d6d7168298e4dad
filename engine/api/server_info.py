"""loa.v1.Server: what a client needs to know about the server (its time zone, its version)."""

from __future__ import annotations

import time

import grpc

from engine.api import convert
from protos.loa.v1 import loa_pb2 as pb
from protos.loa.v1 import loa_pb2_grpc
from streaming.broker.presence import package_version


class ServerServicer(loa_pb2_grpc.ServerServicer):
    def __init__(self, time_zone: str) -> None:
        self.time_zone = time_zone

    def GetServerInfo(self, request: pb.GetServerInfoRequest, context: grpc.ServicerContext) -> pb.ServerInfo:
        return pb.ServerInfo(
            time_zone=self.time_zone, version=package_version(), time=convert.timestamp(time.time())
        )
