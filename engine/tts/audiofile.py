"""Speech to files: WAV (16-bit PCM) and Ogg/Opus (RFC 7845), chosen by the file's extension.

Opus packets come from ``streaming.opus`` (the same encoder the broadcasts use); this module only
puts them in Ogg pages: an ``OpusHead`` page, an ``OpusTags`` page, then audio pages of about one
second, with granule positions counting 48 kHz samples including the encoder's pre-skip.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_FRAME = 960  # 20 ms at 48 kHz
_PACKETS_PER_PAGE = 50


def write(path: Path, audio: np.ndarray, rate: int = 48_000) -> None:
    suffix = path.suffix.lower()
    if suffix == ".wav":
        import soundfile

        soundfile.write(str(path), np.asarray(audio, dtype=np.float32), rate, subtype="PCM_16")
    elif suffix in (".ogg", ".opus"):
        if rate != 48_000:
            raise ValueError(f"Ogg/Opus output needs 48 kHz audio, got {rate} Hz")
        path.write_bytes(ogg_opus(audio))
    else:
        raise ValueError(f"output: {path.name}: use a .wav, .ogg or .opus file name")


def ogg_opus(audio: np.ndarray, serial: int = 0x4C4F4100) -> bytes:
    """A complete Ogg/Opus file for mono 48 kHz float audio."""
    from streaming.opus import OpusEncoder, encode_pcm

    pre_skip = OpusEncoder().lookahead
    packets = encode_pcm(np.clip(np.asarray(audio, np.float32), -1.0, 1.0))
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48_000, 0, 0)
    vendor = b"loa"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_page([head], 0, serial, 0, first=True), _page([tags], 0, serial, 1)]
    end = pre_skip + len(audio)
    for sequence, start in enumerate(range(0, len(packets), _PACKETS_PER_PAGE), start=2):
        chunk = packets[start : start + _PACKETS_PER_PAGE]
        last = start + len(chunk) >= len(packets)
        granule = end if last else (start + len(chunk)) * _FRAME
        pages.append(_page(chunk, granule, serial, sequence, last=last))
    return b"".join(pages)


def _page(
    packets: list[bytes], granule: int, serial: int, sequence: int, first: bool = False, last: bool = False
) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    if len(lacing) > 255:
        raise ValueError("too many packets for one Ogg page")
    flags = (0x02 if first else 0) | (0x04 if last else 0)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + b"".join(packets))
    struct.pack_into("<I", page, 22, _crc(bytes(page)))
    return bytes(page)


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, no reflection, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


__all__ = ["ogg_opus", "write"]
