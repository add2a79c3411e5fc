"""What a sweep found, read from its run folders alone: one row per run, the per-setting summary
(CSV and Markdown), the conclusions those numbers support, mean curves and a sample panel."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

from PIL import Image

from .. import atomic, runlog, viz
from . import stats
from .grids import NAMED_SETTINGS, SETTING_FIELDS, SETTINGS
from .planning import MARKER, check_same_data, data_identity, marker


def run_summary(path: str | Path) -> dict:
    """One run's numbers, read from its folder: the last evaluation's SWD and diversity, the best
    SWD, the D outputs and losses averaged over the last epoch, the median training speed."""
    path = Path(path)
    done = marker(path) or {}
    if (path / "config.json").exists():
        cfg = json.loads((path / "config.json").read_text())["config"]
    else:  # stopped before training began (e.g. its data changed): what it was asked to run
        cfg = done.get("params", {})
    stats = runlog.read_stats(path)
    train = [r for r in stats if "loss_d" in r]
    evals = [r for r in stats if "swd" in r]
    row = {"setting": path.parent.name, "seed": cfg["seed"], "status": done.get("status", "?"),
           **{k: cfg.get(k) for k in SETTING_FIELDS}, "steps": train[-1]["step"] if train else 0,
           "epochs": train[-1]["epoch"] if train else 0.0,
           "images_seen": train[-1]["images_seen"] if train else 0,
           "seconds": done.get("seconds", math.nan), "error": done.get("error", "")}
    last_epoch = [r for r in train if r["epoch"] > train[-1]["epoch"] - 1] if train else []
    for name, key in (("d_real_end", "d_real"), ("d_fake_end", "d_fake"),
                      ("loss_d_end", "loss_d"), ("loss_g_end", "loss_g")):
        row[name] = statistics.fmean(r[key] for r in last_epoch) if last_epoch else math.nan
    speeds = [r["images_per_s"] for r in train[1:] or train]  # the first window holds warm-up
    row["images_per_s"] = statistics.median(speeds) if speeds else math.nan
    row["swd_end"] = evals[-1]["swd"] if evals else math.nan
    row["swd_raw_end"] = evals[-1].get("swd_raw", row["swd_end"]) if evals else math.nan
    row["swd_best"] = min(r["swd"] for r in evals) if evals else math.nan
    row["diversity_end"] = evals[-1]["diversity"] if evals else math.nan
    row["eval_samples"] = evals[-1]["eval_samples"] if evals else 0
    # what it trained on: names and contents of the images (a rebuilt folder can differ)
    row["data"] = data_identity(path)[:12]
    return row


def collect(sweep_dir: str | Path, settings: list[str] | None = None) -> list[dict]:
    """:func:`run_summary` of every run folder under ``sweep_dir`` (optionally only ``settings``),
    in the order of SETTINGS, then seed."""
    sweep_dir = Path(sweep_dir)
    order = {name: i for i, name in enumerate([*SETTINGS, *NAMED_SETTINGS])}
    folders = {p.parent for pattern in ("*/seed*/config.json", f"*/seed*/{MARKER}")
               for p in sweep_dir.glob(pattern)}
    rows = [run_summary(p) for p in folders if settings is None or p.parent.name in settings]
    return sorted(rows, key=lambda r: (order.get(r["setting"], len(order)), r["setting"],
                                       r["seed"]))


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """Write ``rows`` (dicts with the same keys) as CSV, atomically; floats to 6 significant
    digits."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    return atomic.write_text(path, buf.getvalue())


def write_results(sweep_dir: str | Path, settings: list[str] | None = None) -> list[dict]:
    """Collect, summarise, and write ``runs.csv`` and ``results.csv``; returns the summary.
    Runs that trained on different images are refused (:func:`check_same_data`)."""
    runs = collect(sweep_dir, settings)
    if not runs:
        raise FileNotFoundError(f"no run folders under {sweep_dir}: run the sweep first")
    check_same_data(runs, sweep_dir)
    summary = stats.summarise(runs, SETTING_FIELDS)
    write_csv(runs, Path(sweep_dir) / "runs.csv")
    write_csv(summary, Path(sweep_dir) / "results.csv")
    return summary


