"""A grid of named settings, each trained for several seeds by running notebook 03 through
papermill, then summarised from the run folders alone: the label-smoothing grids of notebook 04
(:data:`SETTINGS`) and the recipe comparison of docs/recipes.md (:data:`RECIPE_SETTINGS`).

Layout of a sweep folder::

    <sweep_dir>/<setting>/seed<k>/         one run folder of animeutils.train per setting and seed
        03_train.ipynb                     the executed training notebook
        sweep.json                         written when the notebook ends: finished or failed
        papermill.log                      papermill's output
    <sweep_dir>/runs.csv                   one row per run
    <sweep_dir>/results.csv                one row per setting: mean and std over seeds

A sweep that stops part-way resumes: runs whose ``sweep.json`` says finished (or failed) with the
same parameters are skipped, and the others continue from their last checkpoint (notebook 03
with ``resume=True``). With several GPUs the runs are spread one per device.

    from animeutils import sweep
    sweep.run_sweep("runs/label_smoothing", grid="core", seeds=3, epochs=10)
    rows = sweep.summarise(sweep.collect("runs/label_smoothing"))

Command line: ``python -m animeutils.sweep --sweep-dir runs/label_smoothing --seeds 3``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import atomic, runlog, runtime, viz

# Each setting: the notebook-03 parameters that differ from hard labels (real 1, fake 0).
SETTINGS: dict[str, dict] = {
    "hard": {},
    "real0.9": {"real_label": 0.9},  # one-sided smoothing (Salimans et al. 2016; seed 002)
    "real0.99": {"real_label": 0.99},  # seed 004's real targets
    "real0.995": {"real_label": 0.995},
    "real0.9_fake0.1": {"real_label": 0.9, "fake_label": 0.1},  # two-sided smoothing
    "real0.9_fake0.01": {"real_label": 0.9, "fake_label": 0.01},  # seed 004's fake targets
    "real0.9_fake0.005": {"real_label": 0.9, "fake_label": 0.005},
    "noise0.3": {"label_noise": 0.3},  # targets jittered by up to 0.15, clipped to [0, 1]
    "flip0.05": {"flip_prob": 0.05},  # 5 % of D's targets swapped
}
# The recipe comparison (docs/recipes.md): the textbook, then one stabiliser more at a time,
# each spelled out (not through recipe="stable", so that the evidence outlives the recipe).
_DIFFAUG = {"recipe": "dcgan", "augment": "color,translation,cutout"}
RECIPE_SETTINGS: dict[str, dict] = {
    "dcgan": {"recipe": "dcgan"},  # the textbook DCGAN of pytorch/examples and the seeds
    "dcgan+diffaug": _DIFFAUG,
    "dcgan+diffaug+hflip": {**_DIFFAUG, "hflip": True},
    "dcgan+diffaug+hflip+r1": {**_DIFFAUG, "hflip": True, "r1_gamma": 0.1},
    "dcgan+diffaug+hflip+r1+ema": {**_DIFFAUG, "hflip": True, "r1_gamma": 0.1, "ema": 0.999},
}
LABEL_FIELDS = ("real_label", "fake_label", "label_noise", "flip_prob")
# What a run's row and a setting's summary row show of its configuration.
SETTING_FIELDS = ("recipe", "loss", "augment", "r1_gamma", "ema", "lr_g", "lr_d", "hflip",
                  *LABEL_FIELDS)
GRIDS = {
    "default": list(SETTINGS),
    "core": ["hard", "real0.9", "real0.9_fake0.1"],
    "quick": ["hard", "real0.9"],
    "recipes": list(RECIPE_SETTINGS),
    "recipes_quick": ["dcgan", "dcgan+diffaug+hflip+r1+ema"],
}
BASELINES = {"recipes": "dcgan", "recipes_quick": "dcgan"}  # else "hard"
MARKER = "sweep.json"
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_train.ipynb"  # in a clone
# Per-run numbers; results.csv has the mean and std over seeds of each.
METRICS = ("swd_end", "swd_raw_end", "swd_best", "diversity_end", "d_real_end", "d_fake_end",
           "loss_d_end", "loss_g_end", "images_per_s")


@dataclass
class Run:
    setting: str
    seed: int
    path: Path
    params: dict  # notebook 03's parameters for this run

    @property
    def name(self) -> str:
        return f"{self.setting}/seed{self.seed}"


# Errors a retry can fix: the run is not marked failed but "attention" (retried next time, and
# listed in the summary with its error line).
RETRYABLE = ("DataChangedError", "OutOfMemoryError", "MemoryError", "KeyboardInterrupt")


@dataclass
class Outcome:
    run: Run
    status: str  # "finished", "failed", "attention", "interrupted", "skipped-finished", ...
    seconds: float = 0.0
    error: str = ""


# --- planning ----------------------------------------------------------------------------------
def grid_settings(grid: str | list[str] | tuple[str, ...]) -> list[str]:
    """A grid's setting names: a name from GRIDS, or a list of names from SETTINGS."""
    if isinstance(grid, str):
        if grid in GRIDS:
            return list(GRIDS[grid])
        names = [grid]
    else:
        names = list(grid)
    unknown = [n for n in names if n not in SETTINGS and n not in RECIPE_SETTINGS]
    if unknown or not names:
        raise ValueError(f"grid={grid!r} is invalid: use one of {', '.join(GRIDS)} or a list of "
                         f"settings from {', '.join([*SETTINGS, *RECIPE_SETTINGS])}")
    return names


