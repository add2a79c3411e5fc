"""Discriminator targets with the label tricks the seeds tried.

- one-sided smoothing: ``real_label=0.9`` (Salimans et al. 2016, "Improved Techniques for Training
  GANs", sec. 3.4); two-sided: also ``fake_label=0.1``;
- ``label_noise``: each target jittered uniformly by up to ``label_noise / 2`` either way, then
  clipped to [0, 1];
- ``flip_prob``: each image's real/fake target swapped with this probability (noisy labels).

The generator's own target stays 1: smoothing is a regulariser on D only.
"""

from __future__ import annotations

import torch


def targets(n: int, label: float, other: float, *, noise: float = 0.0, flip_prob: float = 0.0,
            generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
    """``n`` BCE targets around ``label``; ``other`` is the opposite class's label (for flips).

    Random draws come from ``generator`` (on ``device``) so that runs are reproducible.
    """
    t = torch.full((n,), float(label), device=device)
    if flip_prob > 0:
        flip = torch.rand(n, generator=generator, device=device) < flip_prob
        t = torch.where(flip, torch.full_like(t, float(other)), t)
    if noise > 0:
        t = t + (torch.rand(n, generator=generator, device=device) - 0.5) * noise
    return t.clamp_(0.0, 1.0)
