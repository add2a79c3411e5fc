"""The Inception-v3 feature extractor behind FID and KID, and where its weights come from.

FID and KID use the 2048-d pool features of the TensorFlow Inception-v3 that the original FID code
used (Heusel et al. 2017), as converted by torch-fidelity and wrapped by torchmetrics. On a
connected machine the weights (about 91 MB) download as usual into the torch hub cache. Offline,
pass a local copy as ``weights=`` or set ``$ANIMEUTILS_INCEPTION_WEIGHTS``; without one,
:class:`InceptionUnavailable` says in one line how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_ENV = "ANIMEUTILS_INCEPTION_WEIGHTS"
WEIGHTS_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
               "weights-inception-2015-12-05-6726825d.pth")


class InceptionUnavailable(RuntimeError):
    """The Inception weights cannot be had here; the message says how to provide them."""


def weights_file(weights: str | os.PathLike | None = None) -> str | None:
    """The local weights to use: ``weights``, else ``$ANIMEUTILS_INCEPTION_WEIGHTS``, else the
    torch hub cache's copy if present, else None (let torch-fidelity download them)."""
    given = weights or os.environ.get(WEIGHTS_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise InceptionUnavailable(f"Inception weights not found: {path} (download "
                                       f"{WEIGHTS_URL} and point weights= or {WEIGHTS_ENV} at it)")
        return str(path)
    import torch

    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(WEIGHTS_URL).name
    return str(cached) if cached.is_file() else None


def extractor(weights: str | os.PathLike | None = None):
    """torchmetrics' Inception-v3 (2048-d features), loaded from local weights or downloaded."""
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
    except ImportError as e:
        raise InceptionUnavailable(f"FID/KID need torchmetrics and torch-fidelity ({e}); "
                                   "pip install torchmetrics torch-fidelity") from e
    path = weights_file(weights)
    try:
        return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                  feature_extractor_weights_path=path)
    except Exception as e:  # no network, a broken download or a file that is not the weights
        where = f"from {path}" if path else "by download"
        raise InceptionUnavailable(
            f"the Inception weights for FID/KID could not be loaded {where} "
            f"({type(e).__name__}); on a connected machine download {WEIGHTS_URL}, then pass "
            f"weights=PATH or set {WEIGHTS_ENV}=PATH") from e


def protocol(name: str, real, fake, weights: str | None) -> dict:
    import torchmetrics

    return {"metric": name, "n_real": len(real), "n_fake": len(fake),
            "features": "Inception-v3 pool3 (2048-d), TF-FID weights via torch-fidelity",
            "implementation": f"torchmetrics {torchmetrics.__version__}",
            "weights": weights or "torch hub cache (downloaded)",
            "resize": "uint8 images resized to 299 px inside the extractor"}
