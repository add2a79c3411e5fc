"""The training engine: labels, config checks, checkpoints, exact resume, NaN guard, learning.

Tiny models (width 8) and a few hundred synthetic faces keep every run to seconds on a CPU.
"""

import dataclasses
import io
import json
import os

import pytest
import torch
from PIL import Image

from animeutils import checkpoint, data, labels, train
from animeutils.config import TrainConfig

DETERMINISTIC = ("step", "epoch", "images_seen", "loss_d", "loss_g", "d_real", "d_fake", "d_acc")


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # module scope: its own private cache
        mp.setenv("ANIMEUTILS_CACHE", str(tmp_path_factory.mktemp("faces-cache")))
        return data.load_dataset("synthetic", 64, max_images=256, progress=False, verbose=False)


def tiny(tmp_path, **overrides):
    base = dict(data="synthetic", max_images=256, g_features=8, d_features=8, batch_size=32,
                epochs=2, log_every=3, run_dir=str(tmp_path / "run"), num_samples=16)
    return TrainConfig(**{**base, **overrides})


# --- labels ------------------------------------------------------------------------------------
def test_label_targets_for_each_option():
    g = torch.Generator().manual_seed(0)
    assert labels.targets(4, 1.0, 0.0).tolist() == [1.0] * 4
    assert torch.allclose(labels.targets(4, 0.9, 0.0), torch.full((4,), 0.9))
    noisy = labels.targets(10_000, 0.9, 0.0, noise=0.2, generator=g)
    assert 0.8 <= noisy.min() < 0.81 and 0.99 < noisy.max() <= 1.0  # 0.9 +- 0.1, clipped at 1
    assert abs(noisy.mean().item() - 0.9) < 0.01
    flipped = labels.targets(10_000, 1.0, 0.1, flip_prob=0.05, generator=g)
    assert flipped.unique().tolist() == pytest.approx([0.1, 1.0])
    assert 0.04 < (flipped < 0.5).float().mean().item() < 0.06


# --- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("real_label", 1.2), ("fake_label", -0.1), ("label_noise", 0.7), ("flip_prob", 0.5),
    ("image_size", 96), ("arch", "stylegan"), ("batch_size", 0), ("lr_g", 0.0), ("ema", 1.0),
    ("max_steps", 0), ("d_steps", 0), ("device", "gpu"), ("cuda_graphs", True),
    ("data_identity", "e797"), ("data_identity", "e797ba4g"),
])
def test_config_rejects_out_of_range_values_by_name(field, value):
    with pytest.raises(ValueError, match=f"^{field}="):
        dataclasses.replace(TrainConfig(), **{field: value}).validate()


def test_config_rejects_inverted_labels_and_unknown_keys():
    with pytest.raises(ValueError, match="real_label"):
        TrainConfig(real_label=0.1, fake_label=0.9).validate()
    with pytest.raises(ValueError, match="unknown config field.*epoch"):
        TrainConfig.from_dict({"epoch": 3})


# --- checkpoints -------------------------------------------------------------------------------
def test_checkpoint_round_trip_is_weights_only_safe(tmp_path):
    state = {"w": torch.randn(3), "step": 7, "config": {"a": None, "b": "x"}}
    path = checkpoint.save(state, tmp_path / "c.pt")
    back = torch.load(path, weights_only=True)
    assert torch.equal(back["w"], state["w"]) and back["step"] == 7 and back["config"]["a"] is None


def test_a_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = checkpoint.save({"step": 1}, tmp_path / "last.pt")

    def dies_halfway(obj, fh, *a, **k):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save({"step": 2}, path)
    monkeypatch.undo()
    assert checkpoint.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind


def test_atomically_written_files_follow_the_umask(tmp_path):
    from animeutils import atomic

    old = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "results.csv", "a,b\n")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


def test_unreadable_checkpoints_are_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        checkpoint.load(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "bad.pt")


