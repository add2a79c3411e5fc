"""Exploration statistics checked against brute force and planted answers."""

import numpy as np
import torch

from animeutils import explore

from .conftest import face_like


def test_channel_stats_match_a_direct_computation():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (30, 8, 8, 3), generator=g, dtype=torch.uint8)
    mean, std = explore.channel_stats(imgs, chunk=7)  # chunking must not change the answer
    x = imgs.reshape(-1, 3).double() / 255
    assert np.allclose(mean, x.mean(0).numpy()) and np.allclose(std, x.std(0, unbiased=False))


def test_year_counts_and_header_sizes(tmp_path):
    files = ["1_2001.jpg", "2_2001.jpg", "3_2019.png", "x/4_2005.JPG", "face.jpg"]
    assert explore.year_counts(files) == {2001: 2, 2005: 1, 2019: 1}
    face_like(0, 100, 90).save(tmp_path / "a.jpg")
    (tmp_path / "b.jpg").write_text("no")
    sizes = explore.original_sizes(tmp_path, ["a.jpg", "b.jpg"])
    assert sizes.tolist() == [[100, 90], [-1, -1]]


def test_phash_is_stable_under_small_changes_and_differs_between_images():
    a = torch.from_numpy(np.stack([np.asarray(face_like(i, 64, 64)) for i in range(6)]))
    brighter = (a.int() + 6).clamp(max=255).to(torch.uint8)
    h, hb = explore.phash(a), explore.phash(brighter)
    assert h.dtype == np.uint64 and h.shape == (6,)
    assert explore.hamming(h, hb).max() <= 4
    pairwise = explore.hamming(h[:, None], h[None, :])
    assert pairwise[~np.eye(6, dtype=bool)].min() > 10


def test_near_duplicate_groups_equal_brute_force():
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, 400, dtype=np.int64).astype(np.uint64)
    # Plant pairs and a chain at distances 1..4 (a chain links transitively).
    for src, dst, bits in [(0, 1, 1), (2, 3, 4), (4, 5, 3), (5, 6, 2)]:
        flip = np.uint64(sum(1 << int(b) for b in rng.choice(64, bits, replace=False)))
        hashes[dst] = hashes[src] ^ flip
    groups = explore.near_duplicate_groups(hashes, max_distance=4)
    close = explore.hamming(hashes[:, None], hashes[None, :]) <= 4
    brute = {tuple(sorted(np.flatnonzero(row))) for row in close if row.sum() > 1}
    found = {tuple(sorted(g)) for g in groups}
    assert {(0, 1), (2, 3), (4, 5, 6)} <= found
    assert all(any(set(b) <= set(f) for f in found) for b in brute)
    assert sum(len(g) for g in groups) == len({i for b in brute for i in b})


def test_outlier_scores_rank_the_odd_images_first():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    blobs = []
    for i in range(60):  # a family of centred discs of varying size and colour
        r = 0.4 + 0.3 * (i % 7) / 6
        disc = ((xx**2 + yy**2) < r**2).float()
        colour = torch.tensor([0.2 + 0.01 * i, 0.5, 0.8])
        blobs.append(disc[..., None] * colour + (1 - disc[..., None]) * 0.9)
    imgs = (torch.stack(blobs) * 255).to(torch.uint8)
    noise = torch.randint(0, 256, (2, 16, 16, 3), generator=torch.Generator().manual_seed(0),
                          dtype=torch.uint8)
    scores = explore.outlier_scores(torch.cat([imgs, noise]), components=4)
    assert set(np.argsort(-scores)[:2]) == {60, 61}
