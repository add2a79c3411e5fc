"""Training speed: this package's loop against a plain pytorch/examples-style DCGAN loop.

    python benchmarks/train_speed.py [--arch dcgan] [--batch-size 128] [--g-features 64]
                                     [--steps 10] [--device auto] [--compile]
    python benchmarks/train_speed.py --ladder [--batch-sizes 128 256] [--check 300] [--profile]

Both loops train the same networks (same widths, batch, Adam settings) with the same algorithm
(D on real, D on detached fake, G through D; separate real/fake batches). The baseline is the
pytorch/examples ``dcgan/main.py`` loop: torchvision ``ImageFolder`` decoding JPEGs every epoch in
a ``DataLoader`` (2 workers), fp32, contiguous tensors, ``.item()`` on every step. Ours: the
uint8 set resident on the device, channels_last, bf16 autocast/fused Adam on CUDA, statistics
read every ``log_every`` steps. Prints steady-state images/s (after warm-up steps) and peak memory.

``--ladder`` adds one optimisation at a time to the package's trainer (see RUNGS) and prints, per
rung and batch size, steady-state images/s, seconds per 63,565-image epoch, the warm-up (and
compile) time and peak memory, then the baseline loop. Rungs that need CUDA print "n/a" on other
devices. ``--check N`` compares the fastest rung with eager fp32 from the same weights and noise:
first-step losses and gradients, then D(x) and D(G(z)) over N steps. ``--profile`` prints where the
fastest rung spends its time.
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


EPOCH_IMAGES = 63_565  # the Kaggle set
# Cumulative: each rung keeps the ones above it. CUDA_ONLY flags do nothing elsewhere.
RUNGS = (
    ("eager fp32", {}),
    ("+ resident data", {"resident": True}),
    ("+ bf16 autocast", {"amp": True}),
    ("+ channels_last", {"channels_last": True}),
    ("+ fused Adam, no per-step sync", {"fused": True, "lazy_stats": True}),
    ("+ torch.compile", {"compile": True}),
    ("+ CUDA graphs", {"cuda_graphs": True}),
)
CUDA_ONLY = {"amp", "fused", "cuda_graphs"}


def needs_cuda(index: int) -> bool:
    """Whether everything rung ``index`` adds works only on CUDA."""
    added = set(RUNGS[index][1])
    return bool(added) and added <= CUDA_ONLY  # the first rung adds nothing and runs anywhere


def rung_flags(index: int) -> dict:
    flags: dict = {}
    for _, more in RUNGS[: index + 1]:
        flags.update(more)
    return flags


def build_trainer(flags: dict, batch: int, dataset, device: torch.device, run_dir: Path,
                  seed: int = 0, width: int = 64):
    """The package's Trainer, with what ``flags`` leaves out taken away again."""
    from animeutils import train
    from animeutils.batches import Batches
    from animeutils.config import TrainConfig

    cfg = TrainConfig(data="synthetic", batch_size=batch, device=str(device), seed=seed,
                      g_features=width, d_features=width, amp=bool(flags.get("amp")),
                      channels_last=bool(flags.get("channels_last")),
                      compile=bool(flags.get("compile")),
                      cuda_graphs=bool(flags.get("cuda_graphs")), log_every=50,
                      run_dir=str(run_dir))
    trainer = train.Trainer(cfg, dataset, progress=False)
    cfg = trainer.cfg  # with the recipe's values filled in
    if not flags.get("resident"):  # each batch gathered in host memory and copied over
        trainer.batches = Batches(dataset.images, batch, device=device, seed=seed,
                                  channels_last=cfg.channels_last, resident=False)
    if not flags.get("fused"):  # torch's default Adam (foreach on CUDA)
        adam = dict(betas=(cfg.beta1, cfg.beta2), fused=False)
        trainer.opt_g = torch.optim.Adam(trainer.G.parameters(), lr=cfg.lr_g, **adam)
        trainer.opt_d = torch.optim.Adam(trainer.D.parameters(), lr=cfg.lr_d, **adam)
    return trainer


def stream(trainer):
    epoch = 0
    while True:
        yield from trainer.batches.epoch(epoch)
        epoch += 1


