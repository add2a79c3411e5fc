"""What the background writer's jobs compute: nothing in torch (see animeutils.recorder).

A torch op on the writer thread would give that thread an OpenMP team of its own, which slows
every op of the training thread on a machine with few cores; so the grid is made uint8 on the
training thread and the jobs only encode, pickle and write. TorchDispatchMode is per thread, so
the test runs the jobs exactly as submitted, on its own thread, and records their aten ops.
"""

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from animeutils import recorder, runlog

# Ops that read or re-view a tensor without computing anything (indexing a grid's images).
NON_COMPUTING = {"aten.detach.default", "aten.select.int", "aten.permute.default",
                 "aten.alias.default", "aten.view.default"}


class RecordOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(str(func))
        return func(*args, **(kwargs or {}))


def test_writer_jobs_run_no_torch_arithmetic(tmp_path, monkeypatch):
    run = runlog.RunDir(tmp_path / "run", create=True)
    out = recorder.Recorder(run, tensorboard=True)
    jobs = []
    monkeypatch.setattr(out.writer, "submit", lambda what, fn, *args: jobs.append((fn, args)))
    monkeypatch.setattr(out.writer, "submit_checkpoint",
                        lambda what, fn, *args: jobs.append((fn, args)))
    grid = torch.rand(16, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out.row({"step": 10, "epoch": 0.5, "images_seen": 640, "loss_d": 1.0, "loss_g": 2.0,
             "d_real": 0.6, "d_fake": 0.4, "d_acc": 0.7})
    out.samples(grid, 1, 10)
    out.samples(grid.flip(0), 2, 20)  # the GIF's second frame is appended
    out.checkpoint({"weights": torch.randn(8, 8), "step": 20}, [run.last_checkpoint])
    out.curves(force=True)
    try:
        with RecordOps() as recorded:
            for fn, args in jobs:
                fn(*args)
    finally:
        out.close()
    assert len(jobs) >= 6  # row, two grids, TensorBoard flush, checkpoint, curves
    assert recorded.ops <= NON_COMPUTING, recorded.ops - NON_COMPUTING
    assert (run.samples / "epoch_0002.png").exists() and run.last_checkpoint.exists()
