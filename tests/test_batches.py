"""Training batches from the uint8 tensor: range, order, shards, flips, resumption."""

import pytest
import torch

from animeutils.batches import Batches, to_float


def numbered(n=50, size=4):
    """Image i is filled with the value i in every pixel: batches reveal their indices."""
    return torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, size, size, 3).clone()


def ids(x):
    return ((x[:, 0, 0, 0] + 1) * 127.5).round().long().tolist()


def test_to_float_maps_0_255_to_minus_one_one_and_is_channels_last():
    x = to_float(torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 4, 4, 3))
    assert x.shape == (2, 3, 4, 4) and x.dtype == torch.float32
    assert x[0].eq(-1).all() and x[1].eq(1).all()
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_an_epoch_is_a_seeded_permutation_without_ragged_batch():
    b = Batches(numbered(50), 8, seed=3)
    assert len(b) == 6  # 50 // 8, the ragged 2 dropped
    seen = [i for x in b.epoch(0) for i in ids(x)]
    assert len(seen) == 48 and len(set(seen)) == 48
    assert seen == [i for x in Batches(numbered(50), 8, seed=3).epoch(0) for i in ids(x)]
    assert seen != [i for x in b.epoch(1) for i in ids(x)]
    assert seen != [i for x in Batches(numbered(50), 8, seed=4).epoch(0) for i in ids(x)]


def test_resuming_mid_epoch_gives_the_remaining_batches():
    b = Batches(numbered(50), 8, seed=1, flip=True)
    full = list(b.epoch(2))
    tail = list(b.epoch(2, start=4))
    assert len(tail) == 2 and all(torch.equal(u, v) for u, v in zip(full[4:], tail))


def test_ranks_draw_disjoint_equal_shards():
    shards = [
        [i for x in Batches(numbered(50), 4, seed=0, rank=r, world_size=3).epoch(5)
         for i in ids(x)]
        for r in range(3)
    ]
    assert all(len(s) == 16 for s in shards)  # 50 // 3 = 16 per rank, 4 batches of 4
    flat = [i for s in shards for i in s]
    assert len(set(flat)) == len(flat)


def test_flip_mirrors_about_half_the_images():
    imgs = torch.zeros(200, 4, 4, 3, dtype=torch.uint8)
    imgs[:, :, 0] = 255  # a bright left column
    x = torch.cat(list(Batches(imgs, 50, flip=True).epoch(0)))
    left_bright = x[:, 0, :, 0].eq(1).all(1)
    right_bright = x[:, 0, :, 3].eq(1).all(1)
    assert (left_bright ^ right_bright).all()
    assert 70 < int(right_bright.sum()) < 130
    assert not torch.cat(list(Batches(imgs, 50, flip=False).epoch(0)))[:, 0, :, 3].eq(1).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="uint8"):
        Batches(torch.zeros(4, 3, 8, 8), 2)
    with pytest.raises(ValueError, match="batch_size"):
        Batches(numbered(5), 8)
    with pytest.raises(ValueError, match="rank"):
        Batches(numbered(8), 2, rank=2, world_size=2)
