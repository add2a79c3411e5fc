"""The anime-face dataset as one uint8 tensor: resolve the ``data`` setting, decode once, cache.

    from animeutils import data
    ds = data.load_dataset("auto", image_size=64)   # Kaggle if reachable, else synthetic
    ds.images        # (N, 64, 64, 3) uint8, RGB
    print(ds.summary())

Command line (prepares a source and prints a one-screen summary, or one JSON object)::

    python -m animeutils.data auto --image-size 64 [--json] [--save-skipped skipped.json]

Exit status: 0 when the source is usable, 2 when it is not (the message says why).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from . import cache, imagefiles, sources
from .sources import DataError, Source

SYNTHETIC_SIZE = 20_000  # synthetic faces made when max_images is not given
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 1024


@dataclass
class FaceDataset:
    """Decoded images plus everything needed to say where they came from."""

    images: torch.Tensor  # (N, H, W, 3) uint8 RGB, NHWC as Pillow and matplotlib like it
    source: Source
    image_size: int
    files: list[str] | None = None  # relative paths, parallel to images (folder sources)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"} per unused file
    cache_path: str | None = None
    fingerprint: str = ""  # the cache key: files' names, sizes and mtimes, folder, settings
    from_cache: bool = False
    seconds: float = 0.0  # time to build or reload
    synthetic_seed: int | None = None
    digests: list[str] | None = None  # content digest of each file, parallel to ``files``

    @cached_property
    def identity(self) -> str:
        """What resuming checks: the same images decoded the same way give the same identity,
        wherever the folder lies and whatever the files' mtimes (a copy, a re-download)."""
        if self.files is None:  # synthetic: the generator's settings are its content
            parts = {"kind": "synthetic", "n": len(self), "seed": self.synthetic_seed}
        else:
            parts = {"kind": "files", "files": sorted(zip(self.files, self.digests or []))}
        blob = json.dumps({**parts, "size": self.image_size, "resize": imagefiles.RESIZE_METHOD,
                           "min_side": imagefiles.MIN_SIDE}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def manifest(self) -> dict[str, str]:
        """{relative path: content digest} of the images used (empty for synthetic data)."""
        return dict(zip(self.files or [], self.digests or []))

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def root(self) -> Path | None:
        return Path(self.source.path) if self.source.path else None

    def nchw(self) -> torch.Tensor:
        """The images as (N, 3, H, W) uint8: a view with channels_last strides, no copy."""
        return self.images.permute(0, 3, 1, 2)

    @cached_property
    def factors(self) -> dict[str, torch.Tensor] | None:
        """Ground-truth generating factors of synthetic faces (None for real images)."""
        if self.source.kind != "synthetic":
            return None
        from . import synthetic

        return synthetic.sample_factors(len(self), seed=self.synthetic_seed or 0)

    def skipped_counts(self) -> Counter:
        """Skipped files counted by kind of reason (the text before the first colon)."""
        return Counter(s["reason"].split(":")[0] for s in self.skipped)

    def save_skipped(self, path: str | Path) -> Path:
        """Write the full list of skipped files with reasons as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.skipped, indent=1))
        return path

    def describe(self) -> dict:
        """A JSON-able record of the data actually used (what runs store in config.json)."""
        return {
            **self.source.to_dict(),
            "source": self.source.kind,
            "num_images": len(self),
            "image_size": self.image_size,
            "resize": imagefiles.RESIZE_METHOD,
            "min_side": imagefiles.MIN_SIDE,
            "fingerprint": self.fingerprint,
            "identity": self.identity,
            "cache_path": self.cache_path,
            "num_skipped": len(self.skipped),
            "synthetic_seed": self.synthetic_seed,
        }

    def summary(self) -> str:
        mb = self.images.numel() / 1e6
        how = "reloaded from cache" if self.from_cache else "built"
        lines = [
            f"source      {self.source.kind}" + (f"  ({self.source.path})" if self.root else ""),
            f"images      {len(self):,} at {self.image_size}x{self.image_size} px "
            f"({mb:.0f} MB as uint8; {how} in {self.seconds:.2f} s)",
            f"cache       {self.cache_path}",
            f"skipped     {len(self.skipped):,} file(s)",
        ]
        for reason, n in self.skipped_counts().most_common():
            lines.append(f"  {n:>8,}  {reason}")
        return "\n".join(lines)


def manifest_changes(old: dict[str, str], new: dict[str, str]) -> str:
    """What differs between two {relative path: content digest} manifests, in a few words:
    "3 files differ (first: images/12_2005.jpg), 1 file removed (first: ...)"."""
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    added, removed = sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())
    parts = [f"{len(v)} file{'s' if len(v) > 1 else ''} {what} (first: {v[0]})"
             for v, what in ((changed, "differ" if len(changed) > 1 else "differs"),
                             (added, "added"), (removed, "removed")) if v]
    return ", ".join(parts) or "the same files, decoded with other settings"


def _check_size(image_size: int) -> int:
    if not isinstance(image_size, int) or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be an int from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}, "
            f"got {image_size!r}"
        )
    return image_size


def load_dataset(
    data: str | Path = "auto",
    image_size: int = 64,
    *,
    max_images: int | None = None,
    synthetic_seed: int = 0,
    progress: bool = True,
    verbose: bool = True,
) -> FaceDataset:
    """Resolve ``data`` (see :mod:`animeutils.sources`), then build or reload its cache.

    ``max_images`` caps the set: the first N synthetic faces, or a fixed random subset of a
    folder's files (chosen before decoding, so a capped first build is quick).
    """
    _check_size(image_size)
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"max_images must be a positive int or None, got {max_images!r}")
    source = sources.resolve(data)
    if verbose:
        print(sources.banner(source))
    start = time.perf_counter()
    if source.kind == "synthetic":
        ds = _load_synthetic(source, image_size, max_images or SYNTHETIC_SIZE, synthetic_seed,
                             progress)
    else:
        ds = _load_folder(source, image_size, max_images, progress)
    ds.seconds = time.perf_counter() - start
    return ds


def _load_synthetic(source: Source, image_size: int, n: int, seed: int, progress: bool):
    from . import synthetic

    prefix = f"synthetic-{image_size}px-n{n}-seed{seed}"
    key = cache.fingerprint({"kind": "synthetic", "n": n, "seed": seed, "size": image_size,
                             "generator": synthetic.GENERATOR_VERSION})
    hit = cache.load(prefix, key)
    if hit is None:
        images, _ = synthetic.generate(n, image_size, seed=seed, progress=progress)
        arr = images.numpy()
        path = cache.save(prefix, key, arr, {"source": source.to_dict(), "seed": seed})
    else:
        arr, path = hit[0], cache.entry_paths(prefix, key)[0]
    return FaceDataset(torch.from_numpy(arr), source, image_size, cache_path=str(path),
                       fingerprint=key, from_cache=hit is not None, synthetic_seed=seed)


def _load_folder(source: Source, image_size: int, max_images: int | None, progress: bool):
    root = Path(source.path)
    entries = list(imagefiles.scan(root))
    candidates = [e for e in entries if imagefiles.is_image_name(e.relpath)]
    others = [
        {"path": e.relpath, "reason": f"not an image file: {Path(e.relpath).suffix or 'no'} ext"}
        for e in entries
        if not imagefiles.is_image_name(e.relpath)
    ]
    if not candidates:
        raise DataError(
            f"no image files in {root} (searched sub-folders for "
            f"{', '.join(sorted(imagefiles.IMAGE_EXTENSIONS))}); point data= at your images"
        )
    if max_images and len(candidates) > max_images:
        # A fixed subset (not the first N names) so that years and styles stay mixed.
        picked = random.Random(0).sample(candidates, max_images)
        candidates = sorted(picked, key=lambda e: e.relpath)
    root_id = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    prefix = f"folder-{root.name[:40]}-{root_id}-{image_size}px-{max_images or 'all'}"
    key = cache.fingerprint({
        "kind": "folder", "root": str(root), "size": image_size, "min_side": imagefiles.MIN_SIDE,
        "resize": imagefiles.RESIZE_METHOD,
        "files": [[e.relpath, e.size, e.mtime_ns] for e in candidates],
    })
    hit = cache.load(prefix, key)
    if hit is not None:
        arr, meta = hit
        path = cache.entry_paths(prefix, key)[0]
        if "digests" not in meta:  # an entry from before content digests: add them once
            meta["digests"] = [imagefiles.content_digest(root / f) for f in meta["files"]]
            cache.update_meta(prefix, key, meta)
    else:
        arr, kept, bad, digests = cache.decode_files(root, [e.relpath for e in candidates],
                                                     image_size, progress=progress)
        if not kept:
            raise DataError(
                f"no usable image in {root}: all {len(candidates)} image files were skipped "
                f"(first: {bad[0]['path']}: {bad[0]['reason']})"
            )
        meta = {"source": source.to_dict(), "files": kept, "skipped": bad, "digests": digests}
        path = cache.save(prefix, key, arr, meta)
    return FaceDataset(torch.from_numpy(arr), source, image_size, files=meta["files"],
                       skipped=others + meta["skipped"], cache_path=str(path), fingerprint=key,
                       from_cache=hit is not None, digests=meta["digests"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m animeutils.data",
        description="Prepare an image source (download, decode, cache) and summarise it.",
    )
    parser.add_argument("source", nargs="?", default="auto",
                        help="'auto' (default), 'kaggle', 'synthetic' or a folder of images")
    parser.add_argument("--image-size", type=int, default=64, help="side in px (default 64)")
    parser.add_argument("--max-images", type=int, default=None, help="cap the number of images")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--save-skipped", metavar="FILE", help="write skipped files as JSON")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        # With --json, stdout carries the JSON object alone; the banner goes to stderr.
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            ds = load_dataset(args.source, args.image_size, max_images=args.max_images,
                              progress=not args.no_progress)
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.save_skipped:
        ds.save_skipped(args.save_skipped)
    if args.json:
        record = {**ds.describe(), "skipped": ds.skipped, "from_cache": ds.from_cache,
                  "seconds": round(ds.seconds, 3)}
        print(json.dumps(record))
    else:
        print(ds.summary())
        if ds.skipped and not args.save_skipped:
            print("(the full list: --save-skipped FILE or --json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
