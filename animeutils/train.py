"""The DCGAN training engine (Radford et al. 2016, as in pytorch/examples' dcgan), built for speed.

For every real batch:

1. D step — maximise log D(x) + log(1 - D(G(z))): BCE-with-logits of D(real) against the real
   targets and of D(fake) against the fake targets (see :mod:`animeutils.labels`), real and fake
   in separate forward passes so BatchNorm sees the same statistics as the reference.
2. every ``d_steps``-th batch, G step — maximise log D(G(z)), the non-saturating loss
   (Goodfellow et al. 2014), on the same fakes, then the EMA update.

Speed without changing the algorithm: the dataset stays on the device as uint8, bf16 autocast and
fused Adam on CUDA, channels_last, optional ``torch.compile``, fixed batch shapes, and no host
sync in the hot loop — statistics (and the NaN guard) accumulate on the device and are read every
``log_every`` steps. A step is one real batch; an epoch is one pass of D over the data.

    from animeutils import config, train
    result = train.train(config.TrainConfig(data="synthetic", epochs=5))

Command line (the notebook's parameters, with dashes; ``--help`` lists them)::

    python -m animeutils.train --data synthetic --epochs 5 --batch-size 64 --run-dir runs/demo
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import checkpoint, labels, models, runlog, runtime
from .batches import Batches
from .config import TrainConfig
from .ema import EMA
from .sources import DataError

# Fields that may change when a run is resumed; any other difference is an error.
RESUMABLE = frozenset({"epochs", "max_steps", "run_dir", "resume", "device", "compile",
                       "log_every", "checkpoint_every", "amp"})
STAT_NAMES = ("loss_d", "loss_g", "d_real", "d_fake", "d_acc", "g_updates")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    epoch: int  # epochs completed
    generator: nn.Module  # the EMA copy when ema > 0, else the trained G (eval mode)
    stats: list[dict]
    finished: bool  # True when every epoch (or max_steps) was trained


@torch.no_grad()
def sample(generator: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Images in [-1, 1] from ``generator`` in eval mode (BatchNorm uses its running statistics,
    as it will for one image at a time), restoring the module's previous mode."""
    was_training = generator.training
    generator.eval()
    chunks = [generator(z[i : i + batch_size]).float() for i in range(0, len(z), batch_size)]
    out = torch.cat(chunks)
    generator.train(was_training)
    return out


