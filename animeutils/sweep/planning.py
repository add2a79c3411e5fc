"""From a grid, seeds and shared parameters to the list of runs, and each run's state on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import runlog, runtime
from ..config import TrainConfig
from . import notebook03
from .grids import LABEL_FIELDS, SETTINGS, grid_settings, seed_list, settings_of

MARKER = "sweep.json"


@dataclass
class Run:
    setting: str
    seed: int
    path: Path
    params: dict  # notebook 03's parameters for this run

    @property
    def name(self) -> str:
        return f"{self.setting}/seed{self.seed}"


def plan(sweep_dir: str | Path, grid="default", seeds: int | list[int] = 3,
         notebook: str | Path | None = None, **params) -> list[Run]:
    """The runs of a sweep, in order: settings outer, seeds inner. ``params`` are notebook 03
    parameters shared by every run (e.g. ``epochs=10, data="synthetic"``); each is checked
    against the notebook and against TrainConfig before anything runs."""
    params_of = settings_of(grid)
    names = list(params_of)
    varied = {k for name in names for k in params_of[name]}
    if any(name in SETTINGS for name in names):
        varied |= set(LABEL_FIELDS)  # a label grid sets all four (the others at their defaults)
    fixed = sorted(set(params) & {"run_dir", "resume", "seed", *varied})
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot be set for the whole sweep: the sweep sets "
                         "them per setting, the seeds, and each run's folder")
    accepted = notebook03.notebook_parameters(notebook)
    for name in names:  # a dict grid's settings, checked before any run as the shared ones are
        unknown = sorted(set(params_of[name]) - accepted)
        if unknown:
            raise ValueError(f"setting {name!r} sets unknown parameter(s) {', '.join(unknown)}: "
                             f"use notebook 03's parameters ({', '.join(sorted(accepted))})")
    allowed = accepted - {"run_dir", "resume", "seed", *varied}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown sweep parameter(s) {', '.join(unknown)}: use notebook "
                         f"03's parameters ({', '.join(sorted(allowed))})")
    fields = set(TrainConfig.__dataclass_fields__)
    sweep_dir = runtime.anchored(sweep_dir)
    runs = []
    for name in names:
        for seed in seed_list(seeds):
            path = sweep_dir / name / f"seed{seed}"
            run_params = {**params, **params_of[name], "seed": seed, "run_dir": str(path),
                          "resume": True}
            # Fail before the first run, with TrainConfig's one-line message, not in run 17.
            TrainConfig(**{k: v for k, v in run_params.items() if k in fields}).validate()
            runs.append(Run(name, seed, path, run_params))
    return runs


def marker(run_path: str | Path) -> dict | None:
    path = Path(run_path) / MARKER
    return json.loads(path.read_text()) if path.exists() else None


def data_identity(run_path: str | Path) -> str:
    """The identity of the images a run trained on (its config.json), or "" if not recorded."""
    path = Path(run_path) / "config.json"
    recorded = json.loads(path.read_text()) if path.exists() else {}
    return (recorded.get("data_used") or {}).get("identity") or ""


def check_same_data(runs: list[dict], sweep_dir: str | Path) -> None:
    """Refuse, in one line, a sweep whose runs trained on different images: their numbers
    cannot be compared (e.g. a data folder rebuilt between two sessions of one sweep)."""
    groups: dict[str, list[str]] = {}
    for r in runs:
        if r["data"]:
            groups.setdefault(r["data"], []).append(f"{r['setting']}/seed{r['seed']}")
    if len(groups) > 1:
        listed = "; ".join(f"data {key}: {', '.join(names)}" for key, names in groups.items())
        raise ValueError(f"the runs under {sweep_dir} trained on different images ({listed}): "
                         "delete the runs on the data you no longer have and run the sweep "
                         "again, or give each data folder its own sweep_dir")


def state(run: Run) -> str:
    """"finished" or "failed" (a marker with these parameters), "partial" (a checkpoint to resume
    from), else "new". A run marked "attention" (an error a retry can fix) is tried again."""
    done = marker(run.path)
    if done and done.get("params") == run.params and done["status"] in ("finished", "failed"):
        return done["status"]
    return "partial" if (run.path / "checkpoints" / "last.pt").exists() else "new"


def notebook_defaults(grid="default", seeds: int | list[int] | None = None,
            sweep_dir: str | Path | None = None, quick: bool | None = None):
    """Notebook 04's defaults: returns ``(grid, seeds, sweep_dir, note)``.

    Quick mode (CI): the "quick" grid, one seed, ``runs/label_smoothing_quick``. Otherwise
    ``seeds=None`` means 3 (two seeds cannot estimate a spread), and the sweep folder is
    ``runs/label_smoothing``."""
    if runtime.quick_mode(quick):
        folder = runtime.anchored(sweep_dir) if sweep_dir else \
            runlog.runs_root() / "label_smoothing_quick"
        return "quick", 1, Path(folder), "QUICK mode (CI): 2 settings, 1 seed, a few steps each"
    gpu = runtime.device().type == "cuda"
    if seeds is None:
        seeds = 3
    folder = runtime.anchored(sweep_dir) if sweep_dir else runlog.runs_root() / "label_smoothing"
    where = "GPU" if gpu else "CPU (notebook 03 picks its demo scale unless demo=False)"
    return grid, seeds, folder, f"{len(grid_settings(grid))} settings x {len(seed_list(seeds))} " \
                                f"seed(s) on the {where}"
