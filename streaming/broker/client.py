"""A thin wrapper on paho-mqtt 2.x for both ends of the broker link: MQTT 5 over TLS, reconnecting.

What it adds to paho: one network thread that reconnects with jittered exponential backoff (paho's own
backoff has no jitter, and ~4,000 clusters of a province dropped by one broker restart must not come back
in lock step), subscriptions restored on every reconnect (sessions start clean: media is QoS 0, and a
stale session is not worth the broker's memory), an ``on_connected`` hook (for the retained "online"
status), and counters. paho's ``publish`` is thread-safe; ours is too and never blocks on the network.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    username: str  # the cluster id for a cluster; the broker uses it as the client id too
    password: str | None
    ca_file: Path | None  # None: the system's trust store
    cert_file: Path | None = None  # client certificate, where the broker asks for one
    key_file: Path | None = None
    keepalive_s: int = 30  # carrier NAT often forgets an idle TCP mapping after 60-120 s
    backoff_min_s: float = 1.0
    # The cap bounds how long a cluster stays silent after its link is back: with 8 s a 10 s outage costs
    # at most 8 s more (tests/broker/test_faults.py; with 60 s it cost 8.6 s in one run and up to 16 s by
    # the arithmetic). Jitter, not the cap, spreads a province's reconnect storm (bench/bench_province.py).
    backoff_max_s: float = 8.0


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random) -> float:
    """Equal jitter: half the capped exponential for sure, the other half at random (never ~0)."""
    cap = min(high, low * 2 ** min(attempt, 30))
    return cap / 2 + rng.uniform(0, cap / 2)


class BrokerClient:
    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[str, bytes], None],
        *,
        will: Will | None = None,
        on_connected: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._on_message = on_message
        self._on_connected = on_connected
        self._rng = rng or random.Random()
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.connects = 0
        self.refusals = 0  # CONNACKs with a failure reason (bad credentials, revoked, ...)
        self.last_reason = ""  # of the last failure to connect or disconnection, for status and tests
        self.refusal_reason = ""  # of the last refused CONNACK, e.g. "Not authorized"
        self._mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.username,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        if settings.password is not None:
            self._mqtt.username_pw_set(settings.username, settings.password)
        else:
            self._mqtt.username_pw_set(settings.username)
        self._mqtt.tls_set(
            ca_certs=None if settings.ca_file is None else str(settings.ca_file),
            certfile=None if settings.cert_file is None else str(settings.cert_file),
            keyfile=None if settings.key_file is None else str(settings.key_file),
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
        if will is not None:
            self._mqtt.will_set(will.topic, will.payload, will.qos, will.retain)
        self._mqtt.on_connect = self._connected
        self._mqtt.on_disconnect = self._disconnected
        self._mqtt.on_message = self._message
        # paho writes to the socket from the *calling* thread when its own loop thread (loop_start) is not
        # running, which would race with our network thread on the TLS socket: the broker then drops the
        # connection (seen in bench/bench_broker.py at 1,000 publishes/s). With a socket-write callback
        # registered, paho only queues and wakes our loop, which does all the writing.
        self._mqtt.on_socket_register_write = lambda client, userdata, sock: None
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{settings.username}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnects cleanly: the broker then does not send the last will."""
        self._stop.set()
        self._mqtt.disconnect()
        self._thread.join(timeout)

    def subscribe(self, topic: str, qos: int = 0) -> None:
        with self._lock:
            self._subscriptions[topic] = qos
        if self.connected.is_set():
            self._mqtt.subscribe(topic, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        """Queues the message; False when not connected (a QoS 0 message is then simply lost)."""
        if not self.connected.is_set():
            return False
        info = self._mqtt.publish(topic, payload, qos, retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _run(self) -> None:
        attempt = 0
        s = self.settings
        while not self._stop.is_set():
            try:
                self._mqtt.connect(s.host, s.port, s.keepalive_s, clean_start=True)
            except (OSError, ValueError) as exc:
                self.last_reason = f"connect: {exc}"
                log.debug("broker %s:%d: %s", s.host, s.port, exc)
            else:
                while not self._stop.is_set():
                    if self._mqtt.loop(0.5) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        break
                if self.connected.is_set():
                    attempt = 0  # it worked until it broke: start the backoff again from the bottom
                self.connected.clear()
            if self._stop.is_set():
                break
            delay = backoff_delay(attempt, s.backoff_min_s, s.backoff_max_s, self._rng)
            attempt += 1
            self._stop.wait(delay)
        self._mqtt.loop(0.1)  # let a clean DISCONNECT out

    def _connected(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            self.refusals += 1
            self.last_reason = self.refusal_reason = str(reason)
            log.warning("broker refused %s: %s", self.settings.username, reason)
            return
        self.connects += 1
        with self._lock:
            topics = list(self._subscriptions.items())
        for topic, qos in topics:
            client.subscribe(topic, qos)
        self.connected.set()
        if self._on_connected is not None:
            self._on_connected()

    def _disconnected(
        self, client: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
    ) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.last_reason = str(reason)
            log.info("broker dropped %s: %s", self.settings.username, reason)

    def _message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._on_message(message.topic, bytes(message.payload))
