"""Inside a namespace: N speakers on one group record one stream; their WAVs and sidecars go to OUTDIR.

Usage: python -m tests.streaming.scenario_sync OUTDIR SPEAKERS SECONDS [speaker args... -- per-speaker]
Speaker i gets ``--clock-offset-ms`` / ``--clock-drift-ppm`` from the optional JSON list in $LOA_CLOCKS
and, with any, ``--time-sync`` to the sender's feedback port.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from streaming.opus import OpusSettings
from streaming.sender import Destination, PacedSender
from tests.streaming.harness import speech_like, start_speakers, stop_speakers

GROUP = ("239.3.0.1", 5004)
FEEDBACK = 6100


def main() -> None:
    outdir, count, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    clocks = json.loads(os.environ.get("LOA_CLOCKS", "[]"))
    names = [f"spk{i}" for i in range(count)]
    per: dict[str, list[str]] = {}
    for name, (offset_ms, drift_ppm) in zip(names, clocks, strict=False):
        per[name] = [
            "--clock-offset-ms",
            str(offset_ms),
            "--clock-drift-ppm",
            str(drift_ppm),
            "--time-sync",
            f"127.0.0.1:{FEEDBACK}",
        ]
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
        stop_speakers(speakers)
        reports = [dataclass_dict(r) for r in sender.speakers()]
    print(json.dumps({"ssrc": stream.ssrc, "speakers": reports}))


def dataclass_dict(obj: object) -> dict[str, object]:
    import dataclasses

    return dataclasses.asdict(obj)  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
