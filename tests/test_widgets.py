"""GANSpace directions and the latent explorer, kernel-side (no browser): shapes, determinism,
the RNG left alone, and image bytes that change and come back as the controls move."""

import dataclasses
import statistics
import time

import ipywidgets
import pytest
import torch
from torch import nn

from animeutils import config, ganspace, latent, models, widgets

# Small widths for testing efficiency; random weights are enough for pixel-change checks.
TINY = config.TrainConfig(latent_dim=16, g_features=8, d_features=8)


def tiny_generator(seed=0, **changes) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, _ = models.build(dataclasses.replace(TINY, **changes))
    return generator


@pytest.fixture(scope="module")
def generator():
    return tiny_generator()


@pytest.fixture(scope="module")
def pcs(generator):
    return ganspace.principal_directions(generator, TINY.latent_dim, num_samples=300,
                                         num_components=4)


@pytest.fixture
def explorer(generator, pcs):
    return widgets.LatentExplorer(generator, TINY.latent_dim, pcs, num_sliders=4, scale=2)


# --- ganspace ---------------------------------------------------------------------------------
def test_directions_shape_unit_norm_and_variance(pcs):
    assert pcs["directions"].shape == (4, TINY.latent_dim)
    torch.testing.assert_close(pcs["directions"].norm(dim=1), torch.ones(4))
    ev = pcs["explained_variance"]
    assert ev.shape == (4,)
    assert (ev > 0).all() and ev.sum() <= 1.0
    assert (ev[:-1] >= ev[1:]).all()  # descending
    assert pcs["protocol"]["layer"] == "net.2"  # the first block's ReLU: (B, 8f, 4, 4)
    assert pcs["protocol"]["features"] == 8 * 8 * 4 * 4


def test_directions_deterministic_and_rng_untouched(generator, pcs):
    generator.train()
    state = torch.random.get_rng_state()
    again = ganspace.principal_directions(generator, TINY.latent_dim, num_samples=300,
                                          num_components=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert generator.training  # mode restored
    generator.eval()
    assert torch.equal(again["directions"], pcs["directions"])
    other = ganspace.principal_directions(generator, TINY.latent_dim, num_samples=300,
                                          num_components=4, seed=1)
    assert not torch.equal(other["directions"], pcs["directions"])


def test_directions_recover_known_axes():
    """A linear 'layer' y = W z with W = diag(scales) rotated: PCA finds the axes with the
    largest scales, the regression maps them back to those z coordinates, and the explained
    variance is scale² / Σ scale²."""
    scales = torch.tensor([1.0, 6.0, 0.5, 3.0, 0.2, 0.1])
    rotation, _ = torch.linalg.qr(latent.noise(6, 6, seed=3))
    toy = nn.Sequential(nn.Linear(6, 6, bias=False), nn.ReLU())
    with torch.no_grad():
        toy[0].weight.copy_(rotation @ torch.diag(scales))
    pcs = ganspace.principal_directions(toy, 6, num_samples=4000, num_components=2, layer="0")
    assert abs(pcs["directions"][0] @ torch.eye(6)[1]) > 0.99
    assert abs(pcs["directions"][1] @ torch.eye(6)[3]) > 0.99
    expected = scales[[1, 3]] ** 2 / scales.pow(2).sum()
    torch.testing.assert_close(pcs["explained_variance"], expected, atol=0.03, rtol=0)


def test_bad_arguments_are_rejected(generator):
    with pytest.raises(ValueError, match="num_components"):
        ganspace.principal_directions(generator, TINY.latent_dim, num_components=17)
    with pytest.raises(ValueError, match="not a module"):
        ganspace.principal_directions(generator, TINY.latent_dim, layer="nope")


# --- the explorer -----------------------------------------------------------------------------
def test_widget_tree_builds(explorer):
    assert isinstance(explorer.widget, ipywidgets.VBox)
    assert isinstance(explorer.image, ipywidgets.Image)
    assert len(explorer.sliders) == 4
    assert all(isinstance(s, ipywidgets.FloatSlider) for s in explorer.sliders)
    assert explorer.sliders[0].min == -3 and explorer.sliders[0].max == 3
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    # One generator: no toggle in the tree.
    assert explorer.toggle not in explorer.widget.children[0].children[1].children
    assert explorer.image.value == explorer.render()


def test_image_is_upscaled(explorer):
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(explorer.image.value)).size == (128, 128)  # 64 px, scale 2


def test_slider_changes_image_and_restores_it(explorer):
    before = explorer.image.value
    explorer.sliders[0].value = 2.5
    moved = explorer.image.value
    assert moved != before
    explorer.sliders[0].value = 0.0
    assert explorer.image.value == before


def test_each_change_runs_the_generator_once_on_one_latent(explorer, generator):
    batches = []
    handle = generator.register_forward_hook(lambda _m, inputs, _o: batches.append(
        inputs[0].shape[0]))
    try:
        explorer.sliders[1].value = -1.0
        explorer.seed.value = 5
        explorer.truncation.value = 0.5
    finally:
        handle.remove()
    assert batches == [1, 1, 1]