def setting(name: str) -> dict:
    """The notebook-03 parameters of a named setting."""
    return SETTINGS[name] if name in SETTINGS else RECIPE_SETTINGS[name]


def baseline(grid) -> str:
    """The setting a grid's others are compared with."""
    return BASELINES.get(grid, "hard") if isinstance(grid, str) else \
        ("dcgan" if "dcgan" in grid else "hard")


def seed_list(seeds: int | list[int]) -> list[int]:
    """``3`` -> [0, 1, 2]; a list is used as given."""
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list, tuple)):
        raise ValueError(f"seeds={seeds!r} is invalid: use a count (e.g. 3) or a list of seeds")
    values = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise ValueError(f"seeds={seeds!r} is invalid: need at least one seed, each >= 0, "
                         "no repeats")
    return values


def require_papermill() -> None:
    """papermill is in requirements.txt; Colab lacks it, so there it is installed on first use."""
    import importlib.util

    if importlib.util.find_spec("papermill") is not None:
        return
    if not runtime.in_colab():
        raise ModuleNotFoundError("the sweep runs notebook 03 through papermill, which is not "
                                  "installed: pip install papermill (or -r requirements.txt)")
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "papermill"])


def raw_url(path: str) -> str:
    """The raw-file URL of ``path`` on the main branch of the repository that animeutils was
    installed from (its ``Repository`` URL in pyproject.toml, read from the installed metadata)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = dict(u.split(", ", 1) for u in metadata("animeutils").get_all("Project-URL") or [])
    except PackageNotFoundError:
        urls = {}
    if "Repository" not in urls:
        raise FileNotFoundError("animeutils is not installed, so its repository is unknown: "
                                "pip install it, or run from a clone of the repository")
    repo = urls["Repository"]
    return repo.replace("https://github.com/", "https://raw.githubusercontent.com/") + \
        f"/main/{path}"


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
        import urllib.request

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
    require_papermill()
    import papermill

    return set(papermill.inspect_notebook(str(training_notebook(notebook))))


def plan(sweep_dir: str | Path, grid="default", seeds: int | list[int] = 3,
         notebook: str | Path | None = None, **params) -> list[Run]:
    """The runs of a sweep, in order: settings outer, seeds inner. ``params`` are notebook 03
    parameters shared by every run (e.g. ``epochs=10, data="synthetic"``); each is checked
    against the notebook and against TrainConfig before anything runs."""
    from .config import TrainConfig

    names = grid_settings(grid)
    varied = {k for name in names for k in setting(name)}
    if any(name in SETTINGS for name in names):
        varied |= set(LABEL_FIELDS)  # a label grid sets all four (the others at their defaults)
    fixed = sorted(set(params) & {"run_dir", "resume", "seed", *varied})
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot be set for the whole sweep: the sweep sets "
                         "them per setting, the seeds, and each run's folder")
    allowed = notebook_parameters(notebook) - {"run_dir", "resume", "seed", *varied}
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
            run_params = {**params, **setting(name), "seed": seed, "run_dir": str(path),
                          "resume": True}
            # Fail before the first run, with TrainConfig's one-line message, not in run 17.
            TrainConfig(**{k: v for k, v in run_params.items() if k in fields}).validate()
            runs.append(Run(name, seed, path, run_params))
    return runs


def marker(run_path: str | Path) -> dict | None:
    path = Path(run_path) / MARKER
    return json.loads(path.read_text()) if path.exists() else None


def state(run: Run) -> str:
    """"finished" or "failed" (a marker with these parameters), "partial" (a checkpoint to resume
    from), else "new". A run marked "attention" (an error a retry can fix) is tried again."""
    done = marker(run.path)
    if done and done.get("params") == run.params and done["status"] in ("finished", "failed"):
        return done["status"]
    return "partial" if (run.path / "checkpoints" / "last.pt").exists() else "new"


def resolve(grid="default", seeds: int | list[int] | None = None,
            sweep_dir: str | Path | None = None, quick: bool | None = None):
    """Notebook 04's defaults: returns ``(grid, seeds, sweep_dir, note)``.

    Quick mode (CI): the "quick" grid, one seed, ``runs/label_smoothing_quick``. Otherwise
    ``seeds=None`` means 3 on a GPU and 2 on a CPU, and the sweep folder is
    ``runs/label_smoothing``."""
    if runtime.quick_mode(quick):
        folder = runtime.anchored(sweep_dir) if sweep_dir else \
            runlog.runs_root() / "label_smoothing_quick"
        return "quick", 1, Path(folder), "QUICK mode (CI): 2 settings, 1 seed, a few steps each"
    gpu = runtime.device().type == "cuda"
    if seeds is None:
        seeds = 3 if gpu else 2
    folder = runtime.anchored(sweep_dir) if sweep_dir else runlog.runs_root() / "label_smoothing"
    where = "GPU" if gpu else "CPU (notebook 03 picks its demo scale unless demo=False)"
    return grid, seeds, folder, f"{len(grid_settings(grid))} settings x {len(seed_list(seeds))} " \
                                f"seed(s) on the {where}"


def describe_grid(grid) -> str:
    """A Markdown table of a grid's settings: D's targets for a label grid, else every
    parameter a setting sets ("–": notebook 03's default or the recipe's)."""
    names = grid_settings(grid)
    if all(name in SETTINGS for name in names):
        lines = ["| setting | real target | fake target | label noise | flip prob |",
                 "|---|---|---|---|---|"]
        for name in names:
            v = {"real_label": 1.0, "fake_label": 0.0, "label_noise": 0.0, "flip_prob": 0.0,
                 **SETTINGS[name]}
            lines.append(f"| {name} | " + " | ".join(f"{v[k]:g}" for k in LABEL_FIELDS) + " |")
        return "\n".join(lines)
    keys = list(dict.fromkeys(k for name in names for k in setting(name)))
    lines = ["| setting | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(str(setting(name).get(k, "–")) for k in keys)
                     + " |")
    return "\n".join(lines)


# --- running -----------------------------------------------------------------------------------
def _error_of(executed: Path) -> str:
    """``ename: evalue`` of the failing cell of an executed notebook, if it has one."""
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    for cell in cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"
    return ""


# papermill's command line, with Ctrl-C turned back on: a sweep started in the background (`&`
# in a script, some CI runners) passes an *ignored* SIGINT to its children, and Python keeps an
# ignored SIGINT ignored, so that papermill could not be stopped.
_INTERRUPTIBLE_PAPERMILL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'papermill'; runpy.run_module('papermill', run_name='__main__')")


class Stopper:
    """The papermill processes of a sweep, so that an interrupt (Ctrl-C, the notebook's stop
    button) stops them too and their runs are left unmarked, to resume next time."""

    def __init__(self):
        self.stopping = threading.Event()
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def start(self, cmd, **kwargs) -> subprocess.Popen:
        with self._lock:
            if self.stopping.is_set():
                raise KeyboardInterrupt
            proc = subprocess.Popen(cmd, **kwargs)
            self._live.add(proc)
        return proc

    def wait(self, proc: subprocess.Popen) -> int:
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._live.discard(proc)

    def stop(self, grace: float = 30.0) -> None:
        """SIGINT to every running papermill (it shuts its kernel down), SIGKILL after grace."""
        with self._lock:
            self.stopping.set()
            live = list(self._live)
        for proc in live:
            proc.send_signal(signal.SIGINT)
        for proc in live:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()


def execute(run: Run, *, device: str | None = None, notebook: str | Path | None = None,
            kernel_name: str | None = None, stopper: Stopper | None = None) -> Outcome:
    """Run notebook 03 for one run through papermill (a child process) and write its marker."""
    stopper = stopper or Stopper()
    run.path.mkdir(parents=True, exist_ok=True)
    params = {**run.params, **({"device": device} if device else {})}
    params_file = run.path / "sweep_params.json"  # JSON is YAML: papermill -f reads it
    atomic.write_text(params_file, json.dumps(params, indent=1))
    executed = run.path / "03_train.ipynb"
    notebook = training_notebook(notebook)
    cmd = [sys.executable, "-c", _INTERRUPTIBLE_PAPERMILL, str(notebook), str(executed), "-f",
           str(params_file), "--cwd", str(Path(notebook).parent), "--no-progress-bar"]
    if kernel_name:
        cmd += ["-k", kernel_name]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # figures in the notebook
    # A kernelspec that says just "python" must find this interpreter first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    started, start = time.time(), time.perf_counter()
    with open(run.path / "papermill.log", "w") as log:
        returncode = stopper.wait(stopper.start(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                env=env))
    seconds = time.perf_counter() - start
    if returncode == 0:
        status, error = "finished", ""
    else:
        error = _error_of(executed) or f"papermill exited with {returncode}; see " \
                                       f"{run.path / 'papermill.log'}"
        status = "failed"
        log_tail = (run.path / "papermill.log").read_text(errors="replace")[-2000:]
        # A SIGINT to the whole process group (Ctrl-C in a terminal, a notebook's stop button)
        # reaches papermill directly: it says "Aborted!" and exits with status 1.
        if (returncode < 0 or stopper.stopping.is_set() or "KeyboardInterrupt" in error
                or "Aborted!" in log_tail):
            # Interrupted, not a result: no marker, so the next sweep resumes this run.
            return Outcome(run, "interrupted", seconds, error)
        if error.split(":")[0] in RETRYABLE or "out of memory" in error.lower():
            status = "attention"  # e.g. its data changed, or the GPU ran out: fix, re-run
    atomic.write_text(run.path / MARKER, json.dumps(
        {"status": status, "params": run.params, "device": device or params.get("device"),
         "started": round(started, 3), "seconds": round(seconds, 1), "error": error,
         "ended": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1))
    return Outcome(run, status, seconds, error)


def default_devices() -> list[str | None]:
    """One worker per CUDA device when there are several; else one worker (the notebook picks)."""
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i}" for i in range(n)] if n > 1 else [None]


def run_sweep(sweep_dir: str | Path, grid="default", seeds: int | list[int] = 3, *,
              reuse: bool = True, devices: list[str | None] | None = None,
              notebook: str | Path | None = None, kernel_name: str | None = None,
              echo=print, **params) -> list[Outcome]:
    """Plan the sweep and run what is not done yet, one run per device at a time.

    ``reuse=False`` deletes the sweep's run folders first and trains everything again.
    ``devices``: e.g. ``["cuda:0", "cuda:1"]``; default :func:`default_devices`."""
    import shutil

    runs = plan(sweep_dir, grid, seeds, notebook, **params)
    if not reuse:
        for run in runs:
            shutil.rmtree(run.path, ignore_errors=True)
    devices = list(devices) if devices else default_devices()
    outcomes: dict[str, Outcome] = {}
    todo = []
    for run in runs:
        s = state(run)
        if s in ("finished", "failed"):
            outcomes[run.name] = Outcome(run, f"skipped-{s}", 0.0, marker(run.path)["error"])
        else:
            todo.append((run, s))
    echo(f"sweep {Path(sweep_dir)}: {len(runs)} runs, {len(runs) - len(todo)} already done, "
         f"{len(todo)} to train on {', '.join(d or 'the default device' for d in devices)}")
    free: queue.Queue = queue.Queue()
    for d in devices:
        free.put(d)

    stopper = Stopper()

    def work(item):
        run, _ = item
        device = free.get()
        try:
            return execute(run, device=device, notebook=notebook, kernel_name=kernel_name,
                           stopper=stopper)
        finally:
            free.put(device)

    count = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(devices)) as pool:
        futures = {pool.submit(work, item): item for item in todo}
        try:
            for future in concurrent.futures.as_completed(futures):
                out = future.result()
                count += 1
                run, before = futures[future]
                note = " (resumed)" if before == "partial" else ""
                detail = f": {out.error}" if out.error else ""
                status = "needs attention" if out.status == "attention" else out.status
                echo(f"[{count}/{len(todo)}] {run.name}{note} {status} in "
                     f"{out.seconds:.0f} s{detail}")
                outcomes[run.name] = out
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            stopper.stop()
            echo("interrupted: finished runs are kept; run the sweep again to resume the rest")
            raise
    return [outcomes[r.name] for r in runs]


# --- summarising ---------------------------------------------------------------------------------
def run_summary(path: str | Path) -> dict:
    """One run's numbers, read from its folder: the last evaluation's SWD and diversity, the best
    SWD, the D outputs and losses averaged over the last epoch, the median training speed."""
    path = Path(path)
    done = marker(path) or {}
    if (path / "config.json").exists():
        cfg = json.loads((path / "config.json").read_text())["config"]
    else:  # stopped before training began (e.g. its data changed): what it was asked to run
        cfg = done.get("params", {})
    stats = runlog.read_stats(path)
    train = [r for r in stats if "loss_d" in r]
    evals = [r for r in stats if "swd" in r]
    row = {"setting": path.parent.name, "seed": cfg["seed"], "status": done.get("status", "?"),
           **{k: cfg.get(k) for k in SETTING_FIELDS}, "steps": train[-1]["step"] if train else 0,
           "epochs": train[-1]["epoch"] if train else 0.0,
           "images_seen": train[-1]["images_seen"] if train else 0,
           "seconds": done.get("seconds", math.nan), "error": done.get("error", "")}
    last_epoch = [r for r in train if r["epoch"] > train[-1]["epoch"] - 1] if train else []
    for name, key in (("d_real_end", "d_real"), ("d_fake_end", "d_fake"),
                      ("loss_d_end", "loss_d"), ("loss_g_end", "loss_g")):
        row[name] = statistics.fmean(r[key] for r in last_epoch) if last_epoch else math.nan
    speeds = [r["images_per_s"] for r in train[1:] or train]  # the first window holds warm-up
    row["images_per_s"] = statistics.median(speeds) if speeds else math.nan
    row["swd_end"] = evals[-1]["swd"] if evals else math.nan
    row["swd_raw_end"] = evals[-1].get("swd_raw", row["swd_end"]) if evals else math.nan
    row["swd_best"] = min(r["swd"] for r in evals) if evals else math.nan
    row["diversity_end"] = evals[-1]["diversity"] if evals else math.nan
    row["eval_samples"] = evals[-1]["eval_samples"] if evals else 0
    return row


def collect(sweep_dir: str | Path, settings: list[str] | None = None) -> list[dict]:
    """:func:`run_summary` of every run folder under ``sweep_dir`` (optionally only ``settings``),
    in the order of SETTINGS, then seed."""
    sweep_dir = Path(sweep_dir)
    order = {name: i for i, name in enumerate([*SETTINGS, *RECIPE_SETTINGS])}
    folders = {p.parent for pattern in ("*/seed*/config.json", f"*/seed*/{MARKER}")
               for p in sweep_dir.glob(pattern)}
    rows = [run_summary(p) for p in folders if settings is None or p.parent.name in settings]
    return sorted(rows, key=lambda r: (order.get(r["setting"], len(order)), r["setting"],
                                       r["seed"]))


def summarise(rows: list[dict]) -> list[dict]:
    """One row per setting: the mean and sample std (n - 1) over the seeds of finished runs of
    every metric (std is NaN with one seed), with the count of finished and failed runs."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting]
        ok = [r for r in mine if r["status"] == "finished"]
        row = {"setting": setting, **{k: mine[0].get(k) for k in SETTING_FIELDS},
               "seeds": len(ok), "failed": sum(r["status"] == "failed" for r in mine),
               "unfinished": sum(r["status"] not in ("finished", "failed") for r in mine),
               "attention": "; ".join(f"seed {r['seed']}: {r['error']}" for r in mine
                                      if r["status"] == "attention")}
        for metric in METRICS:
            values = [r[metric] for r in ok if not math.isnan(r[metric])]
            row[f"{metric}_mean"] = statistics.fmean(values) if values else math.nan
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else math.nan
        out.append(row)
    return out


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """Write ``rows`` (dicts with the same keys) as CSV, atomically; floats to 6 significant
    digits."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    return atomic.write_text(path, buf.getvalue())


def write_results(sweep_dir: str | Path, settings: list[str] | None = None) -> list[dict]:
    """Collect, summarise, and write ``runs.csv`` and ``results.csv``; returns the summary."""
    runs = collect(sweep_dir, settings)
    if not runs:
        raise FileNotFoundError(f"no run folders under {sweep_dir}: run the sweep first")
    summary = summarise(runs)
    write_csv(runs, Path(sweep_dir) / "runs.csv")
    write_csv(summary, Path(sweep_dir) / "results.csv")
    return summary


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv`, numbers parsed back."""
    def parse(text):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text

    with open(path, newline="") as fh:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def table_markdown(summary: list[dict]) -> str:
    """The summary as a Markdown table, each metric as mean ± std over seeds."""
    cols = [("swd_end", "SWD end", 1), ("swd_best", "SWD best", 1),
            ("diversity_end", "diversity", 3), ("d_real_end", "D(x)", 3),
            ("d_fake_end", "D(G(z))", 3), ("images_per_s", "images/s", 0)]

    def cell(row, key, digits):
        mean, std = row[f"{key}_mean"], row[f"{key}_std"]
        if math.isnan(mean):
            return "–"
        return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")

    head = "| setting | seeds | failed | " + " | ".join(c[1] for c in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cols))]
    for row in summary:
        lines.append(f"| {row['setting']} | {row['seeds']} | {row['failed']} | "
                     + " | ".join(cell(row, k, d) for k, _, d in cols) + " |")
    return "\n".join(lines)


