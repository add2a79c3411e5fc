"""The sweeps whose results are committed under ``docs/``, so that notebook 04 can show the
measured answer before anyone trains: read from the clone, or downloaded from the repository at
the commit animeutils was installed from (Colab)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from .notebook03 import raw_url
from .report import parse_csv

# docs/ of a clone; an installed package has none (a stray site-packages/docs does not count)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def in_clone() -> bool:
    """Whether this animeutils is a clone's, with the committed evidence beside it."""
    return (DOCS / "label_smoothing.md").is_file()

# title -> folder under docs/ holding that sweep's results.csv, runs.csv, curves and samples
LABEL_SWEEPS = {
    "textbook recipe (recipe='dcgan')": "label_smoothing/dcgan",
    "stable recipe (recipe='stable')": "label_smoothing/stable",
}
# the other committed sweeps (notebook 02's variant comparison joins when its 3 seeds are in)
OTHER_SWEEPS: dict[str, str] = {}


def committed_results(name: str, filename: str = "results.csv") -> list[dict]:
    """The rows of ``docs/<name>/<filename>`` (e.g. ``"label_smoothing/dcgan"``), numbers
    parsed: the clone's copy when there is one, else the repository's at the installed
    commit."""
    local = DOCS / name / filename
    if local.exists():
        return parse_csv(local.read_text())
    if in_clone():
        raise FileNotFoundError(f"{local} does not exist: name one of the committed sweeps "
                                f"({', '.join([*LABEL_SWEEPS.values(), *OTHER_SWEEPS.values()])})")
    url = raw_url(f"docs/{name}/{filename}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return parse_csv(response.read().decode())
    except OSError as e:
        raise FileNotFoundError(f"the committed results are not here and could not be "
                                f"downloaded from {url} ({e}): read docs/label_smoothing.md in "
                                "the repository instead") from None
