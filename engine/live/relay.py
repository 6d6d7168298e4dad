"""A station's stream relayed live: a :class:`~engine.live.feed.LiveFeed` (docs/LIVE.md).

A decoder thread opens the source with PyAV (FFmpeg's demuxers and decoders: Icecast/SHOUTcast MP3, AAC,
Ogg/Opus over HTTP(S) through http_io.py; HLS (the playlist checked, then FFmpeg's own HTTP); RTSP; RTP
described by an SDP at an http(s) URL ending in ``.sdp``), resamples to 48 kHz mono (PyAV's
AudioResampler), levels it (leveller.py) and writes it to a clocked buffer (clocked.py) that hands it
out at the wall clock's pace.

Faults: a source that cannot be reached, stalls (nothing for ``stall_s``), ends before the relay's end,
or sends what does not decode (or more channels, a higher rate or more bytes than a station sends) is
retried with backoff, alternating with the backup URLs; meanwhile the buffer plays filler or silence
and records the gap with the first fault's cause. A source that never comes up within
``start_timeout_s`` (or whose URLs are all refused by the policy) makes chunks() raise LiveSourceFailed.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import av
import numpy as np

from engine.live.clocked import ClockedBuffer, Filler
from engine.live.feed import Gap
from engine.live.http_io import HttpOpener, SourceMalformed, SourceStalled, SourceUnreachable
from engine.live.leveller import Leveller
from engine.live.urls import (
    MAX_SDP,
    Resolver,
    UrlPolicy,
    check_host,
    check_sdp,
    check_url,
    parse_url,
    system_resolver,
)

log = logging.getLogger(__name__)

RATE = 48_000
HEALTHY_AFTER_S = 10.0  # a source that played this long has its retry backoff reset
# FFmpeg's defaults read up to 5 MB and 5 s of a stream to learn its format: on a live stream that is
# seconds of waiting at each (re)connection; 64 KB and 1 s is plenty for one audio stream
PROBE = {"probesize": "65536", "analyzeduration": "1000000"}
# decoded audio is levelled and buffered in blocks of this many samples (100 ms): the leveller's cost
# is mostly per call (FFTs over its K-weighting history), so an MP3 frame at a time cost 2.5x the CPU
LEVEL_BLOCK = 4800
HLS_TARGET_S = 12.0  # an HLS source's buffer: a live playlist's segments are up to ~10 s


@dataclass(frozen=True)
class RelayLimits:
    """What no station sends: a source beyond these is refused as malformed."""

    max_channels: int = 8
    max_sample_rate: int = 192_000
    max_bytes_per_s: float = 256_000  # 2 Mb/s: 8x a 256 kb/s MP3
    max_bad_packets: int = 50  # packets that fail to decode in a row


@dataclass
class RelayOptions:
    # the clocked buffer's latency: absorbs a network's jitter and Ogg's pages (FFmpeg and many
    # encoders write one a second: a smaller target runs dry between pages)
    target_s: float = 1.5
    max_s: float = 4.0  # beyond this the oldest is dropped (Icecast's burst at connect)
    stall_s: float = 5.0  # nothing received this long: stalled, reconnect
    connect_timeout_s: float = 5.0
    start_timeout_s: float = 20.0  # never came up within this: LiveSourceFailed
    retry_base_s: float = 0.5
    retry_max_s: float = 8.0
    limits: RelayLimits = RelayLimits()


class SourceFault(Exception):
    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail


class Relay:
    """See the module docstring. chunks() is the airing's; close() may come from any thread."""

    def __init__(
        self,
        url: str,
        backup_urls: Sequence[str] = (),
        *,
        duration_s: float | None = None,
        end_time: float | None = None,
        policy: UrlPolicy | None = None,
        options: RelayOptions | None = None,
        filler: Filler | None = None,
        resolve: Resolver = system_resolver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if duration_s is None and end_time is None:
            raise ValueError("live: a relay needs a duration or an end time (a stream may never end)")
        if duration_s is not None and duration_s <= 0:
            raise ValueError(f"live.duration: {duration_s} is not positive")
        self.policy = policy or UrlPolicy()
        self.urls = [url, *backup_urls]
        self.names = ["live.url", *(f"live.backup_urls[{i}]" for i in range(len(backup_urls)))]
        for u, name in zip(self.urls, self.names, strict=True):
            check_url(u, self.policy, name, resolve=None)
        self.options = options or RelayOptions()
        self.resolve = resolve
        self.clock = clock
        self.buffer = ClockedBuffer(
            target_s=self.options.target_s,
            max_s=self.options.max_s,
            duration_s=duration_s,
            end_time=end_time,
            filler=filler,
            clock=clock,
        )
        self.attempts = 0
        self.faults: list[str] = []  # "cause: detail" of each failed attempt (the last few kept)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._opener: HttpOpener | None = None
        self._last_audio = time.monotonic()
        self._opened = False
        self._thread = threading.Thread(target=self._run, name=f"relay {parse_url(url).host}", daemon=True)
        self._thread.start()

    # -- LiveFeed ------------------------------------------------------------------------------------------

    def chunks(self) -> Iterator[np.ndarray]:
        try:
            yield from self.buffer.chunks()
        finally:
            if self.buffer.closed:
                self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self.buffer.close()
        with self._lock:
            if self._opener is not None:
                self._opener.close()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the decoder thread to end (after close()); True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def gaps(self) -> list[Gap]:
        return self.buffer.gaps

    @property
    def end_reason(self) -> str:
        return self.buffer.end_reason

    # -- the decoder thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        opts = self.options
        started_at = time.monotonic()
        index = 0
        backoff = opts.retry_base_s
        refused: set[int] = set()
        try:
            while not self._stop.is_set() and not self.buffer.closed:
                self.attempts += 1
                opened_at = time.monotonic()
                try:
                    self._relay_once(self.urls[index], self.names[index])
                    if self._stop.is_set() or self.buffer.closed:
                        return
                    raise SourceFault("ended early", "the stream ended")
                except ValueError as e:  # the policy refused this URL (after resolution): never retried
                    refused.add(index)
                    self._note("refused", str(e))
                    if len(refused) == len(self.urls):
                        self.buffer.fail(str(e))
                        return
                except SourceFault as e:
                    self._note(e.cause, e.detail)
                    self.buffer.fault(e.cause)
                if self._stop.is_set() or self.buffer.closed:
                    return
                if time.monotonic() - opened_at >= HEALTHY_AFTER_S:
                    backoff = opts.retry_base_s
                if not self.buffer.started and time.monotonic() - started_at >= opts.start_timeout_s:
                    last = self.faults[-1] if self.faults else "no audio"
                    self.buffer.fail(
                        f"live.url: the source did not come up in {opts.start_timeout_s:g} s "
                        f"({self.attempts} tries; last: {last})"
                    )
                    return
                index = self._next(index, refused)
                if self._stop.wait(backoff):
                    return
                backoff = min(opts.retry_max_s, backoff * 2)
        except Exception as e:  # a bug here must end the feed, not leave the airing waiting forever
            log.exception("relay %s failed", self.urls[0])
            self.buffer.fail(f"live.url: relay failed ({type(e).__name__}: {e})")

    def _next(self, index: int, refused: set[int]) -> int:
        for step in range(1, len(self.urls) + 1):
            candidate = (index + step) % len(self.urls)
            if candidate not in refused:
                return candidate
        return index

    def _note(self, cause: str, detail: str) -> None:
        log.info("relay %s: %s: %s", self.urls[0], cause, detail)
        self.faults = [*self.faults[-9:], f"{cause}: {detail}"]

    def _relay_once(self, url: str, name: str) -> None:
        """Relays one connection until it ends (returns) or fails (SourceFault)."""
        opts = self.options
        parsed = check_url(url, self.policy, name, resolve=None)
        opener = HttpOpener(
            self.policy,
            name,
            connect_timeout_s=opts.connect_timeout_s,
            stall_s=opts.stall_s,
            max_bytes_per_s=opts.limits.max_bytes_per_s,
            resolve=self.resolve,
            watchdog=self._watchdog,
        )
        self._opened = False
        self._last_audio = time.monotonic()  # while opening: when the open began
        with self._lock:
            if self._stop.is_set():
                return
            self._opener = opener
        container = None
        try:
            container = self._open(url, name, parsed.scheme, opener)
            self._opened = True
            self._last_audio = time.monotonic()
            self._pump(container)
        except (SourceStalled, TimeoutError) as e:
            raise SourceFault("stalled", f"nothing for {opts.stall_s:g} s") from e
        except SourceUnreachable as e:
            raise SourceFault("unreachable", str(e)) from e
        except SourceMalformed as e:
            raise SourceFault("malformed", str(e)) from e
        except av.error.ExitError as e:  # PyAV's own timeout (RTSP, RTP)
            raise SourceFault("stalled", f"nothing for {opts.stall_s:g} s") from e
        except (av.error.InvalidDataError, av.error.DecoderNotFoundError) as e:
            raise SourceFault("malformed", str(e)) from e
        except (av.error.FFmpegError, OSError) as e:
            if self._stop.is_set():
                return
            raise SourceFault("unreachable", str(e)) from e
        finally:
            with self._lock:
                self._opener = None
            opener.close()
            if container is not None:
                container.close()

    def _watchdog(self) -> None:
        """Before each read of an HTTP source: bytes that decode to no audio for stall_s are garbage
        (FFmpeg's MP3 demuxer, for one, skips garbage looking for a frame without ever returning)."""
        if self._stop.is_set():  # close() shut the socket: the read ends the stream
            return
        opts = self.options
        since = time.monotonic() - self._last_audio
        if not self._opened and since > opts.connect_timeout_s + opts.stall_s:
            raise SourceMalformed(f"no stream format recognized in {since:.0f} s of data")
        if self._opened and since > opts.stall_s:
            raise SourceMalformed(f"no audio decoded in {opts.stall_s:g} s of data")

    def _open(self, url: str, name: str, scheme: str, opener: HttpOpener) -> av.container.InputContainer:
        opts = self.options
        timeout = (opts.connect_timeout_s, opts.stall_s)
        if scheme in ("http", "https") and parse_url(url).url.lower().split("?")[0].endswith(".sdp"):
            sdp = opener.fetch(url, MAX_SDP)
            check_sdp(sdp.decode("utf-8", "replace"), self.policy, name)
            return av.open(
                io.BytesIO(sdp),
                "r",
                format="sdp",
                options={"protocol_whitelist": "rtp,udp", "reorder_queue_size": "64"},
                timeout=timeout,
            )
        if scheme in ("http", "https"):
            fmt = opener.preopen(url)
            if fmt == "hls" or url.lower().split("?")[0].endswith(".m3u8"):
                return self._open_hls(url, opener, timeout)
            return av.open(url, "r", format=fmt or None, io_open=opener, timeout=timeout, options=PROBE)
        parsed = parse_url(url, name)
        try:
            check_host(parsed.host, parsed.port, self.policy, name, self.resolve)
        except OSError as e:
            raise SourceUnreachable(f"{parsed.host} does not resolve ({e})") from e
        return av.open(url, "r", options={"rtsp_transport": "tcp"}, timeout=timeout)

    def _open_hls(
        self, url: str, opener: HttpOpener, timeout: tuple[float, float]
    ) -> av.container.InputContainer:
        """HLS through FFmpeg's own HTTP: its HLS demuxer aborts the process when its segments come
        through PyAV's io_open (PyAV 18.1). The playlist's URL was checked (and fetched) by the opener;
        the segments' hosts are not (docs/LIVE.md, limits). The buffer waits for more: a segment (2-10 s)
        arrives at once, so a smaller target runs dry between segments."""
        opener.discard_first()
        buffer = self.buffer
        if not buffer.started:
            buffer.target = max(buffer.target, round(HLS_TARGET_S * RATE))
            buffer.max = max(buffer.max, 2 * buffer.target)
            buffer.settle = max(buffer.settle, 2 * buffer.target)
        options = {**PROBE, "protocol_whitelist": "http,https,tcp,tls,crypto", "http_persistent": "0"}
        return av.open(url, "r", format="hls", timeout=timeout, options=options)

    def _pump(self, container: av.container.InputContainer) -> None:
        limits = self.options.limits
        if not container.streams.audio:
            raise SourceMalformed("no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        if ctx.channels > limits.max_channels:
            raise SourceMalformed(f"{ctx.channels} channels (at most {limits.max_channels})")
        if ctx.sample_rate > limits.max_sample_rate:
            raise SourceMalformed(f"{ctx.sample_rate} Hz (at most {limits.max_sample_rate})")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        leveller = Leveller()
        pending: list[np.ndarray] = []
        held = 0
        bad = 0
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad += 1
                if bad > limits.max_bad_packets:
                    raise SourceMalformed(f"{bad} packets in a row do not decode") from None
                continue
            bad = 0
            for frame in frames:
                if (
                    frame.sample_rate > limits.max_sample_rate
                    or len(frame.layout.channels) > limits.max_channels
                ):
                    raise SourceMalformed("a frame beyond the limits of rate or channels")
                self._last_audio = time.monotonic()
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    held += out.samples
                if held >= LEVEL_BLOCK:
                    pcm = leveller.process(np.concatenate(pending))
                    pending, held = [], 0
                    if pcm.size and not self.buffer.write(pcm):
                        return
        if not self._stop.is_set():  # the source ended: what is held goes out before the retry
            if pending:
                self.buffer.write(leveller.process(np.concatenate(pending)))
            self.buffer.write(leveller.flush())
