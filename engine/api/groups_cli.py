"""``loa group create|list|get|update|delete``: loudspeaker groups, on the running server (loa.v1.Groups).

A client over gRPC, connected like ``loa broadcast`` (--server, --token, TLS), so that it works while the
server runs: the server owns the store and makes a new group's SRTP key in the same transaction.
``update`` sends only the options given (the update mask), so the rest of the group stays as it is.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.api.cli_client import add_client_options, connect, rpc_failed

# option → Group field, for create and update (the update mask names the fields given)
_FIELDS = {
    "name": "name",
    "address": "multicast_address",
    "port": "port",
    "ttl": "ttl",
    "interface": "interface",
    "bitrate": "opus_bitrate_bps",
    "fec": "fec",
    "expected_loss": "expected_loss_percent",
    "playout_delay": "playout_delay",
    "emergency": "emergency",
}


def _error(action: str, exc: Any) -> int:
    return rpc_failed(f"loa group {action}", exc)


def _group(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """The Group message of the options given, and the fields they set (for the update mask)."""
    from engine.api import convert
    from protos.loa.v1 import loa_pb2 as pb

    group = pb.Group(id=args.id)
    given = []
    for option, field in _FIELDS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        given.append(field)
        if field == "playout_delay":
            group.playout_delay.CopyFrom(convert.duration(value))
        else:
            setattr(group, field, value)
    return group, given


def _line(g: Any) -> str:
    delay = g.playout_delay.ToNanoseconds() / 1e6 if g.HasField("playout_delay") else 500.0
    flags = ",".join(f for f, on in (("emergency", g.emergency), ("fec", g.fec)) if on)
    return (
        f"{g.id:<20} {g.multicast_address}:{g.port:<6} delay {delay:4.0f} ms  {flags:<13} {g.name}".rstrip()
    )


def _create(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    group, _ = _group(args)
    with connect(args) as client:
        try:
            created = client.groups.CreateGroup(pb.CreateGroupRequest(group=group), metadata=client.metadata)
        except grpc.RpcError as exc:
            return _error("create", exc)
    print(f"group {created.id} created: {created.multicast_address}:{created.port}")
    return 0


def _list(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            reply = client.groups.ListGroups(pb.ListGroupsRequest(), metadata=client.metadata)
        except grpc.RpcError as exc:
            return _error("list", exc)
    if not reply.groups:
        print("no groups yet: loa group create ID --address 239.192.x.y", file=sys.stderr)
    for g in reply.groups:
        print(_line(g))
    return 0


def _get(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            g = client.groups.GetGroup(pb.GetGroupRequest(group_id=args.id), metadata=client.metadata)
        except grpc.RpcError as exc:
            return _error("get", exc)
    print(json_format.MessageToJson(g, ensure_ascii=False))
    return 0


def _update(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import field_mask_pb2

    from protos.loa.v1 import loa_pb2 as pb

    group, given = _group(args)
    if not given:
        print("loa group update: nothing to change (give --name, --address, --port, ...)", file=sys.stderr)
        return 2
    request = pb.UpdateGroupRequest(group=group, update_mask=field_mask_pb2.FieldMask(paths=given))
    with connect(args) as client:
        try:
            updated = client.groups.UpdateGroup(request, metadata=client.metadata)
        except grpc.RpcError as exc:
            return _error("update", exc)
    print(_line(updated))
    return 0


def _delete(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            client.groups.DeleteGroup(pb.DeleteGroupRequest(group_id=args.id), metadata=client.metadata)
        except grpc.RpcError as exc:
            return _error("delete", exc)
    print(f"group {args.id} deleted (and its SRTP keys)")
    return 0


def _settings(parser: argparse.ArgumentParser, create: bool) -> None:
    """The group's settings; on update each is optional and only those given change."""
    parser.add_argument("--name", help="display name, e.g. 'Ấp Phú Hòa'")
    parser.add_argument(
        "--address", required=create, help="IPv4 multicast address, e.g. 239.192.10.1 (IPv6 is refused)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=5004 if create else None,
        help="even UDP port 1024..65534 (RTCP on port + 1; default 5004)",
    )
    parser.add_argument("--ttl", type=int, help="multicast TTL (default 16)")
    parser.add_argument("--interface", help="outgoing interface name or address (default: the route's)")
    parser.add_argument("--bitrate", type=int, help="Opus bit rate, 6000..128000 (default 32000)")
    parser.add_argument("--fec", action=argparse.BooleanOptionalAction, default=None, help="Opus in-band FEC")
    parser.add_argument("--expected-loss", type=int, help="packet loss to tune FEC for, 0..50 percent")
    parser.add_argument(
        "--playout-delay", type=float, help="seconds from send to play, the same on every speaker (0.5)"
    )
    parser.add_argument(
        "--emergency",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the group every speaker joins for emergencies",
    )


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "group",
        help="create and manage loudspeaker groups",
        description="Loudspeaker groups on the running server (create, list, get, update, delete).",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a group (and its SRTP key when srtp is on)")
    create.add_argument("id", help="group id: a-z, 0-9 and -, at most 63")
    _settings(create, create=True)
    add_client_options(create)
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", help="every group, one a line")
    add_client_options(listing)
    listing.set_defaults(func=_list)

    get = actions.add_parser("get", help="print a group as JSON")
    get.add_argument("id")
    add_client_options(get)
    get.set_defaults(func=_get)

    update = actions.add_parser("update", help="change the settings given, keep the others")
    update.add_argument("id")
    _settings(update, create=False)
    add_client_options(update)
    update.set_defaults(func=_update)

    delete = actions.add_parser("delete", help="delete a group and its SRTP keys")
    delete.add_argument("id")
    add_client_options(delete)
    delete.set_defaults(func=_delete)
