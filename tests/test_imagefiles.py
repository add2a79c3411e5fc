"""Decoding single files: every Pillow mode becomes RGB, every bad file a reason."""

import numpy as np
from PIL import Image

from animeutils import imagefiles

from .conftest import face_like


def test_modes_become_rgb_with_the_right_colours(tmp_path):
    red = Image.new("RGB", (64, 64), (220, 30, 30))
    red.convert("CMYK").save(tmp_path / "cmyk.jpg")
    face_like(0).convert("L").save(tmp_path / "gray.png")
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    clear.save(tmp_path / "clear.png")

    cmyk, why = imagefiles.decode(tmp_path / "cmyk.jpg", 32)
    assert why is None and cmyk.shape == (32, 32, 3) and cmyk.dtype == np.uint8
    r, g, b = cmyk.reshape(-1, 3).mean(0)
    assert r > 180 and g < 80 and b < 80  # still red after CMYK -> RGB

    gray, _ = imagefiles.decode(tmp_path / "gray.png", 32)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()

    white, _ = imagefiles.decode(tmp_path / "clear.png", 32)
    assert white.min() == 255  # transparency composited on white


def test_centre_crop_keeps_the_middle(tmp_path):
    # Left third blue, middle green, right third blue: the square crop must be all green.
    arr = np.zeros((60, 180, 3), np.uint8)
    arr[:, :60, 2] = arr[:, 120:, 2] = 255
    arr[:, 60:120, 1] = 255
    Image.fromarray(arr).save(tmp_path / "wide.png")
    out, _ = imagefiles.decode(tmp_path / "wide.png", 32)
    assert out[..., 1].min() > 240 and out[..., 2].max() < 15


def test_year_from_kaggle_names():
    assert imagefiles.year_from_name("12345_2014.jpg") == 2014
    assert imagefiles.year_from_name("a/b/7_2003.JPG") == 2003
    assert imagefiles.year_from_name("face.jpg") is None
    assert imagefiles.year_from_name("1_1234.jpg") is None


def test_header_size_reads_without_decoding(tmp_path):
    face_like(0, 120, 90).save(tmp_path / "x.jpg")
    (tmp_path / "bad.jpg").write_text("nope")
    assert imagefiles.header_size(tmp_path / "x.jpg") == (120, 90)
    assert imagefiles.header_size(tmp_path / "bad.jpg") is None
