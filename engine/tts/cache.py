"""Content-addressed speech cache: one bulletin to many groups, and repeats, are synthesized once.

The key hashes everything that changes the audio: the spoken text, the voice, the speaker, the scales
and the output settings. Entries are finished 48 kHz pieces; memory is bounded (LRU by bytes) and an
optional directory keeps them across restarts (one ``.npy`` per key, written atomically).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np


def cache_key(**parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class SpeechCache:
    def __init__(self, max_bytes: int = 256 * 2**20, directory: Path | None = None) -> None:
        if max_bytes < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self.max_bytes = max_bytes
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            audio = self._entries.get(key)
            if audio is not None:
                self._entries.move_to_end(key)
                return audio
        if self.directory is not None:
            path = self.directory / f"{key}.npy"
            try:
                audio = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                return None
            self._remember(key, audio)
            return audio
        return None

    def put(self, key: str, audio: np.ndarray) -> None:
        audio = np.asarray(audio, dtype=np.float32)
        audio.setflags(write=False)
        self._remember(key, audio)
        if self.directory is not None:
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.save(fh, audio, allow_pickle=False)
                os.replace(tmp, self.directory / f"{key}.npy")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def _remember(self, key: str, audio: np.ndarray) -> None:
        if audio.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = audio
            self._bytes += audio.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes
