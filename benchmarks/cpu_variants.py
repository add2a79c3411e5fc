"""Hot-loop variants on the CPU: memory layout, thread count and ``torch.compile``, one at a time,
on the package's own ``Trainer`` (the textbook recipe, or ``--augment`` for DiffAugment).

Each variant runs in a fresh process (a thread count once changed with ``torch.set_num_threads``
slows the steps that follow, so variants must not share one), builds a trainer on the same 2,000
synthetic faces, runs ``--warmup`` steps (compilation included, timed separately), then times
``--steps`` steps. It prints milliseconds per step and images/s per variant. Run it on an
otherwise idle machine.

    python benchmarks/cpu_variants.py                          # width 32, batch 64
    python benchmarks/cpu_variants.py --variants channels_last contiguous --augment color,cutout
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from animeutils import data, train
from animeutils.config import TrainConfig

VARIANTS = {
    "channels_last": dict(options={}, threads=None),  # the engine's default
    "contiguous": dict(options=dict(channels_last=False), threads=None),
    "one_thread": dict(options={}, threads=1),
    "compile": dict(options=dict(compile=True), threads=None),
    # Not an engine option on the CPU (amp is CUDA-only): bf16 autocast forced on, to see what
    # a CPU with avx512_bf16/AMX would gain before anyone weighs its effect on quality.
    "bf16_autocast": dict(options={}, threads=None, cpu_bf16=True),
}


def time_variant(name: str, ds, args, work: Path) -> tuple[float, float]:
    spec = VARIANTS[name]
    if spec["threads"]:  # this process times this variant only: nothing to restore
        torch.set_num_threads(spec["threads"])
    cfg = TrainConfig(data="synthetic", recipe="dcgan", g_features=args.width,
                      d_features=args.width, batch_size=args.batch_size, doctor=False,
                      augment=args.augment, run_dir=str(work / name), **spec["options"])
    trainer = train.Trainer(cfg, ds, progress=False)
    if spec.get("cpu_bf16"):
        trainer.autocast.enabled = True
    batches = itertools.chain.from_iterable(trainer.batches.epoch(e) for e in itertools.count())
    start = time.perf_counter()
    for _ in range(args.warmup):
        trainer.train_step(next(batches))
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(next(batches))
    return warmup, (time.perf_counter() - start) / args.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--augment", default="")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--no-header", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if len(args.variants) > 1:  # one fresh process per variant
        for i, name in enumerate(args.variants):
            child = [sys.executable, __file__, "--variants", name, "--width", str(args.width),
                     "--batch-size", str(args.batch_size), "--augment", args.augment,
                     "--warmup", str(args.warmup), "--steps", str(args.steps)]
            subprocess.run(child + (["--no-header"] if i else []), check=True)
        return
    ds = data.load_dataset("synthetic", 64, max_images=2000, synthetic_seed=2026,
                           progress=False, verbose=False)
    if not args.no_header:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, width {args.width}, "
              f"batch {args.batch_size}, augment {args.augment or 'none'}, "
              f"{args.steps} timed steps (each variant in a fresh process)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        name = args.variants[0]
        warmup, per_step = time_variant(name, ds, args, Path(tmp))
        print(f"{name:<14} {1000 * per_step:7.1f} ms/step  {args.batch_size / per_step:6.1f} "
                  f"images/s  (warm-up {args.warmup} steps: {warmup:5.1f} s)", flush=True)


if __name__ == "__main__":
    main()
