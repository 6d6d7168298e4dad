"""``loa speakers add|list|revoke|log``: clusters behind 3G/4G NAT that reach Loa through the broker.

A client of the running server over gRPC (loa.v1.Clusters), connected like ``loa broadcast`` (--server,
--token, TLS), because the broker's accounts live in the server's process. ``add`` writes the cluster's
provisioning bundle (mode 0600: it holds the broker password and the groups' SRTP keys) for
``loa speaker --provision``. ``log --csv`` is the broadcast log per cluster with a UTF-8 byte order
mark, so that Excel reads the Vietnamese in it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from zoneinfo import ZoneInfo

from engine.api.cli import when
from engine.api.cli_client import add_client_options, connect, rpc_failed, server_zone, write_output
from engine.timefmt import format_iso, format_time

CSV_COLUMNS = (
    "cluster",
    "bulletin",
    "airing",
    "started_at",
    "ended_at",
    "seconds_played",
    "frames_played",
    "frames_concealed",
    "frames_lost",
    "stop",
    "received_at",
)


def _when(ts: Any, tz: ZoneInfo) -> str:
    """A Timestamp for people, in ``tz`` with its offset; "" when unset."""
    if not ts.seconds and not ts.nanos:
        return ""
    return format_time(ts.ToNanoseconds() / 1e9, tz, ms=True)


def _iso(ts: Any, tz: ZoneInfo) -> str:
    """A Timestamp for the CSV: ISO 8601 with the offset of ``tz``; "" when unset."""
    return format_iso(ts.ToNanoseconds() / 1e9, tz) if ts.seconds or ts.nanos else ""


def _error(action: str, exc: Any) -> int:
    return rpc_failed(f"loa speakers {action}", exc)


def _add(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            reply = client.clusters.CreateCluster(
                pb.CreateClusterRequest(cluster_id=args.id, group_ids=args.group),
                metadata=client.metadata,
                timeout=30,
            )
        except grpc.RpcError as exc:
            return _error("add", exc)
    write_output(reply.provisioning_bundle, args.out, private=True)
    print(f"cluster {reply.cluster.id} added ({', '.join(reply.cluster.group_ids)}); bundle in {args.out}")
    print("  the bundle holds its password and group keys: copy it to the cluster, then delete this copy")
    if reply.raised_delay_group_ids:
        print(
            f"  playout delay of {', '.join(reply.raised_delay_group_ids)} is now 1.5 s (broker clusters);"
            " re-provision that group's LAN speakers with it"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            reply = client.clusters.ListClusters(
                pb.ListClustersRequest(group_id=args.group or "", include_revoked=args.all),
                metadata=client.metadata,
            )
        except ValueError as exc:
            print(f"loa speakers list: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error("list", exc)
    for c in reply.clusters:
        state = "revoked" if c.HasField("revoke_time") else "online" if c.online else "offline"
        since = _when(c.connect_time if c.online else c.disconnect_time, tz) or "-"
        print(
            f"{c.id:<20} {state:<8} since {since:<27} seen {_when(c.last_seen_time, tz) or '-':<27} "
            f"reconnects {c.reconnects:<4} {c.network or '-':<5} {c.version or '-':<10} "
            f"{','.join(c.group_ids)}{'  error: ' + c.error if c.error else ''}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            client.clusters.RevokeCluster(
                pb.RevokeClusterRequest(cluster_id=args.id), metadata=client.metadata
            )
        except grpc.RpcError as exc:
            return _error("revoke", exc)
    print(f"cluster {args.id} revoked: the broker dropped it and refuses it from now on")
    return 0


def log_csv(reply: Any, tz: ZoneInfo | None = None) -> str:
    """The reports and missed airings as CSV text, a UTF-8 BOM first (Excel then reads it as UTF-8);
    times ISO 8601 with the offset of ``tz`` (the server's zone; None: UTC)."""
    from engine.csvfile import csv_text

    tz = tz or ZoneInfo("UTC")
    played = [
        [
            r.cluster_id, r.bulletin_id, r.airing, _iso(r.start_time, tz), _iso(r.end_time, tz),
            f"{r.frames_played * 0.02:.2f}", r.frames_played, r.frames_concealed, r.frames_lost,
            r.stop_reason, _iso(r.receive_time, tz),
        ]
        for r in reply.reports
    ]  # fmt: skip
    missed = [
        [m.cluster_id, m.bulletin_id, m.airing, "", "", "0.00", 0, 0, 0, "missed", ""] for m in reply.missed
    ]
    return csv_text(CSV_COLUMNS, played + missed)


def _log(args: argparse.Namespace) -> int:
    import grpc

    from engine.api import convert
    from protos.loa.v1 import loa_pb2 as pb

    request = pb.ListPlayReportsRequest(cluster_id=args.cluster or "", bulletin_id=args.bulletin or "")
    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            since, until = when(args.since, tz, -1, "--since"), when(args.until, tz, -1, "--until")
        except ValueError as exc:
            print(f"loa speakers log: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error("log", exc)
        if since is not None:
            request.start_time.CopyFrom(convert.timestamp(since))
        if until is not None:
            request.end_time.CopyFrom(convert.timestamp(until))
        try:
            reply = client.clusters.ListPlayReports(request, metadata=client.metadata, timeout=60)
        except grpc.RpcError as exc:
            return _error("log", exc)
    if args.csv:
        text = log_csv(reply, tz)
    else:
        lines = [
            f"{r.cluster_id:<20} {r.bulletin_id:<18} airing {r.airing + 1:<3} {_when(r.start_time, tz)} "
            f"{r.frames_played * 0.02:8.2f} s  concealed {r.frames_concealed:<5} lost {r.frames_lost:<5} "
            f"{r.stop_reason}"
            for r in reply.reports
        ]
        lines += [
            f"{m.cluster_id:<20} {m.bulletin_id:<18} airing {m.airing + 1:<3} MISSED"
            f" (aired {_when(m.air_time, tz)})"
            for m in reply.missed
        ]
        text = "".join(line + "\n" for line in lines)
    write_output(text, args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    speakers = sub.add_parser(
        "speakers",
        help="clusters behind 4G NAT on the broker: add, list, revoke, log",
        description="Clusters that reach Loa through the MQTT broker (docs/BROKER.md).",
    )
    actions = speakers.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="a new cluster account; writes its provisioning bundle")
    add.add_argument("id", help="cluster id, [a-z0-9-]{1,63}, e.g. c-phu-hoa-01")
    add.add_argument("--group", action="append", required=True, help="group id (repeatable)")
    add.add_argument("--out", required=True, help="where to write the bundle (mode 0600)")
    add_client_options(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="clusters with their presence")
    listing.add_argument("--group", help="only this group's clusters")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    add_client_options(listing)
    listing.set_defaults(func=_list)

    revoke = actions.add_parser("revoke", help="cut a cluster off at once")
    revoke.add_argument("id")
    add_client_options(revoke)
    revoke.set_defaults(func=_revoke)

    log = actions.add_parser("log", help="the broadcast log per cluster: what each played, what it missed")
    log.add_argument("--cluster")
    log.add_argument("--bulletin", help="a broadcast id")
    log.add_argument("--since", help="'2026-12-06 00:00' in the server's zone (or --tz), or 24h (ago)")
    log.add_argument("--until", help="like --since, or 1h (ago)")
    log.add_argument("--csv", action="store_true", help="CSV with a UTF-8 BOM (Excel)")
    log.add_argument("-o", "--output")
    add_client_options(log)
    log.set_defaults(func=_log)
