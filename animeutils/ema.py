"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al.
2019, "The Unusual Effectiveness of Averaging in GAN Training"): samples from the averaged
weights are usually smoother and more stable than from the raw ones.

With a fixed decay of 0.999 the average has a half-life of 693 updates, so after 500 steps it is
still mostly the random initialisation. The warm-up follows StyleGAN2-ADA's ``ema_rampup``
(Karras et al. 2020, https://github.com/NVlabs/stylegan2-ada-pytorch, ``training_loop.py``): the
half-life is at most ``rampup`` x the steps trained so far, so the average covers the last 5 %
of training (``rampup=0.05``) until that reaches the decay's own half-life.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


def decay_at(decay: float, rampup: float, step: int) -> float:
    """The decay used for the update after ``step`` steps (counted from 0): ``decay`` itself
    without warm-up, else 0.5 ** (1 / h), h = min(the decay's half-life, rampup x (step + 1))."""
    if rampup <= 0:
        return decay
    half_life = math.log(0.5) / math.log(decay)  # in updates
    return 0.5 ** (1.0 / min(half_life, rampup * (step + 1)))


class EMA:
    """``ema.update(model, step)`` after each optimiser step; ``ema.model`` is the averaged copy."""

    def __init__(self, model: nn.Module, decay: float, rampup: float = 0.0):
        self.decay, self.rampup = decay, rampup
        self.model = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int = 0) -> None:
        ema_params = list(self.model.parameters())
        weight = 1.0 - decay_at(self.decay, self.rampup, step)
        torch._foreach_lerp_(ema_params, list(model.parameters()), weight)
        for ema_buf, buf in zip(self.model.buffers(), model.buffers()):
            ema_buf.copy_(buf)  # BatchNorm running statistics are copied, not averaged

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)
