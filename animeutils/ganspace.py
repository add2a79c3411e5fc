"""Interpretable latent directions by PCA of early activations: GANSpace (Härkönen, Hertzmann,
Lehtinen & Paris 2020, "GANSpace: Discovering Interpretable GAN Controls",
https://arxiv.org/abs/2004.02546).

For a generator without a mapping network (their BigGAN case, and our DCGAN), GANSpace samples
z, records an early layer's activations y, finds the principal components V of y, and maps them
back to z-space by least squares: U = argmin Σ_j ||U x_j - z_j||² with x_j = V^T (y_j - mean) the
PCA coordinates. Row i of U (normalised) is the z-direction that moves the activations along
principal axis i. Moving z along it changes coarse attributes first (pose, hair colour, lighting).

    from animeutils import ganspace
    pcs = ganspace.principal_directions(generator, cfg.latent_dim, num_components=6)
    pcs["directions"].shape  # (6, latent_dim), unit rows
"""

from __future__ import annotations

import torch
from torch import nn

from . import latent
from .sampling import eval_mode


class _Stop(Exception):
    """Raised by the hook once the layer has run: the rest of the generator is never computed."""


def first_relu(generator: nn.Module) -> str:
    """Name of the first ReLU in ``generator``: the output of its first block (``net.2`` for the
    DCGAN, (B, 8f, 4, 4); ``fc.1`` for dense300), the early layer GANSpace uses."""
    for name, module in generator.named_modules():
        if isinstance(module, nn.ReLU):
            return name
    raise ValueError("generator has no ReLU: pass layer= the name of an early layer")


def _activations(generator: nn.Module, layer: str, z: torch.Tensor,
                 batch_size: int) -> torch.Tensor:
    """(N, features) float64 outputs of ``layer`` for each row of ``z``, eval mode, no grad."""
    modules = dict(generator.named_modules())
    if layer not in modules:
        raise ValueError(f"layer={layer!r} is not a module of the generator")
    device = next(generator.parameters()).device
    captured = []

    def hook(_module, _inputs, output):
        captured.append(output.detach().flatten(1).double().cpu())
        raise _Stop

    handle = modules[layer].register_forward_hook(hook)
    try:
        with eval_mode(generator), torch.inference_mode():
            for i in range(0, len(z), batch_size):
                try:
                    generator(z[i : i + batch_size].to(device))
                except _Stop:
                    pass
    finally:
        handle.remove()
    return torch.cat(captured)


def principal_directions(generator: nn.Module, latent_dim: int, *, num_samples: int = 2000,
                         num_components: int = 8, layer: str | None = None, seed: int = 0,
                         batch_size: int = 500) -> dict:
    """GANSpace directions in z-space from ``num_samples`` seeded latents.

    Returns ``{"directions": (k, latent_dim) float32 unit rows, "explained_variance": (k,)
    fractions of the layer's total variance (descending, sum <= 1), "protocol": {...}}``. The
    sign of each direction is fixed (its largest entry is positive) so a seed gives the same
    tensor every time. The generator's mode and the global RNG are left as they were.
    """
    if not 1 <= num_components <= min(num_samples, latent_dim):
        raise ValueError(f"num_components={num_components!r} is invalid: need 1 <= k <= "
                         f"min(num_samples, latent_dim) = {min(num_samples, latent_dim)}")
    layer = first_relu(generator) if layer is None else layer
    z = latent.noise(num_samples, latent_dim, seed)
    y = _activations(generator, layer, z, batch_size)  # (N, F)
    y = y - y.mean(0)
    total = y.pow(2).sum() / (num_samples - 1)
    q = min(num_components + 10, *y.shape)  # oversampling makes the randomised SVD accurate
    with torch.random.fork_rng(devices=[]):  # pca_lowrank draws its sketch from the global RNG
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(y, q=q, center=False, niter=6)
    s, v = s[:num_components], v[:, :num_components]  # (k,), (F, k)
    x = y @ v  # (N, k) PCA coordinates
    # Least squares x @ U = z: U's row i is the z-direction of principal axis i.
    u = torch.linalg.lstsq(x, z.double()).solution  # (k, latent_dim)
    u = u / u.norm(dim=1, keepdim=True)
    sign = torch.sign(u.gather(1, u.abs().argmax(1, keepdim=True)))
    explained = s.pow(2) / (num_samples - 1) / total
    return {
        "directions": (u * sign).float(),
        "explained_variance": explained.float(),
        "protocol": {"method": "GANSpace (Härkönen et al. 2020): PCA of activations, "
                               "least-squares regression of z onto PCA coordinates",
                     "layer": layer, "features": y.shape[1], "num_samples": num_samples,
                     "num_components": num_components, "seed": seed,
                     "noise": "latent.noise(num_samples, latent_dim, seed)"},
    }
