"""HTTP(S) for the relay's decoder, opened here instead of by FFmpeg so the URL policy holds for every
connection FFmpeg makes through PyAV's ``io_open`` (the stream and its redirects; an HLS playlist is
only fetched here, to learn its type: FFmpeg's HLS demuxer then fetches it and its segments itself,
relay.py ``_open_hls``): each is checked (urls.py), connected to the very address that was checked (a
name cannot resolve to a public address for the check and an internal one for the connection), and can
be shut from another thread (:meth:`HttpOpener.close`), which ends a blocked read at once.

A read that gets nothing for ``stall_s`` raises :class:`SourceStalled`; a body faster than
``max_bytes_per_s`` (averaged over 5 s) raises :class:`SourceMalformed`: no station sends that.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from engine.live.urls import Resolver, UrlPolicy, check_host, check_url, system_resolver

MAX_REDIRECTS = 5
RATE_WINDOW_S = 5.0


# Content-Type → FFmpeg format, for the types stations send
FORMATS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
    "application/ogg": "ogg",
    "audio/ogg": "ogg",
    "application/vnd.apple.mpegurl": "hls",
    "application/x-mpegurl": "hls",
    "audio/mpegurl": "hls",
    "audio/x-mpegurl": "hls",
}


class SourceStalled(OSError):
    pass


class SourceMalformed(ValueError):
    pass


class SourceUnreachable(OSError):
    pass


class _Connection(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (the Host header still names the host)."""

    def __init__(self, host: str, port: int, address: str, timeout: float, tls: bool) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


class HttpBody:
    """A response body as the file-like object PyAV reads (read only: live streams do not seek)."""

    def __init__(
        self,
        conn: _Connection,
        response: http.client.HTTPResponse,
        max_bytes_per_s: float,
        forget: Callable[[HttpBody], None],
        watchdog: Callable[[], None] | None,
    ) -> None:
        self._conn = conn
        self._watchdog = watchdog
        self._forget = forget
        self.content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        self._response = response
        self._max_rate = max_bytes_per_s
        self._window_start = time.monotonic()
        self._window_bytes = 0

    def read(self, n: int) -> bytes:
        if self._watchdog is not None:
            self._watchdog()
        try:
            data = self._response.read1(n) if n > 0 else b""
        except TimeoutError as e:
            raise SourceStalled("no data") from e
        now = time.monotonic()
        self._window_bytes += len(data)
        if now - self._window_start >= RATE_WINDOW_S:
            rate = self._window_bytes / (now - self._window_start)
            if rate > self._max_rate:
                raise SourceMalformed(f"{rate * 8 / 1000:.0f} kb/s is more than a station sends")
            self._window_start, self._window_bytes = now, 0
        return data

    def shutdown(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._forget(self)
        self._response.close()
        self._conn.close()


class HttpOpener:
    """PyAV's ``io_open`` for one source: opens checked URLs, remembers them to shut on close()."""

    def __init__(
        self,
        policy: UrlPolicy,
        name: str,
        *,
        connect_timeout_s: float = 5.0,
        stall_s: float = 5.0,
        max_bytes_per_s: float = 256_000,
        resolve: Resolver = system_resolver,
        watchdog: Callable[[], None] | None = None,
    ) -> None:
        self.watchdog = watchdog  # called before each read: may raise to end the source (relay.py)
        self.policy = policy
        self.name = name
        self.connect_timeout_s = connect_timeout_s
        self.stall_s = stall_s
        self.max_bytes_per_s = max_bytes_per_s
        self.resolve = resolve
        self._open: list[HttpBody] = []
        self._first: tuple[str, HttpBody] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, url: str, flags: int, options: dict[str, str]) -> HttpBody:
        first, self._first = self._first, None
        if first is not None and first[0] == url:
            return first[1]
        if first is not None:
            first[1].close()
        return self.open(url)

    def preopen(self, url: str) -> str:
        """Opens ``url`` ahead of FFmpeg (whose first open then gets this body) and returns the FFmpeg
        format its Content-Type names ("" if none): a format named is a format not probed, and probing
        a live stream waits for tens of kilobytes."""
        body = self.open(url)
        self._first = (url, body)
        return FORMATS.get(body.content_type, "")

    def open(self, url: str) -> HttpBody:
        for _ in range(MAX_REDIRECTS + 1):
            parsed = check_url(url, self.policy, self.name, resolve=None)
            if parsed.scheme not in ("http", "https"):
                raise ValueError(f"{self.name}: {url!r} is not http(s)")
            try:
                addresses = check_host(parsed.host, parsed.port, self.policy, self.name, self.resolve)
            except OSError as e:
                raise SourceUnreachable(f"{parsed.host} does not resolve ({e})") from e
            conn = _Connection(
                parsed.host, parsed.port, addresses[0], self.connect_timeout_s, parsed.scheme == "https"
            )
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                conn.request("GET", path, headers={"User-Agent": "loa-relay", "Accept": "*/*"})
                response = conn.getresponse()
            except TimeoutError as e:
                conn.close()
                raise SourceUnreachable(f"{parsed.host}: no answer in {self.connect_timeout_s:g} s") from e
            except OSError as e:
                conn.close()
                raise SourceUnreachable(f"{parsed.host}: {e.strerror or e}") from e
            except http.client.HTTPException as e:
                conn.close()
                raise SourceMalformed(f"{parsed.host}: not HTTP ({type(e).__name__})") from e
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                conn.close()
                continue
            if response.status != 200:
                conn.close()
                raise SourceUnreachable(f"{parsed.host}: HTTP {response.status} {response.reason}")
            if conn.sock is not None:
                conn.sock.settimeout(self.stall_s)
            body = HttpBody(conn, response, self.max_bytes_per_s, self._forget, self.watchdog)
            with self._lock:
                if self._closed:
                    body.close()
                    raise SourceUnreachable("closed")
                self._open.append(body)
            return body
        raise SourceUnreachable(f"more than {MAX_REDIRECTS} redirects")

    def fetch(self, url: str, limit: int) -> bytes:
        """A small document (an SDP): at most ``limit`` bytes, else SourceMalformed."""
        body = self.open(url)
        try:
            data = b""
            while len(data) <= limit:
                part = body.read(limit + 1 - len(data))
                if not part:
                    return data
                data += part
            raise SourceMalformed(f"longer than {limit} bytes")
        finally:
            body.close()

    def discard_first(self) -> None:
        """Closes the body :meth:`preopen` kept (its URL is opened some other way)."""
        first, self._first = self._first, None
        if first is not None:
            first[1].close()

    def _forget(self, body: HttpBody) -> None:
        with self._lock:
            if body in self._open:
                self._open.remove(body)

    def close(self) -> None:
        """Shuts every connection opened so far: a read blocked in the decoder thread ends now."""
        with self._lock:
            self._closed = True
            bodies, self._open = self._open, []
        for body in bodies:
            body.shutdown()
