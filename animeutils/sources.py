"""Resolving the one ``data`` setting into a concrete source of images.

``data`` is used the same way by every notebook and command:

- ``"kaggle"``: the Anime Face Dataset through ``kagglehub`` (``splcher/animefacedataset``,
  version pinned below; in Colab kagglehub's own dataset mount is used), then its image folder.
- a path: any folder of images, searched recursively (the Kaggle layout
  ``<root>/images/<id>_<year>.jpg`` included). Use ``./synthetic`` for a folder of that name.
- ``"synthetic"``: procedurally drawn faces (:mod:`animeutils.synthetic`), no files needed.
- ``"auto"`` (default): Kaggle when it can be reached, otherwise synthetic, with a banner that
  says which and why.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

from . import imagefiles

KAGGLE_DATASET = "splcher/animefacedataset"
# Version 3 is the one every public download of this dataset reports (…/versions/3/images/).
# A versioned handle also lets kagglehub answer from its cache without asking the network.
KAGGLE_VERSION = 3
KAGGLE_HANDLE = f"{KAGGLE_DATASET}/versions/{KAGGLE_VERSION}"


class DataError(RuntimeError):
    """A data source that cannot be used; the message says what to do about it."""


@dataclass(frozen=True)
class Source:
    """Where a dataset's images come from, and why that source was chosen."""

    kind: str  # "kaggle", "folder" or "synthetic": what was actually used
    requested: str  # the ``data`` setting as the user gave it
    path: str | None = None  # folder of images (kaggle and folder kinds)
    reason: str = ""  # why this source, shown in the banner and recorded with runs
    kaggle_handle: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def resolve(data: str | os.PathLike = "auto") -> Source:
    """Turn a ``data`` setting into a :class:`Source`, downloading from Kaggle if asked to."""
    text = os.fspath(data).strip() if isinstance(data, str | os.PathLike) else None
    if not text:
        raise DataError(
            f"data={data!r} is not a source: use 'auto', 'kaggle', 'synthetic' or a folder path"
        )
    if text == "synthetic":
        return Source("synthetic", text, reason="requested with data='synthetic'")
    if text == "kaggle":
        return _kaggle(text)
    if text == "auto":
        try:
            src = _kaggle(text)
        except DataError as e:
            return Source("synthetic", text, reason=f"auto: {e}")
        return Source(src.kind, text, src.path, "auto: Kaggle was reachable", src.kaggle_handle)
    return Source("folder", text, str(folder_or_error(_local_folder(text))), "a local folder")


def _local_folder(text: str) -> Path:
    """A relative folder is taken from the project root (the same from the clone's root and from
    notebooks/, see :func:`runtime.anchored`); failing that, from the working directory."""
    from . import runtime

    path = runtime.anchored(text)
    here = Path(text).expanduser().resolve()
    return path if path.exists() or not here.exists() else here


def folder_or_error(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"image folder not found: {path} (check the path given as data=...)")
    if not path.is_dir():
        raise DataError(f"data must be a folder of images, but {path} is a file")
    return path.resolve()


def download_kaggle(handle: str = KAGGLE_HANDLE) -> Path:
    """``kagglehub.dataset_download`` with its failures turned into one actionable DataError."""
    try:
        import kagglehub
        import requests
    except ImportError as e:  # pragma: no cover - both are install requirements
        raise DataError(f"kagglehub is not installed ({e}); pip install kagglehub") from e

    hint = "or pass a local folder of images as data='/path/to/images'"
    try:
        return Path(kagglehub.dataset_download(handle))
    except (requests.ConnectionError, requests.Timeout) as e:
        raise DataError(
            f"Kaggle could not be reached ({type(e).__name__}): connect to the internet, {hint}"
        ) from e
    except requests.HTTPError as e:
        code = getattr(e.response, "status_code", None)
        if code in (401, 403):
            raise DataError(
                f"Kaggle refused the download (HTTP {code}): set KAGGLE_USERNAME and KAGGLE_KEY "
                f"or ~/.kaggle/kaggle.json (kaggle.com > Settings > API), {hint}"
            ) from e
        if code == 404:
            raise DataError(f"Kaggle dataset {handle} was not found (HTTP 404); {hint}") from e
        raise DataError(f"Kaggle download failed (HTTP {code}): {e}; {hint}") from e
    except Exception as e:  # kagglehub raises its own types for auth, Colab and backend faults
        raise DataError(f"Kaggle download failed ({type(e).__name__}: {e}); {hint}") from e


def find_image_folder(root: Path) -> Path:
    """The folder of images inside a download: ``root/images`` if present, else the sub-folder
    (or root) that directly holds the most image files."""
    if (root / "images").is_dir():
        return root / "images"
    best, best_count = root, -1
    for folder, _dirs, files in os.walk(root):
        count = sum(imagefiles.is_image_name(f) for f in files)
        if count > best_count:
            best, best_count = Path(folder), count
    if best_count <= 0:
        raise DataError(f"the Kaggle download at {root} holds no image files; delete it and retry")
    return best


def _kaggle(requested: str) -> Source:
    root = download_kaggle()
    folder = find_image_folder(root)
    return Source("kaggle", requested, str(folder), "requested with data='kaggle'", KAGGLE_HANDLE)


def banner(source: Source) -> str:
    """A boxed, one-glance statement of which data a run uses (printed by ``load_dataset``)."""
    if source.kind == "synthetic":
        title = "DATA: built-in synthetic faces (a procedural stand-in, NOT the anime dataset)"
    elif source.kind == "kaggle":
        title = f"DATA: Kaggle Anime Face Dataset ({source.kaggle_handle})"
    else:
        title = f"DATA: images from the folder {source.path}"
    lines = [title, *textwrap.wrap(f"why: {source.reason}", 76, subsequent_indent="     ")]
    if source.kind == "synthetic" and source.requested == "auto":
        lines.append("for the real faces: get online (or Kaggle credentials), or data='/path'")
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])
