"""Dataset exploration: sizes from headers, years from names, colour statistics, perceptual
hashes for near-duplicates and a PCA reconstruction score for outliers.

The near-duplicate search follows the perceptual-hash idea (a DCT of a 32x32 greyscale thumbnail,
bits = low frequencies above their median; Zauner 2010) and finds all pairs within a Hamming
radius with multi-index hashing (Norouzi et al. 2012): with ``r+1`` disjoint bit blocks, two hashes
within distance ``r`` agree exactly on at least one block, so only bucket-mates are compared.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import imagefiles


def original_sizes(root: str | Path, files: list[str]) -> np.ndarray:
    """(N, 2) array of original (width, height) read from file headers only; -1 if unreadable."""
    root = Path(root)

    def one(rel: str):
        return imagefiles.header_size(root / rel) or (-1, -1)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        return np.array(list(pool.map(one, files, chunksize=256)), dtype=np.int64).reshape(-1, 2)


def year_counts(files: list[str]) -> dict[int, int]:
    """Images per year, from Kaggle-style names ``<id>_<year>.jpg`` (others are not counted)."""
    counts = Counter(y for y in map(imagefiles.year_from_name, files) if y is not None)
    return dict(sorted(counts.items()))


def channel_stats(images: torch.Tensor, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (N, H, W, 3) uint8 images, on the [0, 1] scale."""
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for start in range(0, images.shape[0], chunk):
        x = images[start : start + chunk].reshape(-1, 3).double() / 255.0
        total += x.sum(0)
        squares += (x * x).sum(0)
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    return mean.numpy(), std.numpy()


def _dct_matrix(n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float32)
    m = torch.cos(math.pi / n * (k[None, :] + 0.5) * k[:, None]) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m


def _grey(images: torch.Tensor, side: int) -> torch.Tensor:
    x = images.permute(0, 3, 1, 2).float() / 255.0
    x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return F.interpolate(x, size=(side, side), mode="area")[:, 0]


def phash(images: torch.Tensor, chunk: int = 4096) -> np.ndarray:
    """64-bit perceptual hashes (as uint64) of (N, H, W, 3) uint8 images."""
    dct = _dct_matrix(32)
    out = []
    for start in range(0, images.shape[0], chunk):
        g = _grey(images[start : start + chunk], 32)
        low = (dct @ g @ dct.T)[:, :8, :8].reshape(-1, 64)
        bits = low > low[:, 1:].median(dim=1, keepdim=True).values  # DC term left out of median
        out.append(np.packbits(bits.numpy(), axis=1).view(">u8").ravel().astype(np.uint64))
    return np.concatenate(out) if out else np.zeros(0, np.uint64)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise distance between arrays of uint64 hashes (broadcasting)."""
    x = np.bitwise_xor(a, b)
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(x)
    return np.unpackbits(x.astype(">u8").view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(-1)


def near_duplicate_groups(hashes: np.ndarray, max_distance: int = 4,
                          max_bucket: int = 2000) -> list[list[int]]:
    """Groups (largest first) of images whose hashes are within ``max_distance`` bits, linked
    transitively. Buckets over ``max_bucket`` (e.g. blank images) are only partly searched."""
    n = len(hashes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    blocks = max_distance + 1
    edges = np.linspace(0, 64, blocks + 1).astype(int)
    for lo, hi in itertools.pairwise(edges):
        keys = (hashes >> np.uint64(64 - hi)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(keys, kind="stable")
        split = np.flatnonzero(np.diff(keys[order])) + 1
        for bucket in np.split(order, split):
            if len(bucket) < 2:
                continue
            bucket = bucket[:max_bucket]
            d = hamming(hashes[bucket][:, None], hashes[bucket][None, :])
            for i, j in zip(*np.nonzero(np.triu(d <= max_distance, k=1))):
                parent[find(int(bucket[i]))] = find(int(bucket[j]))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)


def outlier_scores(images: torch.Tensor, components: int = 16, side: int = 16,
                   seed: int = 0) -> np.ndarray:
    """How badly a low-rank PCA model of the set reconstructs each image (higher = odder).

    Faces share a layout, so a few principal components explain them well; crops that miss the
    face, non-faces and odd colours do not fit and get high scores."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(side, side), mode="area").reshape(len(x), -1)
    x = x - x.mean(0)
    q = min(components, *x.shape)
    with torch.random.fork_rng():  # randomised SVD: fix its seed without touching the caller's
        torch.manual_seed(seed)
        _u, _s, v = torch.pca_lowrank(x, q=q, center=False)
    recon = (x @ v) @ v.T
    return ((x - recon) ** 2).mean(1).numpy()
