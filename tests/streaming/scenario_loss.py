"""Inside a namespace: one speaker hears the group directly, others through a lossy, jittery relay.

Usage: python -m tests.streaming.scenario_loss OUTDIR IMPAIRED SECONDS
The relay (seeded) drops 5% of RTP packets, delays each by 0-60 ms (30 ms mean, so they reorder) and
duplicates 1%. Prints the relay's counts and the sender's speaker table as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from tests.streaming.harness import Relay, speech_like, start_speakers, stop_speakers

DIRECT = ("239.5.0.1", 5004)
IMPAIRED = ("239.5.0.2", 5004)
FEEDBACK = 6200


def main() -> None:
    outdir, count, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    relay = Relay(DIRECT, IMPAIRED, loss=0.05, jitter=0.03, duplicate=0.01, seed=7).start()
    with PacedSender(feedback_bind=("127.0.0.1", FEEDBACK)) as sender:
        ref = start_speakers(["direct"], outdir, ["--group", f"{DIRECT[0]}:{DIRECT[1]}"])
        impaired = start_speakers(
            [f"lossy{i}" for i in range(count)],
            outdir,
            ["--group", f"{IMPAIRED[0]}:{IMPAIRED[1]}", "--feedback", f"127.0.0.1:{FEEDBACK}"],
        )
        time.sleep(0.3)
        stream = sender.open_stream([Destination(*DIRECT)])
        audio = speech_like(seconds, seed=5)
        for i in range(0, len(audio), 48_000):
            stream.feed(audio[i : i + 48_000])
            time.sleep(0.5)
        stream.finish()
        assert stream.wait(seconds + 5)
        time.sleep(1.2)  # > one report interval, so the last receiver reports arrive
        stop_speakers(ref + impaired)
        table = [dataclasses.asdict(r) for r in sender.speakers()]
    relay.stop()
    print(json.dumps({"dropped": relay.dropped, "duplicated": relay.duplicated, "speakers": table}))


if __name__ == "__main__":
    main()