def parse_csv(text: str) -> list[dict]:
    """Rows of CSV text written by :func:`write_csv`, numbers parsed back."""
    def parse(value):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value

    return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv`, numbers parsed back."""
    return parse_csv(Path(path).read_text())


def table_markdown(summary: list[dict]) -> str:
    """The summary as a Markdown table, each metric as mean ± std over seeds."""
    cols = [("swd_end", "SWD end", 1), ("swd_best", "SWD best", 1),
            ("diversity_end", "diversity", 3), ("d_real_end", "D(x)", 3),
            ("d_fake_end", "D(G(z))", 3), ("images_per_s", "images/s", 0)]

    def cell(row, key, digits):
        mean, std = row[f"{key}_mean"], row[f"{key}_std"]
        if math.isnan(mean):
            return "–"
        return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")

    head = "| setting | seeds | failed | " + " | ".join(c[1] for c in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cols))]
    for row in summary:
        lines.append(f"| {row['setting']} | {row['seeds']} | {row['failed']} | "
                     + " | ".join(cell(row, k, d) for k, _, d in cols) + " |")
    return "\n".join(lines)


# --- conclusions --------------------------------------------------------------------------------
def conclusions(summary: list[dict], metric: str = "swd_end", baseline: str = "hard",
                lower_is_better: bool = True) -> list[str]:
    """Sentences computed from the summary: the ranking by ``metric`` (mean ± std over seeds),
    then every setting against ``baseline`` with a 95 % Welch interval and a Holm-corrected
    p-value (:mod:`.stats`), "no evidence" whenever the interval contains 0; then the runs left
    out (failed, needing attention, unfinished)."""
    def fmt(row):
        std = row[f"{metric}_std"]
        return f"{row[f'{metric}_mean']:.2f}" + ("" if math.isnan(std) else f" ± {std:.2f}")

    ranked = sorted((r for r in summary if not math.isnan(r[f"{metric}_mean"])),
                    key=lambda r: r[f"{metric}_mean"], reverse=not lower_is_better)
    if not ranked:
        return [f"No finished run has a {metric} value yet: run the sweep first.",
                *_status_notes(summary)]
    seeds = sorted({r["seeds"] for r in ranked})
    order = "lower" if lower_is_better else "higher"
    lines = [f"Ranking by {metric} ({order} is better; mean ± std over "
             f"{'/'.join(map(str, seeds))} seed(s)): "
             + "; ".join(f"{i + 1}. {r['setting']} {fmt(r)}" for i, r in enumerate(ranked))]
    comparisons = stats.compare(summary, baseline, metric)
    if comparisons:
        lines.append(f"Each setting against {baseline}, corrected for {len(comparisons)} "
                     "comparisons:")
        lines += [stats.verdict(c, metric, lower_is_better) for c in comparisons]
    elif len(ranked) > 1 or ranked[0]["setting"] != baseline:
        names = ", ".join(r["setting"] for r in summary)
        lines.append(f"No setting is compared: the baseline {baseline!r} has no finished run with "
                     f"a {metric} value (pass baseline= one of {names}).")
    return lines + _status_notes(summary)


def _status_notes(summary: list[dict]) -> list[str]:
    """Sentences on the runs left out of the comparison: failed, needing attention, unfinished."""
    lines = []
    failed = [f"{r['setting']} ({r['failed']} of {r['failed'] + r['seeds']})"
              for r in summary if r["failed"]]
    if failed:
        lines.append("Runs that failed (e.g. diverged): " + ", ".join(failed) + ".")
    attention = [f"{r['setting']} ({r['attention']})" for r in summary if r.get("attention")]
    if attention:
        lines.append("Needs attention, retried when the sweep runs again (excluded above): "
                     + "; ".join(attention) + ".")
    unfinished = [r["setting"] for r in summary if r["unfinished"] and not r.get("attention")]
    if unfinished:
        lines.append("Not finished yet (excluded above): " + ", ".join(unfinished) + ".")
    return lines


# --- figures ------------------------------------------------------------------------------------
def mean_curves(sweep_dir: str | Path, setting: str, keys=("loss_d", "loss_g", "d_real",
                                                              "d_fake", "swd")) -> dict:
    """``{key: (images_seen, mean over seeds)}`` for one setting, over the steps every finished
    seed has logged."""
    runs = [p for p in sorted(Path(sweep_dir, setting).glob("seed*"))
            if (marker(p) or {}).get("status") == "finished"]
    stats = [runlog.read_stats(p) for p in runs]
    curves = {}
    for key in keys:
        series = [{r["step"]: (r["images_seen"], r[key]) for r in rows if key in r}
                  for rows in stats]
        if not series:
            continue
        steps = sorted(set.intersection(*(set(s) for s in series)))
        seen = [series[0][s][0] for s in steps]
        curves[key] = (seen, [statistics.fmean(s[step][1] for s in series) for step in steps])
    return curves


def plot_curves(sweep_dir: str | Path, settings: list[str], pyplot: bool = True):
    """One figure: SWD, D and G losses, D(x) and D(G(z)) over images seen, one line per setting
    (the mean over its seeds)."""
    fig = viz.figure_maker(pyplot)(figsize=(12, 7))
    panels = [("swd", "SWD x1e3 (lower is better)"), ("loss_d", "D loss"),
              ("loss_g", "G loss"), ("d_real", "D(x)"), ("d_fake", "D(G(z))")]
    curves = {s: mean_curves(sweep_dir, s, [key for key, _ in panels]) for s in settings}
    axes = fig.subplots(2, 3).flat
    for (key, title), ax in zip(panels, axes):
        for setting in settings:
            curve = curves[setting].get(key)
            if curve and curve[0]:
                ax.plot(*curve, marker="o" if key == "swd" else None, ms=3, label=setting)
        ax.set(title=title, xlabel="images seen")
    legend_ax = list(fig.axes)[-1]
    legend_ax.set_axis_off()
    handles, names = fig.axes[0].get_legend_handles_labels()
    legend_ax.legend(handles, names, loc="center", title="setting (mean over seeds)")
    fig.tight_layout()
    return fig


def sample_panel(sweep_dir: str | Path, settings: list[str], seed: int | None = None,
                 pyplot: bool = True):
    """The last sample grid of one seed of each setting, side by side."""
    found = []
    for setting in settings:
        seeds = (sorted(Path(sweep_dir, setting).glob("seed*")) if seed is None
                 else [Path(sweep_dir, setting, f"seed{seed}")])
        grids = sorted(seeds[0].glob("samples/epoch_*.png")) if seeds else []
        if grids:
            found.append((f"{setting}\n{seeds[0].name}, {grids[-1].stem}", grids[-1]))
    cols = min(3, max(len(found), 1))
    rows = -(-len(found) // cols) if found else 1
    fig = viz.figure_maker(pyplot)(figsize=(4 * cols, 4.3 * rows))
    for i, (title, path) in enumerate(found):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(Image.open(path))
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return fig
