"""The stabiliser building blocks: DiffAugment, the losses, R1, the EMA warm-up, the recipes.

DiffAugment is checked against a per-image spelling of the paper's transforms (loops, not the
vectorised code), drawing the same random numbers in the same order; tiny tensors throughout.
"""

import math

import pytest
import torch

from animeutils import augment, ema, losses
from animeutils.config import RECIPES, TrainConfig


# --- DiffAugment -------------------------------------------------------------------------------
def spelled_out(x, generator):
    """color, translation, cutout for each image separately, as Zhao et al. 2020 describe them."""
    b, _, h, w = x.shape
    u = [torch.rand(b, 1, 1, 1, generator=generator) for _ in range(3)]
    s = int(h * 0.125 + 0.5)
    dy = torch.randint(-s, s + 1, (b, 1, 1), generator=generator)
    dx = torch.randint(-s, s + 1, (b, 1, 1), generator=generator)
    half = int(h * 0.5 + 0.5)
    cy = torch.randint(0, h + (1 - half % 2), (b, 1, 1), generator=generator)
    cx = torch.randint(0, w + (1 - half % 2), (b, 1, 1), generator=generator)
    out = torch.zeros_like(x)
    for i in range(b):
        img = x[i] + (u[0][i] - 0.5)  # brightness
        grey = img.mean(0, keepdim=True)
        img = (img - grey) * (2 * u[1][i]) + grey  # saturation
        img = (img - img.mean()) * (u[2][i] + 0.5) + img.mean()  # contrast
        moved = torch.zeros_like(img)
        for r in range(h):
            for q in range(w):
                rr, qq = r + int(dy[i]), q + int(dx[i])
                if 0 <= rr < h and 0 <= qq < w:
                    moved[:, r, q] = img[:, rr, qq]
        top, left = int(cy[i]) - half // 2, int(cx[i]) - half // 2
        moved[:, max(top, 0):max(top + half, 0), max(left, 0):max(left + half, 0)] = 0
        out[i] = moved
    return out


def test_diff_augment_is_the_papers_transforms_with_a_seeded_generator():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    ours = augment.diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(3))
    theirs = spelled_out(x, torch.Generator().manual_seed(3))
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert not torch.allclose(ours, x)
    again = augment.diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(3))
    assert torch.equal(ours, again)  # the same generator state, the same augmentation


def test_diff_augment_is_differentiable_keeps_the_layout_and_can_be_off():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    y = augment.diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(0))
    assert y.is_contiguous(memory_format=torch.channels_last)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    z = torch.randn(2, 3, 8, 8)
    assert augment.diff_augment(z, "", None) is z
    assert augment.diff_augment(z, None, None) is z


def test_cutout_zeroes_a_quarter_of_the_image_when_it_lies_inside():
    x = torch.ones(200, 3, 16, 16)
    out = augment.cutout(x, torch.Generator().manual_seed(0))
    zeroed = (out[:, 0] == 0).float().mean(dim=(1, 2))
    assert zeroed.max() == pytest.approx(0.25) and zeroed.min() > 0


@pytest.mark.parametrize("bad", ["colour", "color,color", "translation,zoom"])
def test_unknown_augment_policies_are_one_error(bad):
    with pytest.raises(ValueError, match="^augment=.*is invalid"):
        augment.parse_policy(bad)
    with pytest.raises(ValueError, match="^augment="):
        TrainConfig(augment=bad).validate()


# --- losses ------------------------------------------------------------------------------------
def test_bce_losses_are_the_dcgan_objective_and_g_is_non_saturating():
    logits = torch.tensor([-2.0, 0.5, 3.0])
    p = torch.sigmoid(logits)
    assert losses.d_real("bce", logits, torch.ones(3)) == pytest.approx(-p.log().mean().item())
    assert losses.d_fake("bce", logits, torch.zeros(3)) == pytest.approx(
        -(1 - p).log().mean().item())
    assert losses.g_loss("bce", logits) == pytest.approx(-p.log().mean().item())
    # The non-saturating gradient: about -1 at a logit D is sure is fake, where the minimax
    # loss log(1 - D(G(z))) gives about 0.
    sure_fake = torch.tensor([-8.0], requires_grad=True)
    (grad,) = torch.autograd.grad(losses.g_loss("bce", sure_fake), sure_fake)
    assert grad.item() == pytest.approx(-1.0, abs=1e-3)


