"""The data pipeline end to end: sources, hostile folders, the cache and the command line."""

import json
import os

import pytest
import requests
import torch

from animeutils import data, sources
from animeutils.sources import DataError

from .conftest import write_kaggle_like


def test_hostile_folder_keeps_every_usable_image_and_says_why_for_the_rest(hostile_folder):
    root, expected = hostile_folder
    ds = data.load_dataset(root, image_size=32, progress=False, verbose=False)

    assert ds.source.kind == "folder"
    assert ds.images.shape == (10, 32, 32, 3) and ds.images.dtype == torch.uint8
    assert "a/b/nested_2010.jpg" in ds.files and "UPPER.JPG" in ds.files
    assert {"gray.png", "rgba.png", "palette.png", "cmyk.jpg", "wide_2011.jpg"} <= set(ds.files)
    reasons = {s["path"]: s["reason"] for s in ds.skipped}
    assert set(reasons) == set(expected)
    for path, phrase in expected.items():
        assert phrase in reasons[path], (path, reasons[path])
    counts = ds.skipped_counts()
    assert sum(counts.values()) == 6 and counts["empty file (0 bytes)"] == 1
    assert "skipped     6 file(s)" in ds.summary()

    saved = json.loads(ds.save_skipped(root.parent / "skipped.json").read_text())
    assert {s["path"] for s in saved} == set(expected)


def test_128_px_works(tmp_path):
    ds = data.load_dataset(write_kaggle_like(tmp_path / "imgs", 4), 128, progress=False,
                           verbose=False)
    assert ds.images.shape == (4, 128, 128, 3)


def test_cache_reloads_unchanged_and_rebuilds_changed_folders(tmp_path):
    root = write_kaggle_like(tmp_path / "imgs", 6)
    first = data.load_dataset(root, 32, progress=False, verbose=False)
    again = data.load_dataset(root, 32, progress=False, verbose=False)
    assert not first.from_cache and again.from_cache
    assert torch.equal(first.images, again.images) and again.files == first.files

    # Overwrite one image with different content: it must be decoded afresh.
    victim = root / first.files[2]
    from .conftest import face_like

    face_like(99, 100, 100).save(victim)
    os.utime(victim, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    changed = data.load_dataset(root, 32, progress=False, verbose=False)
    assert not changed.from_cache
    assert not torch.equal(changed.images[2], first.images[2])
    assert torch.equal(changed.images[0], first.images[0])
    # The stale entry was pruned: one cache file of this source and size remains.
    folder_entries = list(data.cache.cache_dir().glob("folder-imgs-*-32px-all-*.npy"))
    assert folder_entries == [data.Path(changed.cache_path)]

    # Another size is another entry; the 32 px one survives.
    data.load_dataset(root, 48, progress=False, verbose=False)
    assert data.load_dataset(root, 32, progress=False, verbose=False).from_cache


def test_max_images_takes_a_fixed_subset(tmp_path):
    root = write_kaggle_like(tmp_path / "imgs", 12)
    a = data.load_dataset(root, 32, max_images=5, progress=False, verbose=False)
    b = data.load_dataset(root, 32, max_images=5, progress=False, verbose=False)
    assert len(a) == 5 and a.files == b.files and b.from_cache


@pytest.mark.parametrize("setup", ["missing", "file", "empty", "all_bad"])
def test_unusable_sources_are_one_clear_error_naming_the_path(tmp_path, setup):
    path = tmp_path / "where"
    if setup == "file":
        path.write_text("x")
    elif setup == "empty":
        path.mkdir()
    elif setup == "all_bad":
        path.mkdir()
        (path / "a.jpg").write_bytes(b"")
        (path / "b.jpg").write_text("<html></html>")
    with pytest.raises(DataError) as err:
        data.load_dataset(path, 32, progress=False, verbose=False)
    message = str(err.value)
    assert str(path.name) in message and "\n" not in message


def test_bad_settings_are_value_errors():
    with pytest.raises(ValueError, match="image_size"):
        data.load_dataset("synthetic", image_size=8)
    with pytest.raises(ValueError, match="max_images"):
        data.load_dataset("synthetic", max_images=0)
    with pytest.raises(DataError, match="not a source"):
        sources.resolve("  ")


def _fake_kaggle_download(cache_root, n=5):
    """Lay out the kagglehub cache exactly as a finished download leaves it."""
    version = cache_root / "datasets" / "splcher" / "animefacedataset" / "versions" / "3"
    write_kaggle_like(version / "images", n)
    (version.parent.parent / "3.complete").touch()
    return version


def test_kaggle_source_uses_kagglehub_and_finds_the_images_folder():
    # kagglehub itself runs here: with a pinned version and a complete cache it needs no network.
    version = _fake_kaggle_download(data.Path(os.environ["KAGGLEHUB_CACHE"]))
    ds = data.load_dataset("kaggle", 32, progress=False, verbose=False)
    assert ds.source.kind == "kaggle" and ds.source.kaggle_handle == sources.KAGGLE_HANDLE
    assert data.Path(ds.source.path) == version / "images"
    assert len(ds) == 5 and ds.files[0].endswith(".jpg")

    auto = data.load_dataset("auto", 32, progress=False, verbose=False)
    assert auto.source.kind == "kaggle" and auto.source.requested == "auto"


def test_find_image_folder_without_an_images_dir(tmp_path):
    write_kaggle_like(tmp_path / "dl" / "faces" / "set", 3)
    (tmp_path / "dl" / "readme.md").write_text("hi")
    assert sources.find_image_folder(tmp_path / "dl") == tmp_path / "dl" / "faces" / "set"
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="no image files"):
        sources.find_image_folder(tmp_path / "none")


