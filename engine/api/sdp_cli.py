"""``loa sdp GROUP_ID``: the SDP a third-party receiver (ffmpeg, GStreamer, VLC) needs to play a group.

It asks the running server for the group (Groups.GetGroup) and whether its stream is SRTP
(Groups.GetGroupKeys: FAILED_PRECONDITION "no SRTP keys" means plain RTP), so the description matches what
the server sends: address, port, TTL, bitrate, and ``useinbandfec=1`` only when the group uses FEC. An SRTP
group is refused with the reason (exit 1): no third-party receiver decrypts Loa's AES-GCM SRTP, and a
plain description of it makes them play loud noise. Whether a group is SRTP only an admin token can learn
(GetGroupKeys hands out keys); with a lesser token the command refuses rather than guess.

``python -m streaming sdp ADDR:PORT`` (streaming/cli.py) is the offline form for a speaker-only install,
for a group the caller knows to be plain.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.api.cli_client import add_client_options, connect, rpc_failed, write_output

PLAIN_GROUP_HOWTO = (
    "third-party receivers need a plain-RTP group: create one while the server runs with `srtp = false` "
    "(LOA_SRTP=false), or remove a group's keys with `loa keys remove --group ID` on the server's state "
    "directory; Loa speakers with keys play SRTP groups (docs/RECEIVERS.md)"
)


def _is_srtp(client: Any, group_id: str) -> bool:
    """True if the group has SRTP keys; a plain group is FAILED_PRECONDITION ("no SRTP keys")."""
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    try:
        reply = client.groups.GetGroupKeys(
            pb.GetGroupKeysRequest(group_ids=[group_id]), metadata=client.metadata
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
            return False
        raise
    return any(ring.keys for ring in reply.groups)


def sdp_of(group: Any, *, srtp: bool, origin: str, name: str | None, loa_time_sync: bool) -> str:
    """The SDP of a loa.v1.Group (streaming.sdp.build_sdp; EncryptedGroup when ``srtp``)."""
    from streaming.opus import OpusSettings
    from streaming.priority import Priority
    from streaming.sdp import DEFAULT_DELAY_MS, GroupSpec, build_sdp

    delay_ms = DEFAULT_DELAY_MS
    if group.HasField("playout_delay"):
        delay_ms = round(group.playout_delay.ToNanoseconds() / 1e6)
    spec = GroupSpec(
        group.multicast_address,
        group.port,
        Priority.EMERGENCY if group.emergency else Priority.NORMAL,
        delay_ms,
    )
    codec = OpusSettings(bitrate=group.opus_bitrate_bps or 32_000, fec=group.fec)
    return build_sdp(
        spec,
        codec,
        ttl=group.ttl or 16,
        origin=origin,
        name=name or group.name or group.id,
        reference_clock="local" if loa_time_sync else "ntp=/traceable/",
        srtp=srtp,
    )


def _sdp(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb
    from streaming.sdp import EncryptedGroup

    with connect(args) as client:
        try:
            request = pb.GetGroupRequest(group_id=args.group_id)
            group = client.groups.GetGroup(request, metadata=client.metadata)
        except grpc.RpcError as exc:
            return rpc_failed("loa sdp", exc)
        try:
            srtp = _is_srtp(client, args.group_id)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
                print(
                    f"loa sdp: cannot tell whether group {args.group_id!r} is SRTP: that takes an admin "
                    "token (GetGroupKeys); refusing rather than print an SDP receivers may decode as noise",
                    file=sys.stderr,
                )
                return 1
            return rpc_failed("loa sdp", exc)
    try:
        text = sdp_of(group, srtp=srtp, origin=args.origin, name=args.name, loa_time_sync=args.loa_time_sync)
    except EncryptedGroup as exc:
        print(f"loa sdp: group {args.group_id!r}: {exc}. {PLAIN_GROUP_HOWTO}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"loa sdp: group {args.group_id!r}: {exc}", file=sys.stderr)
        return 1
    write_output(text, args.out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sdp = sub.add_parser(
        "sdp",
        help="print the SDP of a plain-RTP group for ffmpeg, GStreamer, VLC (asks the running server)",
        description="The session description of a group's stream, from the running server. SRTP groups "
        "are refused: third-party receivers cannot decrypt Loa's AES-GCM SRTP (docs/RECEIVERS.md).",
    )
    sdp.add_argument("group_id", metavar="GROUP_ID")
    sdp.add_argument("--out", help="write the SDP here (default: stdout)")
    sdp.add_argument("--origin", default="0.0.0.0", help="the sender's IPv4 address (o= line)")
    sdp.add_argument("--name", help="session name (s= line; default: the group's name)")
    sdp.add_argument("--loa-time-sync", action="store_true", help="speakers use Loa's time sync, not NTP")
    add_client_options(sdp)
    sdp.set_defaults(func=_sdp)
