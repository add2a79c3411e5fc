"""A live latent-space explorer for notebooks: sliders along GANSpace directions, a seed, the
truncation trick, and one face re-rendered on every change.

    from animeutils import generate, widgets
    generator, cfg = generate.load_generator("runs/demo")
    explorer = widgets.LatentExplorer(generator, cfg.latent_dim)
    explorer.widget  # display it

The face is z = truncate(noise(seed), psi) + Σ_i slider_i · direction_i (directions from
:mod:`animeutils.ganspace`, unit length, so a slider of 1 is one standard deviation of z along
it). Each change runs the generator once on one latent (eval mode, ``torch.inference_mode``) and
sends a nearest-upscaled PNG: a few tens of milliseconds on a CPU for the 64-wide DCGAN. Only
widgets that ipywidgets 7.7 (Colab) already has are used.

ipywidgets 7.7 (what Colab ships) and 8 run the same code, no version branches. Checked with
ipywidgets 7.7.5 in a scratch virtualenv (not in CI), from the repository root::

    python3 -m venv /tmp/ipw7venv
    /tmp/ipw7venv/bin/pip install -r requirements.txt 'ipywidgets==7.7.5' -e .
    /tmp/ipw7venv/bin/python -m pytest tests/test_widgets.py             # 18 passed
    ANIMEUTILS_QUICK=1 ANIMEUTILS_RUNS=$(mktemp -d) /tmp/ipw7venv/bin/python -m pytest \\
        --nbval-lax --nbval-current-env notebooks/05_evaluate.ipynb        # 10 passed

(tests/test_widgets.py includes the serialised state a frontend receives, whose controls
version is 1.5.0 on 7.7.5 and 2.0.0 on 8.) In a browser too: a venv with ipywidgets 7.7.5,
``jupyterlab>=3.6,<4`` (3.6.8; jupyterlab_widgets 1.1.11), torch, torchvision, ipykernel,
playwright and ``-e .`` ran ``tests/browser/notebook05_sliders.py``: the slider moved and the
face changed. Nothing needed changing for 7.7.5.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Mapping

import ipywidgets as widgets
import torch
from PIL import Image
from torch import nn

from . import ganspace, latent, viz
from .sampling import sample

SLIDER_RANGE = 3.0  # ± this many standard deviations of z along each direction


class LatentExplorer:
    """Sliders, seed, truncation (and a generator toggle) around one rendered face.

    ``generator`` is a module, or a mapping of names to modules (e.g. ``{"EMA": g_ema, "raw":
    g}``) to get a toggle between them. ``directions`` is a (k, latent_dim) tensor or
    ``ganspace.principal_directions``' dict; by default it is computed from the first generator.
    ``scale`` is the nearest-neighbour upscaling of the shown image (64 px -> 256 px).
    """

    def __init__(self, generator: nn.Module | Mapping[str, nn.Module], latent_dim: int,
                 directions=None, *, num_sliders: int = 6, scale: int = 4, seed: int = 0,
                 truncation: float = 1.0):
        self.generators = dict(generator) if isinstance(generator, Mapping) else {"G": generator}
        if not self.generators:
            raise ValueError("pass a generator or a non-empty mapping of them")
        first = next(iter(self.generators.values()))
        self.latent_dim, self.scale = latent_dim, scale
        if directions is None:
            directions = ganspace.principal_directions(first, latent_dim,
                                                       num_components=num_sliders)
        explained = None
        if isinstance(directions, Mapping):
            explained = directions.get("explained_variance")
            directions = directions["directions"]
        self.directions = torch.as_tensor(directions, dtype=torch.float32)[:num_sliders]
        if self.directions.dim() != 2 or self.directions.shape[1] != latent_dim:
            raise ValueError(f"directions must be (k, {latent_dim}), got "
                             f"{tuple(self.directions.shape)}")
        self._holding = False
        self._base_key, self._base = None, None
        self.last_ms = float("nan")

        self.sliders = [
            widgets.FloatSlider(value=0.0, min=-SLIDER_RANGE, max=SLIDER_RANGE, step=0.1,
                                description=f"PC{i}" + (f" {100 * float(explained[i]):.0f}%"
                                                        if explained is not None else ""),
                                continuous_update=True, readout_format=".1f")
            for i in range(len(self.directions))
        ]
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.truncation = widgets.FloatSlider(value=truncation, min=0.0, max=1.0, step=0.05,
                                              description="truncation ψ", readout_format=".2f")
        self.toggle = widgets.ToggleButtons(options=list(self.generators),
                                            description="weights")
        self.reset = widgets.Button(description="reset sliders")
        self.reset.on_click(lambda _button: self.reset_sliders())
        self.status = widgets.Label()
        self.image = widgets.Image(value=b"", format="png")
        for control in (*self.sliders, self.seed, self.truncation, self.toggle):
            control.observe(self._on_change, names="value")

        controls = [self.seed, self.truncation]
        if len(self.generators) > 1:
            controls.append(self.toggle)
        self.widget = widgets.VBox([widgets.HBox([
            widgets.VBox([self.image, self.status]),
            widgets.VBox([*controls, *self.sliders, self.reset],
                         layout=widgets.Layout(margin="0 0 0 1em")),
        ])])
        self.update()

    @property
    def generator(self) -> nn.Module:
        """The generator the toggle selects."""
        return self.generators[self.toggle.value]

    def z(self) -> torch.Tensor:
        """(latent_dim,) the current latent: truncated seeded noise plus the slider offsets."""
        key = (self.seed.value, self.truncation.value)
        if key != self._base_key:  # the seed's noise is drawn once, not on every slider move
            self._base = latent.truncate(latent.noise(1, self.latent_dim, key[0])[0], key[1])
            self._base_key = key
        offsets = torch.tensor([s.value for s in self.sliders], dtype=torch.float32)
        return self._base + offsets @ self.directions

    def render(self) -> bytes:
        """PNG bytes of the current face, upscaled ``scale`` times (nearest neighbour)."""
        generator = self.generator
        device = next(generator.parameters()).device
        image = sample(generator, self.z()[None].to(device))  # eval mode: one image, no batch
        pixels = viz.to_uint8_nhwc(image)[0].numpy()
        picture = Image.fromarray(pixels)
        if self.scale != 1:
            picture = picture.resize((picture.width * self.scale, picture.height * self.scale),
                                     Image.NEAREST)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=1)  # speed over size: sent per move
        return buffer.getvalue()

    def update(self) -> None:
        """Re-render into ``self.image`` and report the time taken."""
        start = time.perf_counter()
        self.image.value = self.render()
        self.last_ms = 1000 * (time.perf_counter() - start)
        self.status.value = f"{self.last_ms:.0f} ms"

    @contextlib.contextmanager
    def hold(self):
        """Change several controls with one render at the end."""
        self._holding = True
        try:
            yield self
        finally:
            self._holding = False
        self.update()

    def reset_sliders(self) -> None:
        with self.hold():
            for slider in self.sliders:
                slider.value = 0.0

    def _on_change(self, _change) -> None:
        if not self._holding:
            self.update()

    def _ipython_display_(self):  # ipywidgets 7 and 8 both display a widget through this
        from IPython.display import display

        display(self.widget)
