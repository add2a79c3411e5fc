"""The label-smoothing sweep: planning, summarising and conclusions on known numbers, and real
sweeps through papermill at quick scale (resumed, skipped, failed, two runs at once)."""

import json
import math
import statistics
from pathlib import Path

import pytest
from scipy import stats

from animeutils import sweep

from .conftest import load_tool

# Notebook 03's stand-in for orchestration tests: the same parameters, no training, fails or
# sleeps on demand.
STUB = Path(__file__).resolve().parent / "stub_train.ipynb"
# tools/publish_sweep.py, which writes the per-seed table the docs quote
publish_sweep = load_tool("publish_sweep")


# --- planning ------------------------------------------------------------------------------------
def test_grids_and_seeds():
    assert sweep.grid_settings("default") == list(sweep.SETTINGS)
    assert len(sweep.SETTINGS) == 9
    assert sweep.grid_settings("quick") == ["hard", "real0.9"]
    assert sweep.grid_settings(["flip0.05", "hard"]) == ["flip0.05", "hard"]
    assert sweep.seed_list(3) == [0, 1, 2]
    assert sweep.seed_list([4, 7]) == [4, 7]
    for bad in (0, [], [1, 1], [-1], True, "3"):
        with pytest.raises(ValueError, match="seeds="):
            sweep.seed_list(bad)
    with pytest.raises(ValueError, match="grid=.*real0.99"):
        sweep.grid_settings(["hard", "real0.8"])


def test_every_setting_is_a_valid_training_config():
    from animeutils.config import TrainConfig

    for name, labels in sweep.SETTINGS.items():
        cfg = TrainConfig(**labels).validate()
        assert cfg.real_label > cfg.fake_label, name
    # seed 004's values and the two textbook variants are all there
    values = {tuple(sorted(v.items())) for v in sweep.SETTINGS.values()}
    for expected in ({"real_label": 0.995}, {"real_label": 0.9, "fake_label": 0.1},
                     {"real_label": 0.9, "fake_label": 0.005}, {"flip_prob": 0.05}):
        assert tuple(sorted(expected.items())) in values


def test_the_variant_and_label_grids_plan_valid_runs(tmp_path):
    runs = sweep.plan(tmp_path, "variants", 3, epochs=2, data="synthetic")
    assert [r.setting for r in runs[::3]] == ["dcgan", "dcgan+dense300", "dcgan+sn_d",
                                              "dcgan+dropout_d"]
    assert sweep.baseline("variants") == "dcgan"
    assert runs[3].params["arch"] == "dense300" and runs[6].params["spectral_norm"] is True
    core = sweep.plan(tmp_path / "labels", "core", 3, epochs=2, data="synthetic",
                      recipe="stable")
    assert {r.setting for r in core} == {"hard", "real0.9", "real0.99", "real0.9_fake0.1",
                                        "real0.9_fake0.01"}
    assert len(core) == 15 and all(r.params["recipe"] == "stable" for r in core)
    assert sweep.baseline("core") == "hard"


def test_plan_lays_out_one_folder_per_setting_and_seed(tmp_path):
    runs = sweep.plan(tmp_path, ["hard", "real0.9_fake0.1"], 2, epochs=3, data="synthetic")
    assert [r.name for r in runs] == ["hard/seed0", "hard/seed1", "real0.9_fake0.1/seed0",
                                      "real0.9_fake0.1/seed1"]
    last = runs[-1]
    assert last.path == tmp_path.resolve() / "real0.9_fake0.1" / "seed1"
    assert last.params == {"epochs": 3, "data": "synthetic", "real_label": 0.9,
                           "fake_label": 0.1, "seed": 1, "run_dir": str(last.path),
                           "resume": True}
    assert all(sweep.state(r) == "new" for r in runs)


@pytest.mark.parametrize("params, message", [
    ({"epoch": 3}, "unknown sweep parameter.*epoch.*epochs"),
    ({"real_label": 0.8}, "real_label cannot be set for the whole sweep"),
    ({"epochs": 0}, "epochs=0 is invalid"),
    ({"device": "gpu"}, "device='gpu' is invalid"),
])
def test_plan_rejects_bad_parameters_before_anything_runs(tmp_path, params, message):
    with pytest.raises(ValueError, match=message):
        sweep.plan(tmp_path, "quick", 1, **params)
    assert not any(tmp_path.iterdir())


