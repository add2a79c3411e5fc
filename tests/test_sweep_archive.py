"""tools/sweep_archive.py: a sweep's finished runs kept in a committed folder and restored where
they ran, so that the sweep skips them; unfinished runs are left out."""

import json

import pytest

from .conftest import load_tool

sweep_archive = load_tool("sweep_archive")


def make_run(sweep_dir, setting, seed, status):
    run = sweep_dir / setting / f"seed{seed}"
    (run / "samples").mkdir(parents=True)
    for name in ("config.json", "stats.jsonl", "sweep_params.json"):
        (run / name).write_text(f"{setting} {seed} {name}\n")
    for epoch in (1, 2):
        (run / "samples" / f"epoch_{epoch:04d}.png").write_bytes(b"png%d" % epoch)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.pt").write_bytes(b"big")
    if status:
        (run / "sweep.json").write_text(json.dumps(
            {"status": status, "params": {"run_dir": str(run), "seed": seed}}))
    return run


def test_pack_keeps_finished_runs_and_unpack_restores_them_where_they_ran(tmp_path, capsys):
    sweep_dir = tmp_path / "runs" / "labels"
    make_run(sweep_dir, "hard", 0, "finished")
    make_run(sweep_dir, "hard", 1, "finished")
    make_run(sweep_dir, "real0.9", 0, "failed")
    make_run(sweep_dir, "real0.9", 1, None)  # still training
    kept = tmp_path / "kept"
    sweep_archive.pack(sweep_dir, kept)
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == [
        "hard/seed0/config.json", "hard/seed0/samples/epoch_0002.png", "hard/seed0/stats.jsonl",
        "hard/seed0/sweep.json", "hard/seed0/sweep_params.json",
        "hard/seed1/config.json", "hard/seed1/stats.jsonl", "hard/seed1/sweep.json",
        "hard/seed1/sweep_params.json"]
    packed = [p.relative_to(kept) for p in kept.rglob("*") if p.is_file()]
    original = {p: (sweep_dir / p).read_bytes() for p in packed}
    (tmp_path / "runs").rename(tmp_path / "gone")  # a new machine: runs/ is not there
    sweep_archive.unpack(kept, sweep_dir)
    assert {p: (sweep_dir / p).read_bytes() for p in original} == original
    assert not (sweep_dir / "real0.9").exists()
    assert "2 finished run(s) restored" in capsys.readouterr().out


def test_unpack_refuses_a_folder_the_runs_did_not_run_in(tmp_path):
    make_run(tmp_path / "runs", "hard", 0, "finished")
    sweep_archive.pack(tmp_path / "runs", tmp_path / "kept")
    with pytest.raises(SystemExit, match="ran in .*runs/hard/seed0, not .*elsewhere/hard/seed0"):
        sweep_archive.unpack(tmp_path / "kept", tmp_path / "elsewhere")
