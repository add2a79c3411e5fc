"""Training speed: this package's loop against a plain pytorch/examples-style DCGAN loop.

    python benchmarks/train_speed.py [--arch dcgan] [--batch-size 128] [--g-features 64]
                                     [--steps 10] [--device auto] [--compile]

Both loops train the same networks (same widths, batch, Adam settings) with the same algorithm
(D on real, D on detached fake, G through D; separate real/fake batches). The baseline is the
pytorch/examples ``dcgan/main.py`` loop: torchvision ``ImageFolder`` decoding JPEGs every epoch in
a ``DataLoader`` (2 workers), fp32, contiguous tensors, ``.item()`` on every step. Ours: the
uint8 set resident on the device, channels_last, bf16 autocast/fused Adam on CUDA, statistics
read every ``log_every`` steps. Prints steady-state images/s (after warm-up steps) and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB RSS (process)"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_jpeg_folder(root: Path, n: int) -> Path:
    """``n`` synthetic faces saved as 96 px JPEGs in ImageFolder layout (root/faces/*.jpg)."""
    from PIL import Image

    from animeutils import synthetic

    folder = root / "faces"
    folder.mkdir(parents=True)
    images, _ = synthetic.generate(n, 96, seed=0)
    for i, img in enumerate(images.numpy()):
        Image.fromarray(img).save(folder / f"{i}_2010.jpg", quality=90)
    return root


def ours(cfg, dataset, steps: int, warmup: int) -> float:
    from animeutils import train

    trainer = train.Trainer(cfg, dataset, progress=False)
    batches = iter(trainer.batches.epoch(0))
    for _ in range(warmup):
        trainer.train_step(next(batches))
    sync(trainer.device)
    start = time.perf_counter()
    for i in range(steps):
        trainer.train_step(next(batches))
        if (i + 1) % cfg.log_every == 0:
            trainer.window.tolist()  # the periodic read the real loop does
    sync(trainer.device)
    return steps * cfg.batch_size / (time.perf_counter() - start)


def baseline(cfg, folder: Path, steps: int, warmup: int, device: torch.device) -> float:
    import torchvision.datasets as dset
    import torchvision.transforms as T

    from animeutils import models

    tf = T.Compose([T.Resize(cfg.image_size), T.CenterCrop(cfg.image_size), T.ToTensor(),
                    T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    loader = torch.utils.data.DataLoader(dset.ImageFolder(str(folder), transform=tf),
                                         batch_size=cfg.batch_size, shuffle=True, num_workers=2,
                                         drop_last=True)
    torch.manual_seed(cfg.seed)
    net_g, net_d = (m.to(device) for m in models.build(cfg))
    opt_d = torch.optim.Adam(net_d.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, 0.999))
    done, start = 0, None
    while done < warmup + steps:
        for real, _ in loader:  # a new epoch re-decodes every JPEG
            if done == warmup:
                sync(device)
                start = time.perf_counter()
            real = real.to(device)
            b = real.size(0)
            ones, zeros = torch.ones(b, device=device), torch.zeros(b, device=device)
            net_d.zero_grad()
            err_real = F.binary_cross_entropy_with_logits(net_d(real), ones)
            err_real.backward()
            fake = net_g(torch.randn(b, cfg.latent_dim, device=device))
            err_fake = F.binary_cross_entropy_with_logits(net_d(fake.detach()), zeros)
            err_fake.backward()
            opt_d.step()
            net_g.zero_grad()
            err_g = F.binary_cross_entropy_with_logits(net_d(fake), ones)
            err_g.backward()
            opt_g.step()
            _ = (err_real + err_fake).item(), err_g.item()  # the examples print every step
            done += 1
            if done == warmup + steps:
                break
    sync(device)
    return steps * cfg.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--g-features", type=int, default=64)
    parser.add_argument("--d-features", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per loop")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--images", type=int, default=2048, help="images in the data set")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D (ours)")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANIMEUTILS_CACHE"] = str(Path(tmp) / "cache")
        from animeutils import data, runtime
        from animeutils.config import TrainConfig

        device = runtime.device(args.device)
        latent = 300 if args.arch == "dense300" else 100
        cfg = TrainConfig(data="synthetic", arch=args.arch, latent_dim=latent,
                          g_features=args.g_features, d_features=args.d_features,
                          batch_size=args.batch_size, max_images=args.images,
                          device=str(device), compile=args.compile, log_every=50,
                          run_dir=str(Path(tmp) / "run"))
        dataset = data.load_dataset("synthetic", 64, max_images=args.images, progress=False,
                                    verbose=False)
        print(f"device {device} | torch {torch.__version__} | {torch.get_num_threads()} threads"
              f" | arch {args.arch} g{args.g_features}/d{args.d_features} "
              f"| batch {args.batch_size} | {args.steps} timed steps after {args.warmup}")
        ips = ours(cfg, dataset, args.steps, args.warmup)
        print(f"animeutils loop     {ips:8.1f} images/s   peak {peak_memory(device)}")
        if not args.skip_baseline:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            folder = write_jpeg_folder(Path(tmp) / "jpegs", args.images)
            base = baseline(cfg, folder, args.steps, args.warmup, device)
            print(f"examples-style loop {base:8.1f} images/s   peak {peak_memory(device)}")
            print(f"speed-up            {ips / base:8.2f}x")


if __name__ == "__main__":
    main()
