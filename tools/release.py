"""The release step: the package version in pyproject.toml and the one reference every notebook
installs in Colab, kept in agreement (tests/test_paths_and_colab.py checks them).

A notebook opened from its Colab badge installs animeutils from ``REPO`` at ``COMMIT`` (its
first cell). That reference is a commit hash, which nobody can move or recreate: whoever held
the repository's name later could not make a student's Colab run their code. Releasing takes
two commits, because a commit cannot name itself:

    python tools/release.py --version 0.2.0      # 1. set the version; commit; push; tag v0.2.0
    python tools/release.py --pin "$(git rev-parse v0.2.0^{commit})"   # 2. pin it; commit; push

Both rewrite pyproject.toml's ``[tool.animeutils]`` table and, for --pin, the first cell of every
notebook.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PIN_LINE = re.compile(r'^COMMIT = "(?P<commit>[0-9a-f]{40})"  # animeutils (?P<version>\S+)$',
                      re.M)


def settings() -> dict:
    data = tomllib.loads(PYPROJECT.read_text())
    return {"version": data["project"]["version"],
            "repository": data["project"]["urls"]["Repository"],
            **data["tool"]["animeutils"]}


def pin_line(commit: str, version: str) -> str:
    return f'COMMIT = "{commit}"  # animeutils {version}'


def _set_toml(key: str, value: str, table: str | None) -> None:
    text = PYPROJECT.read_text()
    pattern = re.compile(rf'^{key} = "[^"]*"', re.M)
    if table:  # only inside [table]
        head = text.index(f"[{table}]")
        end = text.find("\n[", head + 1)
        end = len(text) if end < 0 else end
        part = pattern.sub(f'{key} = "{value}"', text[head:end], count=1)
        text = text[:head] + part + text[end:]
    else:
        text = pattern.sub(f'{key} = "{value}"', text, count=1)
    PYPROJECT.write_text(text)


def pin_notebooks(commit: str) -> None:
    s = settings()
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        source = "".join(cell["source"])
        new = PIN_LINE.sub(pin_line(commit, s["pinned_version"]), source)
        cell["source"] = new.splitlines(True)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="step 1: the new package version, e.g. 0.2.0")
    parser.add_argument("--pin", metavar="COMMIT", help="step 2: the released commit's hash")
    args = parser.parse_args()
    if not (args.version or args.pin):
        parser.error("give --version or --pin")
    if args.version:
        _set_toml("version", args.version, None)
        print(f"version {args.version}: commit, push, then tag v{args.version}")
    if args.pin:
        if not re.fullmatch(r"[0-9a-f]{40}", args.pin):
            print(f"error: --pin needs a full 40-character commit hash, got {args.pin!r}",
                  file=sys.stderr)
            return 2
        version = settings()["version"]
        _set_toml("pinned_commit", args.pin, "tool.animeutils")
        _set_toml("pinned_version", version, "tool.animeutils")
        pin_notebooks(args.pin)
        print(f"notebooks install animeutils {version} from commit {args.pin}: commit and push")
    return 0


if __name__ == "__main__":
    sys.exit(main())
