"""A folder laid out like the Kaggle download (``<root>/images/<id>_<year>.jpg``, 90-120 px JPEGs)
holding synthetic faces from a seed of your choice: the data of the whole-run benchmark and of
the recipe comparison.

    python benchmarks/facefolder.py OUT --num-images 2000 --seed 2026
    python benchmarks/facefolder.py OUT --num-images 2000 --seed 2026 --fingerprint

``--fingerprint`` also prints, for each chunk of 512 faces, a hash of the generated pixels and
one of the written JPEG files, so two machines whose folders differ can compare where.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from animeutils import data, synthetic


def file_name(i: int) -> str:
    """Face ``i``'s file, named like the Kaggle set's ``<id>_<year>.jpg``."""
    return f"{i}_{2000 + i % 20}.jpg"


def chunks(n: int, seed: int):
    """``(first index, uint8 faces)`` in chunks of 512, 120 px, as the folder is written."""
    for start in range(0, n, 512):
        images, _ = synthetic.generate(min(512, n - start), image_size=120,
                                       seed=seed * 100_003 + start)
        yield start, images.numpy()


def write_face_folder(root: str | Path, n: int, seed: int) -> Path:
    """Write (or keep, when complete) ``n`` faces under ``root/images``; returns ``root``."""
    root = Path(root)
    folder = root / "images"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == n:
        return root
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for start, images in chunks(n, seed):
        for i, img in enumerate(images, start):
            side = int(rng.integers(90, 121))
            picture = Image.fromarray(img).resize((side, side), Image.Resampling.LANCZOS)
            picture.save(folder / file_name(i), quality=90)
    return root


def fingerprint(root: str | Path, n: int, seed: int) -> list[str]:
    """Per chunk of 512 faces: sha256 prefixes of the generated pixels (regenerated) and of the
    JPEG files under ``root/images``, in the order :func:`write_face_folder` wrote them."""
    folder, lines = Path(root) / "images", []
    for start, images in chunks(n, seed):
        files = hashlib.sha256()
        for i in range(start, start + len(images)):
            files.update((folder / file_name(i)).read_bytes())
        pixels = hashlib.sha256(images.tobytes()).hexdigest()[:16]
        lines.append(f"faces {start}-{start + len(images) - 1}: generated {pixels}, "
                     f"files {files.hexdigest()[:16]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fingerprint", action="store_true",
                        help="also print per-chunk hashes of the pixels and the files")
    args = parser.parse_args()
    root = write_face_folder(args.out, args.num_images, args.seed)
    if args.fingerprint:
        print("\n".join(fingerprint(root, args.num_images, args.seed)))
    # What a run will record as data_used.identity: the bytes can differ between machines.
    images = data.load_dataset(str(root), 64, verbose=False, progress=False)
    print(f"{root}: {len(images)} images, data identity {images.identity}")


if __name__ == "__main__":  # the guard also keeps decoding workers from re-running it
    main()