def test_a_dict_grid_plans_its_settings_and_refuses_a_misspelt_one_before_anything_runs(
        tmp_path):
    grid = {"lr_slow": {"lr_g": 1e-4}, "lr_fast": {"lr_g": 4e-4, "lr_d": 4e-4}}
    runs = sweep.plan(tmp_path, grid, 3, epochs=1, data="synthetic")
    assert [r.name for r in runs][:2] == ["lr_slow/seed0", "lr_slow/seed1"] and len(runs) == 6
    assert runs[3].params["lr_d"] == 4e-4 and "lr_d" not in runs[0].params
    with pytest.raises(ValueError, match="setting 'sn' sets unknown parameter.*spectral_nrom"):
        sweep.plan(tmp_path / "typo", {"sn": {"spectral_nrom": True}}, 3, epochs=1)
    assert not any(tmp_path.iterdir())


# --- summarising ---------------------------------------------------------------------------------
def write_run(folder, seed, swd, d_real=0.8, status="finished"):
    """A run folder as training leaves it: config, stats with 2 epochs of 2 windows, evals."""
    folder.mkdir(parents=True)
    cfg = {"seed": seed, "real_label": 0.9, "fake_label": 0.0, "label_noise": 0.0,
           "flip_prob": 0.0}
    (folder / "config.json").write_text(json.dumps({"config": cfg}))
    rows = []
    for i, epoch in enumerate((0.5, 1.0, 1.5, 2.0)):
        rows.append({"step": 10 * (i + 1), "epoch": epoch, "images_seen": 640 * (i + 1),
                     "loss_d": 1.0 + i, "loss_g": 2.0, "d_real": d_real + 0.01 * i,
                     "d_fake": 0.3, "d_acc": 0.7, "images_per_s": [5.0, 100.0, 120.0, 80.0][i]})
        if epoch in (1.0, 2.0):
            rows.append({"step": 10 * (i + 1), "epoch": epoch, "images_seen": 640 * (i + 1),
                         "swd": swd[int(epoch) - 1], "diversity": 0.9, "eval_samples": 64})
    (folder / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / sweep.MARKER).write_text(json.dumps({"status": status, "seconds": 12.5,
                                                   "error": "" if status == "finished"
                                                   else "TrainingDiverged: NaN"}))


def test_run_summary_reads_the_folder(tmp_path):
    write_run(tmp_path / "real0.9" / "seed3", 3, swd=(40.0, 45.0), d_real=0.8)
    row = sweep.run_summary(tmp_path / "real0.9" / "seed3")
    assert row["setting"] == "real0.9" and row["seed"] == 3 and row["status"] == "finished"
    assert row["swd_end"] == 45.0 and row["swd_best"] == 40.0  # the last and the lowest
    assert row["d_real_end"] == pytest.approx((0.82 + 0.83) / 2)  # the last epoch: (1, 2]
    assert row["loss_d_end"] == pytest.approx((3 + 4) / 2)
    assert row["images_per_s"] == 100.0  # median without the warm-up window
    assert row["steps"] == 40 and row["images_seen"] == 2560


def test_results_refuse_runs_that_trained_on_different_images(tmp_path):
    """A data folder rebuilt between two sessions of one sweep gave different images under the
    same path: the sweep must not compare runs across them."""
    def trained_on(folder, identity):
        recorded = json.loads((folder / "config.json").read_text())
        recorded["data_used"] = {"identity": identity}
        (folder / "config.json").write_text(json.dumps(recorded))

    for setting in ("hard", "real0.9"):
        for seed in range(2):
            write_run(tmp_path / setting / f"seed{seed}", seed, swd=(20.0, 21.0))
            trained_on(tmp_path / setting / f"seed{seed}", "e797ba49ac1313c1d347f97d658c7056")
    assert [r["seeds"] for r in sweep.write_results(tmp_path)] == [2, 2]
    assert {r["data"] for r in sweep.read_csv(tmp_path / "runs.csv")} == {"e797ba49ac13"}
    trained_on(tmp_path / "hard" / "seed1", "fde46186a8b4d80a3a4ac93499846d83")
    with pytest.raises(ValueError, match=r"different images \(data e797ba49ac13: hard/seed0, "
                                         r"real0.9/seed0, real0.9/seed1; data fde46186a8b4: "
                                         r"hard/seed1\)"):
        sweep.write_results(tmp_path)