# --- conclusions ---------------------------------------------------------------------------------
def conclusions(summary: list[dict], metric: str = "swd_end", baseline: str = "hard",
                spread_factor: float = 2.0) -> list[str]:
    """Sentences computed from the summary: the ranking by ``metric`` (lower is better), the
    winner's margin over ``baseline`` and over the runner-up, and whether each margin is larger
    than ``spread_factor`` times the larger seed-to-seed standard deviation of the two."""
    def fmt(row):
        std = row[f"{metric}_std"]
        return f"{row[f'{metric}_mean']:.2f}" + ("" if math.isnan(std) else f" ± {std:.2f}")

    ranked = sorted((r for r in summary if not math.isnan(r[f"{metric}_mean"])),
                    key=lambda r: r[f"{metric}_mean"])
    lines = []
    if not ranked:
        return [f"No finished run has a {metric} value yet: run the sweep first.",
                *_status_notes(summary)]
    seeds = sorted({r["seeds"] for r in ranked})
    lines.append(f"Ranking by {metric} (lower is better; mean ± std over "
                 f"{'/'.join(map(str, seeds))} seed(s)): "
                 + "; ".join(f"{i + 1}. {r['setting']} {fmt(r)}" for i, r in enumerate(ranked)))

    def compare(a, b, what):
        gap = b[f"{metric}_mean"] - a[f"{metric}_mean"]
        rel = 100 * gap / b[f"{metric}_mean"] if b[f"{metric}_mean"] else math.nan
        spread = max(a[f"{metric}_std"], b[f"{metric}_std"])
        text = f"{a['setting']} beats {what} {b['setting']} by {gap:.2f} ({rel:.0f} %)"
        if math.isnan(spread):
            return text + "; with one seed the seed-to-seed spread is unknown, so this is no " \
                          "evidence either way."
        verdict = ("larger than" if gap > spread_factor * spread else "within")
        return (text + f"; the larger seed-to-seed std is {spread:.2f}, so the gap is "
                f"{verdict} {spread_factor:g}× the spread"
                + (": a real difference at this scale." if verdict == "larger than"
                   else ": not a reliable difference at this scale."))

    best = ranked[0]
    base = next((r for r in ranked if r["setting"] == baseline), None)
    if base is not None and base is not best:
        lines.append(compare(best, base, "the baseline"))
    elif base is best:
        lines.append(f"The baseline, {baseline}, is best.")
    if len(ranked) > 1 and ranked[1] is not base:
        lines.append(compare(best, ranked[1], "the runner-up"))
    return lines + _status_notes(summary)