def test_hinge_losses():
    logits = torch.tensor([-2.0, 0.5, 3.0])
    assert losses.d_real("hinge", logits, None) == pytest.approx((3 + 0.5 + 0) / 3)
    assert losses.d_fake("hinge", logits, None) == pytest.approx((0 + 1.5 + 4) / 3)
    assert losses.g_loss("hinge", logits) == pytest.approx(-1.5 / 3)


def test_r1_penalty_is_the_squared_input_gradient():
    w = torch.randn(3 * 4 * 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (x.flatten(1) @ w) ** 2 / 2  # d logit / dx = (x . w) w
    penalty = losses.r1_penalty(logits, x)
    expected = ((x.flatten(1) @ w) ** 2 * w.square().sum()).mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()  # differentiable: it can be trained on
    assert x.grad is not None


# --- EMA warm-up -------------------------------------------------------------------------------
def test_ema_warm_up_follows_the_stylegan2_ramp():
    assert ema.decay_at(0.999, 0.0, 10) == 0.999  # no warm-up: the decay as given
    assert ema.decay_at(0.999, 0.05, 0) < 1e-5  # the first update copies G
    half_life = math.log(0.5) / math.log(0.999)  # 693 updates
    assert 0.5 ** (1 / (0.05 * 500)) == pytest.approx(ema.decay_at(0.999, 0.05, 499))
    assert ema.decay_at(0.999, 0.05, int(half_life / 0.05) + 10) == pytest.approx(0.999)
    # After 500 steps the warmed-up average holds under 1e-6 of the initial weights; a plain
    # decay of 0.999 would still hold 0.999 ** 500 = 61 % of them.
    keep = math.prod(ema.decay_at(0.999, 0.05, s) for s in range(500))
    assert keep < 1e-6 and 0.999 ** 500 > 0.6


def test_ema_update_moves_towards_the_model():
    net = torch.nn.Linear(2, 2)
    avg = ema.EMA(net, 0.9, rampup=0.0)
    with torch.no_grad():
        net.weight.add_(1.0)
    before = avg.model.weight.clone()
    avg.update(net, step=100)
    assert torch.allclose(avg.model.weight, before + 0.1, atol=1e-6)


# --- recipes -----------------------------------------------------------------------------------
def test_recipes_fill_only_the_fields_left_at_none():
    textbook = TrainConfig(recipe="dcgan").validate()
    assert (textbook.augment, textbook.ema, textbook.loss, textbook.lr_d) == ("", 0.0, "bce", 2e-4)
    stable = TrainConfig(recipe="stable").validate()
    for name, value in RECIPES["stable"].items():
        assert getattr(stable, name) == value
    mine = TrainConfig(recipe="stable", ema=0.0, augment="color").validate()
    assert (mine.ema, mine.augment) == (0.0, "color")
    assert TrainConfig().recipe in RECIPES
    with pytest.raises(ValueError, match="^recipe='fancy' is invalid"):
        TrainConfig(recipe="fancy").validate()


@pytest.mark.parametrize("field,value", [("real_label", 0.9), ("fake_label", 0.1),
                                         ("label_noise", 0.2), ("flip_prob", 0.05)])
def test_hinge_rejects_label_options_in_one_line(field, value):
    with pytest.raises(ValueError, match=f"^{field}=.*loss='hinge' has no targets"):
        TrainConfig(loss="hinge", **{field: value}).validate()


@pytest.mark.parametrize("field,value", [("loss", "wgan"), ("r1_gamma", -1.0), ("r1_every", 0),
                                         ("ema_rampup", 2.0)])
def test_new_options_reject_bad_values_by_name(field, value):
    with pytest.raises(ValueError, match=f"^{field}="):
        TrainConfig(**{field: value}).validate()
