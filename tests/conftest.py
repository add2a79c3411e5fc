"""Shared fixtures: a private cache folder per test and image folders laid out like real data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty decode cache and kagglehub cache: no shared state."""
    monkeypatch.setenv("ANIMEUTILS_CACHE", str(tmp_path_factory.mktemp("animeutils-cache")))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path_factory.mktemp("kagglehub-cache")))


TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(name: str):
    """Import ``tools/<name>.py`` (a script folder, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def face_like(seed: int, w: int = 96, h: int = 96) -> Image.Image:
    """A smooth random RGB picture with noise (enough entropy that a cut JPEG fails to decode)."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((w, h))
    noisy = np.asarray(base, np.int16) + rng.integers(-30, 30, (h, w, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def write_kaggle_like(folder, n: int, start_year: int = 2000):
    """``n`` JPEGs named ``<id>_<year>.jpg`` of 90-120 px, as in the Kaggle download."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        side = 90 + (i * 7) % 31
        face_like(i, side, side).save(folder / f"{i}_{start_year + i % 20}.jpg", quality=90)
    return folder


@pytest.fixture
def hostile_folder(tmp_path):
    """A folder with every kind of file a scraped image set contains. Returns (root, expected)
    where expected maps each unusable file to a phrase its skip reason must contain."""
    root = tmp_path / "hostile"
    write_kaggle_like(root, 3)
    face_like(10, 120, 100).save(root / "wide_2011.jpg")  # not square: centre-cropped
    face_like(11).convert("L").save(root / "gray.png")
    rgba = face_like(12).convert("RGBA")
    rgba.putalpha(0)  # fully transparent: must come out white, not black
    rgba.save(root / "rgba.png")
    face_like(13).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    Image.new("RGB", (96, 96), (220, 30, 30)).convert("CMYK").save(root / "cmyk.jpg")
    face_like(14).save(root / "UPPER.JPG")
    (root / "a" / "b").mkdir(parents=True)
    face_like(15).save(root / "a" / "b" / "nested_2010.jpg")

    (root / "empty.jpg").write_bytes(b"")
    face_like(16).save(root / "full.jpg", quality=95)
    blob = (root / "full.jpg").read_bytes()
    (root / "full.jpg").unlink()
    (root / "truncated.jpg").write_bytes(blob[: len(blob) // 2])
    (root / "notes.txt").write_text("not an image")
    (root / "page.jpg").write_text("<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    (root / "garbage.png").write_bytes(np.random.default_rng(0).bytes(500))
    Image.new("RGB", (1, 1)).save(root / "pixel.png")
    expected_skips = {
        "empty.jpg": "empty file",
        "truncated.jpg": "truncated",
        "notes.txt": "not an image file",
        "page.jpg": "HTML",
        "garbage.png": "not an image",
        "pixel.png": "too small",
    }
    return root, expected_skips
