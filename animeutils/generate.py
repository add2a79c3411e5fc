"""Faces from a trained generator: load a training checkpoint, draw seeded noise, write PNGs.

The generator runs in eval mode (BatchNorm uses its running statistics, see
:mod:`animeutils.sampling`), on the EMA weights when the run kept them (Yazıcı et al. 2019, see
:mod:`animeutils.ema`), on ``latent.noise(seed)`` scaled by the truncation trick
(:mod:`animeutils.latent`). The same checkpoint, seed and truncation give the same images, and
image i does not depend on how many are asked for.

    from animeutils import generate
    generator, cfg = generate.load_generator("runs/demo")  # a run folder or a .pt file
    images = generate.generate(generator, 16, latent_dim=cfg.latent_dim, seed=1, truncation=0.7)

Command line::

    python -m animeutils.generate --checkpoint runs/demo --num-images 64 --out faces --grid
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import NoReturn

import torch
from PIL import Image
from torch import nn

from . import checkpoint, latent, models, runtime, viz
from .config import TrainConfig
from .sampling import sample

REQUIRED_KEYS = ("config", "generator")  # what Trainer.state_dict() always writes


def _one_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error message, without terminal colours, at most ``limit`` chars."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()
    text = text[0].strip() if text else ""
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def checkpoint_file(path: str | Path) -> Path:
    """``path`` if it is a file, else the run folder's ``checkpoints/last.pt`` (or a checkpoints
    folder's ``last.pt``); FileNotFoundError naming ``path`` when there is none."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "checkpoints" / "last.pt", path / "last.pt"):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"no checkpoint in folder {path}: expected a .pt file or a run "
                                "folder with checkpoints/last.pt")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def load_generator(checkpoint_path: str | Path, *, ema: bool = True,
                   device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """(generator in eval mode on ``device``, its TrainConfig) from a training checkpoint or run
    folder: the EMA weights when the run kept them and ``ema`` is True, else the trained G.

    A missing file is a FileNotFoundError, anything that is not such a checkpoint a ValueError;
    both one line naming the path. The global RNG is left as it was.
    """
    path = checkpoint_file(checkpoint_path)
    try:
        state = checkpoint.load(path)  # weights_only: a checkpoint cannot run code
    except ValueError as e:
        raise ValueError(f"{path} is not a readable checkpoint "
                         f"({_one_line(e.__cause__ or e)})") from e
    missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"{path} is not a training checkpoint (no {' or '.join(missing)} "
                         "entry)")
    try:
        cfg = TrainConfig.from_dict(state["config"])
        with torch.random.fork_rng(devices=[]):  # build() initialises from the global RNG
            generator, _ = models.build(cfg)
        weights = state["ema"] if ema and state.get("ema") else state["generator"]
        generator.load_state_dict(weights)
    except (TypeError, ValueError, RuntimeError, KeyError) as e:
        raise ValueError(f"{path} has a config or weights that do not fit together "
                         f"({_one_line(e)})") from e
    return generator.to(device).eval(), cfg


def generate(generator: nn.Module, n: int, *, latent_dim: int, seed: int = 0,
             truncation: float = 1.0, batch_size: int = 256) -> torch.Tensor:
    """(n, H, W, 3) uint8 images on the CPU from ``latent.noise(n, latent_dim, seed)`` scaled by
    ``truncation`` (1: the training distribution, 0: the mean face every time)."""
    if n < 1:
        raise ValueError(f"n={n!r} is invalid: generate at least 1 image")
    device = next(generator.parameters()).device
    z = latent.truncate(latent.noise(n, latent_dim, seed), truncation)
    return viz.to_uint8_nhwc(sample(generator, z.to(device), batch_size))


def save_images(images: torch.Tensor, out: str | Path) -> list[Path]:
    """Write each (H, W, 3) uint8 image as ``00000.png``, ``00001.png``, ... in ``out``.

    No text chunks or timestamps are written, so the same pixels give the same bytes. Files of
    the same names are replaced; others already in ``out`` are left alone.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder for the images")
    out.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(len(images) - 1)))
    paths = []
    for i, image in enumerate(images):
        path = out / f"{i:0{width}d}.png"
        Image.fromarray(image.numpy()).save(path, format="PNG")
        paths.append(path)
    return paths


# --- command line ------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m animeutils.generate",
                                     description="Write faces from a trained generator as PNGs.")
    parser.add_argument("--checkpoint", required=True, metavar="PATH",
                        help="a training checkpoint (.pt) or a run folder (its last.pt)")
    parser.add_argument("--num-images", type=int, required=True, metavar="N",
                        help="how many images to write")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                        help="truncation psi in [0, 1]: 1 unchanged, lower more typical faces "
                             "(default: 1.0)")
    parser.add_argument("--grid", action="store_true", help="also write grid.png, 8 per row")
    parser.add_argument("--raw", action="store_true",
                        help="use the trained G's weights, not its EMA copy")
    parser.add_argument("--device", default="cpu",
                        help="'cpu' (default: the same bytes on every machine), 'auto', 'cuda'")
    parser.add_argument("--batch-size", type=int, default=256, help="images per forward pass")
    return parser


def _usage_error(message: str) -> NoReturn:
    """argparse's own errors (a missing flag, N not a number) as one line too, exit status 2."""
    print(f"error: {message} (see --help)", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    parser.error = _usage_error
    args = parser.parse_args(argv)
    try:
        if args.num_images < 1:
            raise ValueError(f"--num-images {args.num_images} is invalid: must be >= 1")
        if not 0.0 <= args.truncation <= 1.0:
            raise ValueError(f"--truncation {args.truncation} is invalid: must be in [0, 1]")
        if args.batch_size < 1:
            raise ValueError(f"--batch-size {args.batch_size} is invalid: must be >= 1")
        device = runtime.checked_device(args.device, "--device")
        path = checkpoint_file(args.checkpoint)
        generator, cfg = load_generator(path, ema=not args.raw, device=device)
        images = generate(generator, args.num_images, latent_dim=cfg.latent_dim,
                          seed=args.seed, truncation=args.truncation, batch_size=args.batch_size)
        paths = save_images(images, args.out)
        if args.grid:
            viz.grid(images, nrow=8).save(Path(args.out) / "grid.png", format="PNG")
    except (OSError, ValueError, RuntimeError) as e:  # OSError includes FileNotFoundError
        lines = str(e).splitlines()  # torch's own errors can run to several lines
        print(f"error: {lines[0] if lines else type(e).__name__}", file=sys.stderr)
        return 2
    weights = "EMA" if cfg.ema > 0 and not args.raw else "raw G"
    extra = " and grid.png" if args.grid else ""
    print(f"wrote {len(paths)} images ({paths[0].name} ... {paths[-1].name}){extra} to "
          f"{args.out} from {path} ({weights} weights, seed {args.seed}, "
          f"truncation {args.truncation})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
