"""benchmarks/facefolder.py: the Kaggle-layout folder of synthetic faces that the benchmarks and
the committed sweeps train on, and its fingerprint for comparing two machines' folders."""

import importlib.util
from pathlib import Path

from PIL import Image

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "facefolder.py"
spec = importlib.util.spec_from_file_location("facefolder", PATH)
facefolder = importlib.util.module_from_spec(spec)
spec.loader.exec_module(facefolder)


def test_the_folder_is_laid_out_like_kaggle_and_fingerprinted_per_stage(tmp_path):
    root = facefolder.write_face_folder(tmp_path / "a", 5, seed=7)
    files = sorted((root / "images").iterdir())
    assert [f.name for f in files] == [f"{i}_{2000 + i}.jpg" for i in range(5)]
    assert all(90 <= Image.open(f).size[0] == Image.open(f).size[1] <= 120 for f in files)
    (line,) = facefolder.fingerprint(root, 5, seed=7)
    assert line.startswith("faces 0-4: generated ")
    # the same seed writes the same bytes on one machine; another seed, other pixels and files
    again = facefolder.write_face_folder(tmp_path / "b", 5, seed=7)
    assert facefolder.fingerprint(again, 5, seed=7) == [line]
    other = facefolder.fingerprint(facefolder.write_face_folder(tmp_path / "c", 5, seed=8), 5, 8)
    assert other[0].split()[3] != line.split()[3] and other[0].split()[5] != line.split()[5]
    # a changed file shows in the files hash only: the pixels are regenerated from the seed
    files[2].write_bytes(files[2].read_bytes() + b"\0")
    changed = facefolder.fingerprint(root, 5, seed=7)[0]
    assert changed.split()[3] == line.split()[3] and changed.split()[5] != line.split()[5]