def _status_notes(summary: list[dict]) -> list[str]:
    """Sentences on the runs left out of the comparison: failed, needing attention, unfinished."""
    lines = []
    failed = [f"{r['setting']} ({r['failed']} of {r['failed'] + r['seeds']})"
              for r in summary if r["failed"]]
    if failed:
        lines.append("Runs that failed (e.g. diverged): " + ", ".join(failed) + ".")
    attention = [f"{r['setting']} ({r['attention']})" for r in summary if r.get("attention")]
    if attention:
        lines.append("Needs attention, retried when the sweep runs again (excluded above): "
                     + "; ".join(attention) + ".")
    unfinished = [r["setting"] for r in summary if r["unfinished"] and not r.get("attention")]
    if unfinished:
        lines.append("Not finished yet (excluded above): " + ", ".join(unfinished) + ".")
    return lines


# --- figures -------------------------------------------------------------------------------------
def mean_curves(sweep_dir: str | Path, setting: str, keys=("loss_d", "loss_g", "d_real",
                                                              "d_fake", "swd")) -> dict:
    """``{key: (images_seen, mean over seeds)}`` for one setting, over the steps every finished
    seed has logged."""
    runs = [p for p in sorted(Path(sweep_dir, setting).glob("seed*"))
            if (marker(p) or {}).get("status") == "finished"]
    stats = [runlog.read_stats(p) for p in runs]
    curves = {}
    for key in keys:
        series = [{r["step"]: (r["images_seen"], r[key]) for r in rows if key in r}
                  for rows in stats]
        if not series:
            continue
        steps = sorted(set.intersection(*(set(s) for s in series)))
        seen = [series[0][s][0] for s in steps]
        curves[key] = (seen, [statistics.fmean(s[step][1] for s in series) for step in steps])
    return curves


