"""Inside a namespace: SRTP speakers against rogue senders, replays, and a key rotation mid-broadcast.

Usage: python -m tests.streaming.scenario_srtp OUTDIR

Three speakers join one group with a keys file holding the group's current key (MKI 2) and an expired old
one (MKI 1). Rogue senders on the same group send loud speech from ROGUE_START on: plain RTP (no key),
SRTP under a random key that claims MKI 2, and SRTP under the stolen old key (MKI 1, re-armed by the
thief). At GENUINE_START the real broadcast starts; its sender holds MKI 2 and MKI 3 (from ROTATE_AT s
into the stream). The speakers' keys file is rewritten with MKI 2 + 3 (MKI 1 gone) while the stream
runs; spk0 and spk1 get SIGHUP, spk2 notices the file change by itself. A capture socket records the
genuine stream; once it has ended, every captured datagram is replayed to the group. Prints JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.request
from pathlib import Path

from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.provisioning import dump_provisioning
from streaming.srtp import MasterKey
from tests.streaming.harness import speech_like, start_speakers, stop_speakers

GROUP = ("239.6.0.1", 5004)
FEEDBACK = 6300
METRICS = 9465
ROGUE_SECONDS = 6.0
GENUINE_START = 1.5  # after the rogues start
GENUINE_SECONDS = 4.0
ROTATE_AT = 2.0  # seconds into the genuine stream
REPROVISION_AT = 0.6


class Capture:
    """Records every datagram on the group (RTP and RTCP ports), as an eavesdropper would."""

    def __init__(self) -> None:
        self.datagrams: list[tuple[int, bytes]] = []  # (port offset, data)
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
                self.datagrams.append((offset, sock.recv(2048)))
            except TimeoutError:
                continue

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)

    def of(self, ssrc: int) -> list[tuple[int, bytes]]:
        """Its datagrams: RTP carries the SSRC at byte 8, RTCP at byte 4."""
        return [(o, d) for o, d in self.datagrams if struct.unpack_from("!I", d, 4 + 4 * (o == 0))[0] == ssrc]


def write_keys(path: Path, keys: list[MasterKey], group: tuple[str, int] = GROUP) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_provisioning({"village": keys}, {"village": f"{group[0]}:{group[1]}"}))
    os.replace(tmp, path)  # atomic, as `loa keys export` followed by a copy into place would be


def main() -> None:
    outdir = Path(sys.argv[1])
    now = time.time()
    old = MasterKey.generate(1, not_before=now - 7200, not_after=now - 3600)  # rotated out an hour ago
    current = MasterKey.generate(2, not_before=now - 600)
    keys_file = outdir / "keys.json"
    write_keys(keys_file, [old, current])
    names = ["spk0", "spk1", "spk2"]
    speakers = start_speakers(
        names,
        outdir,
        ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:300", "--keys", str(keys_file)],
        {"spk0": ["--metrics-port", str(METRICS)]},
    )
    capture = Capture()
    time.sleep(0.3)
    stolen = MasterKey(old.mki, old.key, old.salt)  # the thief drops the expiry from the copy
    forged = MasterKey(current.mki, os.urandom(16), os.urandom(12))
    with PacedSender() as rogue, PacedSender(feedback_bind=("127.0.0.1", FEEDBACK)) as sender:
        rogues = [
            rogue.open_stream([Destination(*GROUP)]),
            rogue.open_stream([Destination(*GROUP, keys=lambda: [forged])]),
            rogue.open_stream([Destination(*GROUP, keys=lambda: [stolen])]),
        ]
        for i, stream in enumerate(rogues):
            stream.feed(speech_like(ROGUE_SECONDS, seed=20 + i))
            stream.finish()
        time.sleep(GENUINE_START)
        start = time.time()
        rotated = MasterKey.generate(3, not_before=start + ROTATE_AT)
        ring = [current, rotated]
        genuine = sender.open_stream([Destination(*GROUP, keys=lambda: ring)])
        genuine.feed(speech_like(GENUINE_SECONDS, seed=5))
        genuine.finish()
        time.sleep(REPROVISION_AT)
        write_keys(keys_file, [current, rotated])
        for proc in speakers[:2]:
            proc.send_signal(signal.SIGHUP)
        assert genuine.wait(GENUINE_SECONDS + 5)
        for stream in rogues:
            assert stream.wait(ROGUE_SECONDS + 5)
        time.sleep(0.6)  # the last frames play 300 ms after they are sent
        capture.stop()
        recorded = capture.of(genuine.ssrc)
        replayer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        replayer.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        for offset, data in recorded:
            replayer.sendto(data, (GROUP[0], GROUP[1] + offset))
            time.sleep(0.004)
        time.sleep(1.5)  # > one receiver report interval after the replay
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        stop_speakers(speakers)
        table = [dataclasses.asdict(r) for r in sender.speakers()]
        rogue_rtcp = rogue.rtcp_sent
    rtp_mkis = [struct.unpack("!I", d[-4:])[0] for o, d in recorded if o == 0]
    print(
        json.dumps(
            {
                "genuine": genuine.ssrc,
                "rogues": [s.ssrc for s in rogues],
                "rogue_datagrams": [s.frames_sent for s in rogues],
                "rogue_rtcp": rogue_rtcp,
                "genuine_frames": genuine.frames_sent,
                "replayed": len(recorded),
                "replayed_rtp": len(rtp_mkis),
                "rtp_mkis": rtp_mkis,
                "speakers": table,
                "metrics": metrics,
            }
        )
    )


if __name__ == "__main__":
    main()
