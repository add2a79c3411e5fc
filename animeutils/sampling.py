"""Drawing from a generator in eval mode: the one place that switches it (and back).

In training mode BatchNorm normalises with the statistics of the batch it is given, so an image
would depend on the other images in its batch, and a batch of one would have no spread at all.
In eval mode it uses the running statistics collected during training, and every image depends
on its own z alone. Sample grids, evaluations, ``generate``, GANSpace and the latent sliders all
draw through :func:`eval_mode` or :func:`sample`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block, and in its previous mode after it."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def sample(generator: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images in [-1, 1] (float32) from ``generator`` in eval mode, ``batch_size`` at a time."""
    with eval_mode(generator):
        return torch.cat([generator(z[i : i + batch_size]).float()
                          for i in range(0, len(z), batch_size)])
