"""Input checks shared by the metrics: one clear error naming the argument."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch

from ..viz import to_uint8_nhwc


def as_uint8_images(images, name: str) -> torch.Tensor:
    """Validate one image batch and return it as (N, H, W, 3) uint8 on the CPU.

    Accepts (N, H, W, 3) uint8 or (N, 3, H, W) / (N, H, W, 3) floats in [-1, 1]."""
    x = images if torch.is_tensor(images) else torch.as_tensor(np.asarray(images))
    layout = "(N, H, W, 3) uint8 or (N, 3, H, W) float in [-1, 1]"
    if x.ndim != 4 or 3 not in (x.shape[1], x.shape[-1]):
        raise ValueError(f"{name} must be {layout}; got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise ValueError(f"{name} must be {layout}; got dtype {x.dtype}")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 images, got {x.shape[0]}")
    return to_uint8_nhwc(x)


def check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