# --- runs --------------------------------------------------------------------------------------
def test_a_run_leaves_a_complete_self_describing_folder(tmp_path, faces):
    result = train.train(tiny(tmp_path), faces, progress=False)
    run = result.run_dir
    record = json.loads((run / "config.json").read_text())
    assert record["data_used"]["source"] == "synthetic" and record["config"]["g_features"] == 8
    # what a CPU run's exact numbers depend on, besides the config and the data
    assert record["cpu"]["threads"] == torch.get_num_threads() and record["cpu"]["capability"] \
        == torch.backends.cpu.get_cpu_capability() and record["cpu"]["model"]
    assert result.step == 16 and result.epoch == 2 and result.finished
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6, 8, 9, 12, 15, 16]  # every 3 steps + epoch ends
    assert all(0 < r["d_real"] < 1 and r["images_per_s"] > 0 for r in rows)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png",
                                                                  "epoch_0002.png"]
    for name in ("progress.gif", "losses.png", "d_outputs.png", "checkpoints/last.pt"):
        assert (run / name).stat().st_size > 0
    assert Image.open(run / "progress.gif").n_frames == 2  # one frame appended per epoch
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 16 and {"generator", "discriminator", "opt_g", "opt_d", "rng"} <= set(
        state)


# Option sets that change the arithmetic: each must resume bit for bit.
OPTIONS = {
    "labels, EMA, flips, dropout": dict(ema=0.9, label_noise=0.1, flip_prob=0.05, hflip=True,
                                        d_mid_dropout=0.2),
    "DiffAugment + R1": dict(augment="color,translation,cutout", r1_gamma=0.5, r1_every=2),
    "hinge + DiffAugment": dict(loss="hinge", augment="translation,cutout"),
    "recipe stable, d_steps 2": dict(recipe="stable", d_steps=2),
}


def rows(run):
    return [{k: r[k] for k in DETERMINISTIC} for r in train.runlog.read_stats(run)
            if "loss_d" in r]


def assert_same_run(a, b):
    assert rows(a.run_dir) == rows(b.run_dir)
    for x, y in zip(a.generator.state_dict().values(), b.generator.state_dict().values()):
        assert torch.equal(x, y)


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_resumed_run_reproduces_the_uninterrupted_one(tmp_path, faces, options):
    straight = train.train(tiny(tmp_path / "a", epochs=3, **options), faces, progress=False)
    cfg = tiny(tmp_path / "b", epochs=3, **options)
    first = train.train(dataclasses.replace(cfg, max_steps=12), faces, progress=False)
    assert first.step == 12 and first.epoch == 1  # stopped mid-epoch 2
    # A crash after the checkpoint: stats rows beyond it must be dropped on resume.
    with open(first.run_dir / "stats.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 13, "loss_d": 99}) + "\n")
    resumed = train.train(dataclasses.replace(cfg, resume=True), faces, progress=False)
    assert resumed.step == straight.step == 24
    assert_same_run(resumed, straight)
    frames = Image.open(resumed.run_dir / "progress.gif").n_frames
    assert frames == 3  # one per epoch: the partial epoch 2's grid was not kept twice


def test_a_crash_after_a_mid_epoch_checkpoint_resumes_exactly(tmp_path, faces):
    """checkpoint_minutes: last.pt also inside an epoch, where a logging window ends."""
    straight = train.train(tiny(tmp_path / "a", epochs=3), faces, progress=False)
    cfg = tiny(tmp_path / "b", epochs=3, checkpoint_minutes=1e-9)  # at every window end
    trainer = train.Trainer(cfg, faces, progress=False)
    original = trainer.train_step

    def crashes(real):
        if trainer.step == 13:
            raise RuntimeError("the machine went away")
        return original(real)

    trainer.train_step = crashes
    with pytest.raises(RuntimeError, match="went away"):
        trainer.fit()
    saved = checkpoint.load(trainer.run.last_checkpoint)
    assert (saved["step"], saved["epoch"], saved["batch"]) == (12, 1, 4)  # mid-epoch 2
    resumed = train.train(dataclasses.replace(cfg, resume=True), faces, progress=False)
    assert_same_run(resumed, straight)


CHILD = """
import pathlib, sys, time
import torch
from animeutils import atomic, checkpoint, train
from animeutils.config import TrainConfig

flag, run_dir = pathlib.Path(sys.argv[1]), sys.argv[2]
save = checkpoint.save

def slow_save(state, path):
    if state["step"] == 12 and path.name == "last.pt":  # this write is killed half-way
        def half_then_hang(fh):
            fh.write(b"half a checkpoint")
            fh.flush()
            flag.write_text(str(state["step"]))
            time.sleep(120)
        return atomic.write(path, half_then_hang)
    return save(state, path)

checkpoint.save = slow_save
cfg = TrainConfig(data="synthetic", max_images=256, g_features=8, d_features=8, batch_size=32,
                  epochs=3, log_every=3, run_dir=run_dir, num_samples=16, checkpoint_minutes=1e-9,
                  recipe="stable")
train.train(cfg, progress=False)
"""


def test_a_kill_during_a_background_checkpoint_write_keeps_the_last_one_and_resumes(
        tmp_path, faces):
    import signal
    import subprocess
    import sys
    import time

    flag, run_dir = tmp_path / "writing", tmp_path / "b" / "run"  # as tiny(tmp_path / "b")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(flag), str(run_dir)])
    try:
        deadline = time.monotonic() + 240
        while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the child never reached the slow checkpoint write"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert checkpoint.load(run_dir / "checkpoints" / "last.pt")["step"] == 9  # the one before
    assert list((run_dir / "checkpoints").glob(".*.tmp"))  # the half-written file, abandoned
    cfg = tiny(tmp_path / "b", epochs=3, checkpoint_minutes=1e-9, recipe="stable",
               resume=True)
    resumed = train.train(cfg, faces, progress=False)
    assert resumed.run_dir == run_dir and [r["step"] for r in resumed.stats][:3] == [3, 6, 8]
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))  # cleaned up on resume
    straight = train.train(tiny(tmp_path / "a", epochs=3, recipe="stable"), faces,
                           progress=False)
    assert_same_run(resumed, straight)


