"""The one typed configuration of a training run (the names are the notebooks' parameters).

Variants are made with ``dataclasses.replace(cfg, real_label=0.9)``; ``validate()`` turns every
out-of-range value into one clear error naming the field and returns the config with the
recipe's values filled in. A run folder stores that ``to_dict()`` as ``config.json``.

**Recipes.** The fields that default to None (the loss, DiffAugment, R1, EMA, learning rates,
flips) take their value from ``recipe``: ``"dcgan"`` is the textbook DCGAN of the seeds and
pytorch/examples; ``"stable"`` adds the stabilisers that measured better at the same compute
(docs/recipes.md). A field given a value keeps it, whatever the recipe::

    TrainConfig(recipe="stable").validate()              # the recommended recipe
    TrainConfig(recipe="stable", r1_gamma=0).validate()  # ... without R1
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from dataclasses import dataclass, field

from .augment import parse_policy
from .losses import LOSSES
from .models import NETWORKS

ARCHS = tuple(NETWORKS)  # "dcgan", "dense300"

# What each recipe sets for the fields left at None. "stable" was chosen by the comparison in
# docs/recipes.md (3 seeds per combination, the same steps, SWD and diversity).
RECIPES: dict[str, dict] = {
    "dcgan": dict(loss="bce", augment="", r1_gamma=0.0, ema=0.0, ema_rampup=0.05, lr_g=2e-4,
                  lr_d=2e-4, hflip=False),
    "stable": dict(loss="bce", augment="color,translation,cutout", r1_gamma=0.1, ema=0.999,
                   ema_rampup=0.05, lr_g=2e-4, lr_d=2e-4, hflip=True),
}
# The value that reproduces what the engine did before a field existed: a checkpoint whose
# config lacks the field resumes as if it held this.
LEGACY = {"recipe": "dcgan", "loss": "bce", "augment": "", "r1_gamma": 0.0, "r1_every": 16,
          "ema_rampup": 0.0, "doctor": True}


@dataclass
class TrainConfig:
    # --- data -------------------------------------------------------------------------------
    data: str = "auto"  # "auto", "kaggle", "synthetic" or a folder of images
    image_size: int = 64  # 64 or 128 (one more up/down block)
    max_images: int | None = None  # cap on the training set; None for all
    data_identity: str | None = None  # train only on images whose identity starts with this
    # (a run's config.json: data_used.identity); None: any. A sweep sets it to its runs' data.
    hflip: bool | None = None  # random horizontal flips of real images; None: the recipe's
    # --- models -----------------------------------------------------------------------------
    arch: str = "dcgan"  # "dcgan" (Radford et al. 2016) or "dense300" (seed 000's generator)
    latent_dim: int = 100  # size of z (dense300 used 300)
    g_features: int = 64  # generator width: channels of its last hidden layer
    d_features: int = 64  # discriminator width: channels of its first layer
    d_dropout: float = 0.0  # dropout before D's classifier (seed 000: 0.3)
    d_mid_dropout: float = 0.0  # dropout after D's middle conv layers (seed 001: 0.25)
    spectral_norm: bool = False  # spectral normalisation on D's layers (Miyato et al. 2018)
    # --- recipe and stabilisers (None: the recipe's value) -----------------------------------
    recipe: str = "dcgan"  # "dcgan" (the textbook) or "stable" (DiffAugment, EMA, flips)
    loss: str | None = None  # "bce" (DCGAN, non-saturating G) or "hinge"
    augment: str | None = None  # DiffAugment on every D input: "color,translation,cutout"; "" off
    r1_gamma: float | None = None  # R1 penalty weight on real images (0 off; e.g. 0.1 at 64 px)
    r1_every: int = 16  # apply R1 every this many D steps (lazy; scaled by the interval)
    ema: float | None = None  # decay of an EMA copy of G's weights (0 off, e.g. 0.999)
    ema_rampup: float | None = None  # EMA warm-up: half-life <= this x G updates so far (0 off)
    doctor: bool = True  # report failure modes (D winning, collapse, spikes) while training
    # --- optimisation -----------------------------------------------------------------------
    epochs: int = 25  # passes over the data
    max_steps: int | None = None  # stop after this many steps (one real batch each); None for all
    batch_size: int = 128  # images per step and rank (global batch: batch_size x world size)
    lr_g: float | None = None  # Adam learning rate of G (2e-4 in both recipes)
    lr_d: float | None = None  # Adam learning rate of D (TTUR: e.g. lr_d 4e-4 with lr_g 1e-4)
    beta1: float = 0.5  # Adam beta1 (DCGAN paper: 0.5)
    beta2: float = 0.999  # Adam beta2
    d_steps: int = 1  # D updates per G update
    # --- labels -----------------------------------------------------------------------------
    real_label: float = 1.0  # D's target for real images (0.9: one-sided smoothing)
    fake_label: float = 0.0  # D's target for fakes (0.1: two-sided smoothing)
    label_noise: float = 0.0  # uniform jitter: targets drawn from label +- label_noise / 2
    flip_prob: float = 0.0  # chance that D's real/fake targets are swapped for an image
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
    checkpoint_minutes: float = 10.0  # also write last.pt this often within an epoch (0 off)
    num_samples: int = 64  # images in each epoch's sample grid (from one fixed noise)
    eval_every: int = 0  # epochs between SWD/diversity evaluations in stats.jsonl (0 off)
    eval_samples: int = 1024  # generated and real images per evaluation
    tensorboard: bool = True  # also write the statistics and samples as TensorBoard events
    extra: dict = field(default_factory=dict)  # free-form notes stored with the run

    def resolved(self) -> TrainConfig:
        """A copy with every field left at None filled in from ``recipe``."""
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe={self.recipe!r} is invalid: choose one of "
                             f"{', '.join(RECIPES)}")
        fill = {k: v for k, v in RECIPES[self.recipe].items() if getattr(self, k) is None}
        return dataclasses.replace(self, **fill)

    def validate(self) -> TrainConfig:
        """The resolved config (see :meth:`resolved`); raise ValueError naming the first field
        that is out of range."""
        self = self.resolved()

        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: {rule}")

        need(self.image_size in (64, 128), "image_size", "use 64 or 128")
        need(self.arch in ARCHS, "arch", f"choose one of {', '.join(ARCHS)}")
        need(self.arch != "dense300" or self.image_size == 64, "image_size",
             "dense300 is defined at 64 px")
        for name in ("latent_dim", "g_features", "d_features", "epochs", "batch_size",
                     "d_steps", "log_every", "checkpoint_every", "num_samples", "r1_every"):
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
        need(self.data_identity is None or (isinstance(self.data_identity, str) and
             re.fullmatch(r"[0-9a-fA-F]{6,32}", self.data_identity) is not None), "data_identity",
             "must be None or 6-32 hex digits, as in a run's config.json data_used.identity")
        for name in ("lr_g", "lr_d"):
            need(0 < getattr(self, name) < 1, name, "must be in (0, 1)")
        for name in ("beta1", "beta2", "d_dropout", "d_mid_dropout", "ema"):
            need(0 <= getattr(self, name) < 1, name, "must be in [0, 1)")
        need(0 <= self.ema_rampup <= 1, "ema_rampup", "must be in [0, 1] (0 turns warm-up off)")
        need(self.r1_gamma >= 0, "r1_gamma", "must be >= 0 (0 turns R1 off)")
        need(self.checkpoint_minutes >= 0, "checkpoint_minutes", "must be >= 0 (0 turns the "
             "wall-clock cadence off)")
        need(self.loss in LOSSES, "loss", f"choose one of {', '.join(LOSSES)}")
        parse_policy(self.augment)
        if self.loss == "hinge":  # hinge has margins, not targets: label tricks do not apply
            for name, plain in (("real_label", 1.0), ("fake_label", 0.0), ("label_noise", 0.0),
                                ("flip_prob", 0.0)):
                need(getattr(self, name) == plain, name,
                     f"loss='hinge' has no targets to change: leave it at {plain:g} or use "
                     "loss='bce'")
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
    def from_namespace(cls, namespace: dict) -> TrainConfig:
        """The config of every field that ``namespace`` (a notebook's ``globals()``) defines:
        notebook 03's parameters are these fields, under the same names."""
        return cls(**{f.name: namespace[f.name] for f in dataclasses.fields(cls)
                      if f.name in namespace})

    def stabilisers(self) -> str:
        """One line naming the recipe and what it resolved to, for the top of a run."""
        c = self.resolved()
        ema = f"ema {c.ema:g} (warm-up {c.ema_rampup:g})" if c.ema else "no EMA"
        r1 = f"R1 gamma {c.r1_gamma:g} every {c.r1_every}" if c.r1_gamma else "no R1"
        return (f"recipe {c.recipe}: {c.loss} loss, augment {c.augment or 'off'}, {r1}, {ema}, "
                f"lr_g {c.lr_g:g}, lr_d {c.lr_d:g}, hflip {c.hflip}")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with one clear error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config field(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(sorted(names))}")
        return cls(**values)



# --- command line ------------------------------------------------------------------------------
def field_help() -> dict[str, str]:
    """Each field's trailing comment in the class body above: the help of its flag."""
    lines = inspect.getsource(TrainConfig).splitlines()
    found = (re.match(r"\s+(\w+): [^#]+#\s*(.+)$", line) for line in lines)
    return {m[1]: m[2] for m in found if m}


def _parse_as(kind: type, optional: bool):
    def parse(text: str):
        if optional and text.lower() == "none":  # "none" spells None: the recipe's value
            return None
        return kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """One ``--flag-name`` per field, typed from the dataclass's real annotations; unknown or
    abbreviated flags are errors (``--epoch 3`` does not silently mean ``--epochs``)."""
    parser = argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    hints, helps = typing.get_type_hints(TrainConfig), field_help()
    for f in dataclasses.fields(TrainConfig):
        kind = hints[f.name]
        args = typing.get_args(kind)
        optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and \
            type(None) in args
        if optional:
            kind = next(a for a in args if a is not type(None))
        if kind is dict:  # free-form notes: Python only
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        text = f"{helps.get(f.name, '')} (default: " \
               f"{'the recipe' if default is None and f.name in RECIPES['dcgan'] else default})"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=text.replace("%", "%%"))
        else:
            parser.add_argument(flag, type=_parse_as(kind, optional), default=default,
                                metavar=f.name.upper(), help=text.replace("%", "%%"))
    return parser