def test_summary_means_stds_and_conclusions(tmp_path):
    for seed, swd in enumerate((10.0, 10.4, 9.6)):
        write_run(tmp_path / "real0.9" / f"seed{seed}", seed, swd=(swd + 5, swd))
    for seed, swd in enumerate((20.0, 20.5, 19.5)):
        write_run(tmp_path / "hard" / f"seed{seed}", seed, swd=(swd, swd + 1))
    write_run(tmp_path / "hard" / "seed9", 9, swd=(1.0, 1.0), status="failed")
    summary = sweep.summarise(sweep.collect(tmp_path))
    assert [r["setting"] for r in summary] == ["hard", "real0.9"]  # SETTINGS order
    hard, smooth = summary
    assert hard["seeds"] == 3 and hard["failed"] == 1  # the failed run is not averaged
    assert hard["swd_end_mean"] == pytest.approx(21.0)
    assert smooth["swd_end_mean"] == pytest.approx(10.0)
    assert smooth["swd_end_std"] == pytest.approx(statistics.stdev([10.0, 10.4, 9.6]))
    assert smooth["swd_best_mean"] == pytest.approx(10.0)
    text = "\n".join(sweep.conclusions(summary))
    assert "1. real0.9 10.00 ± 0.40; 2. hard 21.00 ± 0.50" in text
    assert "real0.9 vs hard: difference -11.00 in swd_end, 95 % interval (uncorrected) [" in text
    assert "real0.9 is better." in text
    assert "hard (1 of 4)" in text
    table = sweep.table_markdown(summary)
    assert "| real0.9 | 3 | 0 | 10.0 ± 0.4 |" in table


def planted(name, values):
    """A summary row of a setting whose seeds scored ``values``."""
    return {"setting": name, "seeds": len(values), "failed": 0, "unfinished": 0,
            "attention": "", "swd_end_mean": statistics.fmean(values),
            "swd_end_std": statistics.stdev(values) if len(values) > 1 else math.nan}


def test_welch_interval_and_p_value_match_scipy_on_the_raw_seeds():

    a, b = [100.0, 104.0, 97.0], [120.0, 131.0, 118.0, 125.0]
    diff, low, high, df, p = sweep.welch(statistics.fmean(a), statistics.stdev(a), 3,
                                         statistics.fmean(b), statistics.stdev(b), 4)
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert p == pytest.approx(expected.pvalue)
    assert diff == pytest.approx(statistics.fmean(a) - statistics.fmean(b))
    ci = expected.confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high))
    assert 3 < df < 5


def test_holm_adjusts_in_step_down_order_counting_comparisons_without_a_p_value():
    assert sweep.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert sweep.holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.04, 0.09, 0.09, math.nan],
                                                                      nan_ok=True)


def test_no_spread_on_either_side_is_no_evidence():
    base, same = planted("hard", [100.0, 100.0, 100.0]), planted("real0.9", [90.0, 90.0, 90.0])
    (c,) = sweep.compare([base, same], "hard")
    assert math.isnan(c.low) and not c.evidence
    assert "no evidence either way" in sweep.verdict(c)


def test_the_interval_uses_the_seeds_that_have_the_metric():
    rows = [{"setting": name, "seed": seed, "status": "finished", "error": "",
             **dict.fromkeys(sweep.stats.METRICS, 1.0), "swd_end": value}
            for name, values in (("hard", [200.0, 190.0, 210.0]), ("real0.9", [100.0, 110.0,
                                                                               math.nan]))
            for seed, value in enumerate(values)]
    summary = sweep.summarise(rows)
    assert [r["seeds"] for r in summary] == [3, 3] and summary[1]["swd_end_n"] == 2
    (c,) = sweep.compare(summary, "hard")
    a, b = [100.0, 110.0], [200.0, 190.0, 210.0]
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((expected.low, expected.high))


