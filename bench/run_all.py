"""`make bench`: every benchmark in turn, each in its own process so one's threads don't skew the next."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "bench.bench_text",
    "bench.bench_tts",
    "bench.bench_streaming",
    "bench.bench_api",
    "bench.reliability",
)


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n===== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
