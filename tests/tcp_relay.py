"""A user-space TCP impairment relay: what netem would do to a 3G/4G link, on a kernel without netem.

It accepts on ``listen`` and forwards each connection to ``upstream``, both ways, and can
- ``delay``: hold every chunk for a fixed time in each direction (a slow radio path),
- ``stall()``: stop forwarding while keeping the connections open (bytes queue up, as in a radio fade),
- ``cut()``: reset every connection and refuse new ones (an outage: the cluster must reconnect),
- ``restore()``: back to normal.
Only for the test hosts inside a network namespace that the test made.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Pipe:
    src: socket.socket
    dst: socket.socket
    queue: deque[tuple[float, bytes]] = field(default_factory=deque)


class TcpRelay:
    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay
        self.accepted = 0
        self._server = socket.create_server(listen, reuse_port=False)
        self._server.setblocking(False)
        self.address: tuple[str, int] = self._server.getsockname()[:2]
        self._lock = threading.Lock()
        self._pipes: list[_Pipe] = []
        self._stalled = False
        self._down = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-relay", daemon=True)

    def start(self) -> TcpRelay:
        self._thread.start()
        return self

    def stall(self) -> None:
        self._stalled = True

    def cut(self) -> None:
        """Resets every open connection and refuses new ones until ``restore``."""
        with self._lock:
            self._down = True
            pipes, self._pipes = self._pipes, []
        for pipe in pipes:
            for sock in (pipe.src, pipe.dst):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.close()
                except OSError:
                    pass

    def restore(self) -> None:
        self._stalled = False
        self._down = False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.cut()
        self._server.close()

    def _accept(self) -> None:
        try:
            client, _ = self._server.accept()
        except OSError:
            return
        if self._down:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._pipes += [_Pipe(client, upstream), _Pipe(upstream, client)]
        self.accepted += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pipes = list(self._pipes)
            sel = selectors.DefaultSelector()
            sel.register(self._server, selectors.EVENT_READ, None)
            for pipe in pipes:
                with contextlib.suppress(ValueError, KeyError, OSError):
                    sel.register(pipe.src, selectors.EVENT_READ, pipe)
            events = sel.select(timeout=0.005)
            sel.close()
            now = time.monotonic()
            for key, _ in events:
                if key.data is None:
                    self._accept()
                    continue
                pipe = key.data
                try:
                    chunk = pipe.src.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._drop(pipe)
                    continue
                pipe.queue.append((now + self.delay, chunk))
            if not self._stalled:
                for pipe in pipes:
                    self._flush(pipe, now)

    def _flush(self, pipe: _Pipe, now: float) -> None:
        while pipe.queue and pipe.queue[0][0] <= now:
            due, chunk = pipe.queue[0]
            try:
                sent = pipe.dst.send(chunk)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(pipe)
                return
            if sent < len(chunk):
                pipe.queue[0] = (due, chunk[sent:])
                return
            pipe.queue.popleft()

    def _drop(self, pipe: _Pipe) -> None:
        with self._lock:
            pair = [p for p in self._pipes if {p.src, p.dst} == {pipe.src, pipe.dst}]
            self._pipes = [p for p in self._pipes if p not in pair]
        for sock in (pipe.src, pipe.dst):
            with contextlib.suppress(OSError):
                sock.close()
