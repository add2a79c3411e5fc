"""Keep a long CPU sweep's finished runs across machines that do not keep runs/: copy what the
sweep and tools/publish_sweep.py read of each finished run (sweep.json, config.json,
stats.jsonl, sweep_params.json, and seed 0's last sample grid) into a committed folder, and
copy them back before the sweep goes on. The sweep then skips those runs, as it skips any
finished run.

    python tools/sweep_archive.py pack runs/variants sweeps_in_progress/variants
    python tools/sweep_archive.py unpack sweeps_in_progress/variants runs/variants

A run is restored only to the folder it ran in: its sweep.json records its absolute run_dir,
and a run whose parameters differ is trained again.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as publish_sweep.py
from animeutils.sweep.planning import MARKER, marker

FILES = (MARKER, "config.json", "stats.jsonl", "sweep_params.json")


def finished_runs(sweep_dir: Path) -> list[Path]:
    """The runs under ``sweep_dir`` whose marker says the sweep finished them."""
    runs = [path.parent for path in sorted(sweep_dir.glob(f"*/seed*/{MARKER}"))]
    return [run for run in runs if marker(run).get("status") == "finished"]


def pack(sweep_dir: Path, dest: Path) -> int:
    runs = finished_runs(sweep_dir)
    for run in runs:
        out = dest / run.relative_to(sweep_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(run / name, out / name)
        grids = sorted((run / "samples").glob("epoch_*.png"))
        if run.name == "seed0" and grids:  # the sample panel shows seed 0's last grid
            (out / "samples").mkdir(exist_ok=True)
            shutil.copyfile(grids[-1], out / "samples" / grids[-1].name)
    print(f"{len(runs)} finished run(s) of {sweep_dir} in {dest}")
    return 0


def unpack(src: Path, sweep_dir: Path) -> int:
    restored = 0
    for path in sorted(src.glob(f"*/seed*/{MARKER}")):
        run = path.parent
        expected = marker(run)["params"]["run_dir"]
        target = sweep_dir / run.relative_to(src)
        if Path(expected).resolve() != target.resolve():
            raise SystemExit(f"error: {run} ran in {expected}, not {target}: unpack it there "
                             "(the sweep would train it again elsewhere)")
        shutil.copytree(run, target, dirs_exist_ok=True)
        restored += 1
    print(f"{restored} finished run(s) restored into {sweep_dir}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("src", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    return (pack if args.action == "pack" else unpack)(args.src, args.dest)


if __name__ == "__main__":
    sys.exit(main())
