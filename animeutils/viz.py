"""Pictures of image batches: grids as PIL images and small matplotlib galleries.

Accepts either (N, H, W, 3) uint8 images (the dataset's layout) or (N, 3, H, W) floats in
[-1, 1] (what the generator outputs), so the same call shows data and samples.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_uint8_nhwc(images) -> torch.Tensor:
    """Any supported batch -> (N, H, W, 3) uint8 on the CPU."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    x = x.detach().cpu()
    if x.dtype == torch.uint8:
        return x if x.shape[-1] == 3 else x.permute(0, 2, 3, 1)
    x = x.float()
    if x.shape[1] == 3 and x.shape[-1] != 3:
        x = x.permute(0, 2, 3, 1)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def grid(images, nrow: int = 8, padding: int = 2, pad_value: int = 255) -> Image.Image:
    """One PIL image with the batch laid out ``nrow`` per row."""
    x = to_uint8_nhwc(images)
    n, h, w, _ = x.shape
    ncol = min(nrow, max(n, 1))
    rows = -(-n // ncol) if n else 1
    canvas = np.full((rows * (h + padding) + padding, ncol * (w + padding) + padding, 3),
                     pad_value, np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        canvas[top : top + h, left : left + w] = x[i].numpy()
    return Image.fromarray(canvas)


def show(images, title: str | None = None, nrow: int = 8, scale: float = 1.0):
    """Show a grid inline (matplotlib); returns the figure."""
    import matplotlib.pyplot as plt

    img = grid(images, nrow)
    fig, ax = plt.subplots(figsize=(scale * img.width / 60, scale * img.height / 60))
    ax.imshow(img, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def gallery(images, captions: list[str], ncols: int = 8, title: str | None = None,
            size: float = 1.4):
    """Images with a caption under each (distances, scores, file names); returns the figure."""
    import matplotlib.pyplot as plt

    x = to_uint8_nhwc(images)
    n = max(len(x), 1)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 1.25 * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, img, cap in zip(axes.flat, x, captions):
        ax.imshow(img.numpy(), interpolation="nearest")
        ax.set_title(cap, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_maker(pyplot: bool = True):
    """``plt.figure`` (shown inline in a notebook), or with ``pyplot=False`` the plain ``Figure``
    class, for figures saved to files that never touch the current backend."""
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure
    from matplotlib.figure import Figure

    return Figure


def training_curves(stats: list[dict], pyplot: bool = True) -> dict:
    """Figures of a run's stats.jsonl rows: ``{"losses": fig, "d_outputs": fig}``.

    ``pyplot=False`` makes plain ``Figure`` objects (for saving to files) that never touch the
    current backend or the notebook's inline display."""
    new_figure = figure_maker(pyplot)
    evals = [r for r in stats if "swd" in r]
    stats = [r for r in stats if "loss_d" in r]  # training windows (evaluations are separate)
    seen = [r["images_seen"] for r in stats]
    figs = {}
    fig = new_figure(figsize=(7, 3))
    ax = fig.add_subplot()
    ax.plot(seen, [r["loss_d"] for r in stats], label="D loss")
    ax.plot(seen, [r["loss_g"] for r in stats], label="G loss")
    ax.set(xlabel="images seen", ylabel="BCE loss", title="losses")
    ax.legend()
    fig.tight_layout()
    figs["losses"] = fig
    fig = new_figure(figsize=(7, 3))
    ax = fig.add_subplot()
    ax.plot(seen, [r["d_real"] for r in stats], label="D(x): real")
    ax.plot(seen, [r["d_fake"] for r in stats], label="D(G(z)): fake")
    ax.plot(seen, [r["d_acc"] for r in stats], label="D accuracy", alpha=0.6)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="images seen", ylim=(0, 1), title="discriminator outputs")
    ax.legend()
    fig.tight_layout()
    figs["d_outputs"] = fig
    if evals:
        fig = new_figure(figsize=(7, 3))
        ax = fig.add_subplot()
        ax.plot([r["images_seen"] for r in evals], [r["swd"] for r in evals], "o-")
        ax.set(xlabel="images seen", ylabel="SWD x1e3 (lower is better)", title="sample quality")
        fig.tight_layout()
        figs["quality"] = fig
    return figs


def save_gif(images, path, size: int = 128, ms_per_frame: int = 80, boomerang: bool = True):
    """Write a batch as an animated GIF (nearest-upscaled to ``size``), forwards and back."""
    frames = [Image.fromarray(f.numpy()).resize((size, size), Image.Resampling.NEAREST)
              for f in to_uint8_nhwc(images)]
    if boomerang:
        frames += frames[-2:0:-1]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ms_per_frame, loop=0)
    return path