def test_a_baseline_without_a_value_is_said_not_silently_skipped():
    base = {**planted("hard", [1.0]), "seeds": 0, "failed": 3, "swd_end_mean": math.nan}
    lines = sweep.conclusions([base, planted("real0.9", [100.0, 105.0, 95.0])])
    assert sweep.compare([base, planted("real0.9", [1.0, 2.0])], "hard") == []
    assert any("baseline 'hard' has no finished run" in line for line in lines)
    assert not any("nan" in line for line in lines)
    lines = sweep.conclusions([planted("dcgan", [1.0, 2.0]), planted("dcgan+sn_d", [3.0, 4.0])])
    assert any("pass baseline= one of dcgan, dcgan+sn_d" in line for line in lines)


def test_a_planted_gap_is_found_a_gap_inside_the_noise_is_not_one_seed_is_no_evidence():
    base = planted("hard", [200.0, 190.0, 210.0])
    real = planted("real0.9", [100.0, 105.0, 95.0])  # a gap of 100, spreads of 5-10
    noise = planted("flip0.05", [190.0, 215.0, 185.0])  # inside the spread
    text = " ".join(sweep.conclusions([base, real, noise]))
    assert "corrected for 2 comparisons" in text
    assert "real0.9 vs hard: difference -100.00" in text and "real0.9 is better." in text
    assert "flip0.05 vs hard" in text and "no evidence of a difference." in text
    (comparison,) = [c for c in sweep.compare([base, noise], "hard") if c.setting == "flip0.05"]
    assert comparison.low < 0 < comparison.high and not comparison.evidence
    one = " ".join(sweep.conclusions([base, planted("real0.99", [50.0])]))
    assert "fewer than two seeds on a side" in one and "no evidence either way" in one


def test_the_correction_can_turn_a_lucky_gap_into_no_evidence():
    base = planted("hard", [100.0, 101.0, 99.0])
    lucky = planted("noise0.3", [97.5, 98.5, 97.0])  # p = 0.036 on its own
    (alone,) = sweep.compare([base, lucky], "hard")
    assert alone.p < 0.05 and alone.evidence
    others = [planted(f"real0.9_fake{v}", [100.0, 101.5, 99.5]) for v in ("0.01", "0.005")]
    many = {c.setting: c for c in sweep.compare([base, lucky, *others], "hard")}
    assert many["noise0.3"].p_holm == pytest.approx(3 * alone.p)  # the smallest of 3, x3
    assert not many["noise0.3"].evidence  # picked from three, it is no longer evidence


def test_csv_round_trip(tmp_path):
    rows = [{"setting": "hard", "seeds": 2, "swd_end_mean": 1.23456789, "swd_end_std": math.nan}]
    sweep.write_csv(rows, tmp_path / "r.csv")
    back = sweep.read_csv(tmp_path / "r.csv")
    assert back[0]["setting"] == "hard" and back[0]["seeds"] == 2
    assert back[0]["swd_end_mean"] == pytest.approx(1.23457)
    assert math.isnan(back[0]["swd_end_std"])


# --- real sweeps through papermill (quick scale) -------------------------------------------------
@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv("ANIMEUTILS_QUICK", "1")  # inherited by every notebook-03 kernel


