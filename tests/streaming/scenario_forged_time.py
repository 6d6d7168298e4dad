"""Inside a namespace: forged time-sync replies at RATE/s to each of two SRTP speakers.

Usage: python -m tests.streaming.scenario_forged_time OUTDIR

spk0 and spk1 (clocks +80 ms and -60 ms off, drifting) sync with the sender's feedback port over RTCP
(``--time-sync``, SRTCP under the group key) and play two SRTP broadcasts: BASELINE seconds in peace,
then ATTACKED seconds while an attacker on the link sniffs the speakers' time traffic (AF_PACKET) and
sends each speaker RATE replies a second from the sender's own address and port (raw IP, spoofed
source), round-robin: plain replies naming a clock SHIFT s ahead (t1 = the present, as a guess: the
real one is encrypted), SRTCP under a key of its own with the group's MKI, and replays of the genuine
sealed replies it captured. Prints JSON; the speakers' summaries are in OUTDIR.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from streaming import rtcp
from streaming.clock import ntp_from_wall
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey, SrtpSession
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys

GROUP = ("239.6.0.4", 5004)
FEEDBACK = 6320
RATE = 200  # forged replies a second, to each speaker
SHIFT = 0.3  # seconds: inside the 0.5 s jump bound, so only authentication keeps them out
BASELINE = 2.0
ATTACKED = 4.0


class Sniffer:
    """Sees the speakers' requests to the feedback port (their ports) and the sender's replies."""

    def __init__(self) -> None:
        self.ports: set[int] = set()
        self.replies: list[tuple[int, bytes]] = []  # (speaker port, genuine sealed reply)
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self._sock.recv(4096)
            except TimeoutError:
                continue
            if len(packet) < 28 or packet[9] != socket.IPPROTO_UDP:
                continue
            ihl = (packet[0] & 0x0F) * 4
            sport, dport = struct.unpack_from("!HH", packet, ihl)
            payload = packet[ihl + 8 :]
            if dport == FEEDBACK:
                self.ports.add(sport)
            elif sport == FEEDBACK and dport in self.ports and len(self.replies) < 1000:
                self.replies.append((dport, payload))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def spoofed(payload: bytes, dport: int) -> bytes:
    """An IPv4/UDP datagram from the sender's feedback port (127.0.0.1:FEEDBACK) to a speaker."""
    udp = struct.pack("!HHHH", FEEDBACK, dport, 8 + len(payload), 0) + payload
    lo = socket.inet_aton("127.0.0.1")
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0, lo, lo) + udp


class Forger:
    def __init__(self, sniffer: Sniffer, mki: int) -> None:
        self.sniffer = sniffer
        self.own = SrtpSession([MasterKey(mki, os.urandom(16), os.urandom(12))])
        self.sent = {"plain": 0, "own_key": 0, "replayed": 0}
        self._stop = threading.Event()
        self._raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Forger:
        self._thread.start()
        return self

    def _forged(self, kind: str, port: int, n: int) -> bytes:
        now = time.time()
        reply = rtcp.serialize(
            rtcp.time_reply(
                0, ntp_from_wall(now - 0.001), ntp_from_wall(now + SHIFT), ntp_from_wall(now + SHIFT)
            )
        )
        if kind == "plain":
            return reply
        if kind == "own_key":
            return self.own.protect_rtcp(reply)
        genuine = [d for p, d in self.sniffer.replies if p == port] or [reply]
        return genuine[n % len(genuine)]

    def _run(self) -> None:
        kinds = ("plain", "own_key", "replayed")
        n = 0
        next_at = time.time()
        while not self._stop.is_set():
            for port in sorted(self.sniffer.ports):
                kind = kinds[n % 3]
                self._raw.sendto(spoofed(self._forged(kind, port, n), port), ("127.0.0.1", 0))
                self.sent[kind] += 1
            n += 1
            next_at += 1 / RATE
            time.sleep(max(0.0, next_at - time.time()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def broadcast(sender: PacedSender, key: MasterKey, seconds: float, seed: int) -> tuple[int, int]:
    stream = sender.open_stream([Destination(*GROUP, keys=lambda: [key])], groups=["village"])
    stream.feed(speech_like(seconds, seed=seed))
    stream.finish()
    assert stream.wait(seconds + 5)
    time.sleep(0.5)
    return stream.ssrc, stream.frames_sent


def main() -> None:
    outdir = Path(sys.argv[1])
    key = MasterKey.generate(2, not_before=time.time() - 60)
    keys_file = outdir / "keys.json"
    write_keys(keys_file, [key], GROUP)
    sniffer = Sniffer()
    args = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:300", "--keys", str(keys_file)]
    args += ["--time-sync", f"127.0.0.1:{FEEDBACK}"]
    per = {
        "spk0": ["--clock-offset-ms", "80", "--clock-drift-ppm", "50"],
        "spk1": ["--clock-offset-ms", "-60", "--clock-drift-ppm", "-50"],
    }
    with PacedSender(feedback_bind=("127.0.0.1", FEEDBACK)) as sender:
        # as loa serve does: every keyed group can be asked for the time before its first stream
        sender.feedback.auth.directory = lambda: {"village": lambda: [key]}
        speakers = start_speakers(["spk0", "spk1"], outdir, args, per)
        time.sleep(1.0)  # time sync converges in ~0.5 s
        baseline = broadcast(sender, key, BASELINE, 11)
        forger = Forger(sniffer, key.mki).start()
        attack_started = time.time()
        attacked = broadcast(sender, key, ATTACKED, 12)
        forger.stop()
        attack_seconds = time.time() - attack_started
        stop_speakers(speakers)
    sniffer.stop()
    print(
        json.dumps(
            {
                "baseline": baseline,
                "attacked": attacked,
                "forged": forger.sent,
                "attack_seconds": attack_seconds,
                "speaker_ports": sorted(sniffer.ports),
                "genuine_replies_seen": len(sniffer.replies),
            }
        )
    )


if __name__ == "__main__":
    main()
