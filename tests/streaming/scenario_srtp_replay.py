"""Inside a namespace: an old SRTP broadcast, captured and replayed while a live one plays, to a speaker
that remembers the old stream and to one that restarted (and so forgot it).

Usage: python -m tests.streaming.scenario_srtp_replay OUTDIR

spk0 and spk1 join one SRTP group. Broadcast A plays and an eavesdropper captures every datagram of it
(RTP and SRTCP) with its arrival time. spk1 is then restarted (its WAV becomes spk1r). Broadcast B, the
live one, starts; REPLAY_AT s into it the capture of A is replayed with its original timing, under the
same, still valid, key. Prints JSON.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys

GROUP = ("239.6.0.2", 5004)
OLD_SECONDS = 1.5
LIVE_SECONDS = 2.5
REPLAY_AT = 0.4  # seconds into the live broadcast


class TimedCapture:
    """Every datagram on the group's RTP and RTCP ports: (arrival, port offset, data)."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[float, int, bytes]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._recv, args=(i,), daemon=True) for i in (0, 1)]
        for t in self._threads:
            t.start()

    def _recv(self, offset: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((GROUP[0], GROUP[1] + offset))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(GROUP[0]) + bytes(4))
        sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data = sock.recv(2048)
            except TimeoutError:
                continue
            self.datagrams.append((time.time(), offset, data))

    def stop(self) -> list[tuple[float, int, bytes]]:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        return sorted(self.datagrams, key=lambda d: d[0])


def replay(datagrams: list[tuple[float, int, bytes]]) -> None:
    """Re-sends the capture to the group, each datagram at its original spacing."""
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    shift = time.time() - datagrams[0][0]
    for arrival, offset, data in datagrams:
        time.sleep(max(0.0, arrival + shift - time.time()))
        out.sendto(data, (GROUP[0], GROUP[1] + offset))


def main() -> None:
    outdir = Path(sys.argv[1])
    key = MasterKey.generate(2, not_before=time.time() - 600)
    keys_file = outdir / "keys.json"
    write_keys(keys_file, [key], GROUP)
    args = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:300", "--keys", str(keys_file)]
    speakers = start_speakers(["spk0", "spk1"], outdir, args)
    capture = TimedCapture()
    time.sleep(0.3)
    with PacedSender() as sender:
        old = sender.open_stream([Destination(*GROUP, keys=lambda: [key])])
        old.feed(speech_like(OLD_SECONDS, seed=3))
        old.finish()
        assert old.wait(OLD_SECONDS + 5)
        time.sleep(0.5)  # its last frames play 300 ms after they were sent
        captured = capture.stop()
        stop_speakers(speakers[1:])  # spk1 restarts: it forgets every stream it has seen
        speakers[1:] = start_speakers(["spk1r"], outdir, args)
        time.sleep(0.3)
        live = sender.open_stream([Destination(*GROUP, keys=lambda: [key])])
        live.feed(speech_like(LIVE_SECONDS, seed=4))
        live.finish()
        time.sleep(REPLAY_AT)
        replay_started = time.time()
        replay(captured)
        replay_seconds = time.time() - replay_started
        assert live.wait(LIVE_SECONDS + 5)
        time.sleep(0.6)
        stop_speakers(speakers)
    ssrcs = [struct.unpack_from("!I", d, 8 if o == 0 else 4)[0] for _, o, d in captured]
    print(
        json.dumps(
            {
                "old": old.ssrc,
                "live": live.ssrc,
                "old_frames": old.frames_sent,
                "live_frames": live.frames_sent,
                "replayed_rtp": sum(o == 0 for _, o, _ in captured),
                "replayed_rtcp": sum(o == 1 for _, o, _ in captured),
                "captured_ssrcs": sorted(set(ssrcs)),
                "replay_seconds": replay_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
