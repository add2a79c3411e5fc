"""The one typed configuration of a training run (the names are the notebooks' parameters).

Variants are made with ``dataclasses.replace(cfg, real_label=0.9)``; ``validate()`` turns every
out-of-range value into one clear error naming the field. A run folder stores ``to_dict()`` as
``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

ARCHS = ("dcgan", "dense300")


@dataclass
class TrainConfig:
    # --- data -------------------------------------------------------------------------------
    data: str = "auto"  # "auto", "kaggle", "synthetic" or a folder of images
    image_size: int = 64  # 64 or 128 (one more up/down block)
    max_images: int | None = None  # cap on the training set; None for all
    hflip: bool = False  # random horizontal flips of real images
    # --- models -----------------------------------------------------------------------------
    arch: str = "dcgan"  # "dcgan" (Radford et al. 2016) or "dense300" (seed 000's generator)
    latent_dim: int = 100  # size of z (dense300 used 300)
    g_features: int = 64  # generator width: channels of its last hidden layer
    d_features: int = 64  # discriminator width: channels of its first layer
    d_dropout: float = 0.0  # dropout before D's classifier (seed 000: 0.3)
    d_mid_dropout: float = 0.0  # dropout after D's middle conv layers (seed 001: 0.25)
    spectral_norm: bool = False  # spectral normalisation on D's layers (Miyato et al. 2018)
    # --- optimisation -----------------------------------------------------------------------
    epochs: int = 25  # passes over the data
    max_steps: int | None = None  # stop after this many steps (one real batch each); None for all
    batch_size: int = 128  # images per step and rank (global batch: batch_size x world size)
    lr_g: float = 2e-4  # Adam learning rate of G
    lr_d: float = 2e-4  # Adam learning rate of D
    beta1: float = 0.5  # Adam beta1 (DCGAN paper: 0.5)
    beta2: float = 0.999  # Adam beta2
    d_steps: int = 1  # D updates per G update
    # --- labels -----------------------------------------------------------------------------
    real_label: float = 1.0  # D's target for real images (0.9: one-sided smoothing)
    fake_label: float = 0.0  # D's target for fakes (0.1: two-sided smoothing)
    label_noise: float = 0.0  # uniform jitter: targets drawn from label +- label_noise / 2
    flip_prob: float = 0.0  # chance that D's real/fake targets are swapped for an image
    ema: float = 0.0  # decay of an EMA copy of G's weights (0 off, e.g. 0.999)
    seed: int = 0  # seeds weights, noise, shuffling: same seed, same run on the CPU
    # --- speed ------------------------------------------------------------------------------
    device: str = "auto"  # "auto" (CUDA, else MPS, else CPU), or e.g. "cuda:1", "cpu"
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True  # NHWC memory layout (faster convs on tensor cores)
    compile: bool = False  # torch.compile G and D
    cuda_graphs: bool = False  # with compile on CUDA: CUDA graphs ("reduce-overhead"); untried
    sync_bn: bool = False  # under torchrun on GPUs: BatchNorm statistics over all ranks
    # --- run folder -------------------------------------------------------------------------
    run_dir: str | None = None  # run folder; None for a new runs/<time>-<arch> folder
    resume: bool = False  # continue run_dir (None: the latest run) from its last checkpoint
    log_every: int = 50  # steps between reading statistics from the device
    checkpoint_every: int = 5  # epochs between kept checkpoints (last.pt: every epoch)
    num_samples: int = 64  # images in each epoch's sample grid (from one fixed noise)
    eval_every: int = 0  # epochs between SWD/diversity evaluations in stats.jsonl (0 off)
    eval_samples: int = 1024  # generated and real images per evaluation
    extra: dict = field(default_factory=dict)  # free-form notes stored with the run

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the first field that is out of range; return self."""
        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: {rule}")

        need(self.image_size in (64, 128), "image_size", "use 64 or 128")
        need(self.arch in ARCHS, "arch", f"choose one of {', '.join(ARCHS)}")
        need(self.arch != "dense300" or self.image_size == 64, "image_size",
             "dense300 is defined at 64 px")
        for name in ("latent_dim", "g_features", "d_features", "epochs", "batch_size",
                     "d_steps", "log_every", "checkpoint_every", "num_samples"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name,
                 "must be an integer >= 1")
        need(isinstance(self.eval_every, int) and self.eval_every >= 0, "eval_every",
             "must be an integer >= 0 (0 turns evaluation off)")
        need(isinstance(self.eval_samples, int) and self.eval_samples >= 2, "eval_samples",
             "must be an integer >= 2")
        for name in ("max_images", "max_steps"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, int) and value >= 1), name,
                 "must be None or an integer >= 1")
        for name in ("lr_g", "lr_d"):
            need(0 < getattr(self, name) < 1, name, "must be in (0, 1)")
        for name in ("beta1", "beta2", "d_dropout", "d_mid_dropout", "ema"):
            need(0 <= getattr(self, name) < 1, name, "must be in [0, 1)")
        for name in ("real_label", "fake_label"):
            need(0 <= getattr(self, name) <= 1, name, "a BCE target must be in [0, 1]")
        need(self.real_label > self.fake_label, "real_label", "must be above fake_label")
        need(0 <= self.label_noise <= 0.5, "label_noise", "must be in [0, 0.5]")
        need(0 <= self.flip_prob < 0.5, "flip_prob", "must be in [0, 0.5)")
        need(self.compile or not self.cuda_graphs, "cuda_graphs",
             "CUDA graphs come from torch.compile: set compile=True too")
        self._check_device()
        return self

    def _check_device(self) -> None:
        from . import runtime

        runtime.checked_device(self.device, "device=")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with one clear error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config field(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(sorted(names))}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))
