"""Subcommands ``loa speaker`` (the loudspeaker agent) and, for ``python -m streaming`` alone,
``sdp ADDR:PORT`` (a plain group's session description without a server). ``loa sdp GROUP_ID``
(engine/api/sdp_cli.py) asks the running server instead, and refuses SRTP groups."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from typing import Any

from streaming.logsetup import FORMATS as LOG_FORMATS
from streaming.logsetup import LEVELS as LOG_LEVELS
from streaming.sdp import DEFAULT_DELAY_MS


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _group(text: str) -> Any:
    from streaming.sdp import GroupSpec

    try:
        return GroupSpec.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _broker(args: argparse.Namespace) -> Any:
    """The broker provisioning from ``--provision``, or from ``--broker`` and its companions; else None."""
    from pathlib import Path

    from streaming.broker.provision import BrokerProvision

    if args.provision:
        return BrokerProvision.load(args.provision)
    if not args.broker:
        return None
    if not (args.cluster and args.password_file and args.broker_group):
        raise ValueError("--broker needs --cluster, --password-file and at least one --broker-group")
    groups: dict[str, str] = {}
    for item in args.broker_group:
        group_id, sep, address = item.partition("=")
        if not sep:
            raise ValueError(f"--broker-group {item!r} is not ID=ADDR:PORT")
        groups[group_id] = address
    password = Path(args.password_file).read_text().strip()
    ca = Path(args.ca) if args.ca else None
    return BrokerProvision.from_url(
        args.broker, cluster=args.cluster, password=password, ca=ca, groups=groups
    )


def _speaker(args: argparse.Namespace) -> int:
    from streaming.clock import Clock, SimulatedClock
    from streaming.logsetup import configure
    from streaming.receiver import SpeakerAgent, SpeakerConfig
    from streaming.sinks import open_sink

    try:  # the flags, else LOA_LOG_LEVEL / LOA_LOG_FORMAT, else info and text (docs/LOGGING.md)
        configure(
            args.log_level or os.environ.get("LOA_LOG_LEVEL", "info"),
            args.log_format or os.environ.get("LOA_LOG_FORMAT", "text"),
        )
    except ValueError as e:
        print(f"loa speaker: {e}", file=sys.stderr)
        return 2
    clock = (
        SimulatedClock(args.clock_offset_ms / 1000, args.clock_drift_ppm)
        if args.clock_offset_ms or args.clock_drift_ppm
        else Clock()
    )
    registry = None
    if args.metrics_port is not None:
        from prometheus_client import (
            CollectorRegistry,
            GCCollector,
            PlatformCollector,
            ProcessCollector,
            start_http_server,
        )

        registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=registry)  # memory, CPU, start time: the default registry's set
        start_http_server(args.metrics_port, registry=registry)
    try:
        broker = _broker(args)
        groups = args.group or (broker.specs() if broker is not None else [])
        if not groups:
            raise ValueError("at least one --group, or a --provision bundle with groups")
        # a bundle that carries keys is the keys file unless --keys names one
        keys_in_bundle = bool(args.provision and not args.keys and broker.keys is not None)
        config = SpeakerConfig(
            groups=groups,
            interface=args.interface,
            time_sync=args.time_sync,
            feedback=args.feedback,
            clock=clock,
            log_frames=args.sink.lower().endswith(".wav"),
            keys=args.provision if keys_in_bundle else args.keys,
            keys_in_bundle=keys_in_bundle,
            sr_tolerance=args.sr_tolerance,
            broker=broker,
            broker_time=args.broker_time,
            network=args.network or "",
            multicast=not args.no_multicast,
            cache_dir=args.cache_dir,
            cache_bytes=args.cache_mb * 1024 * 1024,
            **({"name": args.name} if args.name else {}),
        )
        agent = SpeakerAgent(config, open_sink(args.sink), registry=registry)
    except (ValueError, OSError) as e:
        print(f"loa speaker: {e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: agent._stop.set())
    signal.signal(signal.SIGHUP, lambda *_: agent.reload_keys())
    ready: dict[str, Any] = {"ready": True, "name": config.name, "ssrc": agent.ssrc}
    ready["groups"] = [str(g) for g in groups]
    if config.broker is not None:
        ready["broker"] = config.broker.url
    if agent.keyring is not None:
        ready["srtp"] = True
        ready["groups_without_keys"] = agent.keyring.missing
    print(json.dumps(ready), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        agent.run(args.duration)
    return 0


def _sdp(args: argparse.Namespace) -> int:
    from streaming.opus import OpusSettings
    from streaming.sdp import build_sdp

    try:
        codec = OpusSettings(bitrate=args.bitrate, fec=not args.no_fec)
        text = build_sdp(
            args.group,
            codec,
            ttl=args.ttl,
            origin=args.origin,
            name=args.name,
            reference_clock="local" if args.loa_time_sync else "ntp=/traceable/",
        )
    except ValueError as e:
        print(f"sdp: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    group_help = (
        f"ADDR:PORT[:PRIORITY[:DELAY_MS]] (priority normal|high|emergency, delay {DEFAULT_DELAY_MS} ms)"
    )
    speaker = sub.add_parser(
        "speaker",
        help="run a loudspeaker agent: join groups, play in sync",
        description="Joins multicast groups and plays each stream at its presentation time; the highest "
        "priority stream present plays.",
    )
    speaker.add_argument(
        "--group",
        type=_group,
        action="append",
        help=f"{group_help}; default: the --provision bundle's groups",
    )
    speaker.add_argument(
        "--sink",
        default="null",
        help="null, device (the default output; needs the speaker extra), device:NAME (a PortAudio device "
        "name or index), or PATH.wav (+ PATH.wav.json sidecar)",
    )
    speaker.add_argument("--name", help="CNAME in receiver reports (default: host name)")
    speaker.add_argument("--interface", default="0.0.0.0", help="IPv4 address of the interface to join on")
    speaker.add_argument(
        "--time-sync",
        type=_host_port,
        help="no NTP, on a LAN: Loa's time exchange over RTCP with this sender feedback port",
    )
    speaker.add_argument(
        "--network",
        choices=("4g", "3g", "lan", "vpn"),
        help="with a broker: the link this cluster is on, as its status reports it",
    )
    speaker.add_argument(
        "--no-multicast",
        action="store_true",
        help="broker only: open no multicast socket (each group's ADDR:PORT is then just its name)",
    )
    speaker.add_argument(
        "--broker-time",
        action="store_true",
        help="no NTP, behind the broker: sync the clock with Loa's time exchange over the broker connection "
        "(authenticated; each reply matched to a request)",
    )
    speaker.add_argument(
        "--feedback", type=_host_port, help="send receiver reports here (default: SR source)"
    )
    speaker.add_argument(
        "--keys",
        metavar="FILE",
        help="SRTP keys (`loa keys export`): every group is then SRTP-only; re-read on change and SIGHUP",
    )
    speaker.add_argument(
        "--sr-tolerance",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --keys: a new stream plays only once a sender report arrives that is at most this far "
        "ahead of the sender's clock and at most the playout delay behind it (refuses replays of old "
        "broadcasts; default 5)",
    )
    speaker.add_argument(
        "--provision",
        metavar="FILE",
        help="a cluster's provisioning bundle (docs/BROKER.md): broker url, CA, credentials, groups, keys",
    )
    speaker.add_argument("--broker", metavar="mqtts://HOST:PORT", help="also receive through this broker")
    speaker.add_argument("--cluster", help="with --broker: this speaker's cluster id (its broker user)")
    speaker.add_argument("--password-file", metavar="FILE", help="with --broker: the cluster's password")
    speaker.add_argument("--ca", metavar="CA.pem", help="with --broker: CA to trust (default: system's)")
    speaker.add_argument(
        "--broker-group",
        action="append",
        metavar="ID=ADDR:PORT",
        help="with --broker: a group id and the --group it carries (repeat per group)",
    )
    speaker.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="with a broker: keep bulletins delivered ahead here and play them at their time, link or not",
    )
    speaker.add_argument("--cache-mb", type=int, default=64, help="the cache's bound in MiB (default 64)")
    speaker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    speaker.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until killed)"
    )
    speaker.add_argument("--clock-offset-ms", type=float, default=0.0, help="testing: simulated clock offset")
    speaker.add_argument("--clock-drift-ppm", type=float, default=0.0, help="testing: simulated clock drift")
    speaker.add_argument("--log-level", choices=LOG_LEVELS, help="stderr log level (default info)")
    speaker.add_argument("--log-format", choices=LOG_FORMATS, help="text (default) or json lines")
    speaker.set_defaults(func=_speaker)


def register_sdp(sub: argparse._SubParsersAction) -> None:
    """``sdp ADDR:PORT`` for a speaker-only install: the caller vouches that the group is plain RTP."""
    group_help = (
        f"ADDR:PORT[:PRIORITY[:DELAY_MS]] (priority normal|high|emergency, delay {DEFAULT_DELAY_MS} ms)"
    )
    sdp = sub.add_parser(
        "sdp",
        help="print the SDP of a plain-RTP group (for ffmpeg, GStreamer); SRTP groups have none",
        description="Offline: the SDP of a group you know is plain RTP. `loa sdp GROUP_ID` asks the "
        "server and refuses SRTP groups, which third-party receivers would decode as noise.",
    )
    sdp.add_argument("group", type=_group, help=group_help)
    sdp.add_argument("--bitrate", type=int, default=32_000)
    sdp.add_argument("--no-fec", action="store_true", help="the stream has no in-band FEC")
    sdp.add_argument("--ttl", type=int, default=16)
    sdp.add_argument("--origin", default="0.0.0.0", help="the sender's IPv4 address (o= line)")
    sdp.add_argument("--name", default="Loa broadcast", help="session name (s= line)")
    sdp.add_argument("--loa-time-sync", action="store_true", help="speakers use Loa's time sync, not NTP")
    sdp.set_defaults(func=_sdp)
