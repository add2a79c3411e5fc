"""SWD and diversity: known orderings, determinism, input layouts, argument errors.

Tiny sets throughout (tens of images, few patches and directions) so the file runs in seconds;
they make the values noisier than real evaluations, so every bound leaves a wide margin."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from animeutils import metrics, synthetic
from animeutils.metrics import swd as swd_module

FAST = {"patches_per_image": 32, "directions": 32, "repeats": 2}  # small for test speed


@pytest.fixture(scope="module")
def faces():
    """Two independent sets of 48 synthetic 64 px faces, (48, 64, 64, 3) uint8 each."""
    return synthetic.generate(48, 64, seed=1)[0], synthetic.generate(48, 64, seed=2)[0]


def _shift(images, amount):
    return (images.int() + amount).clamp(0, 255).to(torch.uint8)


def _blur(images):
    x = images.permute(0, 3, 1, 2).float()
    x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return x.round().to(torch.uint8).permute(0, 2, 3, 1)


def test_swd_result_layout_and_self_distance_small(faces):
    real, fake = faces
    same = metrics.sliced_wasserstein(real, fake, **FAST)
    blurred = metrics.sliced_wasserstein(real, _blur(fake), **FAST)
    assert set(same) == {"swd", "levels", "protocol"}
    assert list(same["levels"]) == [64, 32, 16]
    assert same["swd"] == pytest.approx(np.mean(list(same["levels"].values())))
    proto = same["protocol"]
    assert (proto["n_real"], proto["n_fake"], proto["patch_size"]) == (48, 48, 7)
    assert (proto["patches_per_image"], proto["directions"], proto["repeats"]) == (32, 32, 2)
    assert "Karras et al. 2018" in proto["method"]
    assert proto["normalize"] == "joint"
    # Same distribution: small (not 0: 48 images leave sampling noise); a blur wipes out the
    # finest band, so 64 px is far apart, and the coarsest level hardly changes.
    assert 0 < same["swd"] and blurred["swd"] > 2 * same["swd"]
    assert blurred["levels"][64] > 4 * same["levels"][64]
    assert blurred["levels"][16] < 1.5 * same["levels"][16]


def test_swd_grows_with_brightness_shift(faces):
    real, fake = faces
    values = [metrics.sliced_wasserstein(real, _shift(fake, s), **FAST)["swd"]
              for s in (0, 15, 30, 60)]
    assert all(a < b for a, b in itertools.pairwise(values)), values
    assert values[1] > 1.5 * values[0]


def test_swd_per_set_normalisation_ignores_a_small_brightness_shift(faces):
    # The reference normalises each set by its own channel statistics: an offset that clips
    # nothing changes no band after normalisation, so the distance barely moves.
    real, fake = faces
    base = metrics.sliced_wasserstein(real, fake, normalize="per_set", **FAST)["swd"]
    shifted = metrics.sliced_wasserstein(real, _shift(fake, 15), normalize="per_set", **FAST)
    shifted = shifted["swd"]
    assert shifted == pytest.approx(base, rel=0.25)


def test_swd_deterministic_for_a_seed_and_layouts_agree(faces):
    real, fake = faces[0][:16], faces[1][:16]
    a = metrics.sliced_wasserstein(real, fake, seed=3, **FAST)
    b = metrics.sliced_wasserstein(real, fake, seed=3, **FAST)
    c = metrics.sliced_wasserstein(real, fake, seed=4, **FAST)
    assert a == b and a["swd"] != c["swd"]
    as_float = fake.permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, H, W) in [-1, 1]
    d = metrics.sliced_wasserstein(real.numpy(), as_float, seed=3, **FAST)
    assert d["levels"] == a["levels"]


def test_swd_unequal_set_sizes(faces):
    real, fake = faces
    result = metrics.sliced_wasserstein(real, fake[:20], **FAST)
    blurred = metrics.sliced_wasserstein(real, _blur(fake[:20]), **FAST)
    assert result["protocol"]["n_fake"] == 20
    assert 0 < result["swd"] and blurred["levels"][64] > 3 * result["levels"][64]


def test_w1_of_sorted_samples_exact_for_unequal_sizes():
    a = np.sort(np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32), axis=1)
    doubled = np.repeat(a, 2, axis=1)  # the same empirical distribution, twice the samples
    np.testing.assert_allclose(swd_module._w1_sorted(a.copy(), doubled), 0, atol=1e-7)
    np.testing.assert_allclose(swd_module._w1_sorted(a.copy(), doubled + 0.5), 0.5, rtol=1e-6)
    np.testing.assert_allclose(swd_module._w1_sorted(a.copy(), a + 0.25), 0.25, rtol=1e-6)


def test_laplacian_pyramid_of_a_flat_image_and_reconstruction(faces):
    flat = torch.full((2, 3, 64, 64), 77.0)
    bands = swd_module.laplacian_pyramid(flat, 3)
    assert [b.shape[-1] for b in bands] == [64, 32, 16]
    assert bands[0].abs().max() == 0 and bands[1].abs().max() == 0
    assert torch.equal(bands[2], torch.full((2, 3, 16, 16), 77.0))
    x = faces[0][:4].permute(0, 3, 1, 2).float()
    bands = swd_module.laplacian_pyramid(x, 3)
    rebuilt = bands[0] + swd_module._pyr_up(bands[1] + swd_module._pyr_up(bands[2]))
    torch.testing.assert_close(rebuilt, x, atol=1e-3, rtol=0)
    assert bands[0].abs().mean() > 1  # detail is really there


def test_diversity_real_halves_near_one_and_collapse_near_zero(faces):
    real, other = faces
    healthy = metrics.diversity(other, real, pairs=500)
    assert 0.8 < healthy["ratio"] < 1.25
    assert healthy["fake"] > 0.05 and healthy["real"] > 0.05
    assert healthy["protocol"]["pairs"] == 500 and healthy["protocol"]["n_fake"] == 48
    noise = torch.randint(-2, 3, (48, 64, 64, 3), generator=torch.Generator().manual_seed(0))
    collapsed = (real[:1].int() + noise).clamp(0, 255).to(torch.uint8)
    assert metrics.diversity(collapsed, real, pairs=500)["ratio"] < 0.1
    assert metrics.diversity(other, real, pairs=500) == healthy  # same seed, same answer


@pytest.mark.parametrize("call, bad, words", [
    (metrics.sliced_wasserstein, torch.zeros(4, 64, 64, dtype=torch.uint8), "fake must be"),
    (metrics.sliced_wasserstein, torch.zeros(4, 64, 64, 4, dtype=torch.uint8), "fake must be"),
    (metrics.sliced_wasserstein, torch.zeros(1, 64, 64, 3, dtype=torch.uint8), "fake needs"),
    (metrics.sliced_wasserstein, torch.zeros(4, 64, 64, 3, dtype=torch.int64), "fake must be"),
    (metrics.sliced_wasserstein, torch.zeros(4, 32, 32, 3, dtype=torch.uint8), "fake images"),
    (metrics.diversity, torch.zeros(4, 3, 64, 64).fill_(float("nan")), "fake contains"),
    (metrics.diversity, torch.zeros(1, 3, 64, 64), "fake needs"),
    (metrics.diversity, torch.zeros(4, 3, 64), "fake must be"),
])
def test_bad_images_raise_one_line_value_error(faces, call, bad, words):
    real = faces[0][:4]
    args = (real, bad) if call is metrics.sliced_wasserstein else (bad, real)
    with pytest.raises(ValueError, match=words) as info:
        call(*args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"patch_size": 8}, "patch_size must be odd"),
    ({"patch_size": 17}, "patch_size must be <= 16"),
    ({"directions": 0}, "directions must be"),
    ({"normalize": "both"}, "normalize must be"),
    ({"seed": -1}, "seed must be"),
])
def test_bad_swd_settings_raise(faces, kwargs, words):
    with pytest.raises(ValueError, match=words):
        metrics.sliced_wasserstein(faces[0][:4], faces[1][:4], **kwargs)


def test_bad_diversity_settings_raise(faces):
    with pytest.raises(ValueError, match="pairs must be"):
        metrics.diversity(faces[0], faces[1], pairs=0)
    with pytest.raises(ValueError, match="smaller than size=128"):
        metrics.diversity(faces[0], faces[1], size=128)
    with pytest.raises(ValueError, match="real images are all identical"):
        metrics.diversity(faces[0], faces[1][:1].expand(4, -1, -1, -1))


# --- memorisation check ------------------------------------------------------------------------
def test_nearest_training_images_finds_copies_and_ranks_them_first():
    from animeutils.metrics.memorisation import nearest_training_images

    train, _ = synthetic.generate(300, 64, seed=5)  # tiny training set
    copies = train[[7, 123, 299]].clone()
    shifted = (copies.int() + 8).clamp(max=255).to(torch.uint8)  # a near copy, brighter
    unseen, _ = synthetic.generate(2, 64, seed=99)
    result = nearest_training_images(torch.cat([copies, shifted, unseen]), train, k=2, chunk=64)
    assert result["indices"][:, 0].tolist()[:6] == [7, 123, 299, 7, 123, 299]
    d = result["distances"]
    assert d.shape == (8, 2) and torch.all(d[:, 0] <= d[:, 1])
    assert d[:3, 0].max() < 2e-3 and d[3:6, 0].max() < 0.04  # cdist (matmul form) is ~1e-3 exact
    assert d[6:, 0].min() > 3 * d[3:6, 0].max()  # unseen faces sit much further away
    whole = nearest_training_images(torch.cat([copies, unseen]), train, k=2, chunk=10_000)
    assert torch.equal(whole["indices"], result["indices"][[0, 1, 2, 6, 7]])  # chunking is exact


def test_nearest_training_images_rejects_bad_arguments():
    from animeutils.metrics.memorisation import nearest_training_images

    imgs, _ = synthetic.generate(4, 64, seed=0)
    with pytest.raises(ValueError, match="^k must be at most"):
        nearest_training_images(imgs, imgs, k=5)
    with pytest.raises(ValueError, match="^samples"):
        nearest_training_images(imgs[:, :, :, :2], imgs)


# --- FID and KID (Inception features; no download in tests) -----------------------------------
@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A weights file with the real Inception-v3 layout but random values: it exercises the
    load-from-file path end to end without the 91 MB download."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with pytest.MonkeyPatch.context() as mp, torch.random.fork_rng():
        torch.manual_seed(0)
        mp.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda *a, **k: None)
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        for m in model.modules():  # He init keeps activations alive through ~50 layers
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "weights.pth"
    torch.save(model.state_dict(), path)
    return path


def test_fid_and_kid_from_a_local_weights_file(random_inception_weights):
    from animeutils.metrics import fid, kid

    a, _ = synthetic.generate(12, 64, seed=1)
    b, _ = synthetic.generate(12, 64, seed=2)
    noise = torch.randint(0, 256, (12, 64, 64, 3), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    same = fid.fid(a, a.clone(), weights=random_inception_weights)
    near = fid.fid(a, b, weights=random_inception_weights)
    far = fid.fid(a, noise, weights=random_inception_weights)
    assert abs(same["fid"]) < 1e-2 < near["fid"] < far["fid"]
    assert same["protocol"]["n_real"] == 12 and "torchmetrics" in same["protocol"]["implementation"]
    k = kid.kid(a, noise, weights=random_inception_weights, subsets=5, subset_size=6)
    k0 = kid.kid(a, a.clone(), weights=random_inception_weights, subsets=5, subset_size=6)
    assert k["kid_mean"] > k0["kid_mean"] and k["protocol"]["subset_size"] == 6


def test_without_weights_fid_says_in_one_line_how_to_get_them(tmp_path, monkeypatch):
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    from animeutils.metrics import fid, inception

    a, _ = synthetic.generate(4, 64, seed=1)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached copy
    monkeypatch.delenv(inception.WEIGHTS_ENV, raising=False)

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(fe, "load_state_dict_from_url", offline)  # no test touches the network
    with pytest.raises(inception.InceptionUnavailable) as err:
        fid.fid(a, a)
    message = str(err.value)
    assert "\n" not in message and inception.WEIGHTS_ENV in message and "download" in message
    monkeypatch.setenv(inception.WEIGHTS_ENV, str(tmp_path / "missing.pth"))
    with pytest.raises(inception.InceptionUnavailable, match="weights not found: .*missing.pth"):
        fid.fid(a, a)