def time_trainer(trainer, steps: int, warmup: int, per_step_sync: bool) -> tuple[float, float]:
    """(steady-state images/s, seconds of the warm-up steps, compilation included)."""
    batches, device = stream(trainer), trainer.device
    start = time.perf_counter()
    for _ in range(warmup):
        trainer.train_step(next(batches))
    trainer.window.read()
    sync(device)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(steps):
        trainer.train_step(next(batches))
        # .item() every step, as the examples do, or the real loop's read every log_every steps
        if per_step_sync or (i + 1) % trainer.cfg.log_every == 0:
            trainer.window.read()
    sync(device)
    return steps * trainer.cfg.batch_size / (time.perf_counter() - start), warm


def ladder(args, dataset, device: torch.device, tmp: Path, folder: Path | None) -> None:
    print(f"{'rung':34} {'batch':>5} {'images/s':>10} {'s/epoch':>8} {'warm-up s':>9}  peak")
    rungs = range(len(RUNGS)) if args.rungs is None else args.rungs
    best = {}
    for batch in args.batch_sizes:
        for i in rungs:
            name, flags = RUNGS[i][0], rung_flags(i)
            if device.type != "cuda" and needs_cuda(i):
                print(f"{name:34} {batch:5d} {'n/a (needs CUDA)':>10}")
                continue
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            trainer = build_trainer(flags, batch, dataset, device, tmp / f"r{i}b{batch}",
                                    width=args.g_features)
            ips, warm = time_trainer(trainer, args.steps, args.warmup,
                                     per_step_sync=not flags.get("lazy_stats"))
            best[batch] = max(best.get(batch, 0.0), ips)
            print(f"{name:34} {batch:5d} {ips:10.0f} {EPOCH_IMAGES / ips:8.2f} {warm:9.1f}  "
                  f"{peak_memory(device)}", flush=True)
            del trainer
            torch._dynamo.reset()
        if folder is not None:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            cfg = build_cfg(args, device, tmp, batch)
            base = baseline(cfg, folder, args.steps, args.warmup, device)
            print(f"{'examples-style loop (ImageFolder)':34} {batch:5d} {base:10.0f} "
                  f"{EPOCH_IMAGES / base:8.2f} {'':>9}  {peak_memory(device)}")
            print(f"{'best rung / examples-style loop':34} {batch:5d} {best[batch] / base:9.1f}x",
                  flush=True)


def check(args, dataset, device: torch.device, tmp: Path) -> None:
    """Eager fp32 against the fastest rung this device has, from the same weights and noise."""
    top = max(i for i in range(len(RUNGS)) if args.rungs is None or i in args.rungs)
    if device.type != "cuda":
        top = max(i for i in range(top + 1) if not needs_cuda(i))
    batch = args.batch_sizes[0]
    ref = build_trainer(rung_flags(1), batch, dataset, device, tmp / "check_ref",
                        width=args.g_features)
    fast = build_trainer(rung_flags(top), batch, dataset, device, tmp / "check_fast",
                         width=args.g_features)
    first = next(ref.batches.epoch(0))
    a_stats = ref.train_step(first)
    b_stats = fast.train_step(first.contiguous(memory_format=torch.channels_last
                                               if fast.cfg.channels_last
                                               else torch.contiguous_format))
    print(f"check: eager fp32 vs '{RUNGS[top][0]}' (cumulative), batch {batch}")
    for key, name in (("loss_d", "loss_d"), ("loss_g", "loss_g"), ("d_real", "D(x)"),
                      ("d_fake", "D(G(z))")):
        a, b = a_stats[key].item(), b_stats[key].item()
        print(f"  first step {name:8} fp32 {a:.5f}  fast {b:.5f}  |diff| {abs(a - b):.5f}")
    for label, m_ref, m_fast in (("G", ref.G, fast.G), ("D", ref.D, fast.D)):
        errors = []
        for (pname, p), q in zip(m_ref.named_parameters(), m_fast.parameters()):
            if p.grad is not None:
                err = (q.grad.float() - p.grad).norm() / p.grad.norm().clamp_min(1e-12)
                errors.append((float(err), pname))
        errors.sort()
        print(f"  first-step gradients of {label}: relative L2 error median "
              f"{errors[len(errors) // 2][0]:.4f}, max {errors[-1][0]:.4f} ({errors[-1][1]})")
    print(f"  over {args.check} steps (window means every 50 steps):")
    print(f"  {'step':>5}  {'fp32 D(x)':>9} {'fast D(x)':>9}  {'fp32 D(G(z))':>12} "
          f"{'fast D(G(z))':>12}")
    streams = stream(ref), stream(fast)
    next(streams[0]), next(streams[1])  # the first batch is done
    for t in (ref, fast):
        t.window.reset(t.step)
    for step in range(2, args.check + 1):
        for t, s in zip((ref, fast), streams):
            t.train_step(next(s))
        if step % 50 == 0 or step == args.check:
            rows = []
            for t in (ref, fast):
                sums, bad = t.window.read()
                rows.append({k: v / max(t.window.steps, 1) for k, v in sums.items()})
                if bad >= 0:
                    print(f"  NaN/inf at step {bad} in {'fp32' if t is ref else 'fast'}")
                t.window.reset(t.step)
            print(f"  {step:5d}  {rows[0]['d_real']:9.3f} {rows[1]['d_real']:9.3f}  "
                  f"{rows[0]['d_fake']:12.3f} {rows[1]['d_fake']:12.3f}", flush=True)


