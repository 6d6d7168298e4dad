"""Is a pre-recorded audio file whole? libsndfile forgives a file cut short (it plays what is there), so a
bulletin uploaded half-way would air half a sentence; the container's own lengths tell.

- WAV: the ``data`` chunk declares its byte count; fewer bytes present means the file was cut. The sizes
  0 and 0xFFFFFFFF (written by streaming recorders that did not know the length) are not checked.
- Ogg: every page declares its length, and the last page of a stream carries the end-of-stream flag.
"""

from __future__ import annotations

import struct

_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_OGG_EOS = 0x04


def truncation(data: bytes) -> str | None:
    """Why ``data`` (a WAV or Ogg file) looks cut short, or None when it is whole or of another kind."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav(data)
    if data[:4] == b"OggS":
        return _ogg(data)
    return None


def _wav(data: bytes) -> str | None:
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"data":
            held = len(data) - pos - 8
            if size not in _UNKNOWN_SIZES and held < size:
                return f"WAV cut short: its data chunk declares {size} bytes, {held} are there"
            return None
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return "WAV without a data chunk"


def _ogg(data: bytes) -> str | None:
    pos, flags = 0, 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or pos + 27 > len(data):
            return f"Ogg cut short or damaged at byte {pos}: not a page header"
        flags, segments = data[pos + 5], data[pos + 26]
        table_end = pos + 27 + segments
        if table_end > len(data):
            return f"Ogg cut short at byte {pos}: the page's segment table is missing"
        end = table_end + sum(data[pos + 27 : table_end])
        if end > len(data):
            held = len(data) - pos
            return f"Ogg cut short: the page at byte {pos} declares {end - pos} bytes, {held} are there"
        pos = end
    if not flags & _OGG_EOS:
        return "Ogg cut short: the last page does not end the stream"
    return None