def test_a_failed_background_write_stops_the_run_in_one_line(tmp_path, faces, monkeypatch):
    save = checkpoint.save

    def disk_full(state, path):
        if state["step"] > 8:
            raise OSError(28, "No space left on device")
        return save(state, path)

    monkeypatch.setattr(checkpoint, "save", disk_full)
    with pytest.raises(train.background.WriteError) as err:
        train.train(tiny(tmp_path, epochs=3), faces, progress=False)
    message = str(err.value)
    assert "\n" not in message and "No space left on device" in message
    assert message.startswith("writing checkpoint") and "previous complete file is kept" in message
    monkeypatch.undo()
    assert checkpoint.load(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 8


def test_existing_runs_are_never_overwritten_or_resumed_with_another_config(tmp_path, faces):
    train.train(tiny(tmp_path, epochs=1), faces, progress=False)
    with pytest.raises(FileExistsError, match="resume=True"):
        train.Trainer(tiny(tmp_path, epochs=1), faces, progress=False)
    with pytest.raises(ValueError, match="lr_d"):
        train.Trainer(tiny(tmp_path, epochs=1, lr_d=1e-3, resume=True), faces, progress=False)


def test_a_fresh_start_clears_what_an_unfinished_attempt_left(tmp_path, faces):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "samples" / "epoch_0007.png").write_bytes(b"old")
    (run / "stats.jsonl").write_text(json.dumps({"step": 99}) + "\n")
    (run / "tensorboard").mkdir()
    (run / "tensorboard" / "events.out.tfevents.old").write_bytes(b"old")
    result = train.train(tiny(tmp_path, epochs=1), faces, progress=False)
    assert [r["step"] for r in result.stats] == [3, 6, 8]
    assert [p.name for p in (run / "samples").iterdir()] == ["epoch_0001.png"]
    assert not (run / "tensorboard" / "events.out.tfevents.old").exists()


