"""A folder laid out like the Kaggle download (``<root>/images/<id>_<year>.jpg``, 90-120 px JPEGs)
holding synthetic faces from a seed of your choice: the data of the whole-run benchmark and of
the recipe comparison.

    python benchmarks/facefolder.py OUT --num-images 2000 --seed 2026
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from animeutils import data, synthetic


def write_face_folder(root: str | Path, n: int, seed: int) -> Path:
    """Write (or keep, when complete) ``n`` faces under ``root/images``; returns ``root``."""
    root = Path(root)
    folder = root / "images"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == n:
        return root
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for start in range(0, n, 512):
        count = min(512, n - start)
        images, _ = synthetic.generate(count, image_size=120, seed=seed * 100_003 + start)
        for i, img in enumerate(images.numpy()):
            side = int(rng.integers(90, 121))
            picture = Image.fromarray(img).resize((side, side), Image.Resampling.LANCZOS)
            picture.save(folder / f"{start + i}_{2000 + (start + i) % 20}.jpg", quality=90)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    root = write_face_folder(args.out, args.num_images, args.seed)
    # What a run will record as data_used.identity: the bytes can differ between machines.
    images = data.load_dataset(str(root), 64, verbose=False, progress=False)
    print(f"{root}: {len(images)} images, data identity {images.identity}")


if __name__ == "__main__":  # the guard also keeps decoding workers from re-running it
    main()
