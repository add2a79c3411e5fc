"""Fréchet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium"): the Fréchet distance between Gaussians fitted to the
Inception features of real and generated images. Lower is better; it is biased upwards for small
sets, so compare numbers only at the same sample counts (the protocol records them).
"""

from __future__ import annotations

from . import inception
from ._inputs import as_uint8_images, check_int


def fid(real, fake, *, weights=None, batch_size: int = 64) -> dict:
    """``{"fid": float, "protocol": {...}}`` for two image sets (uint8 NHWC or float NCHW)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = as_uint8_images(real, "real"), as_uint8_images(fake, "fake")
    check_int("batch_size", batch_size, 1)
    metric = FrechetInceptionDistance(feature=inception.extractor(weights), normalize=False)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            metric.update(images[i : i + batch_size].permute(0, 3, 1, 2).contiguous(), is_real)
    return {"fid": float(metric.compute()),
            "protocol": inception.protocol("FID", real, fake, inception.weights_file(weights))}
