"""The speakers' key file: the JSON document that carries groups' SRTP master keys (read, write, parse).

The server keeps its groups' keys in it and exports speakers' files in it (engine/api/keys.py); a
speaker reads it (keyring.py). Times are RFC 3339 (Unix seconds are accepted on input); keys and salts
are hex. The file holds secrets: write it with mode 0600.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streaming.group import GroupAddress
from streaming.srtp import KEY_LEN, SALT_LEN, MasterKey

PROVISIONING_VERSION = 1


def _time_text(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _time_value(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{where}: {value!r} has no time zone (add Z for UTC)")
        return parsed.timestamp()
    raise ValueError(f"{where}: expected an RFC 3339 time or Unix seconds")


def _hex_value(where: str, value: Any, length: int) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != length:
        raise ValueError(f"{where}: expected {2 * length} hex digits")
    return raw


def parse_provisioning(text: str) -> dict[str, list[MasterKey]]:
    """Keys by group id from a provisioning document:

    {"version": 1, "groups": [{"group": "ap-phu-hoa", "keys": [{"mki": 2, "key": "<32 hex>",
      "salt": "<24 hex>", "not_before": "2026-11-26T08:00:00Z", "not_after": null}]}]}
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"provisioning: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("version") != PROVISIONING_VERSION:
        raise ValueError(f"version: expected {PROVISIONING_VERSION}")
    groups = doc.get("groups")
    if not isinstance(groups, list):
        raise ValueError("groups: expected a list")
    result: dict[str, list[MasterKey]] = {}
    for g, entry in enumerate(groups):
        where = f"groups[{g}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("group"), str) or not entry["group"]:
            raise ValueError(f"{where}.group: expected a group id")
        if entry["group"] in result:
            raise ValueError(f"{where}.group: {entry['group']!r} appears twice")
        keys = entry.get("keys")
        if not isinstance(keys, list) or not keys:
            raise ValueError(f"{where}.keys: expected a non-empty list")
        parsed: list[MasterKey] = []
        for k, item in enumerate(keys):
            at = f"{where}.keys[{k}]"
            if not isinstance(item, dict):
                raise ValueError(f"{at}: expected an object")
            mki = item.get("mki")
            if not isinstance(mki, int) or isinstance(mki, bool):
                raise ValueError(f"{at}.mki: expected an integer")
            try:
                parsed.append(
                    MasterKey(
                        mki,
                        _hex_value(f"{at}.key", item.get("key"), KEY_LEN),
                        _hex_value(f"{at}.salt", item.get("salt"), SALT_LEN),
                        _time_value(f"{at}.not_before", item.get("not_before", 0)) or 0.0,
                        _time_value(f"{at}.not_after", item.get("not_after")),
                    )
                )
            except ValueError as exc:
                message = str(exc)
                raise ValueError(message if message.startswith(at) else f"{at}.{message}") from None
        if len({m.mki for m in parsed}) != len(parsed):
            raise ValueError(f"{where}.keys: an MKI appears twice")
        result[entry["group"]] = parsed
    return result


def load_provisioning(path: str | Path) -> dict[str, list[MasterKey]]:
    return parse_provisioning(Path(path).read_text(encoding="utf-8"))


def provisioning_addresses(text: str) -> dict[str, str]:
    """Group id → ``ADDR:PORT`` for the entries that carry an ``address`` (what ``loa keys export``
    writes): a speaker knows its groups by address, the server by id."""
    parse_provisioning(text)  # the same validation, so both views of a file agree
    result: dict[str, str] = {}
    for g, entry in enumerate(json.loads(text)["groups"]):
        address = entry.get("address")
        if address is None:
            continue
        host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
        try:
            GroupAddress(host, int(port) if port.isdigit() else 0)
        except ValueError:
            raise ValueError(f"groups[{g}].address: expected IPv4ADDR:PORT, got {address!r}") from None
        result[entry["group"]] = f"{host}:{int(port)}"
    return result


def dump_provisioning(
    groups: Mapping[str, Sequence[MasterKey]], addresses: Mapping[str, str] | None = None
) -> str:
    """The document parse_provisioning reads; ``addresses`` adds each group's ``ADDR:PORT``. It holds
    secrets: write it with mode 0600."""
    doc = {
        "version": PROVISIONING_VERSION,
        "groups": [
            {
                "group": group,
                **({"address": addresses[group]} if addresses and group in addresses else {}),
                "keys": [
                    {
                        "mki": m.mki,
                        "key": m.key.hex(),
                        "salt": m.salt.hex(),
                        "not_before": _time_text(m.not_before),
                        "not_after": _time_text(m.not_after),
                    }
                    for m in keys
                ],
            }
            for group, keys in groups.items()
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
