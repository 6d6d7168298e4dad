"""docs/ROLES.md's per-RPC table is the code's: the role each RPC needs (auth.METHOD_ROLES) and whether it
is audited (auth.MUTATING), every RPC of the proto listed once."""

from __future__ import annotations

import re
from pathlib import Path

from engine.api.auth import METHOD_ROLES, MUTATING, required_role
from protos.loa.v1 import loa_pb2 as pb

DOC = Path(__file__).resolve().parents[2] / "docs" / "ROLES.md"
ROW = re.compile(r"^\| `loa\.v1\.(\w+/\w+)` \| (\w+) \| (yes|no) \|")


def documented() -> dict[str, tuple[str, bool]]:
    rows: dict[str, tuple[str, bool]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            method = f"/loa.v1.{match.group(1)}"
            assert method not in rows, f"{method} twice in docs/ROLES.md"
            rows[method] = (match.group(2), match.group(3) == "yes")
    return rows


def _role_name(method: str) -> str:
    role = required_role(method)
    return role.name.lower() if role is not None else "open"


def test_the_roles_doc_table_is_the_codes_table() -> None:
    doc = documented()
    for method in METHOD_ROLES:
        assert method in doc, f"{method} is in auth.METHOD_ROLES but not in docs/ROLES.md"
    # every documented RPC as the interceptor decides it: a method missing from the table needs admin
    code = {m: (_role_name(m), m in MUTATING) for m in doc}
    assert doc == code


def test_every_rpc_of_the_api_is_in_the_table() -> None:
    rpcs = {f"/{s.full_name}/{m.name}" for s in pb.DESCRIPTOR.services_by_name.values() for m in s.methods}
    assert rpcs == set(documented())
