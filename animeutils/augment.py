"""Differentiable augmentation of every discriminator input (DiffAugment).

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(https://arxiv.org/abs/2006.10738), following their ``DiffAugment_pytorch.py``
(https://github.com/mit-han-lab/data-efficient-gans). D sees real *and* generated images only
through the same random, differentiable transforms, in D's step and in G's: D cannot memorise the
few thousand real images, and G is never pushed to produce the augmentations themselves, because
it is judged on ``D(T(G(z)))`` and gradients flow back through ``T``.

Policies (comma-separated, applied in this order within each name as in the reference):

- ``color``: per image, brightness + U(-0.5, 0.5); saturation (distance from the pixel's grey)
  x U(0, 2); contrast (distance from the image mean) x U(0.5, 1.5);
- ``translation``: per image, a shift of up to 1/8 of the side in each direction, filled with 0;
- ``cutout``: per image, a square of half the side set to 0 (it may hang over an edge).

Every draw comes from the ``generator`` passed in, in a fixed order (the reference's order and
shapes), so a run is reproducible and a resumed run is exact.
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
DEFAULT_POLICY = "color,translation,cutout"  # the paper's choice for limited data


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,cutout"`` -> ("color", "cutout"); "" or None -> (). Unknown names are one error."""
    names = tuple(p.strip() for p in (policy or "").split(",") if p.strip())
    unknown = [p for p in names if p not in POLICIES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"augment={policy!r} is invalid: use a comma-separated subset of "
                         f"{', '.join(POLICIES)} (e.g. {DEFAULT_POLICY!r}), or '' for none")
    return names


def _per_image(x: torch.Tensor, generator) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device, generator=generator)


def color(x: torch.Tensor, generator=None) -> torch.Tensor:
    x = x + (_per_image(x, generator) - 0.5)  # brightness
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * (_per_image(x, generator) * 2) + grey  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_image(x, generator) + 0.5) + mean  # contrast


def _offsets(x: torch.Tensor, low: int, high: int, generator) -> torch.Tensor:
    """One integer per image in [low, high), shaped to broadcast over (B, 1, H or W)."""
    return torch.randint(low, high, (x.shape[0], 1, 1), device=x.device, generator=generator)


def translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    b, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _offsets(x, -sy, sy + 1, generator)  # (B, 1, 1)
    dx = _offsets(x, -sx, sx + 1, generator)
    # Output pixel (i, j) reads input (i + dy, j + dx); outside the image it reads the zero border.
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + 1).clamp_(0, h + 1)  # (B, h, 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + 1).clamp_(0, w + 1)  # (B, 1, w)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))  # (B, C, h + 2, w + 2)
    flat = (rows * (w + 2) + cols).view(b, 1, h * w).expand(b, c, h * w)
    return padded.flatten(2).gather(2, flat).view(b, c, h, w)


def cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    h, w = x.shape[-2:]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _offsets(x, 0, h + (1 - ch % 2), generator)  # the square's centre, (B, 1, 1)
    cx = _offsets(x, 0, w + (1 - cw % 2), generator)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - (cy - ch // 2)
    xs = torch.arange(w, device=x.device).view(1, 1, w) - (cx - cw // 2)
    inside = (ys >= 0) & (ys < ch) & (xs >= 0) & (xs < cw)  # (B, h, w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...] | None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, 3, H, W) in [-1, 1] through the policy's transforms; "" or None returns ``x``.

    Differentiable in ``x``; the memory format of ``x`` (e.g. channels_last) is kept."""
    names = parse_policy(policy) if isinstance(policy, (str, type(None))) else policy
    if not names:
        return x
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous()
    for name in names:
        x = _FUNCTIONS[name](x, generator)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)
