"""The step notebook 03 teaches is the step the engine runs.

The notebook's ``reference_step`` (read from the notebook itself, not copied here) and
``Trainer.train_step`` start from the same weights, optimiser settings (the engine's fused Adam
included: plain Adam rounds differently), noise stream and global RNG state, take the same real
batches, and must give the same losses and the same weights after every option that changes the
arithmetic. Tiny networks (width 8) and batch 16 keep it to seconds; fp32 on the CPU.
"""

import copy
import json
from pathlib import Path

import pytest
import torch

from animeutils import data, train
from animeutils.config import TrainConfig
from animeutils.ema import EMA

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_train.ipynb"
STEPS = 6

CASES = {
    "textbook": {"recipe": "dcgan"},
    "d_steps 2": {"recipe": "dcgan", "d_steps": 2},
    "label smoothing, noise, flips": {"recipe": "dcgan", "real_label": 0.9, "fake_label": 0.1,
                                      "label_noise": 0.2, "flip_prob": 0.1},
    "hinge": {"recipe": "dcgan", "loss": "hinge"},
    "DiffAugment": {"recipe": "dcgan", "augment": "color,translation,cutout"},
    "R1": {"recipe": "dcgan", "r1_gamma": 1.0, "r1_every": 2},
    "EMA with warm-up": {"recipe": "dcgan", "ema": 0.99, "ema_rampup": 0.05},
    "TTUR": {"recipe": "dcgan", "lr_g": 1e-4, "lr_d": 4e-4},
    "recipe stable": {"recipe": "stable"},
    "everything, d_steps 2": {"recipe": "stable", "r1_gamma": 0.5, "r1_every": 3, "d_steps": 2,
                              "real_label": 0.9, "label_noise": 0.1, "flip_prob": 0.05,
                              "d_mid_dropout": 0.2},
    "hinge + DiffAugment + R1": {"recipe": "stable", "loss": "hinge", "r1_gamma": 0.2,
                                 "r1_every": 2},
}


def notebook_reference_step():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    found = [s for s in sources if "def reference_step(" in s]
    assert len(found) == 1, "notebook 03 must define reference_step in exactly one cell"
    namespace = {"torch": torch}  # imported by an earlier cell of the notebook
    exec(compile(found[0], f"{NOTEBOOK}:reference_step", "exec"), namespace)
    return namespace["reference_step"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANIMEUTILS_CACHE", str(tmp_path_factory.mktemp("faces-cache")))
        return data.load_dataset("synthetic", 64, max_images=128, progress=False, verbose=False)


def run_both(tmp_path, faces, channels_last=False, **overrides):
    cfg = TrainConfig(data="synthetic", max_images=128, g_features=8, d_features=8,
                      batch_size=16, channels_last=channels_last, doctor=False,
                      run_dir=str(tmp_path / "run"), **overrides)
    trainer = train.Trainer(cfg, faces, progress=False)
    cfg = trainer.cfg  # with the recipe's values filled in
    G, D = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    adam = dict(betas=(cfg.beta1, cfg.beta2), fused=trainer.opt_g.defaults["fused"])
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, **adam)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, **adam)
    ema = EMA(G, cfg.ema, cfg.ema_rampup) if cfg.ema > 0 else None
    noise = torch.Generator().set_state(trainer.noise.get_state())
    batches = [x.clone() for _, x in zip(range(STEPS), trainer.batches.epoch(0))]
    initial = {k: v.clone() for k, v in G.state_dict().items()}

    rng = torch.get_rng_state()  # dropout draws from the global stream
    engine = [{k: v.item() for k, v in trainer.train_step(x).items()} for x in batches]
    torch.set_rng_state(rng)
    step = notebook_reference_step()
    reference = [step(G, D, opt_g, opt_d, x, i, cfg, noise, ema) for i, x in enumerate(batches)]
    ours = {"G": G, "D": D, **({"EMA": ema.model} if ema else {})}
    theirs = {"G": trainer.G, "D": trainer.D, **({"EMA": trainer.ema.model} if ema else {})}
    return cfg, engine, reference, ours, theirs, initial


def assert_same(engine, reference, ours, theirs, tol):
    for i, (e, r) in enumerate(zip(engine, reference)):
        for key in ("loss_d", "loss_g", "d_real", "d_fake"):
            assert e[key] == pytest.approx(r[key], rel=tol, abs=tol), (i, key)
    for name, net in ours.items():
        for (key, a), b in zip(net.state_dict().items(), theirs[name].state_dict().values()):
            assert torch.allclose(a.float(), b.float(), rtol=tol, atol=tol), (name, key)


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_the_taught_step_is_the_engine_step(tmp_path, faces, overrides):
    cfg, engine, reference, ours, theirs, initial = run_both(tmp_path, faces, **overrides)
    assert_same(engine, reference, ours, theirs, tol=1e-5)
    g_updates = [e["loss_g"] != 0 for e in engine]
    assert g_updates == [(i + 1) % cfg.d_steps == 0 for i in range(STEPS)]
    # G moved: two steps that both did nothing would agree too.
    moved = max((ours["G"].state_dict()[k] - v).abs().max().item() for k, v in initial.items()
                if v.is_floating_point())
    assert moved > 1e-4


def test_the_taught_step_matches_with_channels_last_too(tmp_path, faces):
    """The engine's default memory layout sums convolutions in another order: close, not equal."""
    _, engine, reference, ours, theirs, _ = run_both(tmp_path, faces, channels_last=True,
                                                  recipe="stable")
    assert_same(engine, reference, ours, theirs, tol=1e-4)


def test_the_ema_warm_up_counts_g_updates_not_d_steps(tmp_path, faces, monkeypatch):
    """With d_steps 2, G (and its average) is updated every second step: the warm-up's clock is
    the number of G updates, 0, 1, 2, 3, not the step numbers 1, 3, 5, 7."""
    cfg = TrainConfig(data="synthetic", max_images=128, g_features=8, d_features=8,
                      batch_size=16, doctor=False, run_dir=str(tmp_path / "run"),
                      recipe="stable", d_steps=2)
    trainer = train.Trainer(cfg, faces, progress=False)
    clock, update = [], trainer.ema.update
    monkeypatch.setattr(trainer.ema, "update",
                        lambda model, step: (clock.append(step), update(model, step)))
    for _, x in zip(range(8), trainer.batches.epoch(0)):  # 128 images: 8 batches
        trainer.train_step(x)
    assert clock == [0, 1, 2, 3]
