"""The generator and discriminator: DCGAN (Radford, Metz & Chintala 2016, "Unsupervised
Representation Learning with Deep Convolutional Generative Adversarial Networks",
https://arxiv.org/abs/1511.06434) with the layer shapes of pytorch/examples' dcgan, and seed 000's
"dense300" variant; plus weight init and parameter tables for the notebooks.

Shape comments use B for the batch, f for the width (``g_features`` / ``d_features``) and S for
``image_size``. At 128 px both networks get one more block, so G starts at 16f and D ends at 16f.
The discriminator returns logits: train it with ``BCEWithLogitsLoss`` (stable under autocast).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

if TYPE_CHECKING:  # config imports this module's registry; the type is only for readers
    from .config import TrainConfig


def _up(cin: int, cout: int) -> list[nn.Module]:
    """Double H and W: the DCGAN paper's fractionally-strided conv, BatchNorm, ReLU."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def _down(cin: int, cout: int, sn: bool) -> list[nn.Module]:
    """Halve H and W: strided conv (no pooling), BatchNorm, LeakyReLU(0.2).

    With spectral norm the BatchNorm goes: BN undoes any rescaling of the conv weight
    (BN(c·Wx) = BN(Wx) for c > 0), so dividing W by its spectral norm would change nothing but the
    gradients, and BN's division by the batch std breaks the Lipschitz bound SN is there to give.
    Miyato et al. 2018 (https://arxiv.org/abs/1802.05957) train their SN discriminators without BN;
    the conv then gets the bias that BN's shift provided.
    """
    if sn:
        return [_spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
    return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2, True)]


def _dropout(p: float) -> list[nn.Module]:
    return [nn.Dropout(p)] if p > 0 else []  # p = 0 adds no layer: tables stay as in the paper


def _check_config(cfg: TrainConfig, sizes: tuple[int, ...]) -> None:
    if cfg.image_size not in sizes:
        raise ValueError(f"image_size={cfg.image_size!r} is invalid for arch={cfg.arch!r}: "
                         f"use {' or '.join(map(str, sizes))}")


def _check_input(x: torch.Tensor, size: int) -> None:
    if x.shape[-2:] != (size, size):
        raise ValueError(f"discriminator built for {size}x{size} images, got {tuple(x.shape)}")


class Generator(nn.Module):
    """z (B, latent_dim) or (B, latent_dim, 1, 1) -> images (B, 3, S, S) in [-1, 1]."""

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        _check_config(cfg, (64, 128))
        f, top = cfg.g_features, cfg.g_features * cfg.image_size // 8  # 8f at 64 px, 16f at 128
        layers = [
            nn.ConvTranspose2d(cfg.latent_dim, top, 4, 1, 0, bias=False),  # (B, top, 4, 4)
            nn.BatchNorm2d(top),
            nn.ReLU(True),
        ]
        if cfg.image_size == 128:
            layers += _up(16 * f, 8 * f)  # (B, 8f, 8, 8)
        layers += [
            *_up(8 * f, 4 * f),  # (B, 4f, S/8, S/8)
            *_up(4 * f, 2 * f),  # (B, 2f, S/4, S/4)
            *_up(2 * f, f),  # (B, f, S/2, S/2)
            nn.ConvTranspose2d(f, 3, 4, 2, 1, bias=False),  # (B, 3, S, S)
            nn.Tanh(),  # the range of the real images, x / 127.5 - 1
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z if z.dim() == 4 else z[:, :, None, None])


class Discriminator(nn.Module):
    """Images (B, 3, S, S) -> logits (B,): no sigmoid, the loss applies it.

    ``cfg.d_mid_dropout`` adds Dropout after the 2f and 4f blocks (seed 001), ``cfg.d_dropout``
    before the classifier (seed 000), ``cfg.spectral_norm`` normalises every conv (and drops
    BatchNorm, see ``_down``).
    """

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        _check_config(cfg, (64, 128))
        f, sn, self.image_size = cfg.d_features, cfg.spectral_norm, cfg.image_size
        wrap = _spectral_norm if sn else (lambda m: m)
        top = f * cfg.image_size // 8  # 8f at 64 px, 16f at 128
        layers = [
            # No BN on D's input layer: BN on every layer made the paper's samples oscillate.
            wrap(nn.Conv2d(3, f, 4, 2, 1, bias=False)),  # (B, f, S/2, S/2)
            nn.LeakyReLU(0.2, True),
            *_down(f, 2 * f, sn),  # (B, 2f, S/4, S/4)
            *_dropout(cfg.d_mid_dropout),
            *_down(2 * f, 4 * f, sn),  # (B, 4f, S/8, S/8)
            *_dropout(cfg.d_mid_dropout),
            *_down(4 * f, 8 * f, sn),  # (B, 8f, S/16, S/16)
        ]
        if cfg.image_size == 128:
            layers += _down(8 * f, 16 * f, sn)  # (B, 16f, 4, 4)
        layers += [
            *_dropout(cfg.d_dropout),
            wrap(nn.Conv2d(top, 1, 4, 1, 0, bias=False)),  # (B, 1, 1, 1)
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.image_size)
        return self.net(x).reshape(x.shape[0])


