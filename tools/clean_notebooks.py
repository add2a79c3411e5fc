"""Put notebooks in their committed form: no outputs, no execution counts, no cell ids, no
editor metadata, python3 kernelspec. ``python tools/clean_notebooks.py notebooks/*.ipynb``.
tests/test_notebooks.py fails when a committed notebook is not in this form."""

from __future__ import annotations

import sys

import nbformat

KEEP_CELL_METADATA = ("tags",)


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 4
    for cell in nb.cells:
        cell.pop("id", None)
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def main(paths: list[str]) -> int:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(clean(nb), path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
