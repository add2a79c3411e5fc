"""Write a notebook from a list of ("md" | "code" | "params", source) cells, in the repo's
clean form (no outputs, no execution counts, python3 kernelspec). Used to author notebooks;
the .ipynb files are the source of truth afterwards."""

from __future__ import annotations

import nbformat

REPO = "https://github.com/anime-dcgan/anime-dcgan"

# The first cell of every notebook: copy it from an existing notebook (tools/release.py keeps
# its INSTALL line pinned).
BOOTSTRAP_FROM = "notebooks/01_explore_data.ipynb"


def colab_badge(name: str) -> str:
    url = f"https://colab.research.google.com/github/{REPO.split('github.com/')[1]}/blob/main/notebooks/{name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def build(path: str, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            cell = nbformat.v4.new_markdown_cell(src)
        else:
            cell = nbformat.v4.new_code_cell(src)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
        cell.pop("id", None)
        nb.cells.append(cell)
    nb.nbformat, nb.nbformat_minor = 4, 4  # no cell ids: stable diffs
    nbformat.write(nb, path)
