"""Inside a namespace: key lifetimes against a replay with a spoofed clock, and a broadcast across a
rotation.

Usage: python -m tests.streaming.scenario_key_lifetime OUTDIR

The server's key store (real SQLite, engine/api/keys.py) runs with a LIFETIME-second key lifetime; an
exporter rewrites the speakers' keys file from it every EXPORT_EVERY s (as a cron ``loa keys export`` or
GetGroupKeys poll would). spk0-2 play a BROADCAST-second bulletin whose stream crosses a key switch while
an eavesdropper records it. Once the recording is older than the bound (lifetime + overlap), spk0-2
"lose power" and restart (spk0r-2r) with the keys file as exported now and their clock set back so that
it reads the recording's own time, and the recording is replayed with its original timing. A control
speaker (ctl) gets the same clock but the keys file as it was during the recording (a speaker never
re-provisioned): it shows what the replay does to a speaker that still holds the old keys. Prints JSON.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time
from pathlib import Path

from engine.api.keys import KeyLifetime, KeyStore
from engine.jobs.model import Group
from engine.jobs.store import Store
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.provisioning import dump_provisioning
from streaming.srtp import MasterKey
from tests.streaming.harness import speech_like, start_speakers, stop_speakers
from tests.streaming.scenario_srtp_replay import TimedCapture, replay

GROUP = ("239.6.0.2", 5004)  # scenario_srtp_replay's group: its capture and replay helpers use it
LIFETIME = KeyLifetime(lifetime_s=3.0, ahead_s=1.6, overlap_s=0.4)
EXPORT_EVERY = 0.2  # the speakers' keyring looks at the file every 1 s: a new key reaches them in 1.2 s
BROADCAST = 5.0
SWITCH_AFTER = 2.5  # the first key switch comes this long into the broadcast
RESTART_LEAD = 2.5  # seconds between starting the restarted speakers and the replay


class Exporter:
    """Rewrites the speakers' keys file from the key store whenever the exported keys change."""

    def __init__(self, keys: KeyStore, group: Group, path: Path) -> None:
        self.keys, self.group, self.path = keys, group, path
        self.seen: dict[int, MasterKey] = {}  # every key ever exported, by MKI
        self.writes = 0
        self._text = ""
        self._stop = threading.Event()
        self.export()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def export(self) -> None:
        text = self.keys.provisioning([self.group])
        for k in self.keys.keys(self.group.id):
            self.seen[k.mki] = k
        if text != self._text:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)
            self._text, self.writes = text, self.writes + 1

    def _run(self) -> None:
        while not self._stop.wait(EXPORT_EVERY):
            self.export()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def main() -> None:
    outdir = Path(sys.argv[1])
    store = Store(outdir / "loa.db")
    group = store.create_group(Group("village", multicast_address=GROUP[0], port=GROUP[1]), srtp=True)
    created = time.time()
    keys = KeyStore(store, lifetime=LIFETIME)
    keys_file = outdir / "keys.json"
    exporter = Exporter(keys, group, keys_file)
    group_arg = ["--group", f"{GROUP[0]}:{GROUP[1]}:normal:300"]
    speakers = start_speakers(["spk0", "spk1", "spk2"], outdir, [*group_arg, "--keys", str(keys_file)])
    capture = TimedCapture()
    # start so that the first switch (LIFETIME after the group's key was made) falls inside the broadcast
    time.sleep(max(0.3, created + LIFETIME.lifetime_s - SWITCH_AFTER - time.time()))
    with PacedSender() as sender:
        stream = sender.open_stream([Destination(*GROUP, keys=lambda: keys.keys("village"))])
        stream.feed(speech_like(BROADCAST, seed=7))
        stream.finish()
        assert stream.wait(BROADCAST + 5)
        time.sleep(0.5)  # its last frames play 300 ms after they were sent
    captured = capture.stop()
    stop_speakers(speakers)
    used = sorted({struct.unpack("!I", d[-4:])[0] for _, _, d in captured})
    stale = outdir / "stale-keys.json"  # the file as a speaker never re-provisioned since keeps it
    ring = [exporter.seen[m] for m in used]
    stale.write_text(dump_provisioning({"village": ring}, {"village": f"{GROUP[0]}:{GROUP[1]}"}))
    # wait until the recording's last packet is older than the bound, and export only once every key it
    # used has expired (a loaded machine stretches the broadcast into a key that ends after the bound)
    used_until = max(exporter.seen[m].not_after or 0.0 for m in used)
    replay_at = max(
        captured[-1][0] + LIFETIME.bound_s + 0.3, used_until + 0.1 + RESTART_LEAD, time.time() + RESTART_LEAD
    )
    time.sleep(max(0.0, replay_at - RESTART_LEAD - time.time()))
    exporter.export()
    fresh_mkis = [k["mki"] for k in json.loads(keys_file.read_text())["groups"][0]["keys"]]
    offset_ms = (captured[0][0] - replay_at) * 1000  # their clocks read the recording's time at replay
    spoofed = ["--clock-offset-ms", f"{offset_ms:.3f}"]
    restarted = start_speakers(
        ["spk0r", "spk1r", "spk2r", "ctl"],
        outdir,
        [*group_arg, *spoofed],
        {
            **{name: ["--keys", str(keys_file)] for name in ("spk0r", "spk1r", "spk2r")},
            "ctl": ["--keys", str(stale)],
        },
    )
    late = time.time() - replay_at
    time.sleep(max(0.0, replay_at - time.time()))
    replay_started = time.time()
    replay(captured)
    time.sleep(0.8)
    stop_speakers(restarted)
    exporter.stop()
    print(
        json.dumps(
            {
                "ssrc": stream.ssrc,
                "frames_sent": stream.frames_sent,
                "rtp_mkis": used,
                "captured": len(captured),
                "captured_rtp": sum(o == 0 for _, o, _ in captured),
                "capture_span": captured[-1][0] - captured[0][0],
                "replay_age_first": replay_started - captured[0][0],
                "replay_age_last": replay_started - captured[-1][0],
                "bound_s": LIFETIME.bound_s,
                "restart_late_s": late,
                "clock_offset_ms": offset_ms,
                "fresh_mkis": fresh_mkis,
                "exports": exporter.writes,
            }
        )
    )


if __name__ == "__main__":
    main()
