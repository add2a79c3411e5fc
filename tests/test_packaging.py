"""requirements.txt and environment.yml list the same packages; neither pins torch."""

import ast
import re
import sys
from pathlib import Path

import pytest

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


# Import names that differ from the distribution that provides them.
DISTRIBUTION_OF = {"PIL": "pillow", "torch_fidelity": "torch-fidelity", "yaml": "pyyaml",
                   "IPython": "ipython"}
# Imported by the package but installed by a declared dependency: IPython by ipywidgets,
# requests by kagglehub, PyYAML by papermill (the sweep's optional dependency, in `dev`).
PROVIDED_BY = {"ipython": "ipywidgets", "requests": "kagglehub", "pyyaml": "papermill"}


def imported_top_level_modules(folder):
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_of_the_package_is_a_declared_dependency():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda spec: re.split(r"[<>=!~ ]", spec)[0].lower()  # noqa: E731
    declared = {name(d) for d in project["dependencies"]}
    optional = {name(d) for d in project["optional-dependencies"]["dev"]}
    third_party = {m for m in imported_top_level_modules(ROOT / "animeutils")
                   if m not in sys.stdlib_module_names and m != "animeutils"}
    # google.colab exists only inside Colab and is imported there only.
    third_party -= {"google"}
    needed = {DISTRIBUTION_OF.get(m, m).lower() for m in third_party}
    missing = {d for d in needed if PROVIDED_BY.get(d, d) not in declared | optional}
    assert not missing, f"imported by animeutils but not in pyproject dependencies: {missing}"
    assert declared <= set(pip_names()), "pyproject dependencies missing from requirements.txt"
