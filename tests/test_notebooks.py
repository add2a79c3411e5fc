"""Notebooks stay reviewable and runnable: clean JSON, a shared bootstrap, papermill parameters,
Colab badges; and papermill really drives them (nbval runs them all separately, see README)."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
from clean_notebooks import clean  # noqa: E402


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_explore_data.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_in_clean_form(path):
    nb = read(path)
    assert path.stat().st_size < 60_000, "notebook too large: strip outputs"
    cleaned = clean(read(path))
    assert nbformat.writes(nb) == nbformat.writes(cleaned), (
        f"{path.name} has outputs or editor metadata: run python tools/clean_notebooks.py {path}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_is_plain_literals_with_help(path):
    cells = [c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    for line in cells[0].source.splitlines():
        if not line.strip():
            continue
        code, _, comment = line.partition("  # ")
        name, _, value = code.partition(" = ")
        assert name.isidentifier() and comment.strip(), f"needs 'name = value  # help': {line}"
        assert "=" not in comment, f"papermill cannot parse '=' in a help comment: {line}"
        ast.literal_eval(value)  # papermill can only override plain literals


def test_every_notebook_starts_with_the_same_bootstrap_and_its_own_colab_badge():
    firsts = set()
    for path in NOTEBOOKS:
        nb = read(path)
        firsts.add(next(c.source for c in nb.cells if c.cell_type == "code"))
        assert f"blob/main/notebooks/{path.name})" in nb.cells[0].source
    assert len(firsts) == 1
    url = firsts.pop().split('REPO = "')[1].split('"')[0]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Repository = "{url}"' in pyproject


def test_papermill_lists_parameters_with_help():
    import papermill

    params = papermill.inspect_notebook(str(ROOT / "notebooks" / "01_explore_data.ipynb"))
    assert {"data", "image_size", "max_images", "quick"} <= set(params)
    assert all(p["help"] for p in params.values())


def test_papermill_runs_01_on_a_folder_with_parameters(tmp_path, hostile_folder):
    root, _ = hostile_folder
    out = tmp_path / "out.ipynb"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline figures
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(ROOT / "notebooks"),
           str(ROOT / "notebooks" / "01_explore_data.ipynb"), str(out),
           "-p", "data", str(root), "-p", "image_size", "32", "-p", "num_outliers", "4"]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
    text = json.dumps(read(out).cells)
    assert "DATA: images from the folder" in text
    assert "shorter side: min 90" in text  # the 1x1 file was skipped, not measured
    assert "images per year" in text and "10 at 32x32 px" in text
    figures = [o for c in read(out).cells for o in c.get("outputs", []) if "image/png" in
               o.get("data", {})]
    assert len(figures) >= 4  # samples, sizes, years, outliers (no near-duplicates here)


def test_papermill_runs_03_with_parameters_and_leaves_a_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    out = tmp_path / "out03.ipynb"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(ROOT / "notebooks"),
           str(ROOT / "notebooks" / "03_train.ipynb"), str(out), "-p", "quick", "True",
           "-p", "data", "synthetic", "-p", "epochs", "3", "-p", "real_label", "0.9",
           "-p", "run_dir", str(run_dir)]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=600)
    record = json.loads((run_dir / "config.json").read_text())
    assert record["config"]["real_label"] == 0.9 and record["config"]["epochs"] == 2  # capped
    assert record["data_used"]["source"] == "synthetic"
    assert len(list((run_dir / "samples").glob("epoch_*.png"))) == 2
    for name in ("stats.jsonl", "progress.gif", "losses.png", "d_outputs.png",
                 "checkpoints/last.pt"):
        assert (run_dir / name).stat().st_size > 0
    text = json.dumps(read(out).cells)
    assert "QUICK scale" in text and "run folder:" in text


def test_every_parameter_of_03_is_a_config_field_so_one_call_builds_the_config():
    import papermill

    from animeutils.config import TrainConfig

    params = set(papermill.inspect_notebook(str(ROOT / "notebooks" / "03_train.ipynb")))
    fields = set(TrainConfig.__dataclass_fields__)
    assert params - fields == {"demo", "quick", "drive"}  # scale and Colab's Drive
    assert fields - params <= {"extra", "beta2", "channels_last", "cuda_graphs", "sync_bn",
                               "num_samples", "checkpoint_minutes", "tensorboard"}  # CLI only
    source = "".join(c.source for c in read(ROOT / "notebooks" / "03_train.ipynb").cells)
    assert "TrainConfig.from_namespace(globals())" in source


@pytest.mark.parametrize("notebook,wrong,meant", [("03_train.ipynb", "epoch", "epochs"),
                                                   ("01_explore_data.ipynb", "max_image",
                                                    "max_images")])
def test_a_misspelt_papermill_parameter_stops_the_notebook_in_one_line(tmp_path, notebook,
                                                                         wrong, meant):
    out = tmp_path / "out.ipynb"
    cmd = [sys.executable, "-m", "papermill", "-k", "python3", "--cwd", str(ROOT / "notebooks"),
           str(ROOT / "notebooks" / notebook), str(out), "-p", wrong, "3", "-p", "quick", "True"]
    done = subprocess.run(cmd, env=os.environ, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    errors = [o for c in read(out).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["ParameterError"]
    assert errors[0]["evalue"].startswith(f"unknown parameter {wrong} (did you mean {meant}?)")
    ran = [c for c in read(out).cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) <= 4  # bootstrap, parameters, injected parameters, the check: no training


def test_parameter_check_reads_the_injected_cell_only():
    from animeutils import runtime

    declared = 'epochs = 25  # passes\nlr_d = None  # rate\n'
    runtime.check_parameters(["", "import x", declared, "# Parameters\nepochs = 3\n"])
    runtime.check_parameters(["", "import x", declared])  # not papermill: nothing to check
    with pytest.raises(runtime.ParameterError, match=r"^unknown parameters epoch \(did you "
                       r"mean epochs\?\), lr \(did you mean lr_d\?\)"):
        runtime.check_parameters(["", declared, "# Parameters\nepoch = 3\nlr = 0.1\n"])