def test_each_epoch_outputs_are_written_before_the_checkpoint_that_resume_starts_after(
        tmp_path, faces, monkeypatch):
    order, save = [], checkpoint.save
    submit, submit_checkpoint = (train.background.BackgroundWriter.submit,
                                 train.background.BackgroundWriter.submit_checkpoint)
    monkeypatch.setattr(train.background.BackgroundWriter, "submit",
                        lambda self, what, *a: (order.append(what), submit(self, what, *a)))
    monkeypatch.setattr(train.background.BackgroundWriter, "submit_checkpoint",
                        lambda self, what, *a: (order.append("checkpoint"),
                                                submit_checkpoint(self, what, *a)))
    written = []
    monkeypatch.setattr(checkpoint, "save",
                        lambda state, path: (written.append(path.name), save(state, path)))
    train.train(tiny(tmp_path, epochs=2, checkpoint_every=1, eval_every=1, eval_samples=16),
                faces, progress=False)
    for epoch in (1, 2):
        grid = order.index(f"samples/epoch_{epoch:04d}.png")
        assert "checkpoint" in order[grid:] and order[:grid].count("checkpoint") == epoch - 1
    # last.pt, what resume reads, is each checkpoint's commit point: written after its copies
    assert written[:3] == ["epoch_0001.pt", "best.pt", "last.pt"] and written[-1] == "last.pt"


def test_a_closed_background_writer_refuses_new_jobs():
    writer = train.background.BackgroundWriter()
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit("x", print)
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit_checkpoint("x", print)


@pytest.mark.parametrize("options", [{}, *OPTIONS.values()], ids=["textbook", *OPTIONS])
def test_nan_guard_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path, faces, options):
    trainer = train.Trainer(tiny(tmp_path, log_every=100, **options), faces, progress=False)
    original = trainer.train_step

    def poisoned(real):
        if trainer.step == 10:  # in epoch 2, after epoch 1's checkpoint (step 8)
            with torch.no_grad():
                next(trainer.D.parameters()).fill_(float("nan"))
        return original(real)

    trainer.train_step = poisoned
    with pytest.raises(train.TrainingDiverged, match="at step 11"):
        trainer.fit()
    assert checkpoint.load(trainer.run.last_checkpoint)["step"] == 8


def test_cli_trains_and_reports_bad_values(tmp_path, faces, capsys):
    args = ["--data", "synthetic", "--max-images", "256", "--g-features", "8", "--d-features",
            "8", "--batch-size", "64", "--epochs", "1", "--run-dir", str(tmp_path / "cli"),
            "--no-progress", "--max-steps", "none"]
    assert train.main(args) == 0
    assert (tmp_path / "cli" / "checkpoints" / "last.pt").exists()
    assert train.main([*args, "--real-label", "1.5", "--run-dir", str(tmp_path / "x")]) == 2
    assert "error: real_label=1.5 is invalid" in capsys.readouterr().err


def test_cli_flags_are_typed_from_the_config_and_never_abbreviated(capsys):
    parser = train.config.argument_parser("prog", "test")
    args = vars(parser.parse_args(["--augment", "", "--lr-d", "none", "--hflip", "--r1-gamma",
                                   "0.1", "--max-steps", "7", "--recipe", "stable"]))
    assert (args["augment"], args["lr_d"], args["hflip"], args["r1_gamma"], args["max_steps"]) \
        == ("", None, True, 0.1, 7)
    assert args["lr_g"] is None and args["epochs"] == 25  # None: the recipe's value
    with pytest.raises(SystemExit):
        parser.parse_args(["--epoch", "3"])  # a prefix of --epochs is not accepted
    assert "unrecognized arguments: --epoch" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--batch-size", "big"])
    assert "invalid int value: 'big'" in capsys.readouterr().err


