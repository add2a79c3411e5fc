"""The decoded-image cache: one uint8 ``.npy`` array plus a JSON sidecar per (source, size).

A cache entry is keyed by a fingerprint of everything that changes its contents: the source's
files (relative path, size, mtime), the image size, the minimum side and the resize method. A
changed folder therefore gets a new key and is rebuilt; an unchanged one is memory-mapped again
in under a second. Both files are written to a temporary name and renamed into place, so an
interrupted build never leaves a half-written cache behind; older entries of a source are pruned.

The cache folder is ``$ANIMEUTILS_CACHE`` if set, else ``~/.cache/animeutils``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from . import atomic, imagefiles

CACHE_VERSION = 1  # bump when the decoding or layout changes, to invalidate old entries
CHUNK = 256  # files per decoding task


def cache_dir() -> Path:
    return Path(os.environ.get("ANIMEUTILS_CACHE") or Path.home() / ".cache" / "animeutils")


def fingerprint(parts: dict) -> str:
    """A short stable hash of a JSON-able description of a cache entry's inputs."""
    blob = json.dumps({"cache_version": CACHE_VERSION, **parts}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def entry_paths(prefix: str, key: str) -> tuple[Path, Path]:
    base = cache_dir() / f"{prefix}-{key}"
    return base.with_suffix(".npy"), base.with_suffix(".json")


def load(prefix: str, key: str) -> tuple[np.ndarray, dict] | None:
    """The cached images and metadata, or None when the entry is missing or inconsistent."""
    npy, meta_path = entry_paths(prefix, key)
    if not (npy.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        # Memory-mapped copy-on-write: no read or allocation up front (pages come from the
        # OS page cache as they are used) and processes on one machine share one copy.
        images = np.load(npy, mmap_mode="c")
    except (OSError, ValueError):
        return None
    if images.shape[0] != meta.get("num_images"):
        return None
    return images, meta


def save(prefix: str, key: str, images: np.ndarray, meta: dict) -> Path:
    """Write an entry atomically (images first, the sidecar last) and prune older entries."""
    npy, meta_path = entry_paths(prefix, key)
    meta = {**meta, "num_images": int(images.shape[0])}
    atomic.write(npy, lambda fh: np.save(fh, images, allow_pickle=False))
    atomic.write_text(meta_path, json.dumps(meta, indent=1))
    for old in cache_dir().glob(f"{glob.escape(prefix)}-*"):
        if old.stem != npy.stem and not old.name.startswith("."):
            with contextlib.suppress(OSError):  # e.g. still mapped by a process on Windows
                old.unlink(missing_ok=True)
    return npy


def update_meta(prefix: str, key: str, meta: dict) -> None:
    """Rewrite an entry's sidecar (atomically), e.g. to add what an older version left out."""
    atomic.write_text(entry_paths(prefix, key)[1], json.dumps(meta, indent=1))


def decode_files(
    root: Path,
    relpaths: list[str],
    image_size: int,
    min_side: int = imagefiles.MIN_SIDE,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, list[str], list[dict], list[str]]:
    """Decode files in parallel worker processes (threads measured no faster: Pillow holds the
    GIL for much of the per-file work), one chunk of files per task, in order.

    Returns ``(images, kept, skipped, digests)``: an (n, s, s, 3) uint8 array, the relative
    paths of the decoded files in the same order, ``{"path", "reason"}`` for every file left out,
    and the content digest of each decoded file (:func:`imagefiles.content_digest`).
    """
    from tqdm.auto import tqdm

    workers = workers or os.cpu_count() or 1
    chunks = [relpaths[i : i + CHUNK] for i in range(0, len(relpaths), CHUNK)]
    out = np.empty((len(relpaths), image_size, image_size, 3), np.uint8)
    kept: list[str] = []
    skipped: list[dict] = []
    digests: list[str] = []

    paths = [[str(root / p) for p in chunk] for chunk in chunks]
    args = (paths, [image_size] * len(chunks), [min_side] * len(chunks))
    with contextlib.ExitStack() as stack:
        results = map(imagefiles.decode_many, *args)
        if workers > 1 and len(chunks) > 1:
            # forkserver: clean worker processes (no copy of a multi-threaded parent) that import
            # only Pillow and numpy; spawn where it is missing (Windows).
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=ctx))
            results = pool.map(imagefiles.decode_many, *args)
        bar = stack.enter_context(
            tqdm(total=len(relpaths), desc="decoding", unit="img", disable=not progress))
        for chunk, (images, reasons, chunk_digests) in zip(chunks, results):
            out[len(kept) : len(kept) + len(images)] = images
            digests += chunk_digests
            for rel, reason in zip(chunk, reasons):
                if reason is None:
                    kept.append(rel)
                else:
                    skipped.append({"path": rel, "reason": reason})
            bar.update(len(chunk))
    return out[: len(kept)], kept, skipped, digests
