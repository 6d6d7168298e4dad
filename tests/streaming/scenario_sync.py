"""Inside a namespace: N speakers on one group record one stream; their WAVs and sidecars go to OUTDIR.

Usage: python -m tests.streaming.scenario_sync OUTDIR SPEAKERS SECONDS
$LOA_CLOCKS (optional JSON list, one entry per speaker from the first): [offset_ms, drift_ppm, sync], a
simulated clock for that speaker, synced with Loa's time sync (against the sender's feedback port) when
``sync`` is true. Speaker 0 serves its metrics on port 9464; the scenario scrapes them at the end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from tests.streaming.harness import speech_like, start_speakers, stop_speakers

GROUP = ("239.3.0.1", 5004)
FEEDBACK = 6100
METRICS = 9464


def main() -> None:
    outdir, count, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    clocks = json.loads(os.environ.get("LOA_CLOCKS", "[]"))
    names = [f"spk{i}" for i in range(count)]
    per: dict[str, list[str]] = {names[0]: ["--metrics-port", str(METRICS)]}
    for name, (offset_ms, drift_ppm, sync) in zip(names, clocks, strict=False):
        clock = ["--clock-offset-ms", str(offset_ms), "--clock-drift-ppm", str(drift_ppm)]
        per[name] = [*per.get(name, []), *clock]
        if sync:
            per[name] += ["--time-sync", f"127.0.0.1:{FEEDBACK}"]
    with PacedSender(feedback_bind=("127.0.0.1", FEEDBACK)) as sender:
        speakers = start_speakers(names, outdir, ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:500"], per)
        time.sleep(1.0 if clocks else 0.3)  # time sync converges in ~0.5 s (10 exchanges at 50 ms)
        stream = sender.open_stream([Destination(*GROUP)], codec=OpusSettings(complexity=5))
        audio = speech_like(seconds)
        step = 24_000
        for i in range(0, len(audio), step):  # fed half a second at a time, ahead of its media time
            stream.feed(audio[i : i + step])
            time.sleep(0.2)
        stream.finish()
        assert stream.wait(seconds + 5)
        time.sleep(0.8)  # the last frame plays 500 ms after it was sent
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        stop_speakers(speakers)
        reports = [dataclasses.asdict(r) for r in sender.speakers()]
    print(json.dumps({"ssrc": stream.ssrc, "speakers": reports, "metrics": metrics}))


if __name__ == "__main__":
    main()
