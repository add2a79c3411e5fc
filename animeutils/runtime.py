"""Where the notebooks run: quick (CI) mode, the compute device, Colab or not."""

from __future__ import annotations

import os
import platform
import sys

QUICK_ENV = "ANIMEUTILS_QUICK"  # set to 1 to run every notebook at CI scale without editing it


def quick_mode(flag: bool | None = None) -> bool:
    """``flag`` if given, else whether ``$ANIMEUTILS_QUICK`` is set to 1/true/yes."""
    if flag is not None:
        return bool(flag)
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def in_colab() -> bool:
    return "google.colab" in sys.modules


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


def describe() -> str:
    """One line about the machine, for the top of a notebook's output."""
    import torch

    dev = device()
    gpu = f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""
    where = "Colab" if in_colab() else platform.node() or "local"
    return (f"python {platform.python_version()} | torch {torch.__version__} | device {dev}{gpu}"
            f" | {os.cpu_count()} CPU cores | {where}")
