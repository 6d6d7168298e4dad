"""Reliability figures: the bad-input corpus, the load ramp, the kill -9 loop; written to docs/RELIABILITY.md.

`python -m bench.reliability [--rounds N] [--levels 2,4,...] [--no-write]`. Each part runs a real
`loa serve` in a private network namespace (tests/reliability/harness.py), so it needs `unshare --net`
(root or user namespaces). The figures replace the block between the markers in docs/RELIABILITY.md,
with the date and the machine; the prose around them is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc

from protos.loa.v1 import loa_pb2 as pb

DOC = Path(__file__).resolve().parent.parent / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- figures: written by python -m bench.reliability -->", "<!-- /figures -->"
LIMITS = {
    "LOA_MAX_SYNTHESIS_CALLS": "4",
    "LOA_MAX_WATCH_CALLS": "4",
    "LOA_MAX_QUEUED_NORMAL": "50",
    "LOA_MAX_QUEUED_HIGH": "20",
    "LOA_RETRY_AFTER_MS": "500",
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}, grpcio {grpc.__version__}; load average {load:.1f} at the start"
    )


def run_corpus(home: Path) -> list[str]:
    from tests.reliability import corpus
    from tests.reliability.harness import Loa

    loa = Loa(home, home / "state", auth=True).start()
    try:
        with loa.client() as admin:
            ctx = corpus.prepare(loa.state, admin)
        started = time.monotonic()
        with grpc.insecure_channel(loa.address) as channel:
            results = [corpus.run(channel, ctx, case) for case in corpus.CASES]
        seconds = time.monotonic() - started
        alive = loa.alive()
    finally:
        loa.stop()
    passed = sum(r.passed for r in results)
    by_code: dict[str, int] = {}
    for r in results:
        by_code[r.case.code.name] = by_code.get(r.case.code.name, 0) + 1
    lines = [
        "### Bad input",
        "",
        f"{len(results)} malformed requests over real gRPC to an auth-enabled server,"
        f" {len({r.case.method for r in results})} methods, in {seconds:.1f} s: **{passed} / {len(results)}**"
        " got the expected status with a message naming the field, and after each one the server"
        " answered grpc.health SERVING and served a good request. Server alive at the end:"
        f" {'yes' if alive else 'NO'}.",
        "",
        "| expected status | cases |",
        "|---|---|",
        *(f"| {code} | {n} |" for code, n in sorted(by_code.items(), key=lambda kv: -kv[1])),
    ]
    failed = [r.describe() for r in results if not r.passed]
    if failed:
        lines += ["", "Failed:", "", *(f"- {f}" for f in failed)]
    print("\n".join(lines), flush=True)
    return lines


def run_load(home: Path, levels: tuple[int, ...]) -> list[str]:
    from tests.reliability import load
    from tests.reliability.harness import Loa

    loa = Loa(home, home / "state", env=LIMITS).start()
    try:
        with loa.client() as client:
            load.setup(client)
        report = load.ramp(loa, levels=levels, calls_per_client=3, emergencies=3)
        with loa.client() as client:
            load.drain(client)
            after = list(
                client.synthesis.StreamSynthesize(
                    pb.SynthesizeRequest(text=load.TEXT), metadata=client.metadata, timeout=60
                )
            )[-1].last
    finally:
        loa.stop()
    rows = []
    for lv in report.levels:
        other = sum(n for k, n in lv.codes.items() if not k.endswith((" OK", " RESOURCE_EXHAUSTED")))
        hint = statistics.median(lv.hints_ms) if lv.hints_ms else 0
        cells = [
            lv.clients,
            sum(lv.codes.values()),
            f"{lv.count('StreamSynthesize', 'OK')} / {lv.count('StreamSynthesize')}",
            f"{lv.count('CreateBroadcast', 'OK')} / {lv.count('CreateBroadcast')}",
            lv.count("", "RESOURCE_EXHAUSTED"),
            lv.unhinted,
            f"{hint:.0f}",
            other,
            f"{lv.seconds:.1f}",
        ]
        rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    limits = ", ".join(f"{k.removeprefix('LOA_').lower()}={v}" for k, v in LIMITS.items())
    lines = [
        "### Load",
        "",
        f"Ramp of concurrent callers, each making 3 StreamSynthesize (distinct texts, no cache hits) and 3"
        f" CreateBroadcast (NORMAL, one group) calls back to back; limits {limits}.",
        "",
        "| callers | calls | streams OK / sent | broadcasts OK / sent | RESOURCE_EXHAUSTED"
        " | of them without hint | median retry-after-ms | other errors | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- Server memory (RSS): {report.base_rss / 2**20:.0f} MiB before, peak {report.peak_rss / 2**20:.0f}"
        f" MiB during the ramp (+{(report.peak_rss - report.base_rss) / 2**20:.0f} MiB).",
        f"- EMERGENCY broadcasts sent at the top of the ramp: {report.emergencies_sent}, admitted:"
        f" {report.emergencies_admitted} ({dict(report.emergency_codes)}).",
        "- After the load (backlog cancelled): a StreamSynthesize ran to its last chunk:"
        f" {'yes' if after else 'NO'}.",
    ]
    print("\n".join(lines), flush=True)
    return lines


def run_crash(home: Path, rounds: int) -> list[str]:
    from tests.reliability import crash
    from tests.reliability.harness import Loa

    loa = Loa(home, home / "state", env={"LOA_MAX_QUEUED_NORMAL": "1000000"}).start()
    started = time.monotonic()
    try:
        report = crash.kill_loop(loa, rounds)
    finally:
        loa.stop()
    seconds = time.monotonic() - started
    cut = sum(r.cut for r in report.rounds)
    recorded = sum(r.interrupted_at is not None for r in report.rounds)
    resumed = sum(r.resumed for r in report.rounds)
    aired = [r.aired_s for r in report.rounds]
    lines = [
        "### Process faults (kill -9)",
        "",
        f"{rounds} rounds in {seconds:.0f} s: each kills the server (SIGKILL) while a bulletin is on air and"
        " a client sends CreateBroadcast requests back to back, restarts it on the same state directory,"
        " checks every broadcast acknowledged so far, and sends again, unchanged, the requests the kill cut.",
        "",
        "| faults survived | acknowledged | cut by the kill (sent again) | **lost** | stored twice |"
        " interruption recorded | aired on after restart |",
        "|---|---|---|---|---|---|---|",
        f"| {len(report.rounds)} | {report.acknowledged} | {cut} | **{report.lost}** | {report.duplicated} |"
        f" {recorded} / {rounds} | {resumed} / {rounds} |",
        "",
        f"The interrupted bulletin had aired {aired[-1]:.1f} s in all when the last kill cut it; each cut is"
        " recorded with its airing, segment and sentence, and it resumes from that sentence."
        if aired
        else "",
    ]
    print("\n".join(lines), flush=True)
    return lines


def write(sections: list[list[str]]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [BEGIN, "", f"Measured {stamp} on {machine()}.", ""]
    for section in sections:
        block += [*section, ""]
    block.append(END)
    text = DOC.read_text() if DOC.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(block) + tail)
    print(f"wrote {DOC}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="kill -9 rounds (make test runs 6)")
    parser.add_argument("--levels", default="2,4,8,16,32,64", help="concurrent callers per ramp step")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    from tests import netns

    if not netns.available():
        print("bench.reliability: cannot create a private network namespace (unshare --net)", file=sys.stderr)
        return 2
    levels = tuple(int(x) for x in args.levels.split(","))
    with tempfile.TemporaryDirectory(prefix="loa-reliability-") as tmp:
        home = Path(tmp)
        sections = [
            run_corpus(home / "corpus"),
            run_load(home / "load", levels),
            run_crash(home / "crash", args.rounds),
        ]
    if not args.no_write:
        write(sections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
