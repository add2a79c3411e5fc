"""The DCGAN training engine (Radford et al. 2016, as in pytorch/examples' dcgan), built for speed,
with the stabilisers that the recipes of :mod:`animeutils.config` select.

For every real batch x (one step):

1. D step -- BCE: maximise log D(x) + log(1 - D(G(z))) (targets from :mod:`animeutils.labels`);
   hinge: minimise relu(1 - D(x)) + relu(1 + D(G(z))) (:mod:`animeutils.losses`). Real and fake
   in separate forward passes, as in pytorch/examples, so BatchNorm sees one kind at a time.
   Every D input, real or fake, goes through DiffAugment first when ``augment`` is set
   (:mod:`animeutils.augment`); every ``r1_every`` steps the R1 penalty on the real pass.
2. every ``d_steps``-th step, G step -- the non-saturating loss -log D(G(z)) (or -D(G(z)) for
   hinge) on the same fakes, augmented afresh; then the EMA update with its warm-up.

The same arithmetic, written plainly without the speed-ups, is the reference step that notebook
03 teaches; ``tests/test_reference_step.py`` checks that the two agree.

Speed without changing the algorithm: the dataset stays on the device as uint8, bf16 autocast and
fused Adam on CUDA, channels_last, optional ``torch.compile``, fixed batch shapes, and no host
sync in the hot loop -- statistics (and the NaN guard) accumulate on the device
(:mod:`animeutils.devicestats`) and are read every ``log_every`` steps, when the training doctor
(:mod:`animeutils.doctor`) looks at them. An epoch is one pass of D over the data.

    from animeutils import config, train
    result = train.train(config.TrainConfig(data="synthetic", recipe="stable", epochs=5))

Command line (the notebook's parameters, with dashes; ``--help`` lists them)::

    python -m animeutils.train --data synthetic --recipe stable --epochs 5 --run-dir runs/demo
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import (
    augment,
    background,
    checkpoint,
    config,
    distributed,
    labels,
    losses,
    models,
    runlog,
    runtime,
)
from .batches import Batches
from .config import TrainConfig
from .data import manifest_changes
from .devicestats import Window
from .doctor import Doctor
from .ema import EMA
from .recorder import Recorder, write_checkpoint
from .sampling import sample
from .sources import DataError

__all__ = ["DataChangedError", "TrainResult", "Trainer", "TrainingDiverged", "main", "sample",
           "train"]

# Fields that may change when a run is resumed; any other difference is an error. (``data`` may
# name another folder, e.g. after a re-download: the images' identity is checked instead.)
RESUMABLE = frozenset({"data", "data_identity", "epochs", "max_steps", "run_dir", "resume",
                       "device", "compile", "log_every", "checkpoint_every", "amp", "sync_bn",
                       "eval_every", "eval_samples", "cuda_graphs", "doctor",
                       "checkpoint_minutes", "tensorboard"})
CURVES_SECONDS = 60.0  # redraw losses.png and d_outputs.png at most this often (and at the end)


class DataChangedError(ValueError):
    """Resuming on other images than the checkpoint's; the message says which files differ."""


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


