"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al.
2019, "The Unusual Effectiveness of Averaging in GAN Training"): samples from the averaged
weights are usually smoother and more stable than from the raw ones."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """``ema.update(model)`` after each optimiser step; ``ema.model`` is the averaged copy."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        ema_params = list(self.model.parameters())
        torch._foreach_lerp_(ema_params, list(model.parameters()), 1.0 - self.decay)
        for ema_buf, buf in zip(self.model.buffers(), model.buffers()):
            ema_buf.copy_(buf)  # BatchNorm running statistics are copied, not averaged

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)
