"""Whole-run speed: process start to the last checkpoint, the project against a textbook loop.

Two jobs on the same data, one process at a time (on 2 cores a second one would slow both):

- (a) 2,000 faces, 1,500 steps: many short epochs, where epoch boundaries add up;
- (b) one epoch of 20,000 faces (312 steps at batch 64): one long epoch.

For each job, in this order: the pytorch/examples-style loop ``benchmarks/textbook_dcgan.py``
(and pytorch/examples' own ``dcgan/main.py`` when ``--main-py`` gives its path), then
``python -m animeutils.train`` and notebook 03 through papermill, all with the textbook recipe
at the same widths, batch and steps. Printed per run:

- whole-run images/s: images trained / (process start -> exit, the last checkpoint written);
- hot-loop images/s: images / seconds inside training steps (the project's own account in
  config.json; for the baselines, from when each step's printed line arrived: the median step);
- start-up s: process start -> first training step (decoded data already cached);
- outside %: the share of the training wall time (first step -> exit) spent outside steps.

    python benchmarks/whole_run.py [--jobs a b] [--main-py PATH/TO/dcgan/main.py] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from facefolder import write_face_folder  # noqa: E402

JOBS = {"a": dict(images=2000, steps=1500), "b": dict(images=20000, steps=312)}
WIDTH, BATCH = 32, 64


def timed(cmd: list[str], cwd: Path | None = None, env: dict | None = None):
    """Run ``cmd``; returns (start, end, [(arrival time, line), ...]) with start/end wall times."""
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = [(time.time(), line) for line in proc.stdout]
    if proc.wait() != 0:
        tail = "".join(line for _, line in lines[-20:])
        raise RuntimeError(f"{cmd[:4]} failed with status {proc.returncode}:\n{tail}")
    return start, time.time(), lines


def baseline_numbers(start, end, steps: list[tuple[float, int]], images) -> dict:
    """From (arrival time, batch index in its epoch) of every per-step line: the time of a
    step inside an epoch is the gap to the line before; an epoch's first step (which waits for
    the DataLoader workers to start) counts as one median step, the rest of its gap as outside."""
    inner = [b - a for (a, _), (b, i) in itertools.pairwise(steps) if i > 0]
    median = statistics.median(inner)
    first = steps[0][0] - median  # the first step began about one step before its line
    inside = sum(inner) + median * sum(1 for _, i in steps if i == 0)
    return {"wall_s": end - start, "images": images, "startup_s": first - start,
            "hot_images_per_s": BATCH / median, "outside_share": 1 - inside / (end - first)}


def run_textbook(folder: Path, steps: int, work: Path, env: dict) -> dict:
    out = work / "textbook_out"
    start, end, lines = timed([sys.executable, str(ROOT / "benchmarks" / "textbook_dcgan.py"),
                               "--dataroot", str(folder), "--steps", str(steps), "--width",
                               str(WIDTH), "--batch-size", str(BATCH), "--out", str(out)],
                              env=env)
    steps_lines = [line.split() for _, line in lines if line.startswith("step ")]
    arrivals = [(t, int(line.split()[5])) for t, line in lines if line.startswith("step ")]
    n_images = len(list((folder / "images").glob("*.jpg")))
    per_epoch = -(-n_images // BATCH)
    images = sum(BATCH if int(s[5]) < per_epoch - 1 else n_images - BATCH * (per_epoch - 1)
                 for s in steps_lines)
    return baseline_numbers(start, end, arrivals, images)


def run_main_py(main_py: Path, folder: Path, steps: int, work: Path, env: dict) -> dict:
    n_images = len(list((folder / "images").glob("*.jpg")))
    epochs = max(1, round(steps / -(-n_images // BATCH)))  # main.py trains whole epochs only
    start, end, lines = timed([sys.executable, str(main_py), "--dataset", "folder",
                               "--dataroot", str(folder), "--ngf", str(WIDTH), "--ndf",
                               str(WIDTH), "--batchSize", str(BATCH), "--niter", str(epochs),
                               "--workers", "2", "--outf", str(work / "main_out"),
                               "--manualSeed", "0"], env=env)
    # "[epoch/epochs][batch/batches] Loss_D: ..."
    arrivals = [(t, int(line.split("][")[1].split("/")[0])) for t, line in lines
                if line.startswith("[") and "Loss_D" in line]
    return baseline_numbers(start, end, arrivals, epochs * n_images)


def project_numbers(start, end, run_dir: Path) -> dict:
    timing = json.loads((run_dir / "config.json").read_text())["timing"][-1]
    images = timing["steps"] * BATCH
    return {"wall_s": end - start, "images": images,
            "startup_s": timing["first_step_at"] - start,
            "hot_images_per_s": images / timing["steps_s"],
            "outside_share": 1 - timing["steps_s"] / (end - timing["first_step_at"])}


def project_args(folder: Path, steps: int, run_dir: Path) -> dict:
    n_images = len(list((folder / "images").glob("*.jpg")))
    return {"data": str(folder), "recipe": "dcgan", "g_features": WIDTH, "d_features": WIDTH,
            "batch_size": BATCH, "epochs": -(-steps // (n_images // BATCH)), "max_steps": steps,
            "eval_every": 0, "run_dir": str(run_dir)}


def run_cli(folder: Path, steps: int, work: Path, env: dict) -> dict:
    run_dir = work / "cli_run"
    args = [f"--{k.replace('_', '-')}={v}" for k, v in project_args(folder, steps, run_dir)
            .items()]
    start, end, _ = timed([sys.executable, "-m", "animeutils.train", *args, "--no-progress"],
                          cwd=ROOT, env=env)
    return project_numbers(start, end, run_dir)


def run_notebook(folder: Path, steps: int, work: Path, env: dict) -> dict:
    run_dir = work / "nb_run"
    params = [x for k, v in {**project_args(folder, steps, run_dir), "demo": False}.items()
              for x in ("-p", k, str(v))]
    start, end, _ = timed([sys.executable, "-m", "papermill", "-k", "python3", "--cwd",
                           str(ROOT / "notebooks"), str(ROOT / "notebooks" / "03_train.ipynb"),
                           str(work / "03_out.ipynb"), *params], env=env)
    return project_numbers(start, end, run_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=sorted(JOBS), default=sorted(JOBS))
    parser.add_argument("--main-py", type=Path, help="pytorch/examples dcgan/main.py, if at hand")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) /
                        "animeutils-bench-faces", help="where the face folders are kept")
    parser.add_argument("--skip", nargs="*", default=[], choices=["textbook", "cli", "notebook"])
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    import torch

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ANIMEUTILS_CACHE": str(Path(tmp) / "cache"),
               "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
        for job in args.jobs:
            spec = JOBS[job]
            folder = write_face_folder(args.data_dir / f"faces_{spec['images']}",
                                       spec["images"], seed=7)
            subprocess.run([sys.executable, "-m", "animeutils.data", str(folder)], cwd=ROOT,
                           env=env, check=True, capture_output=True)  # cache it first
            runners = {"textbook": run_textbook, "cli": run_cli, "notebook": run_notebook}
            if args.main_py:
                runners = {"main.py": lambda f, s, w, e: run_main_py(args.main_py, f, s, w, e),
                           **runners}
            for name, runner in runners.items():
                if name in args.skip:
                    continue
                work = Path(tmp) / f"{job}-{name}"
                work.mkdir()
                r = runner(folder, spec["steps"], work, env)
                r["whole_images_per_s"] = r["images"] / r["wall_s"]
                results[f"{job}/{name}"] = r
                print(f"({job}) {spec['images']:>6,} images {spec['steps']:>5} steps  "
                      f"{name:<9} whole {r['whole_images_per_s']:6.1f} img/s  hot "
                      f"{r['hot_images_per_s']:6.1f} img/s  start-up {r['startup_s']:5.1f} s  "
                      f"outside {100 * r['outside_share']:5.1f} %  wall {r['wall_s']:6.1f} s",
                      flush=True)
    base = "main.py" if args.main_py else "textbook"
    for job in args.jobs:
        for name in ("cli", "notebook"):
            if f"{job}/{name}" in results and f"{job}/{base}" in results:
                ratio = (results[f"{job}/{name}"]["whole_images_per_s"]
                         / results[f"{job}/{base}"]["whole_images_per_s"])
                print(f"({job}) {name} whole run = {ratio:.2f}x {base}")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, threads "
          f"{torch.get_num_threads()}, no GPU used")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