def _native_bf16() -> bool:
    """bf16 autocast only where the GPU computes in bf16 natively (Ampere and newer): on older
    GPUs, e.g. Colab's T4, it is emulated and slower than fp32, so fp32 is used there."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.4 has no including_emulation and reports native support
        return torch.cuda.is_bf16_supported()


class Trainer:
    """One training run: ``Trainer(cfg).fit()``. See the module docstring for the algorithm.

    Under torchrun (see :mod:`animeutils.distributed`) each process is one rank: G and D are
    wrapped in DistributedDataParallel, each rank draws a disjoint shard of every epoch, and only
    rank 0 writes the run folder. ``batch_size`` is per rank.
    """

    def __init__(self, cfg: TrainConfig, dataset=None, *, progress: bool = True):
        self.cfg = cfg.validate()  # with the recipe's values filled in
        self.rank, self.world = distributed.rank_and_world()
        self.is_main = self.rank == 0
        self.progress = progress and self.is_main
        self.device = self._pick_device()
        self.dataset = self._load_data(dataset)
        self._check_expected_data()  # before the run folder exists: a refusal leaves nothing
        self.run = self._open_run_folder()
        self.batches = Batches(self.dataset.images, self.cfg.batch_size, device=self.device,
                               seed=self.cfg.seed, flip=self.cfg.hflip,
                               channels_last=self.cfg.channels_last, rank=self.rank,
                               world_size=self.world)
        self.G, self.D = self._build_networks()
        self.ema = EMA(self.G, self.cfg.ema, self.cfg.ema_rampup) if self.cfg.ema > 0 else None
        self.opt_g, self.opt_d = self._build_optimisers()
        # G's step backpropagates through D to G only: D's weight gradients from it would be
        # discarded (its next step zeroes them), so autograd is asked for G's alone.
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self._wrap_for_speed()
        self._seed_streams()
        self.doctor = Doctor(self.cfg.loss) if self.cfg.doctor and self.is_main else None
        self.best_swd = float("inf")  # the lowest evaluated SWD so far (checkpoints/best.pt)
        self._eval_set = None  # (real images, latents) fixed for every evaluation of a run
        self.step = 0  # optimiser steps so far (each one real batch per rank)
        self.epoch, self.batch = 0, 0  # position: epochs completed, batches done in this one
        self.window = Window(self.device)
        self.out: Recorder | None = None  # the background writer of run outputs, while fit()
        # runs on rank 0
        self.last_checkpoint_time = time.monotonic()
        self._resume_or_start()

    # --- set-up, one step each -----------------------------------------------------------------
    def _pick_device(self) -> torch.device:
        device = runtime.device(self.cfg.device)
        if self.world > 1 and device.type == "cuda" and device.index is None:
            device = torch.device("cuda", distributed.local_rank())  # one GPU per rank
        return device

    def _open_run_folder(self) -> runlog.RunDir:
        cfg = self.cfg
        path = runlog.resolve(cfg.run_dir, cfg.resume, cfg.arch) if self.is_main else None
        return runlog.RunDir(distributed.broadcast_object(path), create=self.is_main)

    def _load_data(self, dataset):
        if dataset is not None:
            return dataset
        from . import data

        cfg = self.cfg
        for turn in ("main", "others"):  # rank 0 builds the cache, the others reuse it
            if (turn == "main") == self.is_main:
                dataset = data.load_dataset(cfg.data, cfg.image_size, verbose=self.is_main,
                                            max_images=cfg.max_images, progress=self.progress)
            distributed.barrier()
        return dataset

    def _build_networks(self) -> tuple[nn.Module, nn.Module]:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        G, D = models.build(cfg)
        if cfg.sync_bn and self.world > 1:
            if self.device.type != "cuda":
                raise ValueError("sync_bn=True needs CUDA ranks: SyncBatchNorm has no CPU "
                                 "version")
            G, D = (nn.SyncBatchNorm.convert_sync_batchnorm(m) for m in (G, D))
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        return tuple(m.to(self.device, memory_format=fmt) for m in (G, D))

    def _build_optimisers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        cfg = self.cfg
        # Fused Adam: one kernel for all parameters (on the CPU too, torch >= 2.4: ~2 % faster
        # at the demo scale on 2 cores). Same update as plain Adam, up to rounding.
        fused = self.device.type in ("cuda", "cpu")
        adam = dict(betas=(cfg.beta1, cfg.beta2), fused=True if fused else None)
        return (torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, **adam),
                torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, **adam))

    def _wrap_for_speed(self) -> None:
        """DDP, compile, CUDA graphs and autocast: each leaves the arithmetic as it is."""
        cfg, cuda = self.cfg, self.device.type == "cuda"
        g_net, d_net = self.G, self.D
        if self.world > 1:
            ids = [self.device.index] if cuda else None
            g_net = nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            d_net = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        # D's gradients from the G step are never used: skip their all-reduce (and the real-
        # image pass's, which the fake pass's backward reduces together).
        self.d_no_sync = d_net.no_sync if self.world > 1 else contextlib.nullcontext
        # CUDA graphs through compile's cudagraph trees: each step is marked (train_step), so
        # outputs of one step's replays stay valid until the next step; eval-mode sampling uses
        # the uncompiled modules, so no train/eval switch ever recompiles.
        self.graphs = cfg.compile and cfg.cuda_graphs and cuda
        mode = "reduce-overhead" if self.graphs else None
        self.g_fwd = torch.compile(g_net, mode=mode) if cfg.compile else g_net
        self.d_fwd = torch.compile(d_net, mode=mode) if cfg.compile else d_net
        self.d_eager = d_net  # R1's double backward: compiled graphs have none
        self.autocast = types.SimpleNamespace(device_type=self.device.type, dtype=torch.bfloat16,
                                              enabled=cfg.amp and cuda and _native_bf16())
        self.policy = augment.parse_policy(cfg.augment)

    def _seed_streams(self) -> None:
        cfg = self.cfg
        if self.rank:
            torch.manual_seed(cfg.seed + 7919 * self.rank)  # different dropout masks per rank
        self.noise = torch.Generator(self.device)  # z, label and augment draws, per rank
        self.noise.manual_seed(cfg.seed + 1 + 1_000_003 * self.rank)
        self.fixed_noise = torch.randn(cfg.num_samples, cfg.latent_dim,
                                       generator=torch.Generator().manual_seed(cfg.seed + 2))
        self.fixed_noise = self.fixed_noise.to(self.device)
        # 0 and 1 made once on the device: building them each step would copy from the host.
        self.flags = torch.tensor([0.0, 1.0], device=self.device).unbind()

    def _resume_or_start(self) -> None:
        if self.is_main:
            self.run.remove_temporary_files()
        fresh_note = None
        if self.cfg.resume and not self.run.last_checkpoint.exists():
            fresh_note = (f"resume=True, but {self.run.path} has no checkpoint to resume: "
                          "starting a fresh run there")
            if self.is_main:
                print(fresh_note)
        if self.cfg.resume and self.run.last_checkpoint.exists():
            self._restore(checkpoint.load(self.run.last_checkpoint, map_location=self.device))
            if self.is_main:
                print(f"resuming {self.run.path} at step {self.step} (epoch {self.epoch + 1})")
                record = self._record()
                old = json.loads((self.run.path / "config.json").read_text())
                record["resumed"] = [*old.get("resumed", []), {
                    "step": self.step, "at": record["created"], "cpu": record["cpu"]}]
                record["cpu"] = old.get("cpu", record["cpu"])  # where it started
                record["created"] = old.get("created", record["created"])
                self.run.write_config(record)
        elif self.is_main:
            self.run.start_fresh()  # an attempt that stopped before its first checkpoint
            record = self._record()
            if fresh_note:
                record["started_fresh"] = fresh_note
            self.run.write_config(record)
            self.run.write_manifest(self.dataset.manifest())

    # --- bookkeeping ---------------------------------------------------------------------------
    def _record(self) -> dict:
        return {
            "config": {**self.cfg.to_dict(), "run_dir": str(self.run.path)},
            "data_used": self.dataset.describe(),
            "world_size": self.world,
            "batch_semantics": (f"batch_size {self.cfg.batch_size} is per rank: the global batch "
                                f"is {self.cfg.batch_size * self.world}; learning rates are used "
                                "as given (not scaled with the world size)"),
            "steps_per_epoch": len(self.batches),
            "device": str(self.device),
            "cpu": runtime.cpu_record(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def _rng_state(self) -> dict:
        cuda = self.device.type == "cuda"
        return {"torch": torch.get_rng_state(), "noise": self.noise.get_state().cpu(),
                "cuda": torch.cuda.get_rng_state(self.device) if cuda else torch.empty(0)}

    def state_dict(self) -> dict:
        """The checkpoint (a collective under torchrun: every rank's RNG state is gathered)."""
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "ema": self.ema.state_dict() if self.ema else {},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch": self.batch,
            "world_size": self.world,
            "steps_per_epoch": len(self.batches),
            "config": self.cfg.to_dict(),
            "data_fingerprint": self.dataset.fingerprint,  # where and when (display only)
            "data_identity": self.dataset.identity,  # what: names and contents (resume checks)
            "fixed_noise": self.fixed_noise.cpu(),
            "best_swd": self.best_swd,
            "doctor": self.doctor.state_dict() if self.doctor else {},
            "rng": distributed.gather_objects(self._rng_state()),  # one entry per rank
        }

    def _restore(self, state: dict) -> None:
        saved = {**config.LEGACY, **state["config"]}  # fields added since: their old behaviour
        changed = [f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in self.cfg.to_dict().items()
                   if k not in RESUMABLE and saved.get(k) != v]
        if changed:
            raise ValueError(f"cannot resume {self.run.path} with a different config "
                             f"({'; '.join(changed)}): use the same values or a new run_dir")
        self._check_same_data(state)
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        if self.ema:
            self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        # The same images seen in this epoch, in this world's batches (exact at epoch ends).
        self.batch = round(int(state["batch"]) * int(state["world_size"]) / self.world)
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.best_swd = float(state.get("best_swd", float("inf")))
        if self.doctor and state.get("doctor"):  # older checkpoints: the doctor starts afresh
            self.doctor.load_state_dict(state["doctor"])
        if self.rank < len(state["rng"]):  # a rank that did not exist before keeps its seed
            rng = state["rng"][self.rank]
            torch.set_rng_state(rng["torch"].cpu())
            try:
                self.noise.set_state(rng["noise"].cpu())
            except RuntimeError:  # saved on another device type: the streams cannot carry over
                self.noise.manual_seed(self.cfg.seed + 1 + 1_000_003 * self.rank + self.step)
                if self.is_main:
                    print("note: resumed on another device type; noise is re-seeded, so this "
                          "run is no longer bit-identical to an uninterrupted one")
            if self.device.type == "cuda" and rng["cuda"].numel():
                torch.cuda.set_rng_state(rng["cuda"].cpu(), self.device)
        if self.is_main:  # rows and grids logged after this checkpoint are redone
            self.run.truncate_stats(self.step)
            self.run.resume_samples(self.epoch)
        self.window.reset(self.step)

    def _check_expected_data(self) -> None:
        """``data_identity`` given: refuse other images before any step (a sweep's runs must
        all see the same images to be compared; a rebuilt folder can differ). Every rank's
        images are checked, and every rank stops together."""
        expected = (self.cfg.data_identity or "").lower()
        if not expected:
            return
        identities = distributed.gather_objects(self.dataset.identity)
        wrong = [(rank, got) for rank, got in enumerate(identities)
                 if not got.startswith(expected)]
        if wrong:
            rank, got = wrong[0]
            where = self.dataset.source.path or self.dataset.source.kind
            on = f" on rank {rank}" if self.world > 1 else ""
            raise DataChangedError(
                f"the images of data={self.cfg.data!r} ({where}){on} have identity {got[:12]}, "
                f"not data_identity={self.cfg.data_identity!r}: point data at the images with "
                "that identity (a run's config.json: data_used.identity), or leave "
                "data_identity unset")

    def _check_same_data(self, state: dict) -> None:
        """The images must be the same as the checkpoint's (by name and content; a checkpoint
        from before content identities compares the older folder fingerprint)."""
        if "data_identity" in state:
            if state["data_identity"] == self.dataset.identity:
                return
        elif state["data_fingerprint"] == self.dataset.fingerprint:
            return
        raise DataChangedError(f"cannot resume {self.run.path}: its data changed since the "
                               f"checkpoint ({self._data_changes()}); use the same images or a "
                               "new run_dir")

    def _data_changes(self) -> str:
        """What differs from the run's data_manifest.json, in a few words."""
        old, new = self.run.read_manifest(), self.dataset.manifest()
        if old is None or not new:
            used = json.loads((self.run.path / "config.json").read_text())["data_used"]
            return (f"was {used.get('source')} with {used.get('num_images')} images, now "
                    f"{self.dataset.source.kind} with {len(self.dataset)}")
        return manifest_changes(old, new)

    def save_checkpoint(self, keep: bool = False, best: bool = False) -> None:
        """Write last.pt (and a kept copy, and best.pt) from rank 0; every rank must call it.

        The state is copied to host memory here; the files are written by the background
        writer while training goes on (synchronously when there is none)."""
        state = self.state_dict()
        if not self.is_main:
            return
        paths = [self.run.last_checkpoint]
        if keep:
            paths.append(self.run.checkpoints / f"epoch_{self.epoch:04d}.pt")
        if best:
            paths.append(self.run.checkpoints / "best.pt")
        if self.out is None:
            write_checkpoint(state, paths)
        else:
            self.out.checkpoint(state, paths)
        self.last_checkpoint_time = time.monotonic()

    def _log(self, row: dict) -> None:
        """Append a row to stats.jsonl (and TensorBoard): in the background while fit() runs."""
        if self.out is None:
            self.run.append_stats(row)
        else:
            self.out.row(row)

    def evaluate(self) -> dict:
        """SWD and the diversity ratio of the current samples (EMA when on, and then the raw G
        too, as ``swd_raw``/``diversity_raw``) against a fixed, seeded subset of the training
        images; appended to stats.jsonl. Rank 0 only."""
        from . import metrics

        cfg = self.cfg
        if self._eval_set is None:
            g = torch.Generator().manual_seed(cfg.seed + 3)
            n = min(cfg.eval_samples, len(self.dataset))
            real = self.dataset.images[torch.randperm(len(self.dataset), generator=g)[:n]]
            self._eval_set = real, torch.randn(n, cfg.latent_dim, generator=g).to(self.device)
        real, z = self._eval_set
        row = {"step": self.step, "epoch": self._epoch_position(),
               "images_seen": self.step * cfg.batch_size * self.world, "eval_samples": len(real)}
        nets = {"": self.ema.model, "_raw": self.G} if self.ema else {"": self.G}
        for suffix, net in nets.items():
            fake = sample(net, z)
            row[f"swd{suffix}"] = round(metrics.sliced_wasserstein(real, fake,
                                                                   seed=cfg.seed)["swd"], 4)
            row[f"diversity{suffix}"] = round(metrics.diversity(fake, real,
                                                                seed=cfg.seed)["ratio"], 4)
        self._log(row)
        if self.doctor:
            self._report(self.doctor.observe_eval(row))
        return row

    def _epoch_position(self) -> float:
        return round(self.epoch + self.batch / len(self.batches), 6)

    # --- the two updates -----------------------------------------------------------------------
    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return augment.diff_augment(x, self.policy, self.noise)

    def _targets(self, n: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """D's BCE targets for n real and n fake images (hinge has none, and draws nothing)."""
        cfg = self.cfg
        if cfg.loss == "hinge":
            return None, None
        opts = dict(noise=cfg.label_noise, flip_prob=cfg.flip_prob, generator=self.noise,
                    device=self.device)
        return (labels.targets(n, cfg.real_label, cfg.fake_label, **opts),
                labels.targets(n, cfg.fake_label, cfg.real_label, **opts))

    def train_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D step (and G step when due) on a batch of real images; returns this step's
        statistics as device tensors (no host sync), also added to the logging window."""
        cfg, n = self.cfg, real.shape[0]
        if self.graphs:
            torch.compiler.cudagraph_mark_step_begin()
        update_g = (self.step + 1) % cfg.d_steps == 0
        r1_now = cfg.r1_gamma > 0 and self.step % cfg.r1_every == 0
        z = torch.randn(n, cfg.latent_dim, device=self.device, generator=self.noise)
        t_real, t_fake = self._targets(n)
        with torch.autocast(**vars(self.autocast)), torch.set_grad_enabled(update_g):
            fake = self.g_fwd(z)

        # (1) Update D on real, then fake (detached: D's loss must not move G), two backward
        # passes in pytorch/examples' order, so that DDP reduces D's gradients once, after both.
        self.opt_d.zero_grad(set_to_none=True)
        with self.d_no_sync():
            real = real.detach().requires_grad_(r1_now)  # R1 differentiates D(x) w.r.t. x
            d_real = self.d_eager if r1_now else self.d_fwd
            with torch.autocast(**vars(self.autocast)):
                logit_real = d_real(self._augment(real)).float()
            loss_real = losses.d_real(cfg.loss, logit_real, t_real)
            total = loss_real
            if r1_now:
                penalty = losses.r1_penalty(logit_real, real)
                total = loss_real + (cfg.r1_gamma / 2 * cfg.r1_every) * penalty
            total.backward()
        with torch.autocast(**vars(self.autocast)):
            logit_fake = self.d_fwd(self._augment(fake.detach())).float()
        loss_fake = losses.d_fake(cfg.loss, logit_fake, t_fake)
        loss_fake.backward()
        self.opt_d.step()

        # (2) Update G: make D call its (freshly augmented) fakes real
        loss_g = torch.zeros((), device=self.device)
        if update_g:
            self.opt_g.zero_grad(set_to_none=True)
            with self.d_no_sync():
                with torch.autocast(**vars(self.autocast)):
                    logit_gen = self.d_fwd(self._augment(fake)).float()
                loss_g = losses.g_loss(cfg.loss, logit_gen)
                loss_g.backward(inputs=self.g_params)  # D's weight gradients: not needed
            self.opt_g.step()
            if self.ema:
                self.ema.update(self.G, self.step // cfg.d_steps)  # the G updates so far

        with torch.no_grad():  # statistics stay on the device: no sync here
            stats = {
                "loss_d": loss_real.detach() + loss_fake.detach(),
                "loss_g": loss_g.detach(),
                "d_real": torch.sigmoid(logit_real.detach()).mean(),
                "d_fake": torch.sigmoid(logit_fake).mean(),
                "d_acc": ((logit_real.detach() > 0).float().mean()
                          + (logit_fake < 0).float().mean()) / 2,
                "g_updates": self.flags[int(update_g)],
            }
            if cfg.r1_gamma > 0:
                stats["r1"] = penalty.detach() if r1_now else self.flags[0]
                stats["r1_steps"] = self.flags[int(r1_now)]
        self.window.add(stats, check=("loss_d", "loss_g"))
        self.step += 1
        return stats

    # --- logging -------------------------------------------------------------------------------
    def _report(self, diagnoses) -> None:
        """The doctor's findings: one line each on the console, and a row in stats.jsonl."""
        from tqdm.auto import tqdm

        for d in diagnoses:
            self._log({**d.row(), "epoch": self._epoch_position(),
                       "images_seen": d.step * self.cfg.batch_size * self.world})
            tqdm.write(d.message, file=sys.stdout)

    def _flush(self, bar) -> dict:
        """Read the window's statistics (one host sync; averaged over ranks under torchrun),
        stop on NaN, and log one row from rank 0."""
        if self.world > 1:
            self.window.all_reduce_mean()
        sums, first_bad = self.window.read()
        if self.out is not None:
            self.out.check()  # a failed background write stops the run here, in one line
        if first_bad >= 0:
            if self.out is not None:
                self.out.wait()  # the checkpoint being written is the last good one
            kept = (f"the last good checkpoint is kept: {self.run.last_checkpoint}"
                    if self.run.last_checkpoint.exists() else "no checkpoint had been written yet")
            raise TrainingDiverged(f"loss became NaN/inf at step {first_bad}; training "
                                   f"stopped and {kept} (try a lower lr_d/lr_g)")
        steps = max(self.window.steps, 1)
        means = {k: sums[k] / steps for k in ("loss_d", "d_real", "d_fake", "d_acc")}
        means["loss_g"] = sums["loss_g"] / max(sums["g_updates"], 1)
        if sums.get("r1_steps"):
            means["r1"] = sums["r1"] / sums["r1_steps"]
        seconds = time.perf_counter() - self.window.started
        per_step = self.cfg.batch_size * self.world
        row = {"step": self.step, "epoch": self._epoch_position(),
               "images_seen": self.step * per_step,
               **{k: round(v, 6) for k, v in means.items()},
               "images_per_s": round(steps * per_step / seconds, 1),
               "wall_time": round(time.time(), 3)}
        if self.is_main:
            self._log(row)
            if self.doctor:
                self._report(self.doctor.observe(row))
            postfix = dict(D_loss=f"{row['loss_d']:.3f}", G_loss=f"{row['loss_g']:.3f}",
                           Dx=f"{row['d_real']:.2f}", DGz=f"{row['d_fake']:.2f}",
                           img_s=f"{row['images_per_s']:.0f}")
            if self.doctor and self.doctor.active:
                postfix["doctor"] = ",".join(sorted(self.doctor.active))
            bar.set_postfix(postfix)
        self.window.reset(self.step)
        return row

    def _end_of_epoch(self, epoch_done: bool) -> None:
        """Evaluate when due, then hand the checkpoint, the sample grid and (at most every
        ``CURVES_SECONDS``) the curves to the background writer."""
        number = self.epoch if epoch_done else self.epoch + 1  # the (partial) epoch's number
        cfg, best = self.cfg, False
        self._recalibrate_ema()
        if cfg.eval_every and ((epoch_done and self.epoch % cfg.eval_every == 0) or self.done()):
            swd = self.evaluate()["swd"] if self.is_main else None
            swd = distributed.broadcast_object(swd)
            best = swd < self.best_swd
            self.best_swd = min(swd, self.best_swd)
        if self.is_main:  # queued before the checkpoint, which a resume starts after
            grid = sample(self.ema.model if self.ema else self.G, self.fixed_noise).cpu()
            self.out.samples(grid, number, self.step)
        self.save_checkpoint(keep=epoch_done and self.epoch % cfg.checkpoint_every == 0,
                             best=best)
        if self.is_main:
            self.out.curves(force=self.done())

    def _recalibrate_ema(self) -> None:
        """Standing BatchNorm statistics for the averaged G before it is sampled or saved (see
        animeutils.ema); its own seeded noise, so training's streams are untouched."""
        if self.ema:
            self.ema.recalibrate(self.cfg.latent_dim, batch_size=self.cfg.batch_size,
                                 device=self.device, seed=self.cfg.seed + 4 + self.step)

    def _checkpoint_due(self) -> bool:
        """A mid-epoch checkpoint every ``checkpoint_minutes`` (rank 0's clock decides)."""
        minutes = self.cfg.checkpoint_minutes
        due = bool(minutes) and time.monotonic() - self.last_checkpoint_time >= 60 * minutes
        return bool(distributed.broadcast_object(due)) if self.world > 1 else due

    # --- the loop ------------------------------------------------------------------------------
    def done(self) -> bool:
        cfg = self.cfg
        return self.epoch >= cfg.epochs or (cfg.max_steps is not None and
                                            self.step >= cfg.max_steps)

    def fit(self) -> TrainResult:
        """Train to the end (or max_steps); every file is complete on disk when it returns,
        and also when it raises."""
        self.out = Recorder(self.run, tensorboard=self.cfg.tensorboard, resumed_step=self.step,
                            curves_seconds=CURVES_SECONDS) if self.is_main else None
        self.last_checkpoint_time = time.monotonic()
        self.step_seconds, self.first_step_at = 0.0, None
        try:
            self._loop()
        except BaseException:
            with contextlib.suppress(background.WriteError):  # the first error is the story
                self._close_outputs()
            raise
        self._close_outputs()
        if self.is_main and self.first_step_at is not None:
            self._record_timing()
        sampler = self.ema.model if self.ema else self.G
        return TrainResult(self.run.path, self.step, self.epoch, sampler.eval(),
                           runlog.read_stats(self.run.path), finished=self.done())

    def _record_timing(self) -> None:
        """This fit's wall-clock account, in config.json (see :meth:`RunDir.add_timing`): the
        seconds inside training steps (batch + D and G updates; on a GPU, launch times, as
        nothing syncs there) against the wall time from the first step to the last file."""
        ended = time.time()
        wall = ended - self.first_step_at
        self.run.add_timing({
            "first_step_at": round(self.first_step_at, 3), "ended_at": round(ended, 3),
            "steps": self.step - self.first_step, "wall_s": round(wall, 3),
            "steps_s": round(self.step_seconds, 3),
            "outside_steps_share": round(1 - self.step_seconds / wall, 4) if wall else 0.0})

    def _close_outputs(self) -> None:
        out, self.out = self.out, None
        if out is not None:
            out.close()

    def _loop(self) -> None:
        from tqdm.auto import tqdm

        cfg, per_epoch = self.cfg, len(self.batches)
        self.G.train()
        self.D.train()
        while not self.done():
            bar = tqdm(total=per_epoch, initial=self.batch, unit="batch", leave=True,
                       desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not self.progress)
            try:
                started = time.perf_counter()
                for real in self.batches.epoch(self.epoch, self.batch):
                    if self.first_step_at is None:
                        self.first_step_at, self.first_step = time.time(), self.step
                    self.train_step(real)
                    self.step_seconds += time.perf_counter() - started
                    self.batch += 1
                    bar.update(1)
                    stop = cfg.max_steps is not None and self.step >= cfg.max_steps
                    if self.step % cfg.log_every == 0 or self.batch == per_epoch or stop:
                        self._flush(bar)
                        # Mid-epoch checkpoints only where a window ends, so that a resumed
                        # run logs the same windows as an uninterrupted one.
                        if not stop and self.batch < per_epoch and self._checkpoint_due():
                            self._recalibrate_ema()
                            self.save_checkpoint()
                    if stop:
                        break
                    started = time.perf_counter()
            finally:
                bar.close()
            epoch_done = self.batch >= per_epoch
            if epoch_done:
                self.epoch, self.batch = self.epoch + 1, 0
            self._end_of_epoch(epoch_done)


def train(cfg: TrainConfig, dataset=None, *, progress: bool = True) -> TrainResult:
    """Train (or resume) one run and return where it is and what it produced."""
    return Trainer(cfg, dataset, progress=progress).fit()


# --- command line ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = config.argument_parser("python -m animeutils.train", "Train the anime-face DCGAN.")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = vars(parser.parse_args(argv))
    progress = not args.pop("no_progress")
    try:
        cfg = TrainConfig(**args)
        with distributed.init_from_env(cfg.device):
            result = train(cfg, progress=progress)
            rank = distributed.rank_and_world()[0]
    except (ValueError, FileExistsError, FileNotFoundError, DataError, TrainingDiverged,
            background.WriteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if rank == 0:
        print(f"run folder: {result.run_dir} (step {result.step}, epochs done {result.epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
