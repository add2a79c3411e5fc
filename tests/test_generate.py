"""Generating from a checkpoint (animeutils.generate) and the latent tools (animeutils.latent).

One tiny run (width 8, 64 synthetic faces, 4 steps: a few seconds on a CPU) is trained once for
the module; every test reads its checkpoint.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from animeutils import generate, latent, train
from animeutils.config import TrainConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished tiny run with EMA. The autouse cache fixture is function-scoped and not active
    yet, so this sets its own private cache."""
    tmp = tmp_path_factory.mktemp("generate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANIMEUTILS_CACHE", str(tmp / "cache"))
        cfg = TrainConfig(data="synthetic", max_images=64, g_features=8, d_features=8,  # tiny
                          batch_size=16, epochs=1, num_samples=8, ema=0.9,
                          run_dir=str(tmp / "run"))
        result = train.train(cfg, progress=False)
    assert (result.run_dir / "checkpoints" / "last.pt").is_file()
    return result.run_dir


@pytest.fixture(scope="module")
def ckpt(run_dir):
    return run_dir / "checkpoints" / "last.pt"


def cli(*args) -> int:
    return generate.main([str(a) for a in args])


def pngs(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def pixels(folder) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("0*.png"))])


# --- latent ------------------------------------------------------------------------------------
def test_noise_is_seeded_locally_and_independent_of_n():
    before = torch.get_rng_state()
    z = latent.noise(5, 100, seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is untouched
    assert z.shape == (5, 100) and z.dtype == torch.float32
    assert torch.equal(z, latent.noise(5, 100, seed=3))
    assert torch.equal(z, latent.noise(37, 100, seed=3)[:5])  # image i whatever n is
    assert not torch.equal(z, latent.noise(5, 100, seed=4))
    assert abs(latent.noise(4000, 100, seed=0).std().item() - 1) < 0.01


def test_truncate_scales_and_validates_psi():
    z = latent.noise(4, 10, seed=0)
    assert torch.equal(latent.truncate(z, 1.0), z)
    assert torch.equal(latent.truncate(z, 0.0), torch.zeros_like(z))
    assert torch.allclose(latent.truncate(z, 0.5), z / 2)
    for psi in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"psi=.*\[0, 1\]"):
            latent.truncate(z, psi)


def test_slerp_endpoints_norms_and_shapes():
    a, b = latent.noise(2, 100, seed=1)
    t = torch.linspace(0, 1, 11)
    path = latent.slerp(a, b, t)
    assert path.shape == (11, 100)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    norms, lo, hi = path.norm(dim=-1), min(a.norm(), b.norm()), max(a.norm(), b.norm())
    assert ((norms >= lo - 1e-4) & (norms <= hi + 1e-4)).all()
    # Equal norms are kept all the way (a straight line would dip by ~1/sqrt(2) mid-way).
    ua, ub = a / a.norm(), b / b.norm()
    assert torch.allclose(latent.slerp(ua, ub, t).norm(dim=-1), torch.ones(11), atol=1e-5)
    assert torch.lerp(ua, ub, 0.5).norm() < 0.8
    # Along the arc the angle to a grows evenly: t=0.5 is halfway in angle.
    mid = latent.slerp(ua, ub, 0.5)
    assert torch.allclose(mid @ ua, mid @ ub, atol=1e-5)
    # Parallel inputs fall back to a (finite) straight line.
    assert torch.allclose(latent.slerp(a, 2 * a, 0.5), 1.5 * a)
    assert torch.isfinite(latent.slerp(a, -a, t)).all()


def test_interpolation_grid_rows_run_from_start_to_end():
    start, end = latent.noise(3, 10, seed=0), latent.noise(3, 10, seed=1)
    grid = latent.interpolation_grid(start, end, steps=5)
    assert grid.shape == (15, 10)
    assert torch.equal(grid[0::5], start) and torch.equal(grid[4::5], end)
    assert latent.interpolation_grid(start[0], end[0], 4).shape == (4, 10)
    with pytest.raises(ValueError, match="steps"):
        latent.interpolation_grid(start, end, 1)


