"""Benchmark the decode cache: build images/s and reload seconds for a folder of N JPEGs.

    python benchmarks/data_cache.py --num-images 63600 [--image-size 64] [--folder DIR]

Writes N JPEGs of 90-120 px (like the Kaggle set: ~8 KB each) into a temporary folder unless
--folder is given, then times a cold build (decode + resize + save) and a warm reload through
``animeutils.data.load_dataset``, exactly as notebooks call it. Uses a private cache folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image


def write_jpegs(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> None:
        rng = np.random.default_rng(i)
        side = int(rng.integers(90, 121))
        base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
        arr = np.asarray(base.resize((side, side), Image.Resampling.BICUBIC), np.int16)
        arr = arr + rng.integers(-16, 16, arr.shape)
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(
            folder / f"{i}_{2000 + i % 20}.jpg", quality=90
        )

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(one, range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=63_600)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--folder", type=Path, help="existing folder of images to use instead")
    parser.add_argument("--reloads", type=int, default=3, help="warm reloads to time (best kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANIMEUTILS_CACHE"] = str(Path(tmp) / "cache")
        from animeutils import data

        folder = args.folder
        if folder is None:
            folder = Path(tmp) / "images"
            t = time.perf_counter()
            write_jpegs(folder, args.num_images)
            print(f"wrote {args.num_images:,} JPEGs in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        ds = data.load_dataset(folder, args.image_size, progress=False, verbose=False)
        build = time.perf_counter() - t
        reloads, reads = [], []
        for _ in range(args.reloads):
            t = time.perf_counter()
            again = data.load_dataset(folder, args.image_size, progress=False, verbose=False)
            reloads.append(time.perf_counter() - t)
            assert again.from_cache and len(again) == len(ds)
            t = time.perf_counter()
            again.images.max()  # touch every byte of the memory-mapped cache
            reads.append(time.perf_counter() - t)
        print(f"cpu cores          {os.cpu_count()}")
        print(f"images             {len(ds):,} at {args.image_size} px ({len(ds.skipped)} skipped)")
        print(f"cache build        {build:.1f} s = {len(ds) / build:,.0f} images/s")
        print(f"cache reload       {min(reloads):.2f} s (best of {args.reloads}; "
              f"all: {', '.join(f'{r:.2f}' for r in reloads)}): scan, fingerprint, map")
        print(f"first full read    {min(reads):.2f} s (best; all: "
              f"{', '.join(f'{r:.2f}' for r in reads)}): every byte of the mapped images")


if __name__ == "__main__":
    main()
