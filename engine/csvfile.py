"""CSV that people open in a spreadsheet: the broadcast log (engine/jobs/log.py) and the speakers' play
log (engine/api/clusters_cli.py) are written here, one way.

A UTF-8 byte order mark comes first: without it Excel reads a CSV file in the machine's legacy code
page, and every Vietnamese letter with a diacritic ("Ấp Phú Hòa") turns to mojibake (issue #13). Lines
end in CRLF, as RFC 4180 and Excel want. Python's csv module and LibreOffice read the BOM as what it is
when the text is decoded as ``utf-8-sig``; :func:`read_rows` does that for our own readers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

BOM = "\ufeff"


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> str:
    """A header of ``columns`` and ``rows`` (sequences in column order, or mappings by column name; a
    mapping with a key not in ``columns`` is a ValueError), BOM first, CRLF line ends."""
    out = io.StringIO()
    out.write(BOM)
    plain = csv.writer(out, lineterminator="\r\n")
    named = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    plain.writerow(columns)
    for row in rows:
        if isinstance(row, Mapping):
            named.writerow(row)
        else:
            plain.writerow(row)
    return out.getvalue()


def read_rows(text: str) -> list[dict[str, str]]:
    """The rows of a :func:`csv_text` as dicts by column (the BOM is not part of the first name)."""
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
