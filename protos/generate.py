"""Regenerates the committed Python stubs from protos/loa/v1/*.proto.

The stubs are committed so that the installed package needs no code generator; tests/test_protos.py
regenerates them into a temporary folder and fails when the committed ones differ. The proto path is
taken from the repository root so that the stubs import each other as ``protos.loa.v1``.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)

    protos = sorted(str(p) for p in (ROOT / "protos" / "loa" / "v1").glob("*.proto"))
    include = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