class Trainer:
    """One training run: ``Trainer(cfg).fit()``. See the module docstring for the algorithm."""

    def __init__(self, cfg: TrainConfig, dataset=None, *, progress: bool = True):
        self.cfg = cfg.validate()
        self.progress = progress
        self.device = runtime.device(cfg.device)
        cuda = self.device.type == "cuda"
        self.run = runlog.RunDir(runlog.resolve(cfg.run_dir, cfg.resume, cfg.arch))
        if dataset is None:
            from . import data

            dataset = data.load_dataset(cfg.data, cfg.image_size, max_images=cfg.max_images,
                                        progress=progress)
        self.dataset = dataset
        self.batches = Batches(dataset.images, cfg.batch_size, device=self.device, seed=cfg.seed,
                               flip=cfg.hflip, channels_last=cfg.channels_last)

        torch.manual_seed(cfg.seed)  # weights, then dropout during training
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G, self.D = (m.to(self.device, memory_format=fmt) for m in models.build(cfg))
        self.ema = EMA(self.G, cfg.ema) if cfg.ema > 0 else None
        adam = dict(betas=(cfg.beta1, cfg.beta2), fused=True if cuda else None)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, **adam)
        self.g_fwd = torch.compile(self.G) if cfg.compile else self.G
        self.d_fwd = torch.compile(self.D) if cfg.compile else self.D
        self.autocast = types.SimpleNamespace(device_type=self.device.type, dtype=torch.bfloat16,
                                              enabled=cfg.amp and cuda)
        self.noise = torch.Generator(self.device).manual_seed(cfg.seed + 1)  # z and label draws
        self.fixed_noise = torch.randn(cfg.num_samples, cfg.latent_dim,
                                       generator=torch.Generator().manual_seed(cfg.seed + 2))
        self.fixed_noise = self.fixed_noise.to(self.device)
        # 0 and 1 made once on the device: building them each step would copy from the host.
        self.flags = torch.tensor([0.0, 1.0], device=self.device).unbind()
        self.step = 0
        self._reset_window()
        if cfg.resume and self.run.last_checkpoint.exists():
            self._restore(checkpoint.load(self.run.last_checkpoint, map_location=self.device))
        else:
            self.run.write_config(self._record())

    # --- bookkeeping ---------------------------------------------------------------------------
    def _record(self) -> dict:
        return {
            "config": {**self.cfg.to_dict(), "run_dir": str(self.run.path)},
            "data_used": self.dataset.describe(),
            "batch_semantics": "batch_size is per process; learning rates are not scaled",
            "world_size": 1,
            "steps_per_epoch": len(self.batches),
            "device": str(self.device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def _reset_window(self) -> None:
        self.window = torch.zeros(len(STAT_NAMES), device=self.device)
        self.first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        self.dev_step = torch.full((), self.step, dtype=torch.long, device=self.device)
        self.window_steps, self.window_start = 0, time.perf_counter()

    def state_dict(self) -> dict:
        cuda = self.device.type == "cuda"
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "ema": self.ema.state_dict() if self.ema else {},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "epoch": self.step // len(self.batches),
            "steps_per_epoch": len(self.batches),
            "config": self.cfg.to_dict(),
            "data_fingerprint": self.dataset.fingerprint,
            "fixed_noise": self.fixed_noise.cpu(),
            "rng": {"torch": torch.get_rng_state(), "noise": self.noise.get_state(),
                    "cuda": torch.cuda.get_rng_state(self.device) if cuda else torch.empty(0)},
        }

    def _restore(self, state: dict) -> None:
        saved = state["config"]
        changed = [f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in self.cfg.to_dict().items()
                   if k not in RESUMABLE and saved.get(k) != v]
        if changed:
            raise ValueError(f"cannot resume {self.run.path} with a different config "
                             f"({'; '.join(changed)}): use the same values or a new run_dir")
        if state["data_fingerprint"] != self.dataset.fingerprint:
            raise ValueError(f"cannot resume {self.run.path}: its data changed since the "
                             "checkpoint (different files or source); use a new run_dir")
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.ema:
            self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.fixed_noise = state["fixed_noise"].to(self.device)
        torch.set_rng_state(state["rng"]["torch"].cpu())
        self.noise.set_state(state["rng"]["noise"].cpu())
        if self.device.type == "cuda" and state["rng"]["cuda"].numel():
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)
        self.run.truncate_stats(self.step)  # rows logged after this checkpoint are redone
        self._reset_window()

    def save_checkpoint(self, keep: bool = False) -> Path:
        state = self.state_dict()
        path = checkpoint.save(state, self.run.last_checkpoint)
        if keep:
            checkpoint.save(state, self.run.checkpoints / f"epoch_{state['epoch']:04d}.pt")
        return path

    # --- the two updates -----------------------------------------------------------------------
    def train_step(self, real: torch.Tensor) -> None:
        cfg, n, dev = self.cfg, real.shape[0], self.device
        update_g = (self.step + 1) % cfg.d_steps == 0
        z = torch.randn(n, cfg.latent_dim, device=dev, generator=self.noise)
        t_real = labels.targets(n, cfg.real_label, cfg.fake_label, noise=cfg.label_noise,
                                flip_prob=cfg.flip_prob, generator=self.noise, device=dev)
        t_fake = labels.targets(n, cfg.fake_label, cfg.real_label, noise=cfg.label_noise,
                                flip_prob=cfg.flip_prob, generator=self.noise, device=dev)
        with torch.autocast(**vars(self.autocast)), torch.set_grad_enabled(update_g):
            fake = self.g_fwd(z)

        # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
        with torch.autocast(**vars(self.autocast)):
            logit_real = self.d_fwd(real).float()
            logit_fake = self.d_fwd(fake.detach()).float()
        loss_d = (F.binary_cross_entropy_with_logits(logit_real, t_real)
                  + F.binary_cross_entropy_with_logits(logit_fake, t_fake))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # (2) Update G: maximise log D(G(z)) (non-saturating; G's target is always 1)
        loss_g = torch.zeros((), device=dev)
        if update_g:
            with torch.autocast(**vars(self.autocast)):
                logit_gen = self.d_fwd(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(logit_gen, torch.ones_like(logit_gen))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
            if self.ema:
                self.ema.update(self.G)

        with torch.no_grad():  # statistics stay on the device: no sync here
            acc = ((logit_real > 0).float().mean() + (logit_fake < 0).float().mean()) / 2
            self.window += torch.stack([loss_d.detach(), loss_g.detach(),
                                        torch.sigmoid(logit_real).mean(),
                                        torch.sigmoid(logit_fake).mean(), acc,
                                        self.flags[int(update_g)]])
            self.dev_step += 1
            bad = ~(torch.isfinite(loss_d) & torch.isfinite(loss_g))
            self.first_bad = torch.where(bad & (self.first_bad < 0), self.dev_step, self.first_bad)
        self.step += 1
        self.window_steps += 1

    def _flush(self, bar) -> dict:
        """Read the window's statistics (one host sync), guard against NaN, log one row."""
        values = torch.cat([self.window, self.first_bad.float().view(1)]).tolist()
        *sums, first_bad = values
        if first_bad >= 0:
            raise TrainingDiverged(
                f"loss became NaN/inf at step {int(first_bad)}; training stopped. The last good "
                f"checkpoint is kept: {self.run.last_checkpoint} (try a lower lr_d/lr_g)")
        steps = max(self.window_steps, 1)
        means = dict(zip(STAT_NAMES, (s / steps for s in sums)))
        g_updates = max(sums[STAT_NAMES.index("g_updates")], 1)
        means["loss_g"] = sums[STAT_NAMES.index("loss_g")] / g_updates
        seconds = time.perf_counter() - self.window_start
        row = {"step": self.step, "epoch": self.step / len(self.batches),
               "images_seen": self.step * self.cfg.batch_size,
               **{k: round(v, 6) for k, v in means.items() if k != "g_updates"},
               "images_per_s": round(steps * self.cfg.batch_size / seconds, 1),
               "wall_time": round(time.time(), 3)}
        self.run.append_stats(row)
        bar.set_postfix(D_loss=f"{row['loss_d']:.3f}", G_loss=f"{row['loss_g']:.3f}",
                        Dx=f"{row['d_real']:.2f}", DGz=f"{row['d_fake']:.2f}",
                        img_s=f"{row['images_per_s']:.0f}")
        self._reset_window()
        return row

    def _end_of_epoch(self, epoch: int, epoch_done: bool) -> None:
        sampler = self.ema.model if self.ema else self.G
        self.run.save_samples(sample(sampler, self.fixed_noise), epoch + 1)
        every = self.cfg.checkpoint_every
        self.save_checkpoint(keep=epoch_done and (epoch + 1) % every == 0)
        self.run.plot_curves()
        self.run.make_gif()

    # --- the loop ------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        from tqdm.auto import tqdm

        cfg, per_epoch = self.cfg, len(self.batches)
        total = cfg.epochs * per_epoch
        if cfg.max_steps is not None:
            total = min(total, cfg.max_steps)
        self.G.train()
        self.D.train()
        while self.step < total:
            epoch, start = divmod(self.step, per_epoch)
            bar = tqdm(total=per_epoch, initial=start, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                       unit="batch", disable=not self.progress, leave=True)
            try:
                for real in self.batches.epoch(epoch, start):
                    self.train_step(real)
                    bar.update(1)
                    epoch_done = self.step % per_epoch == 0
                    if self.step % cfg.log_every == 0 or epoch_done or self.step == total:
                        self._flush(bar)
                    if self.step == total:
                        break
            finally:
                bar.close()
            self._end_of_epoch(epoch, epoch_done=self.step % per_epoch == 0)
        sampler = self.ema.model if self.ema else self.G
        return TrainResult(self.run.path, self.step, self.step // per_epoch, sampler.eval(),
                           runlog.read_stats(self.run.path), finished=self.step >= total)


def train(cfg: TrainConfig, dataset=None, *, progress: bool = True) -> TrainResult:
    """Train (or resume) one run and return where it is and what it produced."""
    return Trainer(cfg, dataset, progress=progress).fit()


# --- command line ------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m animeutils.train",
                                     description="Train the anime-face DCGAN.")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "extra":
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.type in ("bool",):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
            continue
        kind = {"int": int, "float": float}.get(str(f.type).split(" ")[0], str)
        if str(f.type).endswith("| None"):
            def kind(text, base=kind):  # "none" spells None on the command line
                return None if text.lower() == "none" else base(text)
        parser.add_argument(flag, type=kind, default=default, metavar=f.name.upper(),
                            help=f"(default: {default})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    progress = not args.pop("no_progress")
    try:
        cfg = TrainConfig(**args)
        result = train(cfg, progress=progress)
    except (ValueError, FileExistsError, FileNotFoundError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"run folder: {result.run_dir} (step {result.step}, epochs done {result.epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