def plot_curves(sweep_dir: str | Path, settings: list[str], pyplot: bool = True):
    """One figure: SWD, D and G losses, D(x) and D(G(z)) over images seen, one line per setting
    (the mean over its seeds)."""
    fig = viz.figure_maker(pyplot)(figsize=(12, 7))
    panels = [("swd", "SWD x1e3 (lower is better)"), ("loss_d", "D loss"),
              ("loss_g", "G loss"), ("d_real", "D(x)"), ("d_fake", "D(G(z))")]
    curves = {s: mean_curves(sweep_dir, s, [key for key, _ in panels]) for s in settings}
    axes = fig.subplots(2, 3).flat
    for (key, title), ax in zip(panels, axes):
        for setting in settings:
            curve = curves[setting].get(key)
            if curve and curve[0]:
                ax.plot(*curve, marker="o" if key == "swd" else None, ms=3, label=setting)
        ax.set(title=title, xlabel="images seen")
    legend_ax = list(fig.axes)[-1]
    legend_ax.set_axis_off()
    handles, names = fig.axes[0].get_legend_handles_labels()
    legend_ax.legend(handles, names, loc="center", title="setting (mean over seeds)")
    fig.tight_layout()
    return fig


def sample_panel(sweep_dir: str | Path, settings: list[str], seed: int | None = None,
                 pyplot: bool = True):
    """The last sample grid of one seed of each setting, side by side."""
    from PIL import Image

    found = []
    for setting in settings:
        seeds = (sorted(Path(sweep_dir, setting).glob("seed*")) if seed is None
                 else [Path(sweep_dir, setting, f"seed{seed}")])
        grids = sorted(seeds[0].glob("samples/epoch_*.png")) if seeds else []
        if grids:
            found.append((f"{setting}\n{seeds[0].name}, {grids[-1].stem}", grids[-1]))
    cols = min(3, max(len(found), 1))
    rows = -(-len(found) // cols) if found else 1
    fig = viz.figure_maker(pyplot)(figsize=(4 * cols, 4.3 * rows))
    for i, (title, path) in enumerate(found):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(Image.open(path))
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


# --- command line --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m animeutils.sweep", description=__doc__
                                     .splitlines()[0])
    parser.add_argument("--sweep-dir", default=None,
                        help="default: runs/label_smoothing, or runs/recipes for a recipe grid")
    parser.add_argument("--grid", nargs="+", default=["default"],
                        help=f"a grid ({', '.join(GRIDS)}) or setting names "
                             f"({', '.join(SETTINGS)})")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-reuse", action="store_true", help="retrain every run from scratch")
    parser.add_argument("--devices", nargs="+", default=None, help="e.g. cuda:0 cuda:1")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel for notebook 03")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="a notebook-03 parameter for every run, e.g. -p epochs 10")
    args = parser.parse_args(argv)
    import yaml

    params = {name: yaml.safe_load(value) for name, value in args.param}
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
    print("\n".join(conclusions(summary, baseline=baseline(grid))))
    print(f"results: {Path(args.sweep_dir) / 'results.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
