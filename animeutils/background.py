"""Run-folder writes off the training thread: one worker thread, a bounded queue, jobs in order.

The training thread hands over what a write needs (a checkpoint already copied to host memory,
a sample grid as uint8, a stats row) and goes on training; the worker writes files in the order
they were submitted, so ``stats.jsonl`` rows and checkpoints land as a synchronous loop would
write them. At most one checkpoint is in flight: a second one waits for the first, so host
memory holds at most one snapshot. A failed write is kept and raised on the training thread at
the next :meth:`check`, :meth:`submit` or :meth:`close` as one :class:`WriteError` line; later
jobs are skipped, so nothing is written out of order after a failure. The atomic-rename
guarantee of :mod:`animeutils.atomic` is unchanged: a kill at any moment leaves the previous
complete file.

This follows what PyTorch's own ``torch.distributed.checkpoint.async_save`` does (stage to host
memory, then write in the background), for plain ``torch.save`` files.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import torch


class WriteError(RuntimeError):
    """A background write failed; the message names what and why."""


def to_host(obj):
    """A copy of ``obj`` (nested dicts, lists, tuples of tensors and plain values) whose tensors
    are new CPU tensors, so that training can go on changing the originals in place."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: to_host(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_host(v) for v in obj)
    return obj


class BackgroundWriter:
    """``writer.submit("what", fn, *args)``; ``writer.close()`` waits for everything."""

    def __init__(self, max_pending: int = 16):
        self._queue: queue.Queue = queue.Queue(max_pending)
        self._failure: tuple[str, BaseException] | None = None
        self._checkpoint_idle = threading.Event()
        self._checkpoint_idle.set()
        self._thread = threading.Thread(target=self._work, name="animeutils-writer",
                                        daemon=True)
        self._thread.start()
        self._closed = False

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            what, fn, args, is_checkpoint = item
            try:
                if self._failure is None:  # after a failure, write nothing out of order
                    fn(*args)
            except BaseException as e:  # handed over to the training thread
                self._failure = (what, e)
            finally:
                if is_checkpoint:
                    self._checkpoint_idle.set()
                self._queue.task_done()

    def check(self) -> None:
        """Raise the first failed write, if any, as one line."""
        if self._failure is not None:
            what, e = self._failure
            detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise WriteError(f"writing {what} failed in the background ({type(e).__name__}"
                             f"{': ' + detail if detail else ''}); the previous complete file "
                             "is kept") from e

    def submit(self, what: str, fn: Callable, *args) -> None:
        """Queue ``fn(*args)``; blocks while the queue is full (the writer is behind)."""
        self._check_open()
        self.check()
        self._queue.put((what, fn, args, False))

    def wait_for_checkpoint(self) -> None:
        """Block until no checkpoint job is queued or running."""
        self._checkpoint_idle.wait()

    def submit_checkpoint(self, what: str, fn: Callable, *args) -> None:
        """Like :meth:`submit`, after the previous checkpoint job has finished."""
        self._check_open()
        self._checkpoint_idle.wait()
        self.check()
        self._checkpoint_idle.clear()
        self._queue.put((what, fn, args, True))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the background writer is closed: nothing would write this")

    def wait(self) -> None:
        """Block until every queued job is done, then raise a failure if there was one."""
        self._queue.join()
        self.check()

    def close(self) -> None:
        """Finish every queued job and stop the thread (idempotent); raise a failure."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        self.check()