def profile(args, dataset, device: torch.device, tmp: Path) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    top = len(RUNGS) - 1 if device.type == "cuda" else 5
    trainer = build_trainer(rung_flags(top), args.batch_sizes[-1], dataset, device,
                            tmp / "profile", width=args.g_features)
    time_trainer(trainer, 5, args.warmup, per_step_sync=False)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda"
                                           else [])
    batches = stream(trainer)
    with torch_profile(activities=activities) as prof:
        for _ in range(20):
            trainer.train_step(next(batches))
        sync(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"profile of '{RUNGS[top][0]}' (cumulative), batch {args.batch_sizes[-1]}, 20 steps:")
    print(prof.key_averages().table(sort_by=key, row_limit=20))


def build_cfg(args, device, tmp, batch):
    from animeutils.config import TrainConfig

    latent = 300 if args.arch == "dense300" else 100
    return TrainConfig(data="synthetic", arch=args.arch, latent_dim=latent,
                       g_features=args.g_features, d_features=args.d_features,
                       batch_size=batch, max_images=args.images, device=str(device),
                       compile=args.compile, log_every=50,
                       run_dir=str(Path(tmp) / "run")).validate()  # the textbook recipe


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
    parser.add_argument("--ladder", action="store_true", help="one optimisation at a time")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256],
                        help="(--ladder) batch sizes")
    parser.add_argument("--rungs", type=int, nargs="+", default=None,
                        help=f"(--ladder) rung numbers 0-{len(RUNGS) - 1}; default all")
    parser.add_argument("--check", type=int, default=0, metavar="STEPS",
                        help="(--ladder) compare the fastest rung with fp32 over STEPS steps")
    parser.add_argument("--profile", action="store_true", help="(--ladder) profile the top rung")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANIMEUTILS_CACHE"] = str(Path(tmp) / "cache")
        from animeutils import data, runtime

        device = runtime.device(args.device)
        dataset = data.load_dataset("synthetic", 64, max_images=args.images, progress=False,
                                    verbose=False)
        gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        print(f"device {device}{gpu} | torch {torch.__version__} | "
              f"{torch.get_num_threads()} threads | arch {args.arch} "
              f"g{args.g_features}/d{args.d_features} | {args.images} images | "
              f"{args.steps} timed steps after {args.warmup}")
        folder = None
        if not args.skip_baseline:
            folder = write_jpeg_folder(Path(tmp) / "jpegs", args.images)
        if args.ladder:
            ladder(args, dataset, device, Path(tmp), folder)
            if args.check:
                check(args, dataset, device, Path(tmp))
            if args.profile:
                profile(args, dataset, device, Path(tmp))
            return
        cfg = build_cfg(args, device, tmp, args.batch_size)
        print(f"batch {args.batch_size}")
        from animeutils import train

        trainer = train.Trainer(cfg, dataset, progress=False)
        ips, _ = time_trainer(trainer, args.steps, args.warmup, per_step_sync=False)
        print(f"animeutils loop     {ips:8.1f} images/s   peak {peak_memory(device)}")
        if folder is not None:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            base = baseline(cfg, folder, args.steps, args.warmup, device)
            print(f"examples-style loop {base:8.1f} images/s   peak {peak_memory(device)}")
            print(f"speed-up            {ips / base:8.2f}x")


if __name__ == "__main__":
    main()