class Dense300Generator(nn.Module):
    """Seed 000's generator (64 px): a dense layer to 8x8x512, three upsampling transposed convs
    and a same-size conv to RGB; biases everywhere, no BatchNorm. Widths are fixed as in the seed.
    """

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        _check_config(cfg, (64,))
        self.fc = nn.Sequential(nn.Linear(cfg.latent_dim, 8 * 8 * 512), nn.ReLU(True))  # (B, 32768)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, 2, 1),  # (B, 256, 16, 16)
            nn.ReLU(True),
            nn.ConvTranspose2d(256, 128, 4, 2, 1),  # (B, 128, 32, 32)
            nn.ReLU(True),
            nn.ConvTranspose2d(128, 64, 4, 2, 1),  # (B, 64, 64, 64)
            nn.ReLU(True),
            # Keras' padding="same" for an even kernel pads 1 before and 2 after; written out
            # because PyTorch's padding="same" warns about (and copies for) even kernels.
            nn.ZeroPad2d((1, 2, 1, 2)),  # (B, 64, 67, 67)
            nn.Conv2d(64, 3, 4),  # (B, 3, 64, 64)
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z.flatten(1)).view(-1, 512, 8, 8))  # (B, 512, 8, 8)


class Dense300Discriminator(nn.Module):
    """Seed 000's discriminator (64 px): three strided conv blocks, dropout, a linear classifier.
    Widths f, 2f, 4f with f = ``d_features`` (64 in the seed); the options act as in
    ``Discriminator`` (``d_mid_dropout`` after the 2f block).
    """

    def __init__(self, cfg: TrainConfig):
        super().__init__()
        _check_config(cfg, (64,))
        f, sn = cfg.d_features, cfg.spectral_norm
        self.net = nn.Sequential(
            *_down(3, f, sn),  # (B, f, 32, 32)
            *_down(f, 2 * f, sn),  # (B, 2f, 16, 16)
            *_dropout(cfg.d_mid_dropout),
            *_down(2 * f, 4 * f, sn),  # (B, 4f, 8, 8)
            nn.Flatten(),  # (B, 4f * 64)
            *_dropout(cfg.d_dropout),
            (_spectral_norm if sn else (lambda m: m))(nn.Linear(4 * f * 8 * 8, 1)),  # (B, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 64)
        return self.net(x).reshape(x.shape[0])


def init_weights(module: nn.Module) -> None:
    """DCGAN init, for ``net.apply(init_weights)``: conv and linear weights ~ N(0, 0.02), BatchNorm
    scales ~ N(1, 0.02), biases 0. A spectrally normalised layer gets its underlying weight
    initialised and its spectral-norm estimate recomputed for the new weight."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        if parametrize.is_parametrized(module, "weight"):
            # Re-registering reruns the power iteration; keeping the old u, v would make the
            # first steps divide by the norm estimate of the default-initialised weight.
            sn = module.parametrizations.weight[0]
            settings = {"n_power_iterations": sn.n_power_iterations, "eps": sn.eps, "dim": sn.dim}
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
            nn.init.normal_(module.weight, 0.0, 0.02)
            _spectral_norm(module, **settings)
        else:
            nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


NETWORKS = {  # cfg.arch -> (generator class, discriminator class); config.ARCHS is its keys
    "dcgan": (Generator, Discriminator),
    "dense300": (Dense300Generator, Dense300Discriminator),
}


def build(cfg: TrainConfig) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for ``cfg.arch``, initialised with ``init_weights`` from torch's
    global RNG: call ``torch.manual_seed`` first for a reproducible pair."""
    if cfg.arch not in NETWORKS:
        raise ValueError(f"arch={cfg.arch!r} is invalid: choose one of {', '.join(NETWORKS)}")
    make_g, make_d = NETWORKS[cfg.arch]
    generator, discriminator = make_g(cfg), make_d(cfg)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    return generator, discriminator


def count_parameters(module: nn.Module) -> int:
    """All parameters (a spectrally normalised weight counts once, as its original)."""
    return sum(p.numel() for p in module.parameters())


def _leaves(module: nn.Module):
    """(name, layer) for layers with no sub-layers; spectral-norm internals are not layers."""
    for name, m in module.named_modules():
        inner = [n for n, _ in m.named_children() if n != "parametrizations"]
        if not inner and "parametrizations" not in name.split("."):
            yield name, m


@torch.no_grad()
def layer_table(module: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """One row per leaf layer: name, type, output shape, parameters, from a forward pass of zeros
    of ``input_shape`` through a CPU copy in eval mode (``module`` itself, its device, mode,
    BatchNorm statistics and spectral-norm state, is left untouched)."""
    module = copy.deepcopy(module).cpu().eval()
    rows = []
    for name, m in _leaves(module):
        row = {"name": name, "type": type(m).__name__.removeprefix("Parametrized"),
               "spectral_norm": parametrize.is_parametrized(m), "parameters": count_parameters(m)}
        rows.append(row)
        m.register_forward_hook(
            lambda _m, _i, out, row=row: row.__setitem__("output_shape", tuple(out.shape)))
    module(torch.zeros(input_shape))
    return rows


def format_table(rows: list[dict]) -> str:
    """A fixed-width text table of ``layer_table`` rows with a total line."""
    lines = [f"{'layer':<10}{'type':<22}{'output shape':<22}{'parameters':>12}"]
    for r in rows:
        kind = r["type"] + (" (SN)" if r.get("spectral_norm") else "")
        shape = str(tuple(r.get("output_shape", ()))).replace(" ", "")
        lines.append(f"{r['name']:<10}{kind:<22}{shape:<22}{r['parameters']:>12,}")
    lines.append(f"{'total':<54}{sum(r['parameters'] for r in rows):>12,}")
    return "\n".join(lines)
