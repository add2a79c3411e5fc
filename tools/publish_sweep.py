"""Copy a finished sweep's evidence into docs/: its results.csv and runs.csv (rewritten from the
run folders), the mean curves and the seed-0 sample panel; then print the Markdown tables and
the conclusions to paste into the page that explains them.

    python tools/publish_sweep.py runs/labels_dcgan docs/label_smoothing/dcgan --grid core
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from animeutils import sweep


def per_seed_table(runs: list[dict], settings: list[str], metric: str = "swd_end") -> str:
    seeds = sorted({r["seed"] for r in runs})
    lines = ["| setting | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "|---|" + "---|" * len(seeds)]
    for name in settings:
        by_seed = {r["seed"]: r for r in runs if r["setting"] == name}
        cells = [f"{by_seed[s][metric]:.1f}" if s in by_seed and by_seed[s]["status"] == "finished"
                 else "–" for s in seeds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("dest", type=Path, help="e.g. docs/label_smoothing/dcgan")
    parser.add_argument("--grid", nargs="+", default=["core"])
    args = parser.parse_args()
    grid = args.grid[0] if len(args.grid) == 1 and args.grid[0] in sweep.GRIDS else args.grid
    settings = sweep.grid_settings(grid)
    summary = sweep.write_results(args.sweep_dir, settings)
    args.dest.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "runs.csv"):
        shutil.copyfile(args.sweep_dir / name, args.dest / name)
    sweep.plot_curves(args.sweep_dir, settings, pyplot=False).savefig(args.dest / "curves.png",
                                                                       dpi=80)
    panel = sweep.sample_panel(args.sweep_dir, settings, seed=0, pyplot=False)
    panel.savefig(args.dest / "samples.jpg", dpi=60, pil_kwargs={"quality": 85})
    runs = sweep.read_csv(args.dest / "runs.csv")
    print(sweep.table_markdown(summary), end="\n\n")
    print(per_seed_table(runs, settings), end="\n\n")
    print("\n".join(f"- {line}" for line in sweep.conclusions(summary,
                                                              baseline=sweep.baseline(grid))))
    print(f"written: {', '.join(sorted(p.name for p in args.dest.iterdir()))} in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
