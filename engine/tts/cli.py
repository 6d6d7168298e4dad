"""Subcommands: ``loa say`` (speak text to a file) and ``loa voices list | install | remove``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from engine.tts.limits import (
    DEFAULT_DIALECT,
    DEFAULT_SENTENCE_PAUSE_S,
    DIALECTS,
    SENTENCE_PAUSE_S,
    SPEED,
    Limit,
)


def _within(limit: Limit) -> Callable[[str], float]:
    """An argparse type: a number inside ``limit``, else argparse's usage error naming the range."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        problem = limit.problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    return number


def _voices_dir(args: argparse.Namespace) -> Path:
    from engine.tts.catalog import default_voices_dir

    return Path(args.voices_dir) if args.voices_dir else default_voices_dir()


def progress_line(
    done: int, total: int, sentence: int, sentences: int, audio_s: float, elapsed_s: float
) -> str:
    """One progress report of `loa say`: pieces done, the sentence reached, audio made, time taken."""
    return (f"loa say: piece {done}/{total}, sentence {sentence + 1}/{sentences}, {audio_s:.1f} s of audio "
            f"in {elapsed_s:.1f} s")  # fmt: skip


def _say(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from engine.tts.audio import OUTPUT_RATE
    from engine.tts.audiofile import write
    from engine.tts.synthesizer import SpeechRequest, Synthesizer
    from engine.tts.voices.registry import VoiceRegistry

    text = sys.stdin.read() if args.text == "-" else args.text
    output = Path(args.output)
    try:
        request = SpeechRequest(
            text,
            language=args.lang,
            dialect=args.dialect,
            voice_id=args.voice,
            speaker=args.speaker,
            speed=args.speed,
            sentence_pause_s=args.pause,
            chime=args.chime,
        )
        if output.suffix.lower() not in (".wav", ".ogg", ".opus"):
            raise ValueError(f"output: {output.name}: use a .wav, .ogg or .opus file name")
        voices = VoiceRegistry(_voices_dir(args))
        with Synthesizer(voices, workers=args.workers) as synth:
            voice = synth.prepare(args.lang, args.dialect, args.voice)  # load time is not speech time
            plan = request.plan().pieces
            sentences = max((p.sentence_index for p in plan), default=0) + 1
            tty = sys.stderr.isatty()
            show = args.progress or tty  # on stderr, never stdout: that may be piped elsewhere
            started = time.perf_counter()
            first = None
            pieces = []
            audio_s = 0.0
            for piece in synth.stream(request, pieces=plan):
                first = first if first is not None else time.perf_counter() - started
                pieces.append(piece)
                audio_s += piece.audio.size / piece.sample_rate
                if show:  # a terminal: one line rewritten in place; else a line per piece
                    line = progress_line(len(pieces), len(plan), piece.sentence_index, sentences, audio_s,
                                         time.perf_counter() - started)  # fmt: skip
                    print(f"\r{line}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
            if show and tty and pieces:
                print(file=sys.stderr)
            elapsed = time.perf_counter() - started
    except (ValueError, KeyError) as error:
        print(f"loa say: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    audio = np.concatenate([p.audio for p in pieces])
    write(output, audio)
    seconds = audio.size / OUTPUT_RATE
    print(
        f"voice {voice.info.id} ({voice.info.family}, {voice.info.quality}); wrote {output} ({seconds:.2f} s)"
    )
    print(f"time to first audio {first or 0:.3f} s; real-time factor {elapsed / max(seconds, 1e-9):.3f}")
    warnings = [w for p in pieces for w in p.warnings]
    for warning in dict.fromkeys(warnings):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from engine.tts.catalog import Catalog
    from engine.tts.installer import installed
    from engine.tts.voices.builtin import builtin_voices

    voices_dir = _voices_dir(args)
    here = {info.id: info for info, _ in installed(voices_dir)}
    rows = [("ID", "FAMILY", "LANG", "DIALECT", "RATE", "SPK", "QUALITY", "LICENCE", "STATUS")]
    for voice in builtin_voices():
        i = voice.info
        rows.append(
            (
                i.id,
                i.family,
                i.language,
                i.dialect or "-",
                str(i.sample_rate),
                "1",
                i.quality,
                i.licence,
                "built-in",
            )
        )
    for info in here.values():
        rows.append((info.id, info.family, info.language, info.dialect or "-", str(info.sample_rate),
                     str(max(1, len(info.speakers))), info.quality, info.licence, "installed"))  # fmt: skip
    for entry in Catalog.load().voices.values():
        if entry.id not in here:
            rows.append((entry.id, entry.family, entry.language, entry.dialect or "-", str(entry.sample_rate),
                         str(entry.speakers), entry.quality, entry.licence, "available"))  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\nvoices directory: {voices_dir}")
    return 0


def _install(args: argparse.Namespace) -> int:
    from engine.tts.installer import InstallError, install, progress_bar

    try:
        info = install(
            args.source,
            _voices_dir(args),
            force=args.force,
            progress=None if args.quiet else progress_bar,
            allow_unpinned=args.allow_unpinned,
        )
    except InstallError as error:
        print(f"loa voices install: {error}", file=sys.stderr)
        return 1
    print(
        f"installed {info.id} ({info.family}, {info.language}, licence {info.licence}) in {_voices_dir(args)}"
    )
    return 0


def _remove(args: argparse.Namespace) -> int:
    from engine.tts.installer import InstallError, remove

    try:
        remove(args.voice_id, _voices_dir(args))
    except InstallError as error:
        print(f"loa voices remove: {error}", file=sys.stderr)
        return 1
    print(f"removed {args.voice_id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    dir_help = "voices directory (default: $LOA_VOICES_DIR or ~/.local/share/loa/voices)"

    say = sub.add_parser(
        "say", help="speak text to a WAV or Ogg/Opus file", description="Speak text to a file."
    )
    say.add_argument("text", help="text to speak, or - to read standard input")
    say.add_argument("-o", "--output", default="say.wav", help="output file, .wav or .ogg (default: say.wav)")
    say.add_argument("--voice", help="voice id (default: the best installed voice for --lang)")
    say.add_argument("--lang", default="vi", help="language (default: vi)")
    say.add_argument(
        "--dialect",
        choices=DIALECTS,
        help=f"Vietnamese: how numbers are read and which voice reads them (default: {DEFAULT_DIALECT})",
    )
    say.add_argument("--speaker", help="speaker name or number, for multi-speaker voices")
    say.add_argument(
        "--speed", type=_within(SPEED), help=f"speaking rate in {SPEED}, 1 = normal, 1.2 = faster"
    )
    say.add_argument(
        "--pause",
        type=_within(SENTENCE_PAUSE_S),
        default=DEFAULT_SENTENCE_PAUSE_S,
        help=f"pause between sentences, {SENTENCE_PAUSE_S} (default: {DEFAULT_SENTENCE_PAUSE_S})",
    )
    say.add_argument("--chime", action="store_true", help="play a chime before the text")
    say.add_argument(
        "--progress",
        action="store_true",
        help="a line per piece on stderr (shown anyway, on one line, when stderr is a terminal)",
    )
    say.add_argument("--workers", type=int, help="synthesis threads (default: one per core)")
    say.add_argument("--voices-dir", help=dir_help)
    say.set_defaults(func=_say)

    voices = sub.add_parser("voices", help="list, install and remove voices", description="Manage voices.")
    vsub = voices.add_subparsers(dest="voices_command", required=True, metavar="ACTION")
    listing = vsub.add_parser("list", help="built-in, installed and catalog voices, with licences")
    listing.add_argument("--voices-dir", help=dir_help)
    listing.set_defaults(func=_list)
    inst = vsub.add_parser("install", help="install a voice from the catalog, a URL, a folder or an archive")
    inst.add_argument("source", help="catalog voice id, URL, folder, archive (.tar.gz, .zip) or .onnx file")
    inst.add_argument("--force", action="store_true", help="replace the voice if it is installed")
    inst.add_argument("--quiet", action="store_true", help="no progress bar")
    inst.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="download a catalog voice whose files the catalog has no SHA-256 for (unverifiable)",
    )
    inst.add_argument("--voices-dir", help=dir_help)
    inst.set_defaults(func=_install)
    rm = vsub.add_parser("remove", help="remove an installed voice")
    rm.add_argument("voice_id")
    rm.add_argument("--voices-dir", help=dir_help)
    rm.set_defaults(func=_remove)
