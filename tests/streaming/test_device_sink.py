"""`loa speaker --sink device` through PortAudio into a real ALSA PCM, next to a WAV-sink speaker.

This machine has no sound card and no snd-aloop (no modprobe, no /dev/snd), so the device is ALSA's own
``null`` PCM behind its ``file`` plugin, declared in a private ~/.asoundrc (PortAudio lists neither
"null" by that name nor any card here). The file plugin keeps every sample PortAudio handed to ALSA, so
the test hears what the "loudspeaker" played: the same samples as the WAV speaker. The null PCM consumes
instantly, so the pace is the speaker's own (each block handed over one buffer ahead of its time), and
PortAudio reports no underflow; both come from the sink's closing log line (docs/LOGGING.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.api import convert
from engine.netns import enter_command
from protos.loa.v1 import loa_pb2 as pb
from streaming.sinks import open_sink
from tests.api.harness import Server, group, watch

sounddevice = pytest.importorskip("sounddevice", exc_type=ImportError)  # the speaker extra (dev has it)

ASOUNDRC = """
pcm.loa_null {{ type null }}
pcm.loa_file {{
    type file
    slave.pcm "loa_null"
    file "{raw}"
    format "raw"
}}
"""


def test_missing_sounddevice_names_the_speaker_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # what `import sounddevice` meets when absent
    with pytest.raises(ValueError, match=r"loa\[speaker\].*libportaudio2"):
        open_sink("device")


@pytest.mark.netns
def test_device_sink_plays_a_broadcast_into_alsa_at_real_time_pace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    raw = tmp_path / "device.f32"
    (home / ".asoundrc").write_text(ASOUNDRC.format(raw=raw))
    (tmp_path / "server").mkdir()
    server = Server(tmp_path / "server").start()
    try:
        client = server.client()
        created = group("dev", "239.192.71.1", playout_delay=convert.duration(0.3))
        client.groups.CreateGroup(pb.CreateGroupRequest(group=created), metadata=client.metadata)
        keys = client.groups.GetGroupKeys(pb.GetGroupKeysRequest(), metadata=client.metadata)
        key_file = tmp_path / "keys.json"
        key_file.write_text(keys.provisioning_file)
        wav_speaker = server.speaker("wav", ["239.192.71.1:5004:normal:300"])
        assert server.proc is not None
        argv = [sys.executable, "-m", "streaming", "speaker", "--name", "device", "--group"]
        argv += ["239.192.71.1:5004:normal:300", "--keys", str(key_file), "--sink", "device:loa_file"]
        device = subprocess.Popen(
            enter_command(server.proc.pid, [*argv, "--log-format", "json"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": str(home)},
        )
        assert device.stdout is not None
        ready = device.stdout.readline()
        assert ready.startswith("{"), device.stderr.read() if device.stderr else ""
        broadcast = client.broadcasts.CreateBroadcast(
            pb.CreateBroadcastRequest(
                group_ids=["dev"], segments=[pb.Segment(language="vi", text="Thông báo: ngày 2/9 nghỉ lễ.")]
            ),
            metadata=client.metadata,
        )
        assert watch(client, broadcast.id)[-1].type == pb.EVENT_TYPE_FINISHED
        time.sleep(0.6)  # the last frames play one playout delay after they are sent
        device.terminate()
        _, err = device.communicate(timeout=20)
        assert device.returncode == 0, err
        wav_speaker.stop()
        recorded, meta = wav_speaker.recording()
    finally:
        server.stop()

    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    (opened,) = [x for x in lines if x["event"] == "speaker.device_opened"]
    assert opened["device"] == "loa_file"
    (closed,) = [x for x in lines if x["event"] == "speaker.device_closed"]
    assert closed["underflows"] == 0
    assert abs(closed["pace"] - 1.0) < 0.01, closed  # 20 ms blocks, handed over in real time
    played = np.frombuffer(raw.read_bytes(), dtype="<f4")
    assert len(played) == closed["blocks"] * 960
    # what reached ALSA is what the WAV speaker recorded, sample for sample, from the first sound on
    on_device = int(np.flatnonzero(np.abs(played) > 0.02)[0])
    in_wav = int(np.flatnonzero(np.abs(recorded) > 0.02)[0])
    length = min(len(played) - on_device, len(recorded) - in_wav)
    assert length > 48_000
    a, b = played[on_device : on_device + length], recorded[in_wav : in_wav + length]
    # Sample for sample, but for the odd 20 ms block that one of the two speakers slewed by a sample to
    # stay in sync or concealed under load (measured: 2.4% of samples in one loaded run, 0 when idle).
    assert np.mean(a == b) > 0.95, f"{np.mean(a == b):.3f} of the samples identical"
    assert meta["underruns"] == 0
