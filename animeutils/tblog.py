"""TensorBoard event files for a run, in ``<run_dir>/tensorboard``: the same scalars as
``stats.jsonl``, the doctor's diagnoses as text, and the fixed-noise sample grid every epoch,
through PyTorch's own ``torch.utils.tensorboard``. The trainer calls it from its background
writer, so it costs the training loop nothing.

Open it in JupyterLab or Colab with ``%load_ext tensorboard`` then
``%tensorboard --logdir runs`` (every run), or ``tensorboard --logdir runs`` in a terminal.
"""

from __future__ import annotations

import struct
from pathlib import Path

# stats.jsonl key -> TensorBoard tag (the group before the slash is a section in the UI)
TAGS = {
    "loss_d": "loss/D", "loss_g": "loss/G", "r1": "loss/R1 penalty",
    "d_real": "D/D(x)", "d_fake": "D/D(G(z))", "d_acc": "D/accuracy",
    "swd": "quality/SWD", "swd_raw": "quality/SWD raw G",
    "diversity": "quality/diversity", "diversity_raw": "quality/diversity raw G",
    "images_per_s": "speed/images per s",
}


class TensorBoardLog:
    """Write rows and sample grids; ``purge_step`` drops events a resumed run will redo."""

    def __init__(self, folder: str | Path, purge_step: int | None = None):
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter

        self.Summary = Summary

        self.writer = SummaryWriter(str(folder), purge_step=purge_step)

    def row(self, row: dict) -> None:
        step = row["step"]
        for key, tag in TAGS.items():
            if key in row:
                self.writer.add_scalar(tag, row[key], step)
        if "diagnosis" in row:
            self.writer.add_text("doctor", f"**{row['diagnosis']}**: {row['message']}", step)

    def samples(self, png: bytes, step: int) -> None:
        """The epoch's sample grid, as the PNG bytes already written to ``samples/``: an image
        summary holds encoded PNG, so nothing is decoded or encoded again here."""
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        image = self.Summary.Image(height=height, width=width, colorspace=3,
                                   encoded_image_string=png)
        summary = self.Summary(value=[self.Summary.Value(tag="samples/fixed noise",
                                                         image=image)])
        self.writer._get_file_writer().add_summary(summary, step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_log(folder: str | Path, purge_step: int | None = None) -> TensorBoardLog | None:
    """A log, or None with one line when the ``tensorboard`` package is missing."""
    try:
        return TensorBoardLog(folder, purge_step)
    except ImportError:
        print("tensorboard is not installed (pip install tensorboard): no TensorBoard events "
              "for this run; stats.jsonl has the same numbers")
        return None
