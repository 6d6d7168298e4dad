"""`loa serve` (the server) and `loa broadcast` (a client: send, watch, list, get, cancel, log)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.api.cli_client import add_client_options, connect, rpc_failed, server_zone, write_output
from engine.timefmt import format_clock, format_time, parse_time
from engine.tts.limits import DEFAULT_DIALECT, DIALECTS
from streaming.logsetup import FORMATS as LOG_FORMATS
from streaming.logsetup import LEVELS as LOG_LEVELS
from streaming.priority import Priority


def _priority(text: str) -> Priority:
    try:
        return Priority.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def when(text: str | None, tz: ZoneInfo, sign: int, option: str) -> float | None:
    """A time option (--at, --since, --until) in ``tz`` (engine/timefmt.py): ISO 8601, naive meaning
    ``tz``, or a duration counted from now by ``sign``. ValueError naming the option."""
    return None if text is None else parse_time(text, tz, sign=sign, field=option)


# -- serve ---------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from engine.api.server import LoaServer
    from engine.config import load
    from streaming.logsetup import configure

    configure()  # until the config is read: text at INFO on stderr
    overrides: dict[str, str] = {}
    for name, value in (
        ("LOA_LOG_LEVEL", args.log_level),
        ("LOA_LOG_FORMAT", args.log_format),
        ("LOA_LISTEN", args.listen),
        ("LOA_STATE_DIR", args.state_dir),
        ("LOA_VOICES_DIR", args.voices_dir),
        ("LOA_METRICS_PORT", args.metrics_port),
        ("LOA_FEEDBACK_PORT", args.feedback_port),
    ):
        if value is not None:
            overrides[name] = str(value)
    if args.no_auth:
        overrides["LOA_AUTH"] = "false"
    import os
    import sqlite3

    from engine.jobs.errors import StoreError

    try:
        # LOA_CONFIG as the commands that find this server's state read it (config.server_state)
        from_env = os.environ.get("LOA_CONFIG")
        config_path = args.config or (Path(from_env) if from_env else None)
        config = load(config_path, {**os.environ, **overrides})
        configure(config.log_level, config.log_format, repeat_s=config.log_repeat_s)
        server = LoaServer(config).start()
    except (ValueError, OSError, StoreError, sqlite3.Error) as exc:
        # A bad setting, or a state directory that cannot be written (read-only, full): say so, exit 2.
        print(f"loa serve: {exc}", file=sys.stderr)
        return 2
    if server.bootstrap_token:
        print(
            f"first start: admin token (shown once, also in {config.state_dir}/admin-token):\n"
            f"  {server.bootstrap_token}",
            flush=True,
        )
    # say whether TLS is on: a plaintext client of a TLS server only sees "Socket closed"
    if config.tls_cert and config.tls_client_ca:
        tls = "TLS, client certificates required"
    else:
        tls = "TLS" if config.tls_cert else "plaintext, no TLS"
    print(
        f"loa: serving on {config.listen} (port {server.port}, {tls}); state in {config.state_dir}",
        flush=True,
    )
    if config.metrics_port:
        print(f"loa: metrics on http://{config.metrics_address}:{config.metrics_port}/metrics", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("loa: shutting down", flush=True)
    server.stop(args.grace)
    return 0


# -- broadcast client ----------------------------------------------------------------------------------


def _rpc_error(exc: Any) -> int:
    return rpc_failed("loa broadcast", exc)


def _segments(args: argparse.Namespace) -> list[Any]:
    from protos.loa.v1 import loa_pb2 as pb

    text = sys.stdin.read() if args.text == "-" else args.text
    if args.file:
        text = Path(args.file).read_text(encoding="utf-8")
    voice = pb.VoiceSettings(voice_id=args.voice or "")
    segments = [pb.Segment(language=args.lang, dialect=args.dialect or "", text=text, voice=voice)]
    for extra in args.then or []:
        lang, _, more = extra.partition(":")
        if not more:
            raise SystemExit(f"loa broadcast: --then wants LANG:TEXT, got {extra!r}")
        segments.append(pb.Segment(language=lang, text=more))
    return segments


def _send(args: argparse.Namespace) -> int:
    import grpc

    from engine.api import convert
    from protos.loa.v1 import loa_pb2 as pb

    if not args.text and not args.file:
        print("loa broadcast send: give TEXT, - (stdin) or --file", file=sys.stderr)
        return 2
    request = pb.CreateBroadcastRequest(
        segments=_segments(args),
        group_ids=args.group,
        priority=pb.Priority.Name(args.priority),
        repeat_count=args.repeat,
        repeat_gap=convert.duration(args.repeat_gap),
        chime=args.chime,
        idempotency_key=args.idempotency_key or "",
        title=args.title or "",
    )
    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            at = when(args.at, tz, +1, "--at")
        except ValueError as exc:
            print(f"loa broadcast send: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _rpc_error(exc)
        if at is not None:
            request.start_time.CopyFrom(convert.timestamp(at))
        try:
            broadcast = client.broadcasts.CreateBroadcast(request, metadata=client.metadata, timeout=30)
        except grpc.RpcError as exc:
            return _rpc_error(exc)
        state = pb.BroadcastState.Name(broadcast.state).removeprefix("BROADCAST_STATE_").lower()
        start = format_time(broadcast.start_time.ToNanoseconds() / 1e9, tz)
        print(f"broadcast {broadcast.id} accepted ({state}, starts {start})")
        if args.no_watch:
            return 0
        return _watch_id(client, broadcast.id, tz)


def _watch(args: argparse.Namespace) -> int:
    import grpc

    with connect(args) as client:
        try:
            tz = server_zone(args, client)
        except ValueError as exc:
            print(f"loa broadcast watch: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _rpc_error(exc)
        return _watch_id(client, args.id, tz)


def _watch_id(client: Any, broadcast_id: str, tz: ZoneInfo) -> int:
    """A live progress line until the broadcast ends; exit 0 when it finished."""
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    tty = sys.stdout.isatty()
    final = pb.BROADCAST_STATE_UNSPECIFIED
    try:
        for event in client.broadcasts.WatchBroadcast(
            pb.WatchBroadcastRequest(broadcast_id=broadcast_id), metadata=client.metadata
        ):
            p = event.progress
            line = (
                f"{format_clock(event.time.ToNanoseconds() / 1e9, tz)} "
                f"{pb.EventType.Name(event.type).removeprefix('EVENT_TYPE_').lower():<12} "
                f"airing {p.repeat_index + 1} segment {p.segment_index + 1} "
                f"sentence {p.sentence_index + 1}/{max(p.sentence_count, 1)} "
                f"aired {p.aired.ToNanoseconds() / 1e9:6.1f} s  {event.message}"
            )
            print(
                ("\r" + line.ljust(110)) if tty and event.type == pb.EVENT_TYPE_PROGRESS else line, flush=True
            )
            final = event.state
    except grpc.RpcError as exc:
        return _rpc_error(exc)
    if tty:
        print()
    return 0 if final == pb.BROADCAST_STATE_FINISHED else 1


def _get(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            b = client.broadcasts.GetBroadcast(
                pb.GetBroadcastRequest(broadcast_id=args.id), metadata=client.metadata
            )
        except grpc.RpcError as exc:
            return _rpc_error(exc)
        print(json_format.MessageToJson(b, ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            reply = client.broadcasts.ListBroadcasts(
                pb.ListBroadcastsRequest(group_id=args.group or "", page_size=args.limit),
                metadata=client.metadata,
            )
        except ValueError as exc:
            print(f"loa broadcast list: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _rpc_error(exc)
        for b in reply.broadcasts:
            start = format_time(b.start_time.ToNanoseconds() / 1e9, tz)
            state = pb.BroadcastState.Name(b.state).removeprefix("BROADCAST_STATE_").lower()
            priority = Priority.from_wire(b.priority).label
            groups = ",".join(b.group_ids)
            print(f"{b.id}  {start}  {state:<12} {priority:<9} {groups}  {b.title}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            client.broadcasts.CancelBroadcast(
                pb.CancelBroadcastRequest(broadcast_id=args.id, reason=args.reason or ""),
                metadata=client.metadata,
            )
        except grpc.RpcError as exc:
            return _rpc_error(exc)
    print(f"broadcast {args.id} cancelled")
    return 0


def _log(args: argparse.Namespace) -> int:
    """The broadcast log (nhật ký phát) straight from the store: works beside a running server."""
    from engine.config import server_state
    from engine.jobs.errors import StoreError
    from engine.jobs.log import export_log
    from engine.jobs.store import Store
    from engine.timefmt import zone

    try:
        config = server_state(args.config, args.state_dir)
        path = config.state_dir / "loa.db"
        if not path.exists():
            raise ValueError(f"no store at {path}")
        tz = zone(args.tz, "--tz") if args.tz else config.zone  # the server's time_zone
        since, until = when(args.since, tz, -1, "--since"), when(args.until, tz, -1, "--until")
        assert since is not None  # required
        with Store(path, recover=False) as store:
            text = export_log(store, since, until, args.format, tz)
    except (StoreError, ValueError) as exc:
        print(f"loa broadcast log: {exc}", file=sys.stderr)
        return 2
    write_output(text, args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the server", description="Run the Loa gRPC server.")
    serve.add_argument("--config", type=Path, help="TOML config file (default: LOA_CONFIG; docs/CONFIG.md)")
    serve.add_argument("--listen", help="gRPC address, e.g. 0.0.0.0:50051 or unix:/run/loa.sock")
    serve.add_argument("--state-dir", help="SQLite store, tokens, audit log")
    serve.add_argument(
        "--voices-dir", help="installed voices (default: LOA_VOICES_DIR or ~/.local/share/loa/voices)"
    )
    serve.add_argument("--metrics-port", type=int, help="Prometheus /metrics port; 0 turns it off")
    serve.add_argument("--feedback-port", type=int, help="UDP port for speakers' RTCP reports (0: any)")
    serve.add_argument(
        "--no-auth", action="store_true", help="no tokens (refused unless listening on loopback)"
    )
    serve.add_argument(
        "--grace", type=float, default=5.0, help="seconds to finish what is on air at shutdown"
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="stderr log level (default info)")
    serve.add_argument(
        "--log-format", choices=LOG_FORMATS, help="text (default) or json lines (docs/LOGGING.md)"
    )
    serve.set_defaults(func=_serve)

    broadcast = sub.add_parser(
        "broadcast", help="send and follow broadcasts", description="Send bulletins and follow them."
    )
    actions = broadcast.add_subparsers(dest="action", required=True, metavar="ACTION")

    send = actions.add_parser("send", help="send a bulletin and watch it air")
    send.add_argument("text", nargs="?", help="the bulletin text, or - for stdin")
    send.add_argument("--file", help="read the text from a UTF-8 file")
    send.add_argument("--group", action="append", required=True, help="target group id (repeatable)")
    send.add_argument(
        "--priority", type=_priority, default=Priority.NORMAL, help="normal (default), high or emergency"
    )
    send.add_argument("--lang", default="vi")
    send.add_argument(
        "--dialect", choices=DIALECTS, help=f"Vietnamese readings and voice (default: {DEFAULT_DIALECT})"
    )
    send.add_argument("--voice", help="voice id (default: the best installed for the language)")
    send.add_argument("--then", action="append", metavar="LANG:TEXT", help="another segment, e.g. km:...")
    send.add_argument(
        "--at",
        help="start time: '2026-12-06 07:00' in the server's zone (or --tz), an explicit offset "
        "(2026-12-06T07:00+07:00), or 10m from now",
    )
    send.add_argument("--repeat", type=int, default=1)
    send.add_argument("--repeat-gap", type=float, default=0.0, help="seconds between airings")
    send.add_argument("--chime", action="store_true")
    send.add_argument("--title")
    send.add_argument("--idempotency-key")
    send.add_argument("--no-watch", action="store_true", help="return once accepted")
    add_client_options(send)
    send.set_defaults(func=_send)

    for name, func, helptext in (
        ("watch", _watch, "follow a broadcast until it ends"),
        ("get", _get, "print a broadcast as JSON"),
        ("cancel", _cancel, "cancel a broadcast"),
    ):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("id")
        if name == "cancel":
            action.add_argument("--reason")
        add_client_options(action)
        action.set_defaults(func=func)

    listing = actions.add_parser("list", help="recent broadcasts, newest first")
    listing.add_argument("--group")
    listing.add_argument("--limit", type=int, default=50)
    add_client_options(listing)
    listing.set_defaults(func=_list)

    log = actions.add_parser("log", help="export the broadcast log (nhật ký phát) as CSV or JSON")
    log.add_argument(
        "--since", required=True, help="'2026-12-06 00:00' in the server's zone (or --tz), or 24h (ago)"
    )
    log.add_argument("--until", help="like --since, or 1h (ago) (default: now)")
    log.add_argument("--tz", help="IANA zone for times read and written (default: the server's time_zone)")
    log.add_argument("--format", choices=["csv", "json"], default="csv")
    log.add_argument(
        "--state-dir",
        help="the server's state directory (default: from --config, LOA_CONFIG, LOA_STATE_DIR, "
        "/etc/loa/loa.toml, else /var/lib/loa)",
    )
    log.add_argument("--config", type=Path, help="the server's TOML config, to find its state directory")
    log.add_argument("-o", "--output")
    log.set_defaults(func=_log)