def test_a_sweep_runs_skips_finished_runs_and_resumes_longer_ones(tmp_path, quick, capsys):
    grid, shared = ["hard", "real0.9"], {"epochs": 1, "eval_every": 1, "data": "synthetic"}
    outcomes = sweep.run_sweep(tmp_path, grid, 2, devices=["cpu", "cpu"], **shared)
    assert [o.status for o in outcomes] == ["finished"] * 4, [o.error for o in outcomes]
    for o in outcomes:
        cfg = json.loads((o.run.path / "config.json").read_text())["config"]
        assert cfg["seed"] == o.run.seed and cfg["device"] == "cpu"
        assert cfg["real_label"] == sweep.SETTINGS[o.run.setting].get("real_label", 1.0)
        assert (o.run.path / "03_train.ipynb").exists()
    # two workers: some runs overlapped in time
    spans = [(m["started"], m["started"] + m["seconds"])
             for m in (sweep.marker(o.run.path) for o in outcomes)]
    assert any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])

    summary = sweep.write_results(tmp_path, grid)
    rows = sweep.read_csv(tmp_path / "results.csv")
    assert [r["setting"] for r in rows] == grid and len(sweep.read_csv(tmp_path / "runs.csv")) == 4
    numbers = {k: v for r in rows for k, v in r.items() if k.endswith(("_mean", "_std"))}
    assert len(numbers) == 2 * len(sweep.METRICS) and all(map(math.isfinite, numbers.values()))
    assert summary[0]["seeds"] == 2

    # a re-run trains nothing and touches no checkpoint
    stamps = {o.run.name: (o.run.path / "checkpoints/last.pt").stat().st_mtime_ns
              for o in outcomes}
    again = sweep.run_sweep(tmp_path, grid, 2, **shared)
    assert [o.status for o in again] == ["skipped-finished"] * 4
    assert stamps == {o.run.name: (o.run.path / "checkpoints/last.pt").stat().st_mtime_ns
                      for o in again}
    capsys.readouterr()
    assert sweep.main(["--sweep-dir", str(tmp_path), "--grid", *grid, "--seeds", "2",
                       "-p", "epochs", "1", "-p", "eval_every", "1", "-p", "data",
                       "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "4 already done, 0 to train" in out and "Ranking by swd_end" in out

    # more epochs for one run: it continues from its checkpoint instead of starting over
    before = json.loads((tmp_path / "hard/seed0/stats.jsonl").read_text().splitlines()[-1])
    (resumed,) = sweep.run_sweep(tmp_path, ["hard"], [0], **{**shared, "epochs": 2})
    assert resumed.status == "finished"
    record = json.loads((tmp_path / "hard/seed0/config.json").read_text())
    assert record["resumed"][0]["step"] == before["step"]
    assert sweep.run_summary(tmp_path / "hard/seed0")["steps"] == 2 * before["step"]


def test_a_failed_run_is_recorded_with_its_error_and_not_retried(tmp_path):
    missing = tmp_path / "no_such_folder"
    error = f"DataError: image folder not found: {missing} (check the path given as data=...)"
    (out,) = sweep.run_sweep(tmp_path / "sweep", ["hard"], 1, notebook=STUB, error=error)
    assert out.status == "failed"
    assert "no_such_folder" in out.error and "\n" not in out.error
    assert sweep.marker(out.run.path)["status"] == "failed"
    (again,) = sweep.run_sweep(tmp_path / "sweep", ["hard"], 1, notebook=STUB, error=error)
    assert again.status == "skipped-failed" and again.error == out.error


def test_notebook_03_is_found_in_a_clone_or_downloaded_once(tmp_path, monkeypatch):
    assert sweep.training_notebook() == sweep.NOTEBOOK
    assert sweep.raw_url("notebooks/03_train.ipynb") == (
        "https://raw.githubusercontent.com/anime-dcgan/anime-dcgan/main/notebooks/03_train.ipynb")
    # Outside a clone (Colab): fetched from the repository into the runs folder, once.
    monkeypatch.setattr(sweep.notebook03, "NOTEBOOK", tmp_path / "absent" / "03_train.ipynb")
    monkeypatch.setenv("ANIMEUTILS_RUNS", str(tmp_path / "runs"))
    served = tmp_path / "served.ipynb"
    served.write_bytes(Path(sweep.__file__).parents[2].joinpath(
        "notebooks", "03_train.ipynb").read_bytes())
    monkeypatch.setattr(sweep.notebook03, "raw_url", lambda path: served.as_uri())
    got = sweep.training_notebook()
    assert got == tmp_path / "runs" / "_notebooks" / "03_train.ipynb"
    assert got.read_bytes() == served.read_bytes()
    served.unlink()
    assert sweep.training_notebook() == got  # not fetched again
    got.unlink()
    with pytest.raises(FileNotFoundError, match="could not be downloaded from file:.*clone"):
        sweep.training_notebook()
    with pytest.raises(FileNotFoundError, match="notebook='nope.ipynb' does not exist"):
        sweep.training_notebook("nope.ipynb")


def test_an_interrupted_sweep_keeps_finished_runs_and_resumes_the_rest(tmp_path):
    calls = []

    def interrupt_after_the_first_run(line):  # as Ctrl-C would, while another run is going
        calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt

    # seed 0 ends after about a second, seed 1 eight seconds later: it is still going
    shared = {"epochs": 2, "data": "synthetic", "seconds": 1.0, "seconds_per_seed": 8.0,
              "notebook": STUB}
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(tmp_path, ["hard"], 2, devices=["cpu", "cpu"],
                        echo=interrupt_after_the_first_run, **shared)
    assert "finished" in calls[1] and "interrupted" in calls[-1]
    runs = sweep.plan(tmp_path, ["hard"], 2, **shared)
    states = sorted(sweep.state(r) for r in runs)
    assert states[0] == "finished" and states[1] in ("new", "partial")  # stopped: no marker
    again = sweep.run_sweep(tmp_path, ["hard"], 2, **shared)
    assert sorted(o.status for o in again) == ["finished", "skipped-finished"]


def test_a_sweep_in_the_background_stops_on_sigterm_and_leaves_its_run_to_resume(tmp_path):
    # `python -m animeutils.sweep ... &` ignores SIGINT; `kill` must stop it, children and all.
    import signal
    import subprocess
    import sys
    import time

    script = ("import sys; from animeutils import sweep\n"
              "try:\n"
              f"    sweep.run_sweep({str(tmp_path)!r}, ['hard'], 1, notebook={str(STUB)!r}, "
              "epochs=2, data='synthetic', seconds=120.0)\n"
              "except KeyboardInterrupt:\n"
              "    sys.exit(130)\n")
    root = Path(sweep.__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                        signal.SIG_IGN))
    log, deadline = tmp_path / "hard" / "seed0" / "papermill.log", time.time() + 120
    while time.time() < deadline and not (log.exists() and "Executing" in log.read_text()):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=90)  # well before the stub's 120 s
    assert proc.returncode == 130 and "interrupted: finished runs are kept" in out
    assert sweep.marker(tmp_path / "hard" / "seed0") is None  # resumed next time, not failed


