"""The run folder: everything a training run leaves behind, so runs describe themselves.

    <run_dir>/config.json        the TrainConfig plus the data actually used and the machine
    <run_dir>/data_manifest.json the content digest of every training image (folder data)
    <run_dir>/stats.jsonl        one JSON object per logging window
    <run_dir>/samples/epoch_0001.png, ...   grids from one fixed noise
    <run_dir>/progress.gif       those grids as an animation (one frame appended per epoch)
    <run_dir>/losses.png, d_outputs.png     curves drawn from stats.jsonl
    <run_dir>/checkpoints/last.pt (+ epoch_0005.pt, ...)
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

from PIL import Image

from . import atomic, gifappend, runtime, viz

RUNS_ENV = "ANIMEUTILS_RUNS"


def runs_root() -> Path:
    """``$ANIMEUTILS_RUNS``, else ``runs/`` at :func:`runtime.project_root` (the repository root
    when working in a clone, also from its ``notebooks/`` folder); always absolute."""
    if os.environ.get(RUNS_ENV):
        return runtime.anchored(os.environ[RUNS_ENV])
    return runtime.project_root().resolve() / "runs"


def latest_run(root: Path | None = None) -> Path | None:
    """The run folder under ``root`` whose last checkpoint was written most recently."""
    root = root or runs_root()
    found = sorted(root.glob("*/checkpoints/last.pt"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent.parent if found else None


def output_folder(run: str | os.PathLike) -> Path:
    """Where a notebook writes what it makes from ``run`` (a run folder, or a checkpoint file):
    that run's folder, else the runs folder; never beside the notebooks."""
    path = runtime.anchored(run)
    if path.is_file():
        parent = path.parent
        path = parent.parent if parent.name == "checkpoints" else parent
    if (path / "config.json").exists():
        return path
    return runs_root()


def resolve(run_dir: str | os.PathLike | None, resume: bool, arch: str) -> Path:
    """Pick the folder for a run; never silently reuse a folder that holds another run."""
    if run_dir is None:
        if resume and (last := latest_run()) is not None:
            return last
        return runs_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-{arch}"
    path = runtime.anchored(run_dir)
    if not resume and (path / "checkpoints" / "last.pt").exists():
        raise FileExistsError(
            f"run_dir {path} already holds a run: pass resume=True to continue it, "
            "or choose another run_dir"
        )
    return path


class RunDir:
    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"
        self.stats_path = self.path / "stats.jsonl"
        for folder in (self.samples, self.checkpoints) if create else ():
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.pt"

    def write_config(self, record: dict) -> None:
        atomic.write_text(self.path / "config.json", json.dumps(record, indent=1, default=str))

    def write_manifest(self, manifest: dict[str, str]) -> None:
        """data_manifest.json: the content digest of every training image (folder data), so
        that a refused resume can say which files changed."""
        if manifest:
            atomic.write_text(self.path / "data_manifest.json", json.dumps(manifest))

    def read_manifest(self) -> dict[str, str] | None:
        path = self.path / "data_manifest.json"
        return json.loads(path.read_text()) if path.exists() else None

    def add_timing(self, entry: dict) -> None:
        """Append one training session's wall-clock account to config.json's ``timing``."""
        record = json.loads((self.path / "config.json").read_text())
        record["timing"] = [*record.get("timing", []), entry]
        self.write_config(record)

    def append_stats(self, row: dict) -> None:
        with open(self.stats_path, "a") as fh:
            fh.write(json.dumps(row) + "\n")

    def truncate_stats(self, step: int) -> None:
        """Drop rows logged after ``step`` (written after the checkpoint a resume starts from)."""
        rows = [r for r in read_stats(self.path) if r["step"] <= step]
        atomic.write_text(self.stats_path, "".join(json.dumps(r) + "\n" for r in rows))

    @property
    def gif(self) -> Path:
        return self.path / "progress.gif"

    def start_fresh(self) -> None:
        """Clear what an earlier attempt left before its first checkpoint (stats, samples,
        TensorBoard events)."""
        self.stats_path.unlink(missing_ok=True)
        self.gif.unlink(missing_ok=True)
        shutil.rmtree(self.path / "tensorboard", ignore_errors=True)
        for old in self.samples.glob("epoch_*.png"):
            old.unlink()

    def remove_temporary_files(self) -> None:
        """Half-written files a killed writer left (atomic writes never replaced a real one)."""
        for folder in (self.path, self.checkpoints):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    def resume_samples(self, epochs_done: int) -> None:
        """Before resuming after ``epochs_done`` epochs: drop grids of later (redone or
        partial) epochs, and rebuild the GIF once from those kept."""
        for old in self.samples.glob("epoch_*.png"):
            if int(old.stem.split("_")[1]) > epochs_done:
                old.unlink()
        self.make_gif()

    def save_samples(self, images, epoch: int, ms_per_frame: int = 400) -> tuple[Path, bytes]:
        """The epoch's grid as samples/epoch_NNNN.png, and as the GIF's next frame; returns
        the path and the PNG's bytes (TensorBoard shows the same file, encoded once)."""
        path = self.samples / f"epoch_{epoch:04d}.png"
        picture, buf = viz.grid(images, nrow=8), io.BytesIO()
        picture.save(buf, format="PNG")
        png = buf.getvalue()
        atomic.write(path, lambda fh: fh.write(png))
        gifappend.append_frame(self.gif, picture, ms_per_frame)
        return path, png

    def make_gif(self, ms_per_frame: int = 400) -> Path | None:
        """Rebuild the GIF from every saved grid (on resume; each epoch appends one frame)."""
        frames = [gifappend.paletted(Image.open(p))
                  for p in sorted(self.samples.glob("epoch_*.png"))]
        self.gif.unlink(missing_ok=True)
        if not frames:
            return None
        frames[0].save(self.gif, save_all=True, append_images=frames[1:],
                       duration=ms_per_frame, loop=0)
        return self.gif

    def plot_curves(self) -> None:
        stats = read_stats(self.path)
        if stats:
            for name, fig in viz.training_curves(stats, pyplot=False).items():
                fig.savefig(self.path / f"{name}.png", dpi=100)


def read_stats(run_dir: str | Path) -> list[dict]:
    """The rows of a run's stats.jsonl; a last line still being written is left out."""
    path = Path(run_dir) / "stats.jsonl"
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines = lines[:-1]  # a row another process is appending right now
    return [json.loads(line) for line in lines if line.strip()]