def _raise(exc):
    def download(handle, *a, **k):
        raise exc

    return download


def test_kaggle_errors_say_what_to_do(monkeypatch):
    import kagglehub

    monkeypatch.setattr(kagglehub, "dataset_download", _raise(requests.ConnectionError("dns")))
    with pytest.raises(DataError, match="could not be reached.*local folder"):
        sources.resolve("kaggle")

    response = requests.Response()
    response.status_code = 403
    monkeypatch.setattr(kagglehub, "dataset_download",
                        _raise(requests.HTTPError("forbidden", response=response)))
    with pytest.raises(DataError, match="HTTP 403.*KAGGLE_USERNAME"):
        sources.resolve("kaggle")


def test_auto_falls_back_to_synthetic_visibly_when_offline(monkeypatch, capsys):
    import kagglehub

    monkeypatch.setattr(kagglehub, "dataset_download", _raise(requests.ConnectionError("dns")))
    ds = data.load_dataset("auto", 32, max_images=20, progress=False)
    assert ds.source.kind == "synthetic" and ds.source.requested == "auto"
    assert "could not be reached" in ds.source.reason
    banner = capsys.readouterr().out
    assert "synthetic" in banner and "NOT the anime dataset" in banner
    record = ds.describe()
    assert record["source"] == "synthetic" and record["requested"] == "auto"
    assert record["num_images"] == 20


def test_synthetic_source_is_cached_and_deterministic():
    a = data.load_dataset("synthetic", 32, max_images=40, progress=False, verbose=False)
    b = data.load_dataset("synthetic", 32, max_images=40, progress=False, verbose=False)
    assert not a.from_cache and b.from_cache and torch.equal(a.images, b.images)
    assert a.factors is not None and len(a.factors["flaw"]) == 40


def test_cli_json_summary_and_exit_status(hostile_folder, capsys):
    root, expected = hostile_folder
    assert data.main([str(root), "--image-size", "32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # stdout holds the JSON object alone
    assert out["source"] == "folder" and out["num_images"] == 10
    assert {s["path"] for s in out["skipped"]} == set(expected)
    assert out["cache_path"].endswith(".npy") and os.path.exists(out["cache_path"])

    assert data.main([str(root / "nope"), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: image folder not found") and "nope" in err


def test_cli_text_summary(tmp_path, capsys):
    root = write_kaggle_like(tmp_path / "imgs", 3)
    assert data.main([str(root), "--image-size", "32", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "DATA: images from the folder" in out and "images      3 at 32x32 px" in out
