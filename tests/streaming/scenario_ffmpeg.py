"""Inside a namespace: ffmpeg, given our SDP, receives our multicast stream; OUTDIR gets its WAV and ours.

Usage: python -m tests.streaming.scenario_ffmpeg OUTDIR SECONDS
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

from streaming.opus import OpusDecoder, OpusSettings, encode_pcm
from streaming.pacer import PacedSender
from streaming.packetizer import Destination
from streaming.sdp import GroupSpec, build_sdp
from tests.streaming.harness import speech_like

GROUP = GroupSpec("239.6.0.1", 5004)


def main() -> None:
    outdir, seconds = Path(sys.argv[1]), float(sys.argv[2])
    codec = OpusSettings()
    sdp = outdir / "stream.sdp"
    sdp.write_text(build_sdp(GROUP, codec, ttl=1, origin="127.0.0.1"))
    ffmpeg = subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            "file,udp,rtp",
            "-i",
            str(sdp),
            "-af",
            "aresample=async=1",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-c:a",
            "pcm_f32le",
            "-y",
            str(outdir / "ffmpeg.wav"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # ffmpeg opens the SDP and joins the group
    audio = speech_like(seconds, seed=3)
    with PacedSender(feedback_bind=("127.0.0.1", 0)) as sender:
        stream = sender.open_stream([Destination(GROUP.address, GROUP.port, ttl=1)], codec=codec)
        stream.feed(audio)
        stream.finish()
        assert stream.wait(seconds + 5)
    try:
        _, err = ffmpeg.communicate(timeout=10)  # ffmpeg stops at our BYE
    except subprocess.TimeoutExpired:
        ffmpeg.terminate()
        _, err = ffmpeg.communicate(timeout=5)
    decoder = OpusDecoder()
    ours = np.concatenate([decoder.decode(p) for p in encode_pcm(audio, codec)])
    soundfile.write(str(outdir / "ours.wav"), ours, 48_000, subtype="FLOAT")
    soundfile.write(str(outdir / "source.wav"), audio, 48_000, subtype="FLOAT")
    print(f"ffmpeg exit {ffmpeg.returncode} {err.strip()}")


if __name__ == "__main__":
    main()