def test_papermill_stopped_by_a_sigint_of_its_own_leaves_the_run_unmarked(tmp_path):
    # Ctrl-C in a terminal, or a notebook's stop button, signals papermill directly.
    import signal
    import threading
    import time

    (run,) = sweep.plan(tmp_path, ["hard"], 1, STUB, epochs=2, data="synthetic", seconds=60.0)
    stopper, result = sweep.Stopper(), {}
    worker = threading.Thread(target=lambda: result.update(out=sweep.execute(
        run, notebook=STUB, stopper=stopper)))
    worker.start()
    log, deadline = run.path / "papermill.log", time.time() + 120
    while time.time() < deadline and not (log.exists() and "Executing" in log.read_text()):
        time.sleep(0.2)
    for proc in list(stopper._live):
        proc.send_signal(signal.SIGINT)
    worker.join(180)
    assert result["out"].status == "interrupted"
    assert sweep.marker(run.path) is None and sweep.state(run) in ("new", "partial")


# --- errors a retry can fix (a stub notebook: orchestration only, no training) -----------------


def test_a_run_whose_data_changed_needs_attention_and_is_retried(tmp_path):
    error = ("DataChangedError: cannot resume run: its data changed since the checkpoint "
             "(1 file differs (first: images/7_2007.jpg))")
    (out,) = sweep.run_sweep(tmp_path, ["hard"], 1, notebook=STUB, echo=lambda *_: None,
                             error=error)
    assert out.status == "attention" and out.error == error
    assert sweep.marker(out.run.path)["status"] == "attention"
    assert sweep.state(out.run) != "failed"  # not given up on
    (again,) = sweep.run_sweep(tmp_path, ["hard"], 1, notebook=STUB, echo=lambda *_: None,
                               error=error)
    assert again.status == "attention"  # tried again, not skipped
    (fixed,) = sweep.run_sweep(tmp_path, ["hard"], 1, notebook=STUB, echo=lambda *_: None)
    assert fixed.status == "finished"


