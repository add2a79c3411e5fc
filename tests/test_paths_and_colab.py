"""Runs that survive Colab: relative paths anchored once, Google Drive for the runs folder (with
the Colab module faked: no network, no Google code), and an install that cannot be hijacked."""

import json
import os
import re
import sys
import types
from pathlib import Path

import pytest

from animeutils import config, runlog, runtime, sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A folder laid out like a clone (animeutils/ and notebooks/ side by side)."""
    root = tmp_path / "clone"
    (root / "animeutils").mkdir(parents=True)
    (root / "notebooks").mkdir()
    monkeypatch.delenv(runlog.RUNS_ENV, raising=False)
    return root


@pytest.mark.parametrize("where", ["root", "notebooks"])
def test_relative_paths_mean_the_same_from_the_root_and_from_notebooks(clone, monkeypatch,
                                                                       where):
    monkeypatch.chdir(clone if where == "root" else clone / "notebooks")
    assert runtime.anchored("runs/x") == (clone / "runs" / "x").resolve()
    assert runlog.runs_root() == (clone / "runs").resolve()
    assert runlog.resolve("runs/x", False, "dcgan") == (clone / "runs" / "x").resolve()
    assert runtime.anchored("/abs/p") == Path("/abs/p")
    (clone / "runs" / "faces" / "images").mkdir(parents=True)
    from animeutils import sources

    assert Path(sources.resolve("runs/faces").path) == (clone / "runs" / "faces").resolve()
    monkeypatch.setattr(sweep.notebook03, "notebook_parameters",  # the quick grid's and these
                        lambda notebook=None: {"epochs", "data", *sweep.LABEL_FIELDS})
    runs = sweep.plan("runs/sweep", "quick", 1, epochs=1, data="synthetic")
    assert runs[0].path == (clone / "runs" / "sweep" / "hard" / "seed0").resolve()


def test_notebook_outputs_land_in_the_run_folder(clone, monkeypatch):
    monkeypatch.chdir(clone / "notebooks")
    run = clone / "runs" / "r1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "checkpoints" / "last.pt").write_bytes(b"x")
    assert runlog.output_folder("runs/r1/checkpoints/last.pt") == run.resolve()
    assert runlog.output_folder("runs/r1") == run.resolve()
    loose = clone / "elsewhere.pt"
    loose.write_bytes(b"x")
    assert runlog.output_folder(loose) == (clone / "runs").resolve()  # never notebooks/


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """``google.colab`` in sys.modules (as in a Colab kernel) with a ``drive.mount`` that makes
    the MyDrive folder, or raises like a refused pop-up when ``refuse`` is set."""
    mounted, state = [], {"refuse": False}

    def mount(path):
        if state["refuse"]:
            raise ValueError("mount failed: the user declined")
        mounted.append(path)
        (Path(path) / "MyDrive").mkdir(parents=True, exist_ok=True)

    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mount)
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    for name in (runlog.RUNS_ENV, "ANIMEUTILS_CACHE"):
        monkeypatch.delenv(name, raising=False)
    return types.SimpleNamespace(mounted=mounted, state=state, point=tmp_path / "content-drive")


def test_in_colab_drive_keeps_runs_and_cache_there_and_other_runtimes_find_them(
        fake_colab, monkeypatch, capsys):
    from animeutils import colab, data, train

    root = colab.use_drive(None, mount_point=fake_colab.point)
    assert fake_colab.mounted == [str(fake_colab.point)]
    assert root == fake_colab.point / "MyDrive" / "anime-dcgan"
    assert runlog.runs_root() == (root / "runs").resolve()
    assert Path(os.environ["ANIMEUTILS_CACHE"]) == root / "cache"
    assert "kept on Google Drive" in capsys.readouterr().out
    ds = data.load_dataset("synthetic", 64, max_images=64, progress=False, verbose=False)
    assert Path(ds.cache_path).is_relative_to(root / "cache")
    cfg = config.TrainConfig(data="synthetic", max_images=64, g_features=8, d_features=8,
                             batch_size=32, epochs=1, num_samples=8)
    trained = train.train(cfg, ds, progress=False).run_dir
    # A new runtime (notebook 05 from its own badge): fresh environment, Drive mounted again.
    for name in (runlog.RUNS_ENV, "ANIMEUTILS_CACHE"):
        monkeypatch.delenv(name)
    colab.use_drive(True, mount_point=fake_colab.point)
    assert runlog.latest_run() == trained


def test_a_refused_mount_says_so_and_runs_stay_local(fake_colab, capsys):
    from animeutils import colab

    fake_colab.state["refuse"] = True
    assert colab.use_drive(None, mount_point=fake_colab.point) is None
    out = capsys.readouterr().out.strip()
    assert out.startswith("Google Drive was not mounted (ValueError: mount failed")
    assert "\n" not in out and "drive=False" in out
    assert runlog.RUNS_ENV not in os.environ


def test_outside_colab_nothing_is_mounted(monkeypatch, capsys):
    from animeutils import colab

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab.drive", None)  # an import would fail loudly
    assert colab.use_drive(None) is None and capsys.readouterr().out == ""
    assert colab.use_drive(True) is None
    assert "only applies in Google Colab" in capsys.readouterr().out


def test_drive_false_in_colab_mounts_nothing(fake_colab, capsys):
    from animeutils import colab

    assert colab.use_drive(False, mount_point=fake_colab.point) is None
    assert fake_colab.mounted == [] and "drive=False" in capsys.readouterr().out


# --- the install that cannot be hijacked -------------------------------------------------------
def test_notebooks_install_the_commit_pyproject_pins_never_a_branch():
    sys.path.insert(0, str(ROOT / "tools"))
    import release

    pinned = release.settings()
    assert re.fullmatch(r"[0-9a-f]{40}", pinned["pinned_commit"])
    for path in release.NOTEBOOKS:
        first = next("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                     if c["cell_type"] == "code")
        assert release.PIN_LINE.search(first)["commit"] == pinned["pinned_commit"], path.name
        assert release.PIN_LINE.search(first)["version"] == pinned["pinned_version"]
        assert f'REPO = "{pinned["repository"]}"' in first
        assert 'INSTALL = f"git+{REPO}@{COMMIT}"' in first and "git+https" not in \
            first.replace('REPO = "https', "")
        assert "raise SystemExit(f\"could not install animeutils" in first


def test_the_release_tool_pins_every_notebook(tmp_path, monkeypatch):
    import shutil

    sys.path.insert(0, str(ROOT / "tools"))
    import release

    shutil.copy(release.PYPROJECT, tmp_path / "pyproject.toml")
    (tmp_path / "notebooks").mkdir()
    for path in release.NOTEBOOKS[:2]:
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    monkeypatch.setattr(release, "PYPROJECT", tmp_path / "pyproject.toml")
    monkeypatch.setattr(release, "NOTEBOOKS", sorted((tmp_path / "notebooks").glob("*.ipynb")))
    monkeypatch.setattr(sys, "argv", ["release.py", "--version", "0.2.0"])
    assert release.main() == 0
    monkeypatch.setattr(sys, "argv", ["release.py", "--pin", "a" * 40])
    assert release.main() == 0
    assert release.settings()["pinned_commit"] == "a" * 40
    assert release.settings()["pinned_version"] == "0.2.0"
    for path in release.NOTEBOOKS:
        assert f'COMMIT = "{"a" * 40}"  # animeutils 0.2.0' in path.read_text().replace('\\"', '"')
    monkeypatch.setattr(sys, "argv", ["release.py", "--pin", "main"])
    assert release.main() == 2  # a branch name is refused


def test_a_failed_install_stops_with_one_line_saying_what_to_do(tmp_path):
    import subprocess

    first = next("".join(c["source"]) for c in json.loads(
        (ROOT / "notebooks" / "03_train.ipynb").read_text())["cells"] if c["cell_type"] == "code")
    # Outside a clone, with pip pointed at nothing: the install must fail, and say so.
    script = "import importlib.util, sys\nimportlib.util.find_spec = lambda name: None\n" + first
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                       "PIP_NO_INDEX": "1", "HOME": str(tmp_path)})
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("could not install animeutils from git+https://github.com/")
    assert "clone the repository" in last
