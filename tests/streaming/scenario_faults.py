"""Inside a namespace: a 16 s stream through a bad link — 5% loss, 30 ms jitter, 5% packets held back
45 ms more (reordered), 5% duplicated — that goes down entirely for 10 s in the middle.

Usage: python -m tests.streaming.scenario_faults OUTDIR
One speaker hears the group directly (the reference), two through the relay (seeded). Prints the relay's
counts and the RTP timestamps the outage swallowed as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from streaming.opus import OpusSettings
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from tests.streaming.harness import Relay, speech_like, start_speakers, stop_speakers

DIRECT = ("239.7.0.1", 5004)
IMPAIRED = ("239.7.0.2", 5004)
SECONDS = 16.0
OUTAGE = (3.0, 13.0)  # seconds into the stream


def main() -> None:
    outdir = Path(sys.argv[1])
    relay = Relay(DIRECT, IMPAIRED, loss=0.05, jitter=0.03, duplicate=0.05, reorder=0.05, seed=11)
    with PacedSender() as sender:
        speakers = start_speakers(["direct"], outdir, ["--group", f"{DIRECT[0]}:{DIRECT[1]}"])
        speakers += start_speakers(["far0", "far1"], outdir, ["--group", f"{IMPAIRED[0]}:{IMPAIRED[1]}"])
        relay.start()
        time.sleep(0.3)
        stream = sender.open_stream(
            [Destination(*DIRECT)], codec=OpusSettings(fec=True, expected_loss_percent=5)
        )
        stream.feed(speech_like(SECONDS, seed=8))
        assert stream.start_time is not None
        relay.outage = (stream.start_time - relay.t0 + OUTAGE[0], stream.start_time - relay.t0 + OUTAGE[1])
        stream.finish()
        assert stream.wait(SECONDS + 5)
        time.sleep(0.8)  # the last frame plays one playout delay (500 ms) after it was sent
        stop_speakers(speakers)
    relay.stop()
    counts = {k: getattr(relay, k) for k in ("dropped", "duplicated", "reordered", "forwarded")}
    print(json.dumps({"ssrc": stream.ssrc, **counts, "outage_timestamps": relay.outage_timestamps}))


if __name__ == "__main__":
    main()
