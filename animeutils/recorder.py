"""Everything a training run writes while it trains, handed to one background writer: stats
rows (to ``stats.jsonl`` and TensorBoard), sample grids (PNG, the GIF's next frame, TensorBoard),
checkpoints (host copies, at most one in flight) and curves (at most every ``curves_seconds``).

The trainer calls it on rank 0 between steps; nothing here waits for a disk unless the writer
is behind (its queue is bounded). :meth:`close` finishes every write and raises the first
failure as one line (:class:`animeutils.background.WriteError`).

The writer thread does no torch arithmetic: a grid is turned into uint8 here, on the training
thread, and the writer only encodes (Pillow), pickles (``torch.save`` of host copies) and writes.
With PyTorch's OpenMP backend, a thread that runs one parallel op keeps a team of
``torch.get_num_threads()`` threads alive; once threads outnumber cores, libgomp's idle workers
sleep instead of spinning between parallel regions, and every op of the training thread pays a
wake-up. On 2 cores that made every step after the first grid 10-15 % slower for the rest of the
run (``docs/benchmarks.md``). ``tests/test_recorder.py`` checks which ops the jobs run.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from . import background, checkpoint, runlog, tblog, viz


def write_checkpoint(state: dict, paths: list[Path]) -> None:
    """Write ``state`` to every path, the first one (``last.pt``, what resume reads) last: a
    kill in between leaves a run that resumes from before this checkpoint and writes the
    others again, never a ``last.pt`` whose kept copy or ``best.pt`` is missing."""
    for path in [*paths[1:], paths[0]]:
        checkpoint.save(state, path)


class Recorder:
    def __init__(self, run: runlog.RunDir, *, tensorboard: bool, resumed_step: int = 0,
                 curves_seconds: float = 60.0):
        self.run, self.curves_seconds = run, curves_seconds
        self.writer = background.BackgroundWriter()
        # On resume, events after the checkpoint's step are dropped (stats.jsonl keeps it).
        self.tb = (tblog.open_log(run.path / "tensorboard",
                                  purge_step=resumed_step + 1 if resumed_step else None)
                   if tensorboard else None)
        self.last_curves = time.monotonic()

    def row(self, row: dict) -> None:
        self.writer.submit("stats.jsonl", self._row, row)

    def _row(self, row: dict) -> None:
        self.run.append_stats(row)
        if self.tb is not None:
            self.tb.row(row)

    def samples(self, grid: torch.Tensor, epoch: int, step: int) -> None:
        """``grid``: (N, 3, H, W) in [-1, 1] on the CPU, drawn on the training thread; made
        uint8 here, on the same thread (see the module docstring)."""
        images = viz.to_uint8_nhwc(grid)
        self.writer.submit(f"samples/epoch_{epoch:04d}.png", self._samples, images, epoch, step)

    def _samples(self, grid: torch.Tensor, epoch: int, step: int) -> None:
        _path, png = self.run.save_samples(grid, epoch)
        if self.tb is not None:
            self.tb.samples(png, step)

    def checkpoint(self, state: dict, paths: list[Path]) -> None:
        """Copy ``state`` to host memory now; write it to ``paths`` in the background, after
        everything queued before it (stats rows, the epoch's grid, TensorBoard events), so
        that a resumed run finds the outputs of every step its checkpoint contains."""
        if self.tb is not None:
            self.writer.submit("tensorboard", self.tb.flush)
        self.writer.wait_for_checkpoint()  # at most one snapshot in host memory
        self.writer.submit_checkpoint(f"checkpoint {paths[0]}", write_checkpoint,
                                      background.to_host(state), paths)

    def curves(self, force: bool = False) -> None:
        if force or time.monotonic() - self.last_curves >= self.curves_seconds:
            self.writer.submit("curves", self.run.plot_curves)
            self.last_curves = time.monotonic()

    def check(self) -> None:
        self.writer.check()

    def wait(self) -> None:
        self.writer.wait()

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            if self.tb is not None:
                self.tb.close()
                self.tb = None
