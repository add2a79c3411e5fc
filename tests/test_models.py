"""Generator and discriminator: shapes, exact parameter counts, logits, init, options, layouts."""

import dataclasses

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from animeutils import config, models

# Small widths for testing efficiency: every test but the parameter counts uses f = 8.
TINY = config.TrainConfig(latent_dim=16, g_features=8, d_features=8)
VARIANTS = [("dcgan", 64), ("dcgan", 128), ("dense300", 64)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny layers run faster on one thread than paying an OpenMP barrier per op (which costs tens
    of milliseconds when the other core is busy)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(**changes) -> config.TrainConfig:
    return dataclasses.replace(TINY, **changes)


def pair(seed=0, **changes):
    torch.manual_seed(seed)
    return models.build(tiny(**changes))


def layers(net, kinds):
    return [m for m in net.modules() if isinstance(m, kinds)]


@pytest.mark.parametrize(("arch", "size"), VARIANTS)
def test_shapes_and_ranges(arch, size):
    generator, discriminator = pair(arch=arch, image_size=size)
    z = torch.randn(3, TINY.latent_dim)
    x = generator(z)
    assert x.shape == (3, 3, size, size)
    assert x.abs().max() <= 1 and x.std() > 0  # tanh output, not constant
    assert torch.equal(generator(z[:, :, None, None]), x)  # (B, latent_dim, 1, 1) works too
    assert discriminator(x).shape == (3,)
    with pytest.raises(ValueError, match=f"{size}x{size}"):
        discriminator(torch.zeros(3, 3, size // 2, size // 2))


def test_parameter_counts_at_default_widths():
    cfg = config.TrainConfig()
    generator, discriminator = models.build(cfg)
    assert models.count_parameters(generator) == 3_576_704
    assert models.count_parameters(discriminator) == 2_765_568
    dense = models.Dense300Generator(dataclasses.replace(cfg, arch="dense300", latent_dim=300))
    assert models.count_parameters(dense) == 12_619_203
    assert not layers(dense, nn.BatchNorm2d) and all(m.bias is not None for m in
                                                     layers(dense, (nn.Conv2d, nn.Linear)))


@pytest.mark.parametrize(("arch", "size"), VARIANTS)
def test_layer_table_follows_the_forward_pass_and_leaves_the_model_alone(arch, size):
    generator, discriminator = pair(arch=arch, image_size=size)
    before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    rows = models.layer_table(discriminator, (2, 3, size, size))
    assert sum(r["parameters"] for r in rows) == models.count_parameters(discriminator)
    assert rows[0]["output_shape"] == (2, 8, size // 2, size // 2) and rows[-1]["type"] in (
        "Conv2d", "Linear")
    assert discriminator.training  # restored, and BN running statistics untouched
    assert all(torch.equal(before[k], v) for k, v in discriminator.state_dict().items())
    g_rows = models.layer_table(generator, (2, TINY.latent_dim))
    assert g_rows[-1]["output_shape"] == (2, 3, size, size)
    if arch == "dcgan":  # widths 8f at 4x4 (16f at 128 px) down to f before RGB
        assert g_rows[0]["output_shape"] == (2, 8 * size // 8, 4, 4)
        assert g_rows[-3]["output_shape"] == (2, 8, size // 2, size // 2)
    text = models.format_table(g_rows)
    assert text.splitlines()[-1].endswith(f"{models.count_parameters(generator):,}")


def test_discriminator_returns_unbounded_logits():
    _, discriminator = pair()
    assert not layers(discriminator, nn.Sigmoid)
    discriminator.net[-1].weight.data *= 1000  # a sigmoid would still squash these into [0, 1]
    out = discriminator.eval()(torch.randn(8, 3, 64, 64))
    assert not ((out >= 0) & (out <= 1)).all()


def dcgan_init_stats_ok(*nets) -> bool:
    """Every conv / linear weight has mean ~0 and std ~0.02; BN scales mean ~1, std ~0.02."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    weights = [m.weight for n in nets for m in layers(n, kinds)]
    gammas = torch.cat([m.weight for n in nets for m in layers(n, nn.BatchNorm2d)])
    return (all(abs(w.mean()) < 0.002 and abs(w.std() - 0.02) < 0.0015 for w in weights)
            and abs(gammas.mean() - 1) < 0.005 and 0.01 < gammas.std() < 0.03)


@pytest.mark.parametrize("arch", ["dcgan", "dense300"])
def test_init_is_dcgan_normal_and_pytorch_default_is_not(arch):
    generator, discriminator = pair(arch=arch)
    assert dcgan_init_stats_ok(generator, discriminator)
    biases = [m.bias for n in (generator, discriminator) for m in n.modules()
              if isinstance(getattr(m, "bias", None), torch.Tensor)]
    assert biases and all(b.eq(0).all() for b in biases)
    net_cls = models.NETWORKS[arch]
    assert not dcgan_init_stats_ok(net_cls[0](tiny(arch=arch)), net_cls[1](tiny(arch=arch)))


def test_build_is_reproducible_from_the_global_seed():
    a, b, c = pair(seed=1)[0], pair(seed=1)[0], pair(seed=2)[0]
    assert torch.equal(a.net[0].weight, b.net[0].weight)
    assert not torch.equal(a.net[0].weight, c.net[0].weight)


@pytest.mark.parametrize(("arch", "size"), VARIANTS)
def test_spectral_norm_on_every_d_layer(arch, size):
    generator, discriminator = pair(arch=arch, image_size=size, spectral_norm=True)
    weighted = layers(discriminator, (nn.Conv2d, nn.Linear))
    assert weighted and all(parametrize.is_parametrized(m, "weight") for m in weighted)
    assert not layers(discriminator, nn.BatchNorm2d)  # see models._down for why
    assert not any(parametrize.is_parametrized(m) for m in generator.modules())
    assert discriminator(torch.randn(2, 3, size, size)).shape == (2,)
    discriminator.eval()  # no power iteration: the estimate made at init must already be right
    for m in weighted:
        assert abs(m.parametrizations.weight.original.std() - 0.02) < 0.003  # init reached it
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert abs(sigma - 1) < 0.05


@pytest.mark.parametrize("arch", ["dcgan", "dense300"])
@pytest.mark.parametrize("field", ["d_dropout", "d_mid_dropout"])
def test_dropout_is_random_in_training_only(arch, field):
    x = torch.randn(4, 3, 64, 64)
    _, plain = pair(arch=arch)
    assert torch.equal(plain(x), plain(x))  # without dropout D is deterministic, even training
    _, discriminator = pair(arch=arch, **{field: 0.5})
    expected = {"d_dropout": 1, "d_mid_dropout": 2 if arch == "dcgan" else 1}[field]
    assert len(layers(discriminator, nn.Dropout)) == expected
    assert not torch.equal(discriminator(x), discriminator(x))
    discriminator.eval()
    assert torch.equal(discriminator(x), discriminator(x))


def test_build_rejects_unknown_arch_and_sizes():
    assert set(models.NETWORKS) == set(config.ARCHS)
    with pytest.raises(ValueError, match="arch='stylegan'"):
        models.build(tiny(arch="stylegan"))
    with pytest.raises(ValueError, match="image_size=128"):
        models.build(tiny(arch="dense300", image_size=128))
    with pytest.raises(ValueError, match="image_size=32"):
        models.build(tiny(image_size=32))


@pytest.mark.parametrize(("arch", "size"), VARIANTS)
def test_channels_last_matches_contiguous(arch, size):
    generator, discriminator = pair(arch=arch, image_size=size, spectral_norm=True)
    generator.eval(), discriminator.eval()
    z = torch.randn(2, TINY.latent_dim)
    x, logits = generator(z), discriminator(generator(z))
    cl = torch.channels_last
    generator.to(memory_format=cl), discriminator.to(memory_format=cl)
    x_cl = generator(z)
    torch.testing.assert_close(x_cl, x, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(discriminator(x.contiguous(memory_format=cl)), logits,
                               atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("arch", "size"), VARIANTS)
def test_autocast_bf16_runs_in_bf16_and_stays_close(arch, size):
    generator, discriminator = pair(arch=arch, image_size=size, spectral_norm=True)
    z = torch.randn(4, TINY.latent_dim)
    with torch.no_grad():
        ref = discriminator.eval()(generator.eval()(z))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = discriminator(generator(z))
    assert out.dtype == torch.bfloat16 and out.shape == (4,)
    torch.testing.assert_close(out.float(), ref, atol=0.05 * ref.abs().max().item(), rtol=0.05)
