"""Running the same training on several processes with PyTorch's own engine (torchrun + DDP).

``torchrun`` starts one process per GPU (or per CPU slot with the gloo backend) and sets
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`init_from_env` joins the process group from
them. Everything else asks :func:`rank_and_world` and works unchanged in a single process.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


@contextlib.contextmanager
def init_from_env(device: str = "auto"):
    """Join the torchrun process group for the duration of the block (no-op when not launched
    by torchrun): NCCL when this process trains on a GPU, gloo otherwise."""
    if not launched_by_torchrun() or dist.is_initialized():
        yield
        return
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def broadcast_object(obj, src: int = 0):
    """``obj`` from rank ``src`` on every rank (identity in a single process)."""
    if rank_and_world()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj) -> list:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` in a single process)."""
    world = rank_and_world()[1]
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()
