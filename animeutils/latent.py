"""Working in the generator's latent space: seeded noise, the truncation trick, interpolation.

- ``noise``: z ~ N(0, I) from a seed, through a private ``torch.Generator`` (the global RNG is
  left alone), so a seed names the same faces on every machine and for any number of images.
- ``truncate``: the truncation trick (Brock et al. 2019, BigGAN, https://arxiv.org/abs/1809.11096;
  Karras et al. 2019, StyleGAN, https://arxiv.org/abs/1812.04948, in its "scale towards the mean"
  form): for a zero-mean Gaussian z the mean is 0, so z -> psi * z trades variety for typical faces.
- ``slerp``: spherical linear interpolation (Shoemake 1985, "Animating rotation with quaternion
  curves"), which White 2016 ("Sampling Generative Networks", https://arxiv.org/abs/1609.04468)
  recommends for Gaussian latents: a straight line between two samples passes through
  low-norm points the generator almost never saw in training; the arc keeps a typical norm.
"""

from __future__ import annotations

import torch

# Below this sin(angle) (or norm) slerp's 0/0 is replaced by linear interpolation.
PARALLEL_EPS = 1e-6
# torch's CPU normal sampler works in blocks of 16 values and redraws a ragged end: drawing whole
# blocks of this many rows keeps image i the same whether 10 or 10,000 images are asked for.
_ROWS_PER_DRAW = 16


def noise(n: int, latent_dim: int, seed: int = 0, device="cpu") -> torch.Tensor:
    """(n, latent_dim) float32 z ~ N(0, I), a function of ``seed`` only.

    Drawn on the CPU from a local generator (never the global RNG) in float64, then rounded to
    float32: the float64 path is the same scalar code on every CPU (the float32 one is vectorised
    differently per instruction set), so the values do not depend on the machine or device.
    Rows do not depend on ``n``: ``noise(4, d, s)`` is ``noise(100, d, s)[:4]``.
    """
    if n < 0 or latent_dim < 1:
        raise ValueError(f"need n >= 0 and latent_dim >= 1, got n={n}, latent_dim={latent_dim}")
    gen = torch.Generator().manual_seed(seed)
    rows = -(-n // _ROWS_PER_DRAW) * _ROWS_PER_DRAW
    z = torch.randn(rows, latent_dim, generator=gen, dtype=torch.float64)
    return z[:n].float().to(device)


def truncate(z: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick for a zero-mean latent: ``psi * z`` (1 unchanged, 0 the mean face)."""
    if not 0.0 <= psi <= 1.0:  # also rejects NaN
        raise ValueError(f"truncation psi={psi!r} is invalid: must be in [0, 1]")
    return z * psi


def slerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """Spherical interpolation from ``a`` (t=0) to ``b`` (t=1) along the last dimension.

    ``a`` and ``b`` are (..., D) and broadcast together; ``t`` is a number (result shaped like
    ``a + b``) or a 1-D sequence of T values (result (T, ...)). The direction moves along the
    great circle (Shoemake's formula on the unit vectors) and the norm moves linearly from |a|
    to |b|: for equal norms this is White's slerp exactly, and for unequal ones the norm stays
    between the two (White's formula on the raw vectors dips or bulges when the angle is far
    from 90°). Nearly parallel or antiparallel pairs (the arc is undefined for the latter) and
    zero vectors fall back to linear interpolation.
    """
    a, b = torch.broadcast_tensors(a, b)
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D sequence, got shape {tuple(t.shape)}")
    scalar = t.dim() == 0
    t = t.reshape(-1, *([1] * a.dim()))  # (T, 1, ..., 1) against (..., D)
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    unit_a, unit_b = a / norm_a.clamp_min(PARALLEL_EPS), b / norm_b.clamp_min(PARALLEL_EPS)
    theta = torch.arccos((unit_a * unit_b).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    sin = torch.sin(theta)
    linear = (sin < PARALLEL_EPS) | (torch.minimum(norm_a, norm_b) < PARALLEL_EPS)
    safe_sin = torch.where(linear, torch.ones_like(sin), sin)  # no 0/0 in the unused branch
    direction = (torch.sin((1 - t) * theta) * unit_a + torch.sin(t * theta) * unit_b) / safe_sin
    out = torch.where(linear, torch.lerp(a, b, t), direction * torch.lerp(norm_a, norm_b, t))
    out = torch.where(t == 0, a, torch.where(t == 1, b, out))  # exact endpoints
    return out[0] if scalar else out


def interpolation_grid(z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> torch.Tensor:
    """Rows of ``steps`` latents from each start to its end (slerp): ``viz.grid(..., nrow=steps)``.

    ``z_start`` and ``z_end`` are (D,) or (R, D); the result is (R * steps, D), row r's
    interpolation in entries r * steps ... r * steps + steps - 1, beginning and ending exactly
    at the endpoints.
    """
    if steps < 2:
        raise ValueError(f"steps={steps!r} is invalid: an interpolation needs at least 2")
    a, b = torch.atleast_2d(z_start), torch.atleast_2d(z_end)
    path = slerp(a, b, torch.linspace(0, 1, steps))  # (steps, R, D)
    return path.transpose(0, 1).reshape(-1, a.shape[-1])