# --- load_generator / generate -----------------------------------------------------------------
def test_load_generator_returns_eval_model_and_config(ckpt, run_dir):
    before = torch.get_rng_state()
    generator, cfg = generate.load_generator(ckpt)
    assert torch.equal(torch.get_rng_state(), before)  # building G drew from a forked RNG
    assert not generator.training and cfg.latent_dim == 100 and cfg.g_features == 8
    images = generate.generate(generator, 3, latent_dim=cfg.latent_dim, seed=0)
    assert images.shape == (3, 64, 64, 3) and images.dtype == torch.uint8
    from_folder, _ = generate.load_generator(run_dir)
    assert torch.equal(images, generate.generate(from_folder, 3, latent_dim=100, seed=0))


def test_ema_weights_are_the_checkpoints_ema_entry(ckpt):
    state = torch.load(ckpt, weights_only=True)
    ema, _ = generate.load_generator(ckpt)
    raw, _ = generate.load_generator(ckpt, ema=False)
    key = "net.0.weight"
    assert torch.equal(ema.state_dict()[key], state["ema"][key])
    assert torch.equal(raw.state_dict()[key], state["generator"][key])
    assert not torch.equal(state["ema"][key], state["generator"][key])


def test_a_checkpoint_without_ema_loads_the_raw_generator(ckpt, tmp_path):
    state = torch.load(ckpt, weights_only=True)
    state["ema"] = {}
    torch.save(state, tmp_path / "no_ema.pt")
    generator, _ = generate.load_generator(tmp_path / "no_ema.pt", ema=True)
    assert torch.equal(generator.state_dict()["net.0.weight"], state["generator"]["net.0.weight"])


def test_batch_size_does_not_change_the_images(ckpt):
    generator, cfg = generate.load_generator(ckpt)
    whole = generate.generate(generator, 6, latent_dim=cfg.latent_dim, seed=2)
    chunked = generate.generate(generator, 6, latent_dim=cfg.latent_dim, seed=2, batch_size=4)
    assert (whole.int() - chunked.int()).abs().max() <= 1  # eval BN: images are independent


def bad_paths(tmp_path) -> dict:
    """Checkpoint paths that must be refused: kind -> (path, phrase of the error)."""
    empty = tmp_path / "empty_run"
    empty.mkdir()
    (tmp_path / "notes.pt").write_text("this is not a checkpoint\n")
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    return {"missing": (tmp_path / "nope.pt", "checkpoint not found"),
            "folder": (empty, "no checkpoint in folder"),
            "text": (tmp_path / "notes.pt", "not a readable checkpoint"),
            "other": (tmp_path / "other.pt", "not a training checkpoint (no config or generator")}


@pytest.mark.parametrize("kind", ["missing", "folder", "text", "other"])
def test_load_generator_errors_name_the_path(tmp_path, kind):
    path, phrase = bad_paths(tmp_path)[kind]
    error = FileNotFoundError if kind in ("missing", "folder") else ValueError
    with pytest.raises(error) as info:
        generate.load_generator(path)
    message = str(info.value)
    assert phrase in message and str(path) in message and "\n" not in message


# --- command line ------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_images(ckpt, tmp_path, capsys):
    assert cli("--checkpoint", ckpt, "--num-images", 6, "--out", tmp_path / "a") == 0
    assert cli("--checkpoint", ckpt, "--num-images", 6, "--out", tmp_path / "b") == 0
    assert cli("--checkpoint", ckpt, "--num-images", 6, "--out", tmp_path / "c",
               "--seed", 1) == 0
    a, b = pngs(tmp_path / "a"), pngs(tmp_path / "b")
    assert list(a) == [f"{i:05d}.png" for i in range(6)]
    assert a == b  # byte-identical files
    assert not np.array_equal(pixels(tmp_path / "a"), pixels(tmp_path / "c"))
    first = Image.open(tmp_path / "a" / "00000.png")
    assert first.mode == "RGB" and first.size == (64, 64) and first.info == {}  # no metadata
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and out[0].startswith("wrote 6 images") and "EMA" in out[0]


