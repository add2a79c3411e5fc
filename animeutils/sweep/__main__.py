"""``python -m animeutils.sweep``: run a grid of settings x seeds through notebook 03 and print
what it found (see :mod:`animeutils.sweep`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from .. import runlog
from . import __doc__ as PACKAGE_DOC
from .grids import GRIDS, NAMED_SETTINGS, SETTINGS, baseline, grid_settings
from .report import conclusions, write_results
from .runner import run_sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m animeutils.sweep",
                                     description=PACKAGE_DOC.splitlines()[0])
    parser.add_argument("--sweep-dir", default=None,
                        help="default: runs/label_smoothing, or runs/recipes for a recipe grid")
    parser.add_argument("--grid", nargs="+", default=["default"],
                        help=f"a grid ({', '.join(GRIDS)}) or setting names "
                             f"({', '.join([*SETTINGS, *NAMED_SETTINGS])})")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-reuse", action="store_true", help="retrain every run from scratch")
    parser.add_argument("--devices", nargs="+", default=None, help="e.g. cuda:0 cuda:1")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel for notebook 03")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="a notebook-03 parameter for every run, e.g. -p epochs 10")
    args = parser.parse_args(argv)
    # an identity is hex text even when YAML would read it as a number (12345678, 01234567)
    params = {name: value if name == "data_identity" else yaml.safe_load(value)
              for name, value in args.param}
    grid = args.grid[0] if len(args.grid) == 1 and args.grid[0] in GRIDS else args.grid
    if args.sweep_dir is None:
        recipes = baseline(grid) == "dcgan"
        args.sweep_dir = str(runlog.runs_root() / ("recipes" if recipes else "label_smoothing"))
    try:
        run_sweep(args.sweep_dir, grid, args.seeds, reuse=not args.no_reuse,
                  devices=args.devices, kernel_name=args.kernel, **params)
        summary = write_results(args.sweep_dir, grid_settings(grid))
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C or kill: the sweep has said what it kept
        return 130
    print("\n".join(conclusions(summary, baseline=baseline(grid))))
    print(f"results: {Path(args.sweep_dir) / 'results.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
