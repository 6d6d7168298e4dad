"""Inside a namespace: a normal stream, then an emergency stream on the emergency group over its middle.

Usage: python -m tests.streaming.scenario_priority OUTDIR SPEAKERS
Prints the two streams' SSRCs and start times as JSON; the speakers' WAVs and sidecars go to OUTDIR.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.priority import Priority
from tests.streaming.harness import speech_like, start_speakers, stop_speakers

NORMAL = ("239.4.0.1", 5004)
EMERGENCY = ("239.4.0.9", 5008)
NORMAL_SECONDS, EMERGENCY_AT, EMERGENCY_SECONDS = 4.0, 1.5, 1.2


def main() -> None:
    outdir, count = Path(sys.argv[1]), int(sys.argv[2])
    names = [f"spk{i}" for i in range(count)]
    groups = [
        "--group",
        f"{NORMAL[0]}:{NORMAL[1]}:normal:500",
        "--group",
        f"{EMERGENCY[0]}:{EMERGENCY[1]}:emergency:500",
    ]
    with PacedSender(feedback_bind=("127.0.0.1", 0)) as sender:
        speakers = start_speakers(names, outdir, groups)
        time.sleep(0.3)
        normal = sender.open_stream([Destination(*NORMAL)], priority=Priority.NORMAL)
        normal.feed(speech_like(NORMAL_SECONDS, seed=1))
        assert normal.start_time is not None
        # scheduled to start 1.5 s into the normal one, as the server would start an emergency bulletin
        emergency = sender.open_stream(
            [Destination(*EMERGENCY)],
            priority=Priority.EMERGENCY,
            start_time=normal.start_time + EMERGENCY_AT,
        )
        time.sleep(EMERGENCY_AT - 0.2)
        emergency.feed(speech_like(EMERGENCY_SECONDS, seed=2))
        emergency.finish()
        normal.finish()
        assert normal.wait(NORMAL_SECONDS + 3) and emergency.wait(3)
        time.sleep(0.8)
        stop_speakers(speakers)
    print(
        json.dumps(
            {
                "normal": [normal.ssrc, normal.start_time],
                "emergency": [emergency.ssrc, emergency.start_time],
                "emergency_samples": emergency.samples_fed,
            }
        )
    )


if __name__ == "__main__":
    main()
