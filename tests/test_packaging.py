"""requirements.txt and environment.yml list the same packages; neither pins torch."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge spells a few names differently


def pip_names():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {re.split(r"[<>=!~ ]", ln.strip())[0].lower(): ln for ln in lines
            if ln.strip() and not ln.startswith("#")}


def conda_names():
    text = (ROOT / "environment.yml").read_text().split("dependencies:")[1]
    deps = re.findall(r"^\s+- ([A-Za-z0-9_.-]+)(.*)$", text, re.M)
    names = {CONDA_NAMES.get(n.lower(), n.lower()): n + v for n, v in deps}
    return {k: v for k, v in names.items() if k not in ("python", "pip")}


def test_same_packages_in_both_files():
    assert set(pip_names()) == set(conda_names())


def test_torch_is_not_pinned_to_one_build():
    for spec in (pip_names()["torch"], conda_names()["torch"]):
        assert "==" not in spec and "+cpu" not in spec


def test_named_packages_are_all_required():
    needed = {"jupyterlab", "torch", "torchvision", "matplotlib", "ipywidgets", "pillow",
              "kagglehub", "nbval", "papermill"}
    assert needed <= set(pip_names())