def test_seed_changes_image(explorer):
    before = explorer.image.value
    explorer.seed.value = 7
    assert explorer.image.value != before


def test_truncation_zero_is_the_same_face_for_any_seed(explorer):
    explorer.truncation.value = 0.0
    first = explorer.image.value
    explorer.seed.value = 123
    assert explorer.image.value == first
    explorer.truncation.value = 1.0
    assert explorer.image.value != first


def test_latent_is_truncated_noise_plus_offsets(explorer, pcs):
    explorer.seed.value, explorer.truncation.value = 3, 0.7
    explorer.sliders[2].value = 1.5
    expected = latent.truncate(latent.noise(1, TINY.latent_dim, 3)[0], 0.7)
    expected = expected + 1.5 * pcs["directions"][2]
    torch.testing.assert_close(explorer.z(), expected)


def test_reset_renders_once_and_restores(explorer, generator):
    before = explorer.image.value
    for i, slider in enumerate(explorer.sliders):
        slider.value = 0.5 * (i + 1)
    calls = []
    handle = generator.register_forward_hook(lambda *_: calls.append(1))
    try:
        explorer.reset.click()
    finally:
        handle.remove()
    assert calls == [1]
    assert explorer.image.value == before


def test_generator_toggle(generator, pcs):
    other = tiny_generator(seed=1)
    explorer = widgets.LatentExplorer({"EMA": generator, "raw": other}, TINY.latent_dim, pcs)
    assert explorer.toggle in explorer.widget.children[0].children[1].children
    ema_image = explorer.image.value
    explorer.toggle.value = "raw"
    assert explorer.generator is other
    assert explorer.image.value != ema_image
    explorer.toggle.value = "EMA"
    assert explorer.image.value == ema_image


def test_explorer_leaves_rng_and_mode_alone(generator):
    generator.train()
    state = torch.random.get_rng_state()
    explorer = widgets.LatentExplorer(generator, TINY.latent_dim, num_sliders=3)  # own PCA
    explorer.sliders[0].value = 1.0
    assert torch.equal(torch.random.get_rng_state(), state)
    assert generator.training
    assert explorer.directions.shape == (3, TINY.latent_dim)
    generator.eval()


def test_wrong_directions_shape_is_rejected(generator):
    with pytest.raises(ValueError, match="directions must be"):
        widgets.LatentExplorer(generator, TINY.latent_dim, torch.zeros(3, 5))


def test_latency_default_width():
    """Printed, not asserted (shared CPUs vary): median ms per slider move at width 64."""
    generator = tiny_generator(latent_dim=100, g_features=64)
    directions = torch.nn.functional.normalize(latent.noise(6, 100, seed=9), dim=1)
    explorer = widgets.LatentExplorer(generator, 100, directions, scale=4)
    times, images = [], set()
    for i in range(20):
        start = time.perf_counter()
        explorer.sliders[i % 6].value = round(-2.9 + 0.3 * i, 1)
        times.append(1000 * (time.perf_counter() - start))
        images.add(explorer.image.value)
    assert len(images) == 20  # every move rendered a new face
    print(f"\nlatent explorer, DCGAN width 64, 256 px PNG, {torch.get_num_threads()} threads: "
          f"median {statistics.median(times):.1f} ms per slider move (max {max(times):.1f})")


# --- what a frontend receives (ipywidgets 7.7, as on Colab, and 8) ----------------------------
def test_displays_its_widget_tree(explorer, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_kw: shown.extend(objs))
    explorer._ipython_display_()
    assert shown == [explorer.widget]


def test_state_a_frontend_receives(explorer):
    """The serialised state of the whole tree (what ipywidgets sends, and embeds in a saved
    notebook): JSON-safe, the installed controls version, and the PNG as a binary buffer that
    follows the sliders."""
    import base64
    import json

    from ipywidgets import _version
    from ipywidgets.embed import dependency_state, embed_data

    def frontend_state():
        data = embed_data(views=[explorer.widget], state=dependency_state([explorer.widget]))
        json.dumps(data)
        return data["manager_state"]["state"]

    state = frontend_state()
    image = state[explorer.image.model_id]
    assert image["model_name"] == "ImageModel"
    assert image["model_module_version"] == _version.__jupyter_widgets_controls_version__
    (buffer,) = image["buffers"]
    assert buffer["path"] == ["value"]
    assert base64.b64decode(buffer["data"]) == explorer.image.value
    names = {model["model_name"] for model in state.values()}
    assert {"FloatSliderModel", "BoundedIntTextModel", "ButtonModel", "LabelModel",
            "VBoxModel", "HBoxModel"} <= names
    explorer.sliders[0].value = 1.0
    moved = frontend_state()[explorer.image.model_id]["buffers"][0]["data"]
    assert moved != buffer["data"]
    assert base64.b64decode(moved) == explorer.image.value
