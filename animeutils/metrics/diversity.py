"""Sample diversity relative to the real data: a cheap mode-collapse indicator.

Following the protocol of Odena et al. 2017, "Conditional Image Synthesis with Auxiliary
Classifier GANs" (sec. 4.2: the mean similarity of random pairs of samples, compared with the
same for real images), with a plain distance instead of MS-SSIM: the root-mean-square difference
between two images area-downsampled to ``size`` x ``size`` (in [0, 1] intensity units), averaged
over ``pairs`` random pairs of distinct images. ``ratio`` = fake / real is about 1 for a healthy
generator and near 0 when it draws (nearly) the same picture every time. It says nothing about
whether the samples look real: a generator of noise scores high. Read it next to FID or SWD.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._inputs import as_uint8_images, check_int

_PAIRS_PER_BATCH = 512


def mean_pair_distance(images: torch.Tensor, pairs: int, size: int,
                       generator: torch.Generator) -> float:
    """Mean RMS difference of ``pairs`` random pairs of distinct images of a (N, H, W, 3) uint8
    batch (N >= 2), after area-downsampling to ``size`` x ``size``."""
    n = len(images)
    first = torch.randint(n, (pairs,), generator=generator)
    second = (first + torch.randint(1, n, (pairs,), generator=generator)) % n  # never the same

    def small(index):
        x = images[index].permute(0, 3, 1, 2).float() / 255
        return F.adaptive_avg_pool2d(x, size)

    total = 0.0
    for s in range(0, pairs, _PAIRS_PER_BATCH):
        diff = small(first[s : s + _PAIRS_PER_BATCH]) - small(second[s : s + _PAIRS_PER_BATCH])
        total += float(diff.square().mean(dim=(1, 2, 3)).sqrt().sum(dtype=torch.float64))
    return total / pairs


def diversity(fake, real, *, pairs: int = 2000, size: int = 32, seed: int = 0) -> dict:
    """Mean pairwise distance of ``fake`` divided by that of ``real`` (higher = more diverse).

    Both: (N, H, W, 3) uint8 or (N, 3, H, W) float in [-1, 1], at least 2 images each, any
    resolution >= ``size``. Deterministic for a given ``seed``; never touches the global RNG.

    Returns ``{"ratio", "fake", "real", "protocol"}``; ``fake`` and ``real`` are the mean
    distances themselves, in [0, 1] intensity units."""
    fake, real = as_uint8_images(fake, "fake"), as_uint8_images(real, "real")
    check_int("pairs", pairs, 1)
    check_int("size", size, 1)
    check_int("seed", seed, 0)
    for name, x in (("fake", fake), ("real", real)):
        if min(x.shape[1:3]) < size:
            raise ValueError(f"{name} images ({tuple(x.shape[1:3])}) are smaller than size={size}")
    g = torch.Generator().manual_seed(seed)
    d_fake = mean_pair_distance(fake, pairs, size, g)
    d_real = mean_pair_distance(real, pairs, size, g)
    if d_real == 0:
        raise ValueError("real images are all identical: the diversity ratio is undefined")
    return {
        "ratio": d_fake / d_real,
        "fake": d_fake,
        "real": d_real,
        "protocol": {
            "method": "mean RMS distance of random pairs at size x size (area), fake / real; "
                      "after Odena et al. 2017, animeutils implementation",
            "n_fake": len(fake), "n_real": len(real), "pairs": pairs, "size": size, "seed": seed,
        },
    }
