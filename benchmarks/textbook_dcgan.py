"""A pytorch/examples-style DCGAN loop, the baseline of benchmarks/whole_run.py.

It does what pytorch/examples' ``dcgan/main.py`` does, written for this benchmark: an
``ImageFolder`` decoded and resized by DataLoader workers every epoch, the DCGAN networks with a
sigmoid D and ``BCELoss``, one D and one G step per batch, ``.item()`` statistics printed every
step, a sample grid every 100 steps and both networks saved after every epoch. Each printed step
line starts with ``step`` so that the benchmark can time the hot loop from the lines' arrival.

    python benchmarks/textbook_dcgan.py --dataroot FOLDER --steps 1500 --width 32 --batch-size 64
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
import torchvision.datasets as dset
import torchvision.transforms as transforms
import torchvision.utils as vutils
from torch import nn


def generator(nz: int, f: int) -> nn.Sequential:
    def up(i, o):
        return [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]

    return nn.Sequential(nn.ConvTranspose2d(nz, 8 * f, 4, 1, 0, bias=False),
                         nn.BatchNorm2d(8 * f), nn.ReLU(True), *up(8 * f, 4 * f),
                         *up(4 * f, 2 * f), *up(2 * f, f),
                         nn.ConvTranspose2d(f, 3, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(f: int) -> nn.Sequential:
    def down(i, o):
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o),
                nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(nn.Conv2d(3, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         *down(f, 2 * f), *down(2 * f, 4 * f), *down(4 * f, 8 * f),
                         nn.Conv2d(8 * f, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataroot", required=True)
    p.add_argument("--steps", type=int, required=True, help="stop after this many batches")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="textbook_out")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    data = dset.ImageFolder(args.dataroot, transform=transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers)
    G, D = generator(100, args.width), discriminator(args.width)
    G.apply(init)
    D.apply(init)
    bce = nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed = torch.randn(args.batch_size, 100, 1, 1)
    step, epochs = 0, math.ceil(args.steps / len(loader))
    for epoch in range(epochs):
        for i, (real, _) in enumerate(loader):
            n = real.size(0)
            # (1) D: maximise log D(x) + log(1 - D(G(z)))
            D.zero_grad()
            out = D(real).view(-1)
            err_real = bce(out, torch.ones(n))
            err_real.backward()
            fake = G(torch.randn(n, 100, 1, 1))
            out_fake = D(fake.detach()).view(-1)
            err_fake = bce(out_fake, torch.zeros(n))
            err_fake.backward()
            opt_d.step()
            # (2) G: maximise log D(G(z))
            G.zero_grad()
            err_g = bce(D(fake).view(-1), torch.ones(n))
            err_g.backward()
            opt_g.step()
            step += 1
            print(f"step {step} epoch {epoch} batch {i} t {time.time():.4f} "
                  f"loss_d {(err_real + err_fake).item():.4f} loss_g {err_g.item():.4f} "
                  f"d_x {out.mean().item():.4f} d_g_z {out_fake.mean().item():.4f}", flush=True)
            if i % 100 == 0:
                vutils.save_image(G(fixed).detach(), f"{args.out}/fake_epoch_{epoch:03d}.png",
                                  normalize=True)
            if step >= args.steps:
                break
        torch.save(G.state_dict(), f"{args.out}/netG_epoch_{epoch}.pth")
        torch.save(D.state_dict(), f"{args.out}/netD_epoch_{epoch}.pth")
        if step >= args.steps:
            break
    print(f"done {step} steps t {time.time():.4f}", flush=True)


if __name__ == "__main__":
    main()
