"""Training statistics summed on the device, by name, and read with one host sync per window.

Reading a loss with ``.item()`` every step makes the host wait for the GPU each time; here each
step adds its values to running sums on the device and :meth:`Window.read` copies them all at
once. Names travel with the values (a dict, in one fixed order), so the sums cannot be matched
to the wrong name.
"""

from __future__ import annotations

import time

import torch


class Window:
    """Sums of named scalar tensors since the last :meth:`reset`, and the first bad step."""

    def __init__(self, device: torch.device, step: int = 0):
        self.device = device
        self.reset(step)

    def reset(self, step: int) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps, self.started = 0, time.perf_counter()
        self.step = torch.full((), step, dtype=torch.long, device=self.device)
        self.first_bad = torch.full((), -1, dtype=torch.long, device=self.device)

    def add(self, values: dict[str, torch.Tensor], check: tuple[str, ...] = ()) -> None:
        """Add one step's values (0-d tensors); the step counts as bad when a value named in
        ``check`` is NaN or infinite. No host sync."""
        with torch.no_grad():
            if not self.sums:
                self.sums = {k: torch.zeros((), device=self.device) for k in values}
            torch._foreach_add_(list(self.sums.values()), [values[k] for k in self.sums])
            self.step += 1
            if check:
                finite = torch.stack([torch.isfinite(values[k]) for k in check]).all()
                self.first_bad = torch.where(~finite & (self.first_bad < 0), self.step,
                                             self.first_bad)
        self.steps += 1

    def all_reduce_mean(self) -> None:
        """Average the sums over torchrun ranks (the first bad step: the earliest any rank saw)."""
        dist = torch.distributed
        packed = torch.stack(list(self.sums.values()))
        dist.all_reduce(packed)
        packed /= dist.get_world_size()
        self.sums = dict(zip(self.sums, packed.unbind()))
        never = torch.iinfo(self.first_bad.dtype).max
        bad = torch.where(self.first_bad < 0, never, self.first_bad)
        dist.all_reduce(bad, op=dist.ReduceOp.MIN)
        self.first_bad = torch.where(bad == never, -1, bad)

    def read(self) -> tuple[dict[str, float], int]:
        """({name: sum}, first bad step or -1), in one copy to the host."""
        names = list(self.sums)
        values = torch.stack([v.double() for v in (*self.sums.values(), self.first_bad)])
        *sums, first_bad = values.tolist()
        return dict(zip(names, sums)), int(first_bad)