def test_needs_attention_is_listed_in_the_summary_and_conclusions(tmp_path):
    sweep.run_sweep(tmp_path, ["hard", "real0.9"], 1, notebook=STUB, echo=lambda *_: None,
                    error="OutOfMemoryError: CUDA out of memory")
    summary = sweep.summarise(sweep.collect(tmp_path))
    assert [r["attention"] for r in summary] == ["seed 0: OutOfMemoryError: CUDA out of memory"] * 2
    assert all(r["failed"] == 0 for r in summary)
    text = " ".join(sweep.conclusions(summary))
    assert "Needs attention, retried when the sweep runs again" in text
    assert "hard (seed 0: OutOfMemoryError: CUDA out of memory)" in text


def test_runs_still_to_train_must_see_the_images_the_finished_ones_saw(tmp_path, monkeypatch):
    quiet = dict(notebook=STUB, echo=lambda *_: None, devices=[None])  # one run at a time
    first, rebuilt = "ab" * 16, "cd" * 16
    monkeypatch.setenv("STUB_IMAGES", first)
    a, b = sweep.run_sweep(tmp_path, ["hard"], [0, 1], **quiet)
    given = [json.loads((o.run.path / "config.json").read_text())["data_identity"] for o in (a, b)]
    assert given == [None, first]  # a fresh sweep adopts its first run's images
    monkeypatch.setenv("STUB_IMAGES", rebuilt)  # the data folder was rebuilt differently
    *_, c = sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2], **quiet)
    assert c.status == "attention" and f"not {first}" in c.error  # refused, retried next time
    monkeypatch.setenv("STUB_IMAGES", first)
    assert sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2], **quiet)[-1].status == "finished"
    # a guard, not a setting: naming the same images retrains nothing; other images are refused
    done = sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2], data_identity=first[:8], **quiet)
    assert [o.status for o in done] == ["skipped-finished"] * 3
    with pytest.raises(ValueError, match="^data_identity='cdcdcdcd', but the finished runs"):
        sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2], data_identity="cdcdcdcd", **quiet)
    with pytest.raises(ValueError, match="^data_identity=.*6-32 hex digits"):
        sweep.run_sweep(tmp_path, ["hard"], [0], data_identity="e797", **quiet)
    # finished runs that disagree stop the sweep before it trains anything more
    config = a.run.path / "config.json"
    config.write_text(config.read_text().replace(first, rebuilt))
    with pytest.raises(ValueError, match=r"trained on different images \(data cdcdcdcdcdcd: "
                                         r"hard/seed0; data abababababab: hard/seed1, hard/seed2"):
        sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2, 3], **quiet)
    assert not (tmp_path / "hard" / "seed3").exists()
    # a notebook that cannot check is told, not trusted
    monkeypatch.setattr(sweep.notebook03, "notebook_parameters", lambda nb=None: {"seed"})
    with pytest.raises(ValueError, match="has no data_identity parameter to check it with"):
        sweep.run_sweep(tmp_path / "other", ["hard"], [0], data_identity=first, **quiet)


def test_on_several_devices_a_fresh_sweep_trains_its_first_run_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("STUB_IMAGES", "ab" * 16)
    outs = sweep.run_sweep(tmp_path, ["hard"], [0, 1, 2], notebook=STUB, echo=lambda *_: None,
                           devices=[None, None])  # two workers
    given = [json.loads((o.run.path / "config.json").read_text())["data_identity"] for o in outs]
    assert given == [None, "ab" * 16, "ab" * 16]  # seeds 1 and 2 ran together, both checked