# --- it learns ---------------------------------------------------------------------------------
def sliced_wasserstein(a, b, projections=256, seed=0):
    """SWD between two image sets (8x8 thumbnails): a simple, weight-free distribution distance."""
    def flat(x):
        return torch.nn.functional.avg_pool2d(x.float(), 8).flatten(1)

    x, y = flat(a), flat(b)
    dirs = torch.randn(x.shape[1], projections, generator=torch.Generator().manual_seed(seed))
    dirs /= dirs.norm(dim=0, keepdim=True)
    px, py = (x @ dirs).sort(0).values, (y @ dirs).sort(0).values
    return (px - py).abs().mean().item()


def test_training_brings_samples_towards_the_data(tmp_path):
    ds = data.load_dataset("synthetic", 64, max_images=1024, progress=False, verbose=False)
    real = ds.nchw().float() / 127.5 - 1
    # Width 8, a 10x learning rate and EMA samples so that a CI-sized run (256 steps, ~45 s)
    # moves clearly: seeds 0-2 measured SWD ratios 0.64-0.68 (after/before); 128 steps gave
    # 0.80-0.82. A run whose updates do nothing stays at 1.
    cfg = tiny(tmp_path, max_images=1024, epochs=8, batch_size=32, lr_g=2e-3, lr_d=2e-3,
               ema=0.9, num_samples=512, log_every=50)
    trainer = train.Trainer(cfg, ds, progress=False)
    before = sliced_wasserstein(train.sample(trainer.G, trainer.fixed_noise), real[:512])
    result = trainer.fit()
    after = sliced_wasserstein(train.sample(result.generator, trainer.fixed_noise), real[:512])
    control = sliced_wasserstein(real[512:], real[:512])  # two halves of the data
    print(f"SWD before {before:.3f}, after {after:.3f}, data vs data {control:.3f}")
    assert after < 0.8 * before, (before, after, control)


def test_the_ema_generator_is_evaluated_against_the_raw_one(tmp_path, faces):
    result = train.train(tiny(tmp_path, epochs=1, eval_every=1, eval_samples=32, ema=0.9),
                         faces, progress=False)
    (row,) = [r for r in result.stats if "swd" in r]
    assert row["swd"] > 0 and row["swd_raw"] > 0 and row["swd"] != row["swd_raw"]
    assert 0 <= row["diversity_raw"] < 5


