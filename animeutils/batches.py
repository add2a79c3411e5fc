"""Training batches straight from the cached uint8 tensor: no per-epoch decoding.

Each epoch's order is a seeded permutation (the same seed and epoch give the same batches, which
makes resumed runs exact); with ``world_size > 1`` each rank takes a disjoint, equal-sized shard
of that permutation, as ``torch.utils.data.DistributedSampler`` does. The conversion
``uint8 -> float in [-1, 1]`` and the optional horizontal flip run on the target device.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def place(images: torch.Tensor, device: torch.device, max_fraction: float = 0.5) -> torch.Tensor:
    """Keep the uint8 set on a CUDA device when it takes at most ``max_fraction`` of the free
    memory (63.6k faces at 64 px are 0.8 GB); otherwise it stays in host memory and each batch
    is gathered there and copied over."""
    device = torch.device(device)
    if device.type != "cuda":
        return images
    free, _total = torch.cuda.mem_get_info(device)
    return images.to(device) if images.numel() <= max_fraction * free else images


def to_float(batch_nhwc: torch.Tensor, channels_last: bool = True) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    x = batch_nhwc.permute(0, 3, 1, 2).float()  # a dense NHWC batch stays channels_last
    x = x.mul_(2.0 / 255.0).sub_(1.0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)  # a no-op in the usual case


class Batches:
    """Iterate float batches for one rank: ``for x in batches.epoch(e): ...``.

    Args:
        images: (N, H, W, 3) uint8 tensor, on the CPU or already on ``device``.
        batch_size: images per batch on this rank.
        device: where batches are delivered.
        seed: shuffling seed; epoch ``e`` uses the permutation drawn from ``(seed, e)``.
        flip: randomly mirror half the images left-right (a fixed choice per image and epoch).
        drop_last: drop the ragged last batch (fixed shapes are kinder to BatchNorm and compile).
        rank, world_size: this process's shard of every epoch.
        resident: None moves the set onto a CUDA ``device`` when it fits (:func:`place`); False
            keeps it where it is and copies each batch over (a benchmark baseline).
    """

    def __init__(self, images: torch.Tensor, batch_size: int, *, device="cpu", seed: int = 0,
                 flip: bool = False, drop_last: bool = True, rank: int = 0, world_size: int = 1,
                 channels_last: bool = True, resident: bool | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be (N, H, W, 3) uint8, got {tuple(images.shape)} "
                             f"{images.dtype}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        per_rank = images.shape[0] // world_size
        if batch_size < 1 or (drop_last and per_rank < batch_size):
            raise ValueError(f"batch_size={batch_size} needs at least that many images per rank; "
                             f"there are {per_rank} (lower batch_size or use more data)")
        self.device = torch.device(device)
        self.images = images if resident is False else place(images, self.device)
        self.batch_size, self.seed, self.flip = batch_size, seed, flip
        self.drop_last, self.rank, self.world_size = drop_last, rank, world_size
        self.channels_last = channels_last
        self.per_rank = per_rank

    def __len__(self) -> int:
        if self.drop_last:
            return self.per_rank // self.batch_size
        return -(-self.per_rank // self.batch_size)

    def order(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's image indices for ``epoch`` and the flip decision for each of them."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n = self.images.shape[0]
        perm = torch.randperm(n, generator=g)
        flips = torch.rand(n, generator=g) < 0.5  # indexed by image, so shards agree
        shard = perm[self.rank : self.per_rank * self.world_size : self.world_size]
        return shard, flips[shard]

    def epoch(self, epoch: int, start: int = 0) -> Iterator[torch.Tensor]:
        """Yield the batches of ``epoch`` from batch index ``start`` on (to resume mid-epoch)."""
        shard, flips = self.order(epoch)
        where = self.images.device
        # One copy per epoch, not per batch: a host-to-device copy of an index would make the
        # host wait for the GPU at every step.
        shard = shard.to(where, non_blocking=True)
        flips = flips.to(self.device, non_blocking=True)
        for b in range(start, len(self)):
            rows = slice(b * self.batch_size, (b + 1) * self.batch_size)
            batch = self.images[shard[rows]]
            if where != self.device:
                batch = batch.to(self.device, non_blocking=True)
            x = to_float(batch, self.channels_last)
            if self.flip:
                x = torch.where(flips[rows].view(-1, 1, 1, 1), x.flip(3), x)
            yield x
