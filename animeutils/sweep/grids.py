"""Named settings and the grids made of them: each setting is a dict of notebook-03 parameters
(TrainConfig fields), a grid is a set of settings crossed with seeds.

A grid is given as the name of one in :data:`GRIDS`, a list of setting names, or a dict of your
own ``{name: {field: value}}``: labels, architecture variants, stabilisers, learning rates.
"""

from __future__ import annotations

# Each setting: the notebook-03 parameters that differ from hard labels (real 1, fake 0).
SETTINGS: dict[str, dict] = {
    "hard": {},
    "real0.9": {"real_label": 0.9},  # one-sided smoothing (Salimans et al. 2016; seed 002)
    "real0.99": {"real_label": 0.99},  # seed 004's real targets
    "real0.995": {"real_label": 0.995},
    "real0.9_fake0.1": {"real_label": 0.9, "fake_label": 0.1},  # two-sided smoothing
    "real0.9_fake0.01": {"real_label": 0.9, "fake_label": 0.01},  # seed 004's fake targets
    "real0.9_fake0.005": {"real_label": 0.9, "fake_label": 0.005},
    "noise0.3": {"label_noise": 0.3},  # targets jittered by up to 0.15, clipped to [0, 1]
    "flip0.05": {"flip_prob": 0.05},  # 5 % of D's targets swapped
}
# The recipe comparison (docs/recipes.md): the textbook, then one stabiliser more at a time,
# each spelled out (not through recipe="stable", so that the evidence outlives the recipe).
_DIFFAUG = {"recipe": "dcgan", "augment": "color,translation,cutout"}
RECIPE_SETTINGS: dict[str, dict] = {
    "dcgan": {"recipe": "dcgan"},  # the textbook DCGAN of pytorch/examples and the seeds
    "dcgan+diffaug": _DIFFAUG,
    "dcgan+diffaug+hflip": {**_DIFFAUG, "hflip": True},
    "dcgan+diffaug+hflip+r1": {**_DIFFAUG, "hflip": True, "r1_gamma": 0.1},
    "dcgan+diffaug+hflip+r1+ema": {**_DIFFAUG, "hflip": True, "r1_gamma": 0.1, "ema": 0.999},
    "dcgan+diffaug+r1+ema": {**_DIFFAUG, "r1_gamma": 0.1, "ema": 0.999},  # the same, no flips
}
# The architecture variants of notebook 02 (the seed projects' networks), against the textbook.
VARIANT_SETTINGS: dict[str, dict] = {
    "dcgan+dense300": {"recipe": "dcgan", "arch": "dense300", "latent_dim": 300,
                       "d_dropout": 0.3},  # seed 000's G and D
    "dcgan+sn_d": {"recipe": "dcgan", "spectral_norm": True},  # Miyato et al. 2018
    "dcgan+dropout_d": {"recipe": "dcgan", "d_mid_dropout": 0.25},  # seed 001
}
# Every named setting that is not a label setting: what grid names and reports look up.
NAMED_SETTINGS: dict[str, dict] = {**RECIPE_SETTINGS, **VARIANT_SETTINGS}
LABEL_FIELDS = ("real_label", "fake_label", "label_noise", "flip_prob")
# What a run's row and a setting's summary row show of its configuration.
SETTING_FIELDS = ("recipe", "loss", "augment", "r1_gamma", "ema", "lr_g", "lr_d", "hflip",
                  *LABEL_FIELDS, "arch", "latent_dim", "spectral_norm", "d_dropout",
                  "d_mid_dropout")
GRIDS = {
    "default": list(SETTINGS),
    # The question the seed projects left open: one-sided 0.9 against 0.99, two-sided smoothing,
    # and seed 004's near-zero fake targets (docs/label_smoothing.md).
    "core": ["hard", "real0.9", "real0.99", "real0.9_fake0.1", "real0.9_fake0.01"],
    "quick": ["hard", "real0.9"],
    "recipes": list(RECIPE_SETTINGS),
    "recipes_quick": ["dcgan", "dcgan+diffaug+hflip+r1+ema"],
    "variants": ["dcgan", *VARIANT_SETTINGS],
}
BASELINES = {"recipes": "dcgan", "recipes_quick": "dcgan", "variants": "dcgan"}  # else "hard"


def settings_of(grid) -> dict[str, dict]:
    """``{setting name: its parameters}`` of a grid (see the module docstring)."""
    if isinstance(grid, dict):
        if not grid or not all(isinstance(v, dict) for v in grid.values()):
            raise ValueError(f"grid={grid!r} is invalid: a dict grid maps setting names to "
                             "dicts of notebook-03 parameters")
        return {str(k): dict(v) for k, v in grid.items()}
    return {name: setting(name) for name in grid_settings(grid)}


def grid_settings(grid: str | list[str] | tuple[str, ...]) -> list[str]:
    """A grid's setting names: a name from GRIDS, or a list of known setting names (or the
    keys of a dict grid)."""
    if isinstance(grid, dict):
        return list(settings_of(grid))
    if isinstance(grid, str):
        if grid in GRIDS:
            return list(GRIDS[grid])
        names = [grid]
    else:
        names = list(grid)
    unknown = [n for n in names if n not in SETTINGS and n not in NAMED_SETTINGS]
    if unknown or not names:
        raise ValueError(f"grid={grid!r} is invalid: use one of {', '.join(GRIDS)} or a list of "
                         f"settings from {', '.join([*SETTINGS, *NAMED_SETTINGS])}")
    return names


def setting(name: str) -> dict:
    """The notebook-03 parameters of a named setting."""
    return SETTINGS[name] if name in SETTINGS else NAMED_SETTINGS[name]


def baseline(grid) -> str:
    """The setting a grid's others are compared with: "dcgan" in a recipe grid, "hard" in a
    label grid, else the grid's first setting."""
    if isinstance(grid, str) and grid in BASELINES:
        return BASELINES[grid]
    names = grid_settings(grid)
    return next((b for b in ("dcgan", "hard") if b in names), names[0])


def seed_list(seeds: int | list[int]) -> list[int]:
    """``3`` -> [0, 1, 2]; a list is used as given."""
    if isinstance(seeds, bool) or not isinstance(seeds, (int, list, tuple)):
        raise ValueError(f"seeds={seeds!r} is invalid: use a count (e.g. 3) or a list of seeds")
    values = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise ValueError(f"seeds={seeds!r} is invalid: need at least one seed, each >= 0, "
                         "no repeats")
    return values


def describe_grid(grid) -> str:
    """A Markdown table of a grid's settings: D's targets for a label grid, else every
    parameter a setting sets ("–": notebook 03's default or the recipe's)."""
    params = settings_of(grid)
    names = list(params)
    if all(name in SETTINGS for name in names):
        lines = ["| setting | real target | fake target | label noise | flip prob |",
                 "|---|---|---|---|---|"]
        for name in names:
            v = {"real_label": 1.0, "fake_label": 0.0, "label_noise": 0.0, "flip_prob": 0.0,
                 **SETTINGS[name]}
            lines.append(f"| {name} | " + " | ".join(f"{v[k]:g}" for k in LABEL_FIELDS) + " |")
        return "\n".join(lines)
    keys = list(dict.fromkeys(k for name in names for k in params[name]))
    lines = ["| setting | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(str(params[name].get(k, "–")) for k in keys)
                     + " |")
    return "\n".join(lines)
