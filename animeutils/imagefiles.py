"""Finding image files in a folder and decoding one file into a square uint8 array.

Kept free of torch so that decoding workers start fast. Every file that cannot be used comes back
with a one-line reason instead of an exception, so a messy folder never stops a build.

Resize method (the same everywhere): centre-crop to the largest square, then Pillow's LANCZOS
filter to ``image_size`` (antialiased when shrinking). The crop keeps the same region as
torchvision's ``Resize(s)`` + ``CenterCrop(s)``, which resizes first and crops second. JPEGs at
least twice ``image_size`` on their short side are first decoded at a reduced scale by libjpeg
(``draft``), which never takes the short side below ``image_size``. Transparent images are
composited onto white.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
MIN_SIDE = 32  # px; smaller originals (thumbnails, 1x1 tracking pixels) are skipped
RESIZE_METHOD = "center-crop to square, then PIL LANCZOS (libjpeg draft for large JPEGs)"
_HTML_PREFIXES = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")
_YEAR = re.compile(r"_((?:19|20)\d\d)\.[A-Za-z]+$")


@dataclass(frozen=True)
class FileEntry:
    """A candidate file: its path relative to the source root, size and mtime (the fingerprint)."""

    relpath: str
    size: int
    mtime_ns: int


def scan(root: Path) -> Iterator[FileEntry]:
    """Yield every regular file under ``root`` (recursively, hidden folders skipped), sorted."""
    entries: list[FileEntry] = []
    stack = [(str(root), "")]  # (folder, its path relative to root with a trailing "/")
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=True):
                    stack.append((e.path, f"{prefix}{e.name}/"))
                elif e.is_file(follow_symlinks=True):
                    st = e.stat()
                    entries.append(FileEntry(prefix + e.name, st.st_size, st.st_mtime_ns))
    entries.sort(key=lambda f: f.relpath)
    yield from entries


def is_image_name(name: str) -> bool:
    """True for the extensions we try to decode, in any letter case (``.JPG`` too)."""
    _stem, dot, ext = name.rpartition(".")
    return bool(dot) and f".{ext.lower()}" in IMAGE_EXTENSIONS


def year_from_name(name: str) -> int | None:
    """The year in Kaggle-style names such as ``12345_2014.jpg``, else None."""
    m = _YEAR.search(name)
    return int(m.group(1)) if m else None


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) read from the file header only, or None when it is not an image."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode (L, LA, P, RGBA, CMYK, I;16, ...) to RGB; transparency over white."""
    if im.mode == "RGB":
        return im  # the common case: no copy
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, im).convert("RGB")
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything to white.
        arr = np.asarray(im, dtype=np.float32)
        hi = float(arr.max()) or 1.0
        im = Image.fromarray((arr * (255.0 / hi)).astype(np.uint8), "L")
    return im.convert("RGB")


def decode(path: str | Path, image_size: int, min_side: int = MIN_SIDE):
    """Decode one file to a (image_size, image_size, 3) uint8 array.

    Returns ``(array, None)`` on success and ``(None, reason)`` when the file is unusable.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF/palette warnings are noise here
            with Image.open(path) as im:
                w, h = im.size
                if min(w, h) < min_side:
                    return None, f"too small: {w}x{h} px (minimum side {min_side} px)"
                # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still
                # leaves at least image_size pixels; much faster for large originals.
                im.draft("RGB", (image_size, image_size))
                im.load()
                rgb = _to_rgb(im)
    except UnidentifiedImageError:
        return None, _why_not_an_image(path)
    except FileNotFoundError as e:
        return None, f"unreadable: {e.strerror or e}"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        return None, f"truncated or corrupt image: {e}"
    return _square_resize(rgb, image_size), None


def _why_not_an_image(path: str | Path) -> str:
    """The reason for a file Pillow cannot identify (looked at only on that failure path)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as e:
        return f"unreadable: {e.strerror or e}"
    if not head:
        return "empty file (0 bytes)"
    if head.lstrip().lower().startswith(_HTML_PREFIXES):
        return "not an image: an HTML/XML page saved with an image extension"
    return "not an image: Pillow cannot identify the format"


def _square_resize(im: Image.Image, image_size: int) -> np.ndarray:
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    box = (left, top, left + side, top + side)
    out = im.resize((image_size, image_size), Image.Resampling.LANCZOS, box=box)
    return np.asarray(out, dtype=np.uint8)


def content_digest(path: str | Path) -> str:
    """A digest of the file's bytes (BLAKE2b, 128 bits): the same file gives the same digest
    wherever it lies and whatever its mtime."""
    with open(path, "rb") as fh:
        return hashlib.blake2b(fh.read(), digest_size=16).hexdigest()


def decode_many(paths: list[str], image_size: int, min_side: int = MIN_SIDE):
    """Decode a chunk of files (one worker task): returns ``(images, reasons, digests)``.

    ``images`` is (n_ok, s, s, 3) uint8; ``reasons[i]`` is None for a decoded file, else why not;
    ``digests`` holds :func:`content_digest` of each decoded file, in the order of ``images``.
    """
    arrays, reasons, digests = [], [], []
    for p in paths:
        arr, reason = decode(p, image_size, min_side)
        reasons.append(reason)
        if arr is not None:
            arrays.append(arr)
            digests.append(content_digest(p))  # read again from the page cache: cheap
    if arrays:
        images = np.stack(arrays)
    else:
        images = np.zeros((0, image_size, image_size, 3), np.uint8)
    return images, reasons, digests
