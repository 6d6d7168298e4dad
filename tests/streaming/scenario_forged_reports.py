"""Inside a namespace: forged receiver reports against the sender's speaker table.

Usage: python -m tests.streaming.scenario_forged_reports OUTDIR

Two real speakers play an SRTP broadcast and report as SRTCP under the group key. An attacker on the LAN
reads the stream's SSRC off any RTP header and sends the sender's feedback port, RATE times a second
each, (a) plain RR + SDES + LOAR compounds from three invented speakers ("ghost0-2") naming that SSRC,
claiming no loss and playing, and (b) the same compounds as SRTCP under a key of its own with the
group's MKI. Prints JSON: the sender's speaker table, its report rejections and its /metrics text.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from streaming import rtcp
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.srtp import MasterKey, SrtpSession
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp import write_keys

GROUP = ("239.6.0.3", 5004)
FEEDBACK = 6310
SECONDS = 3.0
RATE = 50  # forged compounds a second, of each kind


def forged_compound(reporter: int, media_ssrc: int, name: str) -> bytes:
    block = rtcp.ReportBlock(media_ssrc, 0, 0, 100, 0, 0, 0)
    status = rtcp.SpeakerStatus(reporter, media_ssrc, 100, 0, 0, 1, 0)
    return rtcp.serialize_compound(
        [
            rtcp.ReceiverReport(reporter, [block]),
            rtcp.SourceDescription([(reporter, {rtcp.SDES_CNAME: name.encode()})]),
            status.to_app(),
        ]
    )


class Forger:
    def __init__(self, target: tuple[str, int], media_ssrc: int, mki: int) -> None:
        self.target, self.media_ssrc = target, media_ssrc
        self.own_key = SrtpSession([MasterKey(mki, os.urandom(16), os.urandom(12))])
        self.plain_sent = self.srtcp_sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not self._stop.wait(1 / RATE):
            for i in range(3):
                data = forged_compound(0xBAD0 + i, self.media_ssrc, f"ghost{i}")
                sock.sendto(data, self.target)
                sock.sendto(self.own_key.protect_rtcp(data), self.target)
            self.plain_sent += 3
            self.srtcp_sent += 3

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def main() -> None:
    outdir = Path(sys.argv[1])
    key = MasterKey.generate(2, not_before=time.time() - 60)
    keys_file = outdir / "keys.json"
    write_keys(keys_file, [key], GROUP)
    args = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:300", "--keys", str(keys_file)]
    speakers = start_speakers(["spk0", "spk1"], outdir, args)
    registry = CollectorRegistry()
    with PacedSender(registry=registry, feedback_bind=("127.0.0.1", FEEDBACK)) as sender:
        stream = sender.open_stream([Destination(*GROUP, keys=lambda: [key])], groups=["village"])
        stream.feed(speech_like(SECONDS, seed=9))
        stream.finish()
        forger = Forger(("127.0.0.1", FEEDBACK), stream.ssrc, key.mki)
        assert stream.wait(SECONDS + 5)
        time.sleep(1.5)  # > one report interval after the end
        forger.stop()
        table = [dataclasses.asdict(r) for r in sender.speakers()]
        rejections = sender.report_rejections()
        metrics = generate_latest(registry).decode()
        stop_speakers(speakers)
    print(
        json.dumps(
            {
                "ssrc": stream.ssrc,
                "speakers": table,
                "rejections": rejections,
                "plain_forged": forger.plain_sent,
                "srtcp_forged": forger.srtcp_sent,
                "metrics": metrics,
            }
        )
    )


if __name__ == "__main__":
    main()
