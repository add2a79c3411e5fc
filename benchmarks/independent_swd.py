"""Score every run of a sweep with a sliced Wasserstein distance that is not this project's:
POT's ``ot.sliced_wasserstein_distance`` (Flamary et al., https://pythonot.github.io), on the
raw pixels of images area-downsampled to 32x32 (0-255 scale), generated vs real.

The project's own SWD (``animeutils.metrics``, Karras et al.'s Laplacian-pyramid version) is
what runs log; this one is a second opinion from another implementation and another protocol,
so that a recipe is not tuned to its own ruler. Per run: ``--num`` images from the run's final
checkpoint through ``animeutils.generate`` (the EMA weights when the run kept them, as users get
them), seeded, against ``--num`` training images; the floor is two disjoint halves of the real
images against each other, and the untrained generator is the ceiling.

    pip install POT    # not a dependency of the package
    python benchmarks/independent_swd.py runs/recipes --data runs/faces2k \
        --json docs/recipes/independent_swd.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import ot
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from animeutils import data, generate, models
from animeutils.config import TrainConfig

SIZE = 32


def pixels(images: torch.Tensor) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3*SIZE*SIZE) float64 on the 0-255 scale."""
    x = images.permute(0, 3, 1, 2).float()
    return F.adaptive_avg_pool2d(x, SIZE).flatten(1).double().numpy()


def swd(a: np.ndarray, b: np.ndarray, projections: int, seed: int) -> float:
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=projections, seed=seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--data", required=True, help="the training images (folder or synthetic)")
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--projections", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    ds = data.load_dataset(args.data, 64, progress=False, verbose=False)
    g = torch.Generator().manual_seed(1)
    real = ds.images[torch.randperm(len(ds), generator=g)[: args.num]]
    real_px = pixels(real)
    half = len(real_px) // 2
    floor = swd(real_px[:half], real_px[half:], args.projections, 0)
    cfg = TrainConfig(g_features=32, d_features=32).validate()
    with torch.random.fork_rng():
        untrained, _ = models.build(cfg)
    ceiling = swd(pixels(generate.generate(untrained.eval(), args.num, latent_dim=100, seed=7)),
                  real_px, args.projections, 0)
    print(f"floor (real half vs half) {floor:.1f}   untrained G {ceiling:.1f}")
    results = {"floor": floor, "untrained": ceiling, "protocol": {
        "implementation": f"POT {ot.__version__} sliced_wasserstein_distance",
        "features": f"raw pixels, area-downsampled to {SIZE}x{SIZE}, 0-255",
        "samples": args.num, "projections": args.projections}, "runs": {}}
    for run in sorted(p.parents[1] for p in args.sweep_dir.glob("*/seed*/checkpoints/last.pt")):
        generator, run_cfg = generate.load_generator(run)
        fake = generate.generate(generator, args.num, latent_dim=run_cfg.latent_dim, seed=7)
        score = swd(pixels(fake), real_px, args.projections, 0)
        name = f"{run.parent.name}/{run.name}"
        results["runs"][name] = score
        print(f"{name:40s} {score:8.1f}", flush=True)
    settings: dict[str, list[float]] = {}
    for name, score in results["runs"].items():
        settings.setdefault(name.split("/")[0], []).append(score)
    print()
    for setting, scores in settings.items():
        spread = statistics.stdev(scores) if len(scores) > 1 else float("nan")
        print(f"{setting:30s} mean {statistics.fmean(scores):7.1f} ± {spread:5.1f} over "
              f"{len(scores)} seeds ({', '.join(f'{s:.1f}' for s in scores)})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
