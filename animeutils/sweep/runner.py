"""Running the planned runs: notebook 03 through papermill in child processes, one run per device
at a time, each marked when it ends; interrupts stop the children and leave their runs to
resume; errors a retry can fix leave the run "needing attention", not failed."""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import atomic
from ..config import TrainConfig
from . import notebook03
from .planning import MARKER, Run, check_same_data, data_identity, marker, plan, state

# Errors a retry can fix: the run is not marked failed but "attention" (retried next time, and
# listed in the summary with its error line).
# (An interrupted run is neither: it is resumed, see below.)
RETRYABLE = ("DataChangedError", "OutOfMemoryError", "MemoryError")


@dataclass
class Outcome:
    run: Run
    status: str  # "finished", "failed", "attention", "interrupted", "skipped-finished", ...
    seconds: float = 0.0
    error: str = ""


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
            kernel_name: str | None = None, stopper: Stopper | None = None,
            data_identity: str | None = None) -> Outcome:
    """Run notebook 03 for one run through papermill (a child process) and write its marker.
    ``device`` and ``data_identity`` (the images the run must train on) are passed to the
    notebook but are not the run's parameters: a run is the same run on any device."""
    stopper = stopper or Stopper()
    run.path.mkdir(parents=True, exist_ok=True)
    params = {**run.params, **({"device": device} if device else {}),
              **({"data_identity": data_identity} if data_identity else {})}
    params_file = run.path / "sweep_params.json"  # JSON is YAML: papermill -f reads it
    atomic.write_text(params_file, json.dumps(params, indent=1))
    executed = run.path / "03_train.ipynb"
    notebook = notebook03.training_notebook(notebook)
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


def sweep_images(sweep_dir: str | Path, given: str | None = None) -> str | None:
    """The identity of the images the finished runs under ``sweep_dir`` trained on (any setting,
    any parameters), which the runs still to train must use too; None when no finished run
    recorded one. Raises, in one line, when they disagree, or disagree with ``given``."""
    rows = []
    for path in sorted(Path(sweep_dir).glob(f"*/seed*/{MARKER}")):
        done, identity = marker(path.parent), data_identity(path.parent)
        if done and done.get("status") == "finished" and identity:
            rows.append({"setting": path.parent.parent.name, "seed": done["params"]["seed"],
                         "identity": identity, "data": identity[:12]})
    check_same_data(rows, sweep_dir)
    found = rows[0]["identity"] if rows else None
    if given and found and not found.startswith(given.lower()):
        raise ValueError(f"data_identity={given!r}, but the finished runs under {sweep_dir} "
                         f"trained on images {found[:12]}: give their identity, or another "
                         "sweep_dir")
    return found or given


def default_devices() -> list[str | None]:
    """One worker per CUDA device when there are several; else one worker (the notebook picks)."""
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i}" for i in range(n)] if n > 1 else [None]


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def run_sweep(sweep_dir: str | Path, grid="default", seeds: int | list[int] = 3, *,
              reuse: bool = True, devices: list[str | None] | None = None,
              notebook: str | Path | None = None, kernel_name: str | None = None,
              echo=print, **params) -> list[Outcome]:
    """Plan the sweep and run what is not done yet, one run per device at a time.

    ``reuse=False`` deletes the sweep's run folders first and trains everything again.
    ``devices``: e.g. ``["cuda:0", "cuda:1"]``; default :func:`default_devices`.
    ``data_identity``: the images every run must train on (default: the finished runs'); like
    the device, a guard and not a setting, so giving it retrains nothing."""
    given = params.pop("data_identity", None)
    if given is not None:
        TrainConfig(data_identity=given).validate()  # its one-line message, before any run
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
    # Every run must see the images the finished ones saw (a rebuilt folder can differ): the
    # notebook refuses others before its first step. A fresh sweep adopts its first run's.
    accepts = "data_identity" in notebook03.notebook_parameters(notebook)
    images = [sweep_images(sweep_dir, given)]
    if not accepts:
        if given:
            raise ValueError(f"data_identity={given!r} was given, but {notebook} has no "
                             "data_identity parameter to check it with")
        echo(f"note: {notebook} has no data_identity parameter: its runs' images are not "
             "checked against each other")
    elif images[0]:
        echo(f"images: identity {images[0][:12]}; a run given others stops before its first "
             "step and needs attention")
    free: queue.Queue = queue.Queue()
    for d in devices:
        free.put(d)
    stopper = Stopper()
    adopt = threading.Lock()

    def work(item):
        run, _ = item
        device = free.get()
        try:
            out = execute(run, device=device, notebook=notebook, kernel_name=kernel_name,
                          stopper=stopper, data_identity=images[0] if accepts else None)
            with adopt:
                if out.status == "finished" and accepts and images[0] is None:
                    images[0] = data_identity(run.path) or None
            return out
        finally:
            free.put(device)

    # With several devices and no identity yet, the first run trains alone: the others then
    # start with its images to check against, instead of racing it.
    waves = [todo[:1], todo[1:]] if accepts and images[0] is None and len(devices) > 1 \
        else [todo]
    # `kill` (SIGTERM) stops a sweep as Ctrl-C does: its papermills and their kernels stop too,
    # and their runs resume next time. (A sweep started with `&` ignores SIGINT, so for one in
    # the background SIGTERM is the way to stop it.) Only the main thread may set a handler.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    count = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(devices)) as pool:
            futures: dict = {}
            try:
                for wave in waves:
                    futures.update(wave_futures := {pool.submit(work, item): item for item in wave})
                    for future in concurrent.futures.as_completed(wave_futures):
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
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return [outcomes[r.name] for r in runs]
