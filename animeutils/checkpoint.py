"""Checkpoints that survive crashes and load with ``torch.load(..., weights_only=True)``.

A checkpoint is a plain dict of state dicts, tensors and numbers (no pickled objects). It is written
to a temporary file in the same folder, flushed to disk and renamed over the old one: a kill at
any moment leaves either the previous checkpoint or the new one, never half of either.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import atomic


def save(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically."""
    return atomic.write(path, lambda fh: torch.save(state, fh))


def load(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint safely; a missing or unreadable file is one clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated, not a checkpoint, or unsafe pickled content
        first = (str(e).strip().splitlines() or [""])[0]  # torch's messages run to many lines
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__}: {first})") \
            from e
