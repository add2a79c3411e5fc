"""The procedural stand-in dataset: shapes, determinism, factors, planted flaws, arguments."""

import pytest
import torch

from animeutils import synthetic as syn


def _part(factors, index):
    return {k: v[index] for k, v in factors.items()}


def _mad(a, b):
    """Mean absolute difference per image pair, in grey levels."""
    return (a.float() - b.float()).abs().mean(dim=(-3, -2, -1))


@pytest.mark.parametrize("size", [64, 128])
def test_shape_dtype_and_factor_lengths(size):
    images, factors = syn.generate(5, size, seed=3)
    assert images.shape == (5, size, size, 3) and images.dtype == torch.uint8
    assert images.is_contiguous()
    assert set(factors) == set(syn.FACTOR_NAMES)
    assert all(len(v) == 5 for v in factors.values())
    assert factors["hair_color"].shape == (5, 3) and factors["eye_color"].shape == (5, 3)
    assert images.float().std() > 20  # pictures, not a flat fill


def test_zero_images():
    images, factors = syn.generate(0, 32)
    assert images.shape == (0, 32, 32, 3)
    assert all(len(v) == 0 for v in factors.values())
    assert factors["hair_color"].shape == (0, 3)


def test_same_seed_same_bytes_and_other_seed_differs():
    a, fa = syn.generate(12, 32, seed=7)
    b, _ = syn.generate(12, 32, seed=7)
    c, fc = syn.generate(12, 32, seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(fa["hair_color"], fc["hair_color"])
    assert (_mad(a, c) > 10).all()


def test_prefix_property_across_chunks():
    small, f_small = syn.generate(40, 16, seed=2)
    big, f_big = syn.generate(270, 16, seed=2)  # more than one 256-factor chunk
    assert torch.equal(big[:40], small)
    f_mid = syn.sample_factors(260, seed=2)
    for name in syn.FACTOR_NAMES:
        assert torch.equal(f_big[name][:40], f_small[name]), name
        assert torch.equal(f_big[name][:260], f_mid[name]), name


@pytest.mark.parametrize("size", [23, 64])  # 23: odd row lengths, vector-loop tails differ
def test_batch_size_never_changes_a_byte(size):
    whole, factors = syn.generate(45, size, seed=4, batch_size=45)
    batched, _ = syn.generate(45, size, seed=4, batch_size=7)
    assert torch.equal(whole, batched)
    for i in (0, 13, 44):
        assert torch.equal(syn.render(_part(factors, [i]), size)[0], whole[i])


def test_feature_window_is_exact(monkeypatch):
    """Eyes, brows, blush and mouth are drawn in a per-image window: it must clip nothing."""
    factors = syn.sample_factors(64, seed=9, flaw_rates=(0.05, 0.0, 0.0))
    factors["eye_size"][:32] = 1.0
    factors["blush"][:] = 1.0
    factors["head_tilt"][:16], factors["head_tilt"][16:32] = 0.3, -0.3
    rows, cols = syn._window(_part(factors, factors["flaw"] == 0), 64)
    assert rows.shape[1] < 56 and cols.shape[1] < 56  # a real window, smaller than the image
    windowed = {size: syn.render(factors, size) for size in (17, 40)}
    monkeypatch.setattr(syn, "_FEATURES_BOX", (-9.0, 9.0, -9.0, 9.0))  # window = whole image
    for size, image in windowed.items():
        assert torch.equal(image, syn.render(factors, size))


def _normal_faces(n, seed=0):
    factors = syn.sample_factors(n, seed=seed, flaws=False)
    factors["head_tilt"][:] = 0.0
    return factors


def test_hair_colour_paints_the_hair():
    factors = _normal_faces(8)
    red, blue = dict(factors), dict(factors)
    red["hair_color"] = torch.tensor([0.9, 0.1, 0.1]).expand(8, 3).clone()
    blue["hair_color"] = torch.tensor([0.1, 0.1, 0.9]).expand(8, 3).clone()
    a, b = syn.render(red, 32).float(), syn.render(blue, 32).float()
    changed = (a - b).abs().amax(-1) > 30
    assert (changed.float().mean(dim=(1, 2)) > 0.1).all()  # every head has plenty of hair
    assert (a[..., 0] > a[..., 2])[changed].float().mean() > 0.95
    assert (b[..., 2] > b[..., 0])[changed].float().mean() > 0.95
    top_rows = slice(0, 8)  # above the eyes it is hair or background, never face
    assert (a[:, top_rows, :, 0].mean(dim=(1, 2)) > b[:, top_rows, :, 0].mean(dim=(1, 2))).all()


def test_eye_size_and_mouth_change_only_part_of_the_face():
    factors = _normal_faces(8, seed=1)
    for name, low, high, least in [("eye_size", 0.0, 1.0, 0.02), ("mouth", 0, 1, 0.001)]:
        a_f, b_f = dict(factors), dict(factors)
        a_f[name] = torch.full_like(factors[name], low)
        b_f[name] = torch.full_like(factors[name], high)
        a, b = syn.render(a_f, 48), syn.render(b_f, 48)
        changed = ((a.float() - b.float()).abs().amax(-1) > 20).float().mean(dim=(1, 2))
        assert (changed > least).all() and (changed < 0.15).all(), (name, changed)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("hair_length", 0.0, 1.0), ("fringe_strands", 3, 7), ("fringe_length", 0.0, 1.0),
     ("strand_depth", 0.0, 1.0), ("fringe_phase", 0.0, 0.5), ("ahoge", 0, 1),
     ("side_tails", 0, 1), ("skin_tone", 0.0, 1.0), ("blush", 0.0, 1.0), ("head_x", -0.1, 0.1),
     ("head_y", 0.02, 0.16), ("head_scale", 0.58, 0.7), ("head_tilt", -0.3, 0.3),
     ("bg_hue", 0.0, 0.5), ("bg_angle", 0.0, 3.0), ("brightness", 1.0, 0.97)],
)
def test_every_factor_shows_in_every_face(name, low, high):
    factors = _normal_faces(4, seed=2)
    a_f, b_f = dict(factors), dict(factors)
    a_f[name] = torch.full_like(factors[name], low)
    b_f[name] = torch.full_like(factors[name], high)
    a, b = syn.render(a_f, 32), syn.render(b_f, 32)
    changed = ((a.float() - b.float()).abs().amax(-1) > 4).float().mean(dim=(1, 2))
    assert (changed > 0.005).all(), changed