def test_truncation_zero_gives_the_mean_face_every_time(ckpt, tmp_path):
    assert cli("--checkpoint", ckpt, "--num-images", 4, "--out", tmp_path,
               "--truncation", 0) == 0
    images = pixels(tmp_path)
    assert images.shape == (4, 64, 64, 3)
    assert (images == images[0]).all() and images.std() > 0  # identical, and not blank


def test_grid_has_the_right_size(ckpt, tmp_path):
    assert cli("--checkpoint", ckpt, "--num-images", 10, "--out", tmp_path, "--grid") == 0
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (8 * 66 + 2, 2 * 66 + 2)  # 8 per row, 2 rows, 2 px padding
    assert len(list(tmp_path.glob("0*.png"))) == 10
    assert np.array_equal(np.asarray(grid)[2:66, 2:66], np.asarray(Image.open(tmp_path /
                                                                              "00000.png")))


def test_raw_and_ema_weights_give_different_images(ckpt, tmp_path):
    assert cli("--checkpoint", ckpt, "--num-images", 4, "--out", tmp_path / "ema") == 0
    assert cli("--checkpoint", ckpt, "--num-images", 4, "--out", tmp_path / "raw", "--raw") == 0
    ema, raw = pixels(tmp_path / "ema"), pixels(tmp_path / "raw")
    assert ema.shape == raw.shape and not np.array_equal(ema, raw)


def test_run_folder_form_matches_the_checkpoint_file(ckpt, run_dir, tmp_path):
    assert cli("--checkpoint", run_dir, "--num-images", 3, "--out", tmp_path / "dir") == 0
    assert cli("--checkpoint", ckpt, "--num-images", 3, "--out", tmp_path / "file") == 0
    assert pngs(tmp_path / "dir") == pngs(tmp_path / "file") != {}


@pytest.mark.parametrize("kind", ["missing", "folder", "text"])
def test_bad_checkpoint_exits_2_with_one_line_naming_the_path(tmp_path, capsys, kind):
    path, phrase = bad_paths(tmp_path)[kind]
    assert cli("--checkpoint", path, "--num-images", 2, "--out", tmp_path / "out") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert str(path) in captured.err and phrase in captured.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,message", [
    (["--num-images", "0"], "--num-images 0 is invalid"),
    (["--num-images", "2", "--truncation", "1.5"], "--truncation 1.5 is invalid"),
    (["--num-images", "2", "--truncation", "-0.1"], "--truncation -0.1 is invalid"),
    (["--num-images", "two"], "argument --num-images: invalid int value: 'two'"),
    (["--num-images", "2", "--device", "gpu"], "--device gpu is invalid"),
])
def test_bad_arguments_exit_2(ckpt, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as info:  # argparse's errors exit from inside parse_args
        sys.exit(cli("--checkpoint", ckpt, "--out", tmp_path / "out", *args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_out_must_be_a_folder(ckpt, tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert cli("--checkpoint", ckpt, "--num-images", 1, "--out", tmp_path / "taken") == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'taken'} is a file, not a folder " \
                                      "for the images\n"


def test_module_entry_point(ckpt, tmp_path):
    """``python -m animeutils.generate`` in a fresh process: exit codes and the one-line error."""
    ok = subprocess.run([sys.executable, "-m", "animeutils.generate", "--checkpoint", ckpt,
                         "--num-images", "2", "--out", tmp_path / "out"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000.png", "00001.png"]
    bad = subprocess.run([sys.executable, "-m", "animeutils.generate", "--checkpoint",
                          tmp_path / "nope.pt", "--num-images", "2", "--out", tmp_path / "x"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr == f"error: checkpoint not found: {tmp_path / 'nope.pt'}\n"
