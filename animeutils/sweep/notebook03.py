"""Notebook 03, which every run of a sweep executes: found beside the package in a clone, or
downloaded once from the repository (Colab, a pip install), and its parameters."""

from __future__ import annotations

import functools
import importlib.util
import json
import subprocess
import sys
import urllib.request
from importlib.metadata import PackageNotFoundError, distribution, metadata
from pathlib import Path

from .. import atomic, runlog, runtime

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_train.ipynb"  # in a clone


def require_papermill() -> None:
    """papermill is in requirements.txt; Colab lacks it, so there it is installed on first use."""
    if importlib.util.find_spec("papermill") is not None:
        return
    if not runtime.in_colab():
        raise ModuleNotFoundError("the sweep runs notebook 03 through papermill, which is not "
                                  "installed: pip install papermill (or -r requirements.txt)")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "papermill"])


def installed_commit() -> str | None:
    """The commit pip installed animeutils from (its ``direct_url.json``; the notebooks install
    a pinned commit in Colab), or None for an editable or index install."""
    try:
        info = json.loads(distribution("animeutils").read_text("direct_url.json") or "{}")
    except (PackageNotFoundError, ValueError):
        return None
    return info.get("vcs_info", {}).get("commit_id")


def raw_url(path: str) -> str:
    """The raw-file URL of ``path`` in the repository animeutils was installed from (its
    ``Repository`` URL in pyproject.toml, read from the installed metadata): at the commit pip
    installed, so that notebook 03 matches the package, else on the main branch."""
    try:
        urls = dict(u.split(", ", 1) for u in metadata("animeutils").get_all("Project-URL") or [])
    except PackageNotFoundError:
        urls = {}
    if "Repository" not in urls:
        raise FileNotFoundError("animeutils is not installed, so its repository is unknown: "
                                "pip install it, or run from a clone of the repository")
    repo = urls["Repository"]
    return repo.replace("https://github.com/", "https://raw.githubusercontent.com/") + \
        f"/{installed_commit() or 'main'}/{path}"


def training_notebook(notebook: str | Path | None = None) -> Path:
    """Notebook 03: ``notebook`` if given; in a clone, the one beside this package; otherwise
    (Colab, a pip install) a copy downloaded once from the repository into the runs folder."""
    if notebook is not None:
        path = Path(notebook)
        if not path.exists():
            raise FileNotFoundError(f"notebook={str(path)!r} does not exist: give the path of "
                                    "03_train.ipynb, or None")
        return path
    if NOTEBOOK.exists():
        return NOTEBOOK
    target = runlog.runs_root() / "_notebooks" / "03_train.ipynb"
    if not target.exists():
        url = raw_url("notebooks/03_train.ipynb")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                atomic.write(target, lambda fh: fh.write(response.read()))
        except OSError as e:
            raise FileNotFoundError(
                f"notebook 03 is not beside animeutils and could not be downloaded from {url} "
                f"({e}): run from a clone of the repository, or pass notebook=<path of "
                "03_train.ipynb>") from None
    return target


def notebook_parameters(notebook: str | Path | None = None) -> set[str]:
    """The names in notebook 03's ``parameters`` cell (read once per version of the file)."""
    path = training_notebook(notebook)
    return set(_parameters(str(path), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _parameters(path: str, mtime_ns: int) -> tuple[str, ...]:
    require_papermill()
    import papermill  # here, not at the top: in Colab it is installed on first use

    return tuple(papermill.inspect_notebook(path))
