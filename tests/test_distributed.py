"""torchrun/DDP on the CPU with the gloo backend: two processes, tiny models, a few steps."""

import json
import os
import subprocess
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from animeutils import train
from animeutils.config import TrainConfig

# Tiny widths and 256 faces: 8 steps per epoch per rank at batch 16 on 2 ranks.
CFG = dict(data="synthetic", max_images=256, g_features=8, d_features=8, batch_size=16,
           epochs=2, log_every=4, num_samples=8)


def _rank_main(rank, world, tmp, env):
    os.environ.update(env)
    torch.set_num_threads(1)  # two processes on two cores
    dist.init_process_group("gloo", init_method=f"file://{tmp}/../rendezvous", rank=rank,
                            world_size=world)
    try:
        trainer = train.Trainer(TrainConfig(**CFG, run_dir=f"{tmp}/run"), progress=False)
        trainer.fit()
        seen = [trainer.batches.order(e)[0][: len(trainer.batches) * 16].tolist()
                for e in range(CFG["epochs"])]
        params = {k: v.detach().clone() for k, v in trainer.G.named_parameters()}
        params.update({f"D.{k}": v.detach().clone() for k, v in trainer.D.named_parameters()})
        torch.save({"seen": seen, "params": params, "step": trainer.step}, f"{tmp}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_ranks_share_the_work_and_one_process_resumes(tmp_path):
    tmp_path = tmp_path / "work"  # the rendezvous file lives beside it
    tmp_path.mkdir()
    env = {k: os.environ[k] for k in ("ANIMEUTILS_CACHE", "KAGGLEHUB_CACHE")}
    mp.spawn(_rank_main, args=(2, str(tmp_path), env), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))

    for epoch in range(CFG["epochs"]):  # disjoint shards of every epoch
        shard0, shard1 = set(r0["seen"][epoch]), set(r1["seen"][epoch])
        assert len(shard0) == len(shard1) == 128 and not shard0 & shard1
    assert r0["params"].keys() == r1["params"].keys()
    for name, value in r0["params"].items():  # DDP kept the weights identical
        assert torch.equal(value, r1["params"][name]), name

    run = tmp_path / "run"
    rows = train.runlog.read_stats(run)
    assert [r["step"] for r in rows] == [4, 8, 12, 16]  # rank 0 alone wrote, once per window
    assert rows[-1]["images_seen"] == 16 * 16 * 2
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png",
                                                                  "epoch_0002.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.pt", "rank1.pt", "run"]

    # The 2-rank checkpoint resumes in one process, from the same step and epoch.
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == r0["step"] == 16 and state["world_size"] == 2
    cfg = TrainConfig(**{**CFG, "epochs": 3}, run_dir=str(run), resume=True)
    trainer = train.Trainer(cfg, progress=False)
    assert (trainer.step, trainer.epoch, trainer.batch) == (16, 2, 0)
    for name, value in trainer.G.named_parameters():
        assert torch.equal(value, r0["params"][name])
    result = trainer.fit()
    assert result.step == 16 + 16 and result.epoch == 3  # one process: 16 steps per epoch
    assert [r["step"] for r in train.runlog.read_stats(run)][4:] == [20, 24, 28, 32]


def test_torchrun_launches_the_command_line_entry(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "animeutils.train", "--data", "synthetic", "--max-images", "256",
           "--g-features", "8", "--d-features", "8", "--batch-size", "16", "--epochs", "1",
           "--run-dir", str(run), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("run folder:") == 1  # rank 0 reports, rank 1 stays quiet
    record = json.loads((run / "config.json").read_text())
    assert record["world_size"] == 2 and "global batch is 32" in record["batch_semantics"]
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"] == 8
