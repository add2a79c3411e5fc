"""Where the notebooks run: quick (CI) mode, the compute device, Colab or not."""

from __future__ import annotations

import ast
import difflib
import os
import platform
import sys
from pathlib import Path

QUICK_ENV = "ANIMEUTILS_QUICK"  # set to 1 to run every notebook at CI scale without editing it


def quick_mode(flag: bool | None = None) -> bool:
    """``flag`` if given, else whether ``$ANIMEUTILS_QUICK`` is set to 1/true/yes."""
    if flag is not None:
        return bool(flag)
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# Scales of a training run. Demo: 1,500 steps, where the stable recipe draws varied,
# recognisable faces (docs/recipes.md), in several minutes on a 2-core CPU; quick: what CI runs
# in seconds. Values are caps: a smaller setting given by the user is kept.
DEMO_SCALE = {"g_features": 32, "d_features": 32, "batch_size": 64, "max_images": 8000,
              "epochs": 12, "eval_samples": 512}
QUICK_SCALE = {"g_features": 8, "d_features": 8, "batch_size": 32, "max_images": 256,
               "epochs": 2, "num_samples": 16, "log_every": 4, "eval_samples": 64}


def training_scale(cfg, demo: bool | None = None, quick: bool | None = None):
    """Return ``(cfg, message)``: ``cfg`` capped to quick or demo scale when that applies.

    Quick when ``quick_mode(quick)``; demo when ``demo`` is True, or None on a machine without a
    GPU; otherwise full scale, unchanged."""
    import dataclasses

    if quick_mode(quick):
        caps, name = QUICK_SCALE, "QUICK scale (CI): a few seconds, a smoke test only"
        if cfg.data == "auto":  # a smoke test never downloads the real set
            cfg = dataclasses.replace(cfg, data="synthetic")
    elif demo or (demo is None and device(cfg.device).type == "cpu"):
        why = "demo=True" if demo else "no GPU found"
        caps, name = DEMO_SCALE, (f"CPU DEMO scale ({why}): minutes, faces appear; "
                                  "pass demo=False (papermill: -p demo False) for full scale")
    else:
        return cfg, f"FULL scale on {device(cfg.device)}: the configuration as given"
    changes = {}
    for key, cap in caps.items():
        value = getattr(cfg, key)
        new = cap if value is None else min(value, cap)
        if new != value:
            changes[key] = new
    note = ", ".join(f"{k} {getattr(cfg, k)} -> {v}" for k, v in changes.items())
    return dataclasses.replace(cfg, **changes), f"{name}\n  {note or 'no change needed'}"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def project_root() -> Path:
    """Where relative paths are anchored: the clone's root when working in its ``notebooks/``
    folder (JupyterLab, ``papermill --cwd notebooks``), else the working directory (the clone's
    root, ``/content`` in Colab)."""
    cwd = Path.cwd()
    if cwd.name == "notebooks" and (cwd.parent / "animeutils").is_dir():
        return cwd.parent
    return cwd


def anchored(path: str | os.PathLike) -> Path:
    """``path`` made absolute: ``~`` expanded, a relative path taken from :func:`project_root`,
    so that ``runs/x`` means the same folder from the clone's root and from ``notebooks/``."""
    path = Path(path).expanduser()
    return (path if path.is_absolute() else project_root() / path).resolve()


def device(preferred: str = "auto"):
    """``"auto"``: the first CUDA GPU if there is one, else Apple's MPS, else the CPU."""
    import torch

    if preferred != "auto":
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def checked_device(text: str, name: str = "device="):
    """``device(text)``, or one ValueError line naming the setting (``device='gpu' is invalid``,
    or ``--device gpu is invalid`` for a command-line flag) when ``text`` is not a device or asks
    for a GPU that is not there."""
    import torch

    label = f"{name}{text!r}" if name.endswith("=") else f"{name} {text}"
    try:
        dev = device(text)
    except RuntimeError:
        raise ValueError(f"{label} is invalid: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{label} is invalid: no CUDA GPU is available here; use 'auto' or 'cpu'")
    return dev


def describe() -> str:
    """One line about the machine, for the top of a notebook's output."""
    import torch

    dev = device()
    gpu = f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""
    where = "Colab" if in_colab() else platform.node() or "local"
    return (f"python {platform.python_version()} | torch {torch.__version__} | device {dev}{gpu}"
            f" | {os.cpu_count()} CPU cores | {where}")


def cpu_record() -> dict:
    """The CPU a run's arithmetic ran on: its model, the vector instructions PyTorch's kernels
    use, the thread count and the cores. A CPU run repeats bit for bit only where these match
    (needed, not enough: the torch build and the data count too)."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return {"model": model, "capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "cores": os.cpu_count()}


class ParameterError(ValueError):
    """A papermill ``-p`` name that the notebook does not have."""


def _assigned(source: str) -> list[str]:
    """The names a cell of plain assignments binds, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)]


def check_parameters(cells: list[str] | None = None) -> None:
    """Stop with one line when papermill injected a parameter the notebook does not declare.

    papermill only warns "Passed unknown parameter" and runs the defaults, so that ``-p epoch
    100`` would train 25 epochs. Its injected cell (source starting "# Parameters") follows the
    cell tagged ``parameters``; ``cells`` are the sources executed so far (default: IPython's
    ``In``). Outside papermill there is no injected cell and nothing is checked."""
    if cells is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        cells = list(shell.user_ns.get("In", [])) if shell is not None else []
    injected = [i for i, src in enumerate(cells) if i and src.lstrip().startswith("# Parameters")]
    if not injected:
        return
    declared = _assigned(cells[injected[-1] - 1])
    unknown = [n for n in _assigned(cells[injected[-1]]) if n not in declared]
    if unknown:
        hints = []
        for name in unknown:
            near = difflib.get_close_matches(name, declared, n=1)
            hints.append(f"{name}" + (f" (did you mean {near[0]}?)" if near else ""))
        raise ParameterError(f"unknown parameter{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(hints)}: this notebook's parameters are "
                             f"{', '.join(declared)}")
