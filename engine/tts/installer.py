"""``loa voices install | remove``: put a voice in the voices directory safely, online or air-gapped.

A voice is assembled in a hidden temporary folder inside the voices directory, checked (size and
sha256 against the catalog where it knows them, then loaded once with onnxruntime), given a
``voice.json`` manifest, and only then renamed into place. An interrupted or rejected install leaves
nothing behind but that temporary folder, which the next install sweeps away.

Sources: a catalog id (files downloaded from their URLs), a URL (one archive or one ``.onnx``), or a
local path (a folder, an archive, or an ``.onnx`` with its ``.onnx.json`` / ``tokens.txt`` beside it).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from engine.tts.catalog import Catalog, CatalogFile, CatalogVoice
from engine.tts.voices.base import VoiceInfo
from engine.tts.voices.registry import MANIFEST, detect, find_model, read_manifest, write_manifest

Progress = Callable[[str, int, int | None], None]  # file name, bytes so far, total (None: unknown)
_CHUNK = 1 << 16
_ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".tar", ".zip")


class InstallError(Exception):
    """The voice was not installed; the message says why and nothing half-done was left behind."""


def progress_bar(name: str, done: int, total: int | None) -> None:
    """A one-line progress bar on stderr."""
    if total:
        filled = int(30 * done / total)
        bar = "#" * filled + "." * (30 - filled)
        line = f"\r{name}: [{bar}] {done / total:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB"
    else:
        line = f"\r{name}: {done / 1e6:.1f} MB"
    sys.stderr.write(line + ("\n" if total and done >= total else ""))
    sys.stderr.flush()


def install(
    source: str,
    voices_dir: Path,
    catalog: Catalog | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    timeout_s: float = 60.0,
    allow_unpinned: bool = False,
) -> VoiceInfo:
    """``allow_unpinned``: download a catalog voice even though the catalog lacks the size or SHA-256 of
    one of its files (the user's explicit choice; otherwise refused before anything is fetched)."""
    catalog = catalog or Catalog.load()
    entry = catalog.get(source)
    if entry is not None and not allow_unpinned:
        _require_pins(entry)
    voices_dir.mkdir(parents=True, exist_ok=True)
    _sweep(voices_dir)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=voices_dir))
    try:
        entry = catalog.get(source)
        if entry is not None:
            for file in entry.files:
                _fetch(file, staging / file.name, progress, timeout_s)
        elif _is_url(source):
            entry = _fetch_url(source, staging, catalog, progress, timeout_s)
        else:
            entry = _copy_local(Path(source).expanduser(), staging, catalog)
        info = _validate(staging, entry)
        target = voices_dir / info.id
        if target.exists() and not force:
            raise InstallError(
                f"voice {info.id} is already installed in {target} (use --force to replace it)"
            )
        _swap_in(staging, target)
        return info
    except InstallError:
        raise
    except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as error:
        raise InstallError(f"{source}: {error}; nothing was installed") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpinned(entry: CatalogVoice) -> list[str]:
    """The names of the entry's files the catalog gives no size or SHA-256 for."""
    return [f.name for f in entry.files if f.sha256 is None or f.size is None]


def _require_pins(entry: CatalogVoice) -> None:
    """A download nobody can check is refused: a model is code onnxruntime runs, and a voice decides
    what every loudspeaker says. Only the user's --allow-unpinned (or a local copy they checked) passes."""
    missing = unpinned(entry)
    if missing:
        raise InstallError(
            f"voice {entry.id}: the catalog pins no SHA-256 (and size) for {', '.join(missing)}, so a "
            "tampered or truncated download could not be told apart; install it anyway with "
            "--allow-unpinned, or install a copy you verified from its folder or archive"
        )


def remove(voice_id: str, voices_dir: Path) -> Path:
    target = voices_dir / voice_id
    if not voice_id or "/" in voice_id or voice_id.startswith(".") or not (target / MANIFEST).is_file():
        raise InstallError(f"voice {voice_id!r} is not installed in {voices_dir}")
    trash = Path(tempfile.mkdtemp(prefix=".removing-", dir=voices_dir))
    target.rename(trash / voice_id)
    shutil.rmtree(trash, ignore_errors=True)
    return target


def installed(voices_dir: Path) -> list[tuple[VoiceInfo, Path]]:
    found = []
    if voices_dir.is_dir():
        for folder in sorted(p for p in voices_dir.iterdir() if (p / MANIFEST).is_file()):
            try:
                found.append(read_manifest(folder))
            except (OSError, ValueError, TypeError, KeyError):
                continue
    return found


# -- fetching ----------------------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in ("http", "https", "file")


