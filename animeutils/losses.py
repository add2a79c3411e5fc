"""The adversarial losses and the R1 penalty, as small pure functions of D's logits.

- ``"bce"``: the DCGAN objective (Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661).
  D minimises BCE(D(x), real target) + BCE(D(G(z)), fake target), i.e. maximises
  log D(x) + log(1 - D(G(z))) with hard targets; G minimises BCE(D(G(z)), 1) = -log D(G(z)),
  the *non-saturating* loss: its gradient at the logit is D(G(z)) - 1 -> -1 when D rejects the
  fakes, where the minimax loss log(1 - D(G(z))) gives -D(G(z)) -> 0.
- ``"hinge"``: D minimises relu(1 - D(x)) + relu(1 + D(G(z))), G minimises -D(G(z))
  (Lim & Ye 2017, https://arxiv.org/abs/1705.02894; Miyato et al. 2018, SN-GAN). D's targets are
  the margins +-1, so the label options of :mod:`animeutils.labels` do not apply.
- R1 (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually Converge?",
  https://arxiv.org/abs/1801.04406): (gamma / 2) E||grad_x D(x)||^2 on real images, which pulls
  D towards zero slope on the data, where the game's equilibrium needs it. Applied lazily every
  ``r1_every`` steps and scaled up by that interval (Karras et al. 2020, StyleGAN2, sec. 4).

Each loss is a mean over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "hinge")


def d_real(kind: str, logits: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """D's loss on real images (``target`` only for BCE: 1, or a smoothed label)."""
    if kind == "hinge":
        return F.relu(1.0 - logits).mean()
    return F.binary_cross_entropy_with_logits(logits, target)


def d_fake(kind: str, logits: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """D's loss on generated images (``target`` only for BCE: 0, or a smoothed label)."""
    if kind == "hinge":
        return F.relu(1.0 + logits).mean()
    return F.binary_cross_entropy_with_logits(logits, target)


def g_loss(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for its images: -log D(G(z)) (non-saturating BCE, target 1 whatever
    D's labels are) or -D(G(z)) (hinge)."""
    if kind == "hinge":
        return -logits.mean()
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def r1_penalty(logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E||d D(x) / d x||^2 over the batch, differentiable (``real`` must require grad and
    ``logits`` come from it). Multiply by gamma / 2 (and the lazy interval) yourself."""
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3)).mean()