def test_scheduled_evaluation_logs_swd_and_keeps_the_best_checkpoint(tmp_path, faces):
    result = train.train(tiny(tmp_path, epochs=3, eval_every=1, eval_samples=32), faces,
                         progress=False)
    evals = [r for r in result.stats if "swd" in r]
    assert [r["epoch"] for r in evals] == [1.0, 2.0, 3.0]
    assert "swd_raw" not in evals[0]  # no EMA: one generator to evaluate
    assert all(r["swd"] > 0 and 0 <= r["diversity"] < 5 for r in evals)
    best = torch.load(result.run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert best["best_swd"] == pytest.approx(min(r["swd"] for r in evals))
    assert best["epoch"] == evals[[r["swd"] for r in evals].index(best["best_swd"])]["epoch"]
    assert (result.run_dir / "quality.png").stat().st_size > 0


# --- data identity and resuming after a copy or a re-download ---------------------------------
def folder_cfg(tmp_path, folder, **overrides):
    return TrainConfig(**{**dict(data=str(folder), g_features=8, d_features=8, batch_size=16,
                                 epochs=2, log_every=2, run_dir=str(tmp_path / "run"),
                                 num_samples=16, recipe="stable"), **overrides})


def test_a_run_resumes_on_a_copy_of_its_folder_with_new_mtimes(tmp_path):
    import shutil

    from .conftest import write_kaggle_like

    original = write_kaggle_like(tmp_path / "kaggle" / "images", 48).parent
    straight = train.train(folder_cfg(tmp_path / "a", original), progress=False)
    first = train.train(folder_cfg(tmp_path / "b", original, max_steps=4), progress=False)
    copy = tmp_path / "new-vm" / "download"  # another path, files re-written: new mtimes
    shutil.copytree(original, copy, copy_function=shutil.copyfile)
    assert next(copy.rglob("*.jpg")).stat().st_mtime_ns != next(
        original.rglob("*.jpg")).stat().st_mtime_ns
    resumed = train.train(folder_cfg(tmp_path / "b", copy, resume=True), progress=False)
    assert first.step == 4 and resumed.step == straight.step == 6
    assert_same_run(resumed, straight)


def test_resume_on_changed_images_is_refused_naming_the_first_changed_file(tmp_path):
    from .conftest import face_like, write_kaggle_like

    folder = write_kaggle_like(tmp_path / "kaggle" / "images", 48).parent
    train.train(folder_cfg(tmp_path, folder, max_steps=4), progress=False)
    face_like(999).save(folder / "images" / "7_2007.jpg", quality=90)  # new content
    (folder / "images" / "9_2009.jpg").unlink()
    with pytest.raises(train.DataChangedError) as err:
        train.Trainer(folder_cfg(tmp_path, folder, resume=True), progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert "1 file differs (first: images/7_2007.jpg), 1 file removed (first: images/9_2009.jpg)" \
        in message


def test_data_identity_refuses_other_images_before_the_first_step(tmp_path, faces):
    other = ("0" if faces.identity[0] != "0" else "1") + faces.identity[1:12]
    with pytest.raises(train.DataChangedError) as err:
        train.train(tiny(tmp_path, data_identity=other), faces, progress=False)
    assert str(err.value) == (
        f"the images of data='synthetic' (synthetic) have identity {faces.identity[:12]}, not "
        f"data_identity='{other}': point data at the images with that identity (a run's "
        "config.json: data_used.identity), or leave data_identity unset")
    assert not (tmp_path / "run").exists()  # refused before the run folder was made
    result = train.train(tiny(tmp_path, epochs=1, data_identity=faces.identity[:8]), faces,
                         progress=False)
    assert result.step == 8  # 256 images / 32 per step


def test_resume_with_nothing_to_resume_says_so_and_starts_fresh(tmp_path, faces, capsys):
    result = train.train(tiny(tmp_path, epochs=1, resume=True), faces, progress=False)
    out = capsys.readouterr().out
    assert f"resume=True, but {tmp_path / 'run'} has no checkpoint to resume: starting a fresh " \
           "run there" in out
    record = json.loads((result.run_dir / "config.json").read_text())
    assert "starting a fresh run" in record["started_fresh"] and result.step == 8


def tensorboard_events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0,
                                                                          "scalars": 0})
    events.Reload()
    return events


def test_tensorboard_events_hold_the_stats_the_samples_and_survive_a_resume(tmp_path, faces):
    cfg = tiny(tmp_path, epochs=2, eval_every=1, eval_samples=32, recipe="stable")
    first = train.train(dataclasses.replace(cfg, max_steps=12), faces, progress=False)
    resumed = train.train(dataclasses.replace(cfg, resume=True), faces, progress=False)
    rows = [r for r in resumed.stats if "loss_d" in r]
    events = tensorboard_events(resumed.run_dir)
    tags = events.Tags()
    assert {"loss/D", "loss/G", "D/D(x)", "D/D(G(z))", "D/accuracy", "speed/images per s",
            "quality/SWD", "quality/SWD raw G", "quality/diversity"} <= set(tags["scalars"])
    steps = [e.step for e in events.Scalars("loss/D")]
    assert steps == [r["step"] for r in rows] == [3, 6, 8, 9, 12, 15, 16]  # no step twice
    values = [e.value for e in events.Scalars("D/D(x)")]
    assert values == pytest.approx([r["d_real"] for r in rows], abs=1e-6)
    evals = [r for r in resumed.stats if "swd" in r]
    assert [e.step for e in events.Scalars("quality/SWD")] == [r["step"] for r in evals]
    images = events.Images("samples/fixed noise")
    assert [e.step for e in images] == [8, 12, 16]
    last = (resumed.run_dir / "samples" / "epoch_0002.png").read_bytes()
    assert images[-1].encoded_image_string == last  # the grid's own PNG, shown as it is
    assert (images[-1].width, images[-1].height) == Image.open(io.BytesIO(last)).size
    assert first.step == 12