def _fetch(file: CatalogFile, dest: Path, progress: Progress | None, timeout_s: float) -> None:
    """Download one catalog file and check it against the catalog's size and sha256."""
    try:
        with urllib.request.urlopen(file.url, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            total = file.size or (int(length) if length and length.isdigit() else None)
            digest = _copy_stream(response, dest, file.name, total, progress)
    except OSError as error:
        raise InstallError(
            f"{file.name}: download from {file.url} failed: {error}; nothing was installed"
        ) from None
    _check(file, dest, digest)


def _copy_stream(src: BinaryIO, dest: Path, name: str, total: int | None, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(name, done, total)
    if progress and not total:
        progress(name, done, done)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check(file: CatalogFile, path: Path, digest: str | None = None) -> None:
    size = path.stat().st_size
    if file.size is not None and size != file.size:
        raise InstallError(
            f"{file.name}: corrupted or incomplete: {size} bytes, the catalog says {file.size}; "
            "nothing was installed"
        )
    if file.sha256 is not None:
        digest = digest or _sha256(path)
        if digest != file.sha256.lower():
            raise InstallError(
                f"{file.name}: checksum mismatch: sha256 {digest}, the catalog says {file.sha256}; "
                "the file is corrupted or not the catalog's; nothing was installed"
            )


def _fetch_url(
    url: str, staging: Path, catalog: Catalog, progress: Progress | None, timeout_s: float
) -> CatalogVoice | None:
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise InstallError(f"{url}: cannot tell a file name from the URL")
    download = staging / ".download" / name
    download.parent.mkdir()
    _fetch(CatalogFile(name, url), download, progress, timeout_s)
    if name.endswith(".onnx"):
        companion = name + ".json"
        try:
            _fetch(CatalogFile(companion, url + ".json"), download.with_name(companion), progress, timeout_s)
        except InstallError:
            tokens = CatalogFile("tokens.txt", url.rsplit("/", 1)[0] + "/tokens.txt")
            _fetch(tokens, download.with_name("tokens.txt"), progress, timeout_s)
        entry = _copy_local(download, staging, catalog)
    else:
        entry = _copy_local(download, staging, catalog)
    shutil.rmtree(download.parent)
    return entry


def _copy_local(path: Path, staging: Path, catalog: Catalog) -> CatalogVoice | None:
    """Copy a folder, archive, or model file into staging; the catalog entry it matches, if any."""
    if not path.exists():
        raise InstallError(f"{path}: no such file, folder, catalog voice id or URL")
    if path.is_dir():
        source_dir = path
    elif path.name.endswith(_ARCHIVES):
        source_dir = staging / ".unpacked"
        _unpack(path, source_dir)
    elif path.suffix == ".onnx":
        companions = [path.with_name(path.name + ".json"), path.with_name("tokens.txt")]
        for file in [path, *[c for c in companions if c.is_file()]]:
            shutil.copy2(file, staging / file.name)
        return _match(staging, catalog)
    else:
        raise InstallError(f"{path}: not a folder, an archive ({', '.join(_ARCHIVES)}) or an .onnx model")
    models = sorted(source_dir.rglob("*.onnx"))
    if len(models) != 1:
        raise InstallError(f"{path}: expected exactly one .onnx model, found {len(models)}")
    for file in models[0].parent.iterdir():
        if file.is_file() and not file.name.startswith("."):
            shutil.copy2(file, staging / file.name)
    shutil.rmtree(staging / ".unpacked", ignore_errors=True)
    return _match(staging, catalog)


def _match(staging: Path, catalog: Catalog) -> CatalogVoice | None:
    """An offline copy of a catalog voice is checked against the catalog like a download."""
    entry = catalog.matching({p.name for p in staging.iterdir()})
    if entry is not None:
        for file in entry.files:
            _check(file, staging / file.name)
    return entry


def _unpack(archive: Path, dest: Path) -> None:
    """Extract, refusing members that would land outside dest (absolute paths, ``..``, links)."""
    dest.mkdir()
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if not _inside(dest, member):
                    raise InstallError(
                        f"{archive.name}: unsafe path {member!r} in archive; nothing was installed"
                    )
            zf.extractall(dest)
        return
    with tarfile.open(archive) as tf:
        for tar_member in tf.getmembers():
            if not _inside(dest, tar_member.name) or not (tar_member.isfile() or tar_member.isdir()):
                raise InstallError(
                    f"{archive.name}: unsafe entry {tar_member.name!r} in archive; nothing was installed"
                )
        tf.extractall(dest, filter="data")


def _inside(root: Path, member: str) -> bool:
    return (root / member).resolve().is_relative_to(root.resolve())


# -- checking and placing -----------------------------------------------------------------------------


def _validate(staging: Path, entry: CatalogVoice | None) -> VoiceInfo:
    """Load the voice once (a broken model fails here, not on air) and write its manifest."""
    from engine.tts.voices.mms import MmsVoice
    from engine.tts.voices.piper import PiperVoice

    model = staging / entry.model if entry else find_model(staging)
    if not model.is_file():
        raise InstallError(f"{model.name}: missing from the voice's files; nothing was installed")
    family = detect(model)
    if entry is not None and family != entry.family:
        raise InstallError(f"{model.name}: looks like a {family} voice, the catalog says {entry.family}")
    try:
        voice: PiperVoice | MmsVoice = (
            PiperVoice.load(model, intra_op_threads=1)
            if family == "piper"
            else MmsVoice(model, intra_op_threads=1)
        )
    except Exception as error:  # onnxruntime raises its own types for a corrupt model
        raise InstallError(
            f"{model.name}: not a loadable {family} voice: {error}; nothing was installed"
        ) from None
    info = voice.info
    if entry is not None:
        info = replace(
            entry.info(),
            speakers=info.speakers,
            sample_rate=info.sample_rate,
            language=entry.language or info.language,
        )
    write_manifest(staging, info, model.name)
    return info


def _swap_in(staging: Path, target: Path) -> None:
    """Rename the finished voice into place; an existing one is moved aside first, then deleted."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=".replacing-", dir=target.parent)) / target.name
        target.rename(old)
    final = Path(tempfile.mkdtemp(prefix=".ready-", dir=target.parent))
    for item in staging.iterdir():
        item.rename(final / item.name)
    final.chmod(0o755)
    final.rename(target)
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def _sweep(voices_dir: Path, older_than_s: float = 3600.0) -> None:
    """Remove what interrupted installs left (hidden temporary folders), sparing any still in progress."""
    import time

    prefixes = (".installing-", ".removing-", ".replacing-", ".ready-")
    for leftover in voices_dir.iterdir():
        old = leftover.is_dir() and time.time() - leftover.stat().st_mtime > older_than_s
        if old and leftover.name.startswith(prefixes):
            shutil.rmtree(leftover, ignore_errors=True)
