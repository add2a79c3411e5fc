"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the squared MMD
with a cubic polynomial kernel between Inception features, averaged over random subsets. Unbiased,
so small sets are comparable; reported as mean and standard deviation over the subsets.
"""

from __future__ import annotations

import warnings

from . import inception
from ._inputs import as_uint8_images, check_int


def kid(real, fake, *, weights=None, subsets: int = 50, subset_size: int | None = None,
        batch_size: int = 64) -> dict:
    """``{"kid_mean", "kid_std", "protocol"}``; ``subset_size`` defaults to min(1000, n)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = as_uint8_images(real, "real"), as_uint8_images(fake, "fake")
    check_int("subsets", subsets, 1)
    check_int("batch_size", batch_size, 1)
    size = subset_size or min(1000, len(real), len(fake))
    check_int("subset_size", size, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics warns that it keeps all features
        metric = KernelInceptionDistance(feature=inception.extractor(weights), subsets=subsets,
                                         subset_size=size, normalize=False)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            metric.update(images[i : i + batch_size].permute(0, 3, 1, 2).contiguous(), is_real)
    mean, std = metric.compute()
    record = inception.protocol("KID", real, fake, inception.weights_file(weights))
    return {"kid_mean": float(mean), "kid_std": float(std),
            "protocol": {**record, "subsets": subsets, "subset_size": size}}
