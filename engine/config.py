"""Server configuration: built-in defaults, overridden by a TOML file, overridden by LOA_* variables.

Embedded defaults run on a fresh machine: SQLite in ./state, the built-in voice, loopback only. Commands
that work on a running server's state find it with :func:`server_state` and never create one.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Config:
    listen: str = "127.0.0.1:50051"
    state_dir: Path = Path("state")
    voices_dir: Path | None = None  # None: where `loa voices install` puts them (LOA_VOICES_DIR, XDG)
    metrics_port: int = 9464  # 0: no /metrics endpoint
    metrics_address: str = "127.0.0.1"
    synthesis_workers: int = 0  # 0: one per core
    intra_op_threads: int = 0  # 0: 1 when workers > 1, else onnxruntime's default
    cache_mb: int = 256
    feedback_port: int = 0  # RTCP receiver reports from speakers; 0: any free port
    cname: str = "loa-server"
    auth: bool = True  # tokens required; may only be turned off on a loopback listen address
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None  # set: mutual TLS, clients need a certificate from this CA
    groups: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # created at start if missing
    # Admission control (engine/api/admission.py): beyond these, RESOURCE_EXHAUSTED with retry-after-ms.
    grpc_threads: int = 64  # gRPC worker threads
    max_synthesis_calls: int = 8  # Synthesize + StreamSynthesize + Normalize at once
    max_watch_calls: int = 16  # WatchBroadcast streams at once
    max_queued_normal: int = 1000  # unfinished NORMAL broadcasts (EMERGENCY is never refused)
    max_queued_high: int = 500  # unfinished PRIORITY (HIGH) broadcasts
    max_queued_audio_mb: int = 512  # pre-recorded audio held by unfinished non-emergency broadcasts
    retry_after_ms: int = 1000  # the retry hint; a full broadcast queue hints 10x this
    srtp: bool = True  # new groups get an SRTP master key: their streams are SRTP (engine/api/keys.py)
    # Each group key is the senders' key this long; the next one is made (and exported) this far ahead.
    # A recording older than the lifetime + 300 s overlap authenticates on no re-provisioned speaker,
    # whatever its clock says (engine/api/keys.py KeyLifetime; docs/RELIABILITY.md "Attacks tried").
    srtp_key_lifetime_s: float = 86400.0
    srtp_key_ahead_s: float = 21600.0
    # The embedded MQTT broker for clusters behind 3G/4G NAT (engine/broker/service.py, docs/BROKER.md).
    broker: bool = False  # run Mosquitto under state_dir/broker and send every group's media to it too
    broker_port: int = 8883  # MQTT over TLS
    broker_bind: str = "0.0.0.0"  # the address Mosquitto listens on
    broker_public_host: str = "localhost"  # the name clusters dial: in their bundles' URL and the cert
    broker_prefix: str = ""  # topic prefix naming the deployment, e.g. a province: loa/v1/{prefix}/...
    broker_client_certs: bool = False  # clusters must also present a certificate from the broker's CA
    # With the broker on, a non-emergency broadcast scheduled further ahead than this is synthesized,
    # encoded and published to its groups' clusters before its start (engine/jobs/ahead_planner.py).
    ahead_lead_s: float = 300.0
    # Live sources (engine/live/urls.py, docs/LIVE.md): comma-separated host names and CIDRs a relay may
    # reach although they are not global unicast (an encoder on the province's private network)
    live_allowed_hosts: str = ""
    # stderr logging (streaming/logsetup.py, docs/LOGGING.md): debug|info|warning|error, text|json, and
    # the window in which the same event key is logged at most once
    log_level: str = "info"
    log_format: str = "text"
    log_repeat_s: float = 60.0
    # IANA zone people's times are read and shown in (engine/timefmt.py) and schedules recur in; the wire
    # stays UTC. Empty: the machine's zone (TZ, /etc/localtime), else UTC. Vietnam: Asia/Ho_Chi_Minh.
    time_zone: str = ""

    @property
    def zone_name(self) -> str:
        from engine.timefmt import machine_zone_name

        return self.time_zone or machine_zone_name()  # load() fills it in; a Config() built in code may not

    @property
    def zone(self) -> ZoneInfo:
        from engine.timefmt import zone

        return zone(self.zone_name)

    @property
    def voices_path(self) -> Path:
        from engine.tts.catalog import default_voices_dir

        return self.voices_dir if self.voices_dir is not None else default_voices_dir()


_ENV = {
    "listen": "LOA_LISTEN",
    "state_dir": "LOA_STATE_DIR",
    "voices_dir": "LOA_VOICES_DIR",
    "metrics_port": "LOA_METRICS_PORT",
    "metrics_address": "LOA_METRICS_ADDRESS",
    "synthesis_workers": "LOA_SYNTHESIS_WORKERS",
    "intra_op_threads": "LOA_INTRA_OP_THREADS",
    "cache_mb": "LOA_CACHE_MB",
    "feedback_port": "LOA_FEEDBACK_PORT",
    "auth": "LOA_AUTH",
    "tls_cert": "LOA_TLS_CERT",
    "tls_key": "LOA_TLS_KEY",
    "tls_client_ca": "LOA_TLS_CLIENT_CA",
    "grpc_threads": "LOA_GRPC_THREADS",
    "max_synthesis_calls": "LOA_MAX_SYNTHESIS_CALLS",
    "max_watch_calls": "LOA_MAX_WATCH_CALLS",
    "max_queued_normal": "LOA_MAX_QUEUED_NORMAL",
    "max_queued_high": "LOA_MAX_QUEUED_HIGH",
    "max_queued_audio_mb": "LOA_MAX_QUEUED_AUDIO_MB",
    "retry_after_ms": "LOA_RETRY_AFTER_MS",
    "srtp": "LOA_SRTP",
    "srtp_key_lifetime_s": "LOA_SRTP_KEY_LIFETIME_S",
    "srtp_key_ahead_s": "LOA_SRTP_KEY_AHEAD_S",
    "broker": "LOA_BROKER",
    "broker_port": "LOA_BROKER_PORT",
    "broker_bind": "LOA_BROKER_BIND",
    "broker_public_host": "LOA_BROKER_PUBLIC_HOST",
    "broker_prefix": "LOA_BROKER_PREFIX",
    "broker_client_certs": "LOA_BROKER_CLIENT_CERTS",
    "ahead_lead_s": "LOA_AHEAD_LEAD_S",
    "live_allowed_hosts": "LOA_LIVE_ALLOWED_HOSTS",
    "log_level": "LOA_LOG_LEVEL",
    "log_format": "LOA_LOG_FORMAT",
    "log_repeat_s": "LOA_LOG_REPEAT_S",
    "time_zone": "LOA_TIME_ZONE",
}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Config)}[name]
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return text in ("1", "true", "yes", "on")
        if "Path" in str(kind):
            return Path(value) if value not in (None, "") else None
        return str(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {name}: cannot read {value!r} as {kind}") from None


def load(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        known = {f.name for f in fields(Config)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"config {path}: unknown keys {', '.join(unknown)}")
        for key, value in data.items():
            values[key] = tuple(value) if key == "groups" else _coerce(key, value)
    for key, var in _ENV.items():
        if var in env:
            values[key] = _coerce(key, env[var])
    config = replace(Config(), **values)
    config = replace(config, time_zone=_time_zone(config.time_zone, env))
    if config.state_dir is None:
        raise ValueError("config state_dir: must be set")
    _check_broker(config)
    _check_keys(config)
    _check_logging(config)
    return config


# Where commands that work on a server's state (loa token, audit, keys, broadcast log) look when neither
# --state-dir/--config nor LOA_CONFIG/LOA_STATE_DIR says: the packaged layout (README, deploy/).
SYSTEM_CONFIG = Path("/etc/loa/loa.toml")
SYSTEM_STATE_DIR = Path("/var/lib/loa")
# A directory holding one of these is a server's state directory (`loa serve` makes both at its start).
STATE_MARKERS = ("loa.db", "tokens.sqlite3")
HOW_TO_NAME = "pass --state-dir DIR or --config FILE, or set LOA_CONFIG or LOA_STATE_DIR"


def server_state(
    config_path: Path | None = None,
    state_dir: str | Path | None = None,
    env: dict[str, str] | None = None,
    *,
    system_config: Path | None = None,
    system_state: Path | None = None,
) -> Config:
    """The settings of the server whose state a command works on, ``state_dir`` an existing server state
    directory. Looked for in this order: ``state_dir`` (--state-dir), ``config_path`` (--config),
    LOA_CONFIG, LOA_STATE_DIR, /etc/loa/loa.toml, /var/lib/loa. Never creates anything: a command that
    made an empty ./state printed a token the server rejects and an empty key file (issue #13); only
    ``loa serve`` makes its state directory. ValueError saying what to pass when none is found."""
    env = dict(os.environ) if env is None else env
    system_config = SYSTEM_CONFIG if system_config is None else system_config
    system_state = SYSTEM_STATE_DIR if system_state is None else system_state
    origin = "--config"
    if config_path is None and env.get("LOA_CONFIG"):
        config_path, origin = Path(env["LOA_CONFIG"]), "LOA_CONFIG"
    if config_path is None and state_dir is None and not env.get("LOA_STATE_DIR") and system_config.exists():
        config_path, origin = system_config, str(system_config)
    config = load(config_path, env)
    if state_dir is not None:
        config, origin = replace(config, state_dir=Path(state_dir)), "--state-dir"
    elif env.get("LOA_STATE_DIR"):
        origin = "LOA_STATE_DIR"
    elif config_path is None:
        if not _is_state_dir(system_state):
            raise ValueError(
                f"no server state directory found: {HOW_TO_NAME} (looked for {system_config} and "
                f"{system_state})"
            )
        config, origin = replace(config, state_dir=system_state), str(system_state)
    if not _is_state_dir(config.state_dir):
        raise ValueError(
            f"state directory {config.state_dir} (from {origin}) holds no Loa server state (no "
            f"{' or '.join(STATE_MARKERS)}; `loa serve` makes them): {HOW_TO_NAME} naming the server's"
        )
    return config


def _is_state_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in STATE_MARKERS)


def _time_zone(name: str, env: dict[str, str]) -> str:
    """The configured zone, checked (ValueError "config time_zone: ..."), or the machine's."""
    from engine.timefmt import machine_zone_name, zone

    if not name:
        return machine_zone_name(env)
    try:
        zone(name)
    except ValueError as exc:
        raise ValueError(f"config {exc}") from None
    return name


def _check_logging(config: Config) -> None:
    from streaming.logsetup import parse_format, parse_level

    for key, check in (("log_level", parse_level), ("log_format", parse_format)):
        try:
            check(getattr(config, key))
        except ValueError as exc:
            raise ValueError(f"config {key}: {exc}") from None
    if not 0 < config.log_repeat_s <= 86400:
        raise ValueError(f"config log_repeat_s: {config.log_repeat_s} not in (0, 86400] seconds")


def _check_keys(config: Config) -> None:
    from engine.api.keys import KeyLifetime

    KeyLifetime.from_config(config)  # ValueError naming the key


def _check_broker(config: Config) -> None:
    """The broker keys are checked even when the broker is off, so that turning it on cannot fail late."""
    if not 0 < config.broker_port < 65536:
        raise ValueError(f"config broker_port: {config.broker_port} not in 1..65535")
    if not config.broker_public_host or any(c in config.broker_public_host for c in "/: \t"):
        raise ValueError(f"config broker_public_host: {config.broker_public_host!r} is not a host name")
    if not 0 <= config.ahead_lead_s < 7 * 24 * 3600:
        raise ValueError(f"config ahead_lead_s: {config.ahead_lead_s} not in [0, 604800) seconds")
    if config.broker_prefix:
        from streaming.broker.topics import check_id

        try:
            check_id(config.broker_prefix, "prefix")
        except ValueError as exc:
            raise ValueError(f"config broker_prefix: {exc}") from None
