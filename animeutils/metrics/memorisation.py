"""Memorisation check: the training images nearest to each generated sample.

A generator that copies its training set produces samples whose nearest training image is much
closer than the nearest training image of a *real* image it never saw; the baseline
``nearest_training_images(holdout, train)`` gives that scale. Distances are RMS pixel differences
in [0, 1] units between area-downsampled thumbnails (the comparison used to look for copies in,
e.g., Brock et al. 2019, BigGAN, appendix), computed exactly in chunks over the training set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._inputs import as_uint8_images, check_int


def _thumbs(images: torch.Tensor, size: int) -> torch.Tensor:
    x = images.permute(0, 3, 1, 2).float() / 255.0
    return F.interpolate(x, size=(size, size), mode="area").flatten(1)


def nearest_training_images(samples, train, *, k: int = 3, size: int = 32,
                            chunk: int = 8192) -> dict:
    """For every sample, the ``k`` nearest training images.

    Returns ``{"indices": (n, k) long, "distances": (n, k) float (RMS, [0, 1] units),
    "protocol": {...}}``, nearest first.
    """
    samples, train = as_uint8_images(samples, "samples"), as_uint8_images(train, "train")
    check_int("k", k, 1)
    check_int("size", size, 1)
    check_int("chunk", chunk, 1)
    if k > len(train):
        raise ValueError(f"k must be at most the number of training images ({len(train)}), "
                         f"got {k}")
    query = _thumbs(samples, size)
    best_d = torch.full((len(query), 0), float("inf"))
    best_i = torch.zeros((len(query), 0), dtype=torch.long)
    for start in range(0, len(train), chunk):
        block = _thumbs(train[start : start + chunk], size)
        d = torch.cdist(query, block)  # Euclidean over size*size*3 values
        d, i = d.topk(min(k, d.shape[1]), dim=1, largest=False)
        best_d, order = torch.cat([best_d, d], 1).sort(dim=1)
        best_i = torch.cat([best_i, i + start], 1).gather(1, order)
        best_d, best_i = best_d[:, :k], best_i[:, :k]
    rms = best_d / (query.shape[1] ** 0.5)
    return {"indices": best_i, "distances": rms,
            "protocol": {"n_samples": len(samples), "n_train": len(train), "k": k,
                         "space": f"pixels, {size}x{size} area-downsampled RGB",
                         "distance": "RMS difference in [0, 1] units"}}