def test_flaw_rates_and_flaws_off():
    factors = syn.sample_factors(2000, seed=0)
    counts = torch.bincount(factors["flaw"], minlength=4).tolist()
    expected = [2000 * r for r in syn.DEFAULT_FLAW_RATES]
    for got, want in zip(counts[1:], expected):
        assert 0.4 * want <= got <= 2 * want, (counts, expected)

    rates = (0.1, 0.05, 0.15)
    counts = torch.bincount(syn.sample_factors(2000, seed=1, flaw_rates=rates)["flaw"]).tolist()
    for got, rate in zip(counts[1:], rates):
        assert abs(got - 2000 * rate) < 4 * (2000 * rate * (1 - rate)) ** 0.5, (counts, rates)

    clean = syn.sample_factors(2000, seed=0, flaws=False)
    assert (clean["flaw"] == 0).all() and (clean["dup_of"] == -1).all()
    assert (clean["brightness"] == 1).all()
    normal = factors["flaw"] == 0  # turning flaws off leaves the other faces alone
    for name in ("hair_color", "head_x", "head_scale", "eye_size"):
        assert torch.equal(clean[name][normal], factors[name][normal])


def test_bad_crops_are_zoomed_and_non_faces_are_not_faces():
    factors = syn.sample_factors(2000, seed=0)
    crop = factors["flaw"] == 1
    assert (factors["head_scale"][crop] > 0.9).all()
    assert (factors["head_scale"][~crop] < 0.75).all()

    odd = (factors["flaw"] == 2).nonzero().flatten()[:6]
    as_face = _part(factors, odd)
    as_face["flaw"] = torch.zeros_like(as_face["flaw"])
    assert (_mad(syn.render(_part(factors, odd), 32), syn.render(as_face, 32)) > 15).all()


def test_near_duplicates_are_near_their_original_and_nothing_else():
    factors = syn.sample_factors(250, seed=5, flaw_rates=(0.0, 0.0, 0.1))
    images = syn.render(factors, 16).flatten(1).float()
    dups = (factors["flaw"] == 3).nonzero().flatten()
    assert len(dups) > 15
    originals = factors["dup_of"][dups]
    assert (originals < dups).all() and (factors["flaw"][originals] == 0).all()
    assert (factors["dup_of"][factors["flaw"] != 3] == -1).all()

    dist = torch.cdist(images, images, p=1) / images.shape[1]  # mean abs difference
    dist.fill_diagonal_(float("inf"))
    assert (dist[dups, originals] < 15).all() and (dist[dups, originals] > 0).all()
    assert torch.equal(dist[dups].argmin(1), originals)  # the nearest image is the original
    normal = (factors["flaw"] == 0).nonzero().flatten()
    pairs = dist[normal[:-1], normal[1:]]
    assert pairs.median() > 40 and pairs.min() > 15


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: syn.generate(-1), "n"),
        (lambda: syn.generate(2.5), "n"),
        (lambda: syn.generate(4, image_size=15), "image_size"),
        (lambda: syn.generate(4, image_size=64.0), "image_size"),
        (lambda: syn.generate(4, batch_size=0), "batch_size"),
        (lambda: syn.sample_factors(-3), "n"),
        (lambda: syn.sample_factors(3, seed=-1), "seed"),
        (lambda: syn.sample_factors(3, flaw_rates=(0.5, 0.5, 0.5)), "flaw_rates"),
        (lambda: syn.render(syn.sample_factors(2), image_size=8), "image_size"),
        (lambda: syn.render({"flaw": torch.zeros(2)}), "factors"),
    ],
)
def test_bad_arguments_raise_one_line_value_errors(call, name):
    with pytest.raises(ValueError, match=name) as info:
        call()
    assert "\n" not in str(info.value)