def test_the_sweep_cli_keeps_an_identity_as_text(monkeypatch):
    from animeutils.sweep import __main__ as cli

    seen = {}
    monkeypatch.setattr(cli, "run_sweep", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(cli, "write_results", lambda *a: [])
    monkeypatch.setattr(cli, "conclusions", lambda *a, **kw: [])
    assert cli.main(["--sweep-dir", "x", "-p", "data_identity", "01234567",
                     "-p", "epochs", "10"]) == 0
    assert seen["data_identity"] == "01234567" and seen["epochs"] == 10  # YAML: 342391, 10


def test_an_error_a_retry_cannot_fix_is_still_a_failure(tmp_path):
    (out,) = sweep.run_sweep(tmp_path, ["hard"], 1, notebook=STUB, echo=lambda *_: None,
                             error="ValueError: lr_d=2.0 is invalid")
    assert out.status == "failed" and sweep.state(out.run) == "failed"


# --- the committed evidence (docs/) ----------------------------------------------------------
DOCS = Path(sweep.__file__).resolve().parents[2] / "docs"
# each committed sweep: its grid, the page that explains it, and its seeds per setting
COMMITTED = {"label_smoothing/dcgan": ("core", "label_smoothing.md", 3),
             "label_smoothing/stable": ("core", "label_smoothing.md", 3)}


def test_every_committed_sweep_is_tested():
    listed = {*sweep.LABEL_SWEEPS.values(), *sweep.OTHER_SWEEPS.values()}
    assert listed == set(COMMITTED)  # what notebooks show is what this file checks


@pytest.mark.parametrize("name", list(COMMITTED))
def test_the_committed_sweeps_are_complete_and_their_page_quotes_them(name):
    grid, page_name, seeds = COMMITTED[name]
    settings, base = sweep.grid_settings(grid), sweep.baseline(grid)
    rows = sweep.committed_results(name)
    assert [r["setting"] for r in rows] == settings
    assert all(r["seeds"] == seeds and r["failed"] == 0 and r["unfinished"] == 0 for r in rows)
    runs = sweep.committed_results(name, "runs.csv")
    assert len(runs) == len(rows) * seeds and {r["steps"] for r in runs} == {1500}
    assert {r["seed"] for r in runs} == set(range(seeds))
    assert len({r.get("data") for r in runs}) == 1  # one set of images (where runs.csv says)
    # every mean in results.csv is the mean of its runs
    for row in rows:
        ends = [r["swd_end"] for r in runs if r["setting"] == row["setting"]]
        assert row["swd_end_mean"] == pytest.approx(statistics.fmean(ends), rel=1e-4)
    # the page shows the table and the verdicts computed from the committed CSV, not a retyping
    page = (DOCS / page_name).read_text()
    assert sweep.table_markdown(rows) in page
    for line in sweep.conclusions(rows, baseline=base):
        assert line in page
    assert publish_sweep.per_seed_table(runs, settings) in page


def test_committed_results_outside_a_clone_are_downloaded_or_refused_in_one_line(
        tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="label_smoothing/nope/results.csv does not exist"):
        sweep.committed_results("label_smoothing/nope")
    monkeypatch.setattr(sweep.evidence, "DOCS", tmp_path / "absent")  # Colab: no docs/ folder
    served = tmp_path / "served.csv"
    sweep.write_csv([{"setting": "hard", "seeds": 3, "swd_end_mean": 249.61}], served)
    monkeypatch.setattr(sweep.evidence, "raw_url", lambda path: served.as_uri())
    assert sweep.committed_results("label_smoothing/dcgan") == [
        {"setting": "hard", "seeds": 3, "swd_end_mean": 249.61}]
    served.unlink()
    with pytest.raises(FileNotFoundError, match=r"downloaded from file:.*label_smoothing\.md"):
        sweep.committed_results("label_smoothing/dcgan")
    # a docs/ folder some other package left in site-packages is not a clone's
    stray = tmp_path / "site-packages" / "docs"
    stray.mkdir(parents=True)
    monkeypatch.setattr(sweep.evidence, "DOCS", stray)
    sweep.write_csv([{"setting": "real0.9", "seeds": 3}], served)
    assert sweep.committed_results("label_smoothing/dcgan") == [{"setting": "real0.9", "seeds": 3}]
