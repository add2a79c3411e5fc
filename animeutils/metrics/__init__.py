"""Sample-quality metrics, one small module per metric.

- :mod:`.swd` — sliced Wasserstein distance over a Laplacian pyramid (Karras et al. 2018):
  per-scale patch statistics, no pretrained network.
- :mod:`.diversity` — mean pairwise distance of samples relative to real images (after
  Odena et al. 2017): a mode-collapse indicator.
- :mod:`.memorisation` — the nearest training images of each sample, with distances.
- :mod:`.fid`, :mod:`.kid` — Fréchet and Kernel Inception Distances (torchmetrics); they need the
  Inception weights (:mod:`.inception` says how to provide them offline).

Every metric takes images as
(N, H, W, 3) uint8 or (N, 3, H, W) float in [-1, 1], is deterministic for its ``seed``, and
returns a dict with its ``"protocol"``, so a saved number says how it was measured.

    from animeutils import metrics
    metrics.sliced_wasserstein(real, fake)["swd"]
"""

from .diversity import diversity
from .memorisation import nearest_training_images
from .swd import sliced_wasserstein

__all__ = ["diversity", "nearest_training_images", "sliced_wasserstein"]
