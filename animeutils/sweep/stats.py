"""Statistics of a sweep: per setting, the mean and spread over seeds; against the baseline, the
difference of means with a 95 % Welch interval and a p-value corrected for the number of
comparisons (Holm), and the sentence those numbers support.

Why the correction: picking the best of k settings against a baseline makes k comparisons, and
at the 5 % level one of notebook 04's eight comparisons with hard labels would look
"significant" about a third of the time by chance alone (1 - 0.95**8 = 0.34). Holm's step-down
method (Holm 1979, "A simple sequentially rejective multiple test procedure") keeps the chance
of any false claim at 5 % and is never less powerful than Bonferroni. Welch's t (unequal
variances; Welch 1947) is the test for two small samples whose spreads may differ, with
Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy import stats as scipy_stats

# Per-run numbers; results.csv has the mean and std over seeds of each.
METRICS = ("swd_end", "swd_raw_end", "swd_best", "diversity_end", "d_real_end", "d_fake_end",
           "loss_d_end", "loss_g_end", "images_per_s")


def summarise(rows: list[dict], fields: tuple[str, ...] = ()) -> list[dict]:
    """One row per setting: the mean and sample std (n - 1) over the seeds of finished runs of
    every metric (std is NaN with one seed), with the count of finished and failed runs, the
    ``fields`` of the setting's first run, and the errors of runs that need attention."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting]
        ok = [r for r in mine if r["status"] == "finished"]
        row = {"setting": setting, **{k: mine[0].get(k) for k in fields},
               "seeds": len(ok), "failed": sum(r["status"] == "failed" for r in mine),
               "unfinished": sum(r["status"] not in ("finished", "failed") for r in mine),
               "attention": "; ".join(f"seed {r['seed']}: {r['error']}" for r in mine
                                      if r["status"] == "attention")}
        for metric in METRICS:
            values = [r[metric] for r in ok if not math.isnan(r[metric])]
            row[f"{metric}_mean"] = statistics.fmean(values) if values else math.nan
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else math.nan
            row[f"{metric}_n"] = len(values)  # seeds with a value (a metric can be missing)
        out.append(row)
    return out


@dataclass
class Comparison:
    setting: str
    baseline: str
    difference: float  # mean(setting) - mean(baseline)
    low: float  # 95 % Welch interval of the difference (NaN with fewer than 2 seeds a side)
    high: float
    df: float  # Welch-Satterthwaite degrees of freedom
    p: float  # two-sided Welch p-value
    p_holm: float  # corrected for the number of comparisons made

    @property
    def evidence(self) -> bool:
        """True when the interval excludes 0 and the corrected p-value is below 0.05."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0) and self.p_holm < 0.05


def welch(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int,
          level: float = 0.95) -> tuple[float, float, float, float, float]:
    """(difference a - b, interval low, high, df, two-sided p) of Welch's t from summaries."""
    diff = mean_a - mean_b
    if n_a < 2 or n_b < 2 or math.isnan(std_a) or math.isnan(std_b):
        return diff, math.nan, math.nan, math.nan, math.nan
    va, vb = std_a ** 2 / n_a, std_b ** 2 / n_b
    se = math.sqrt(va + vb)
    if se == 0:  # no spread on either side: nothing to judge a difference by
        return diff, math.nan, math.nan, math.nan, math.nan
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    half = scipy_stats.t.ppf(0.5 + level / 2, df) * se
    p = 2 * scipy_stats.t.sf(abs(diff) / se, df)
    return diff, diff - half, diff + half, df, p


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given. A comparison without a p-value (NaN: too few
    seeds, no spread) stays NaN but still counts among the m comparisons made (conservative)."""
    order = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m, running, out = len(p_values), 0.0, list(p_values)
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def compare(summary: list[dict], baseline: str, metric: str = "swd_end") -> list[Comparison]:
    """Every other setting against ``baseline`` on ``metric``, Holm-corrected over all of them."""
    base = next((r for r in summary if r["setting"] == baseline), None)
    if base is None or math.isnan(base[f"{metric}_mean"]):
        return []  # nothing to compare with (conclusions says so)
    others = [r for r in summary if r is not base and not math.isnan(r[f"{metric}_mean"])]
    def n(row):
        return row.get(f"{metric}_n", row["seeds"])

    raw = [welch(r[f"{metric}_mean"], r[f"{metric}_std"], n(r), base[f"{metric}_mean"],
                 base[f"{metric}_std"], n(base)) for r in others]
    adjusted = holm([p for *_, p in raw])
    return [Comparison(r["setting"], baseline, d, lo, hi, df, p, q)
            for r, (d, lo, hi, df, p), q in zip(others, raw, adjusted)]


def verdict(c: Comparison, metric: str = "swd_end", lower_is_better: bool = True) -> str:
    """The sentence one comparison supports."""
    if math.isnan(c.low):
        return (f"{c.setting} vs {c.baseline}: difference {c.difference:+.2f} in {metric}, but "
                "with fewer than two seeds on a side (or no spread at all) there is nothing to "
                "judge it by: no evidence either way.")
    numbers = (f"difference {c.difference:+.2f} in {metric}, 95 % interval (uncorrected) "
               f"[{c.low:+.2f}, "
               f"{c.high:+.2f}] (Welch, {c.df:.1f} df), Holm-corrected p = {c.p_holm:.3g}")
    if not c.evidence:
        return f"{c.setting} vs {c.baseline}: {numbers}: no evidence of a difference."
    better = (c.difference < 0) == lower_is_better
    return (f"{c.setting} vs {c.baseline}: {numbers}: {c.setting} is "
            f"{'better' if better else 'worse'}.")
