"""The training doctor: recognises the common GAN failure modes from the statistics a run already
reads (one row every ``log_every`` steps, and the scheduled evaluations) and says what the
literature suggests. It never stops a run: the NaN guard does that.

Each diagnosis, what it looks at (means over the last ``patience`` steps), and the remedies:

- ``d_wins``: D accuracy >= 0.95 with D(G(z)) <= 0.1 (hinge: loss_d <= 0.25 instead). Try
  DiffAugment (Zhao et al. 2020), a lower lr_d (TTUR, Heusel et al. 2017), one-sided label
  smoothing (Salimans et al. 2016) or R1 (Mescheder et al. 2018).
- ``dgz_near_0``: D(G(z)) <= 0.02, every fake rejected with certainty. As for ``d_wins``.
- ``dgz_near_1``: D(G(z)) >= 0.9, D no longer tells fakes from data. Raise lr_d or lower lr_g;
  less dropout or augmentation in D.
- ``collapse``: a diversity ratio < 0.4 at a scheduled evaluation, samples far more alike than
  the data (mode collapse). DiffAugment, R1, a lower lr_g; resume an earlier checkpoint.
- ``loss_spike``: one window's loss_d or loss_g above 3x the median of the 10 windows before it
  (and above that median + 1.5). Lower both learning rates, or R1; a NaN often follows.

Means over a span, not every window: a D that wins for 200 steps with one window's dip in
between still wins. Calibrated on runs made to fail (a 10x lr_d, a D 4x wider than G: rolling
D(G(z)) 0.003-0.09) against healthy ones (rolling D(G(z)) >= 0.11); tests/test_doctor.py keeps
those cases. Each diagnosis is reported once when it starts, and again only after its condition
has cleared. Nothing is judged in the first ``warmup`` steps, where D always leads.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

KEYS = ("step", "d_real", "d_fake", "d_acc", "loss_d", "loss_g")  # what a training row is judged by

REMEDY = {
    "d_wins": "try augment='color,translation,cutout' (DiffAugment), a lower lr_d (e.g. half "
              "of lr_g), real_label=0.9 or r1_gamma=0.1 -- or recipe='stable'",
    "dgz_near_0": "try augment='color,translation,cutout' (DiffAugment), a lower lr_d, "
                  "real_label=0.9 or r1_gamma=0.1 -- or recipe='stable'",
    "dgz_near_1": "try a higher lr_d or a lower lr_g, or less dropout or augmentation in D",
    "collapse": "try augment='color,translation,cutout', r1_gamma=0.1 or a lower lr_g, or resume "
                "an earlier checkpoint (checkpoint_every)",
    "loss_spike": "a NaN may follow: try lower lr_g and lr_d, or r1_gamma=0.1; resume from "
                  "checkpoints/last.pt if it diverges",
}


@dataclass
class Diagnosis:
    code: str  # a key of REMEDY
    step: int  # the step at which it was recognised
    message: str  # one line: what is wrong, the evidence, what to try

    def row(self) -> dict:
        """The stats.jsonl record of this diagnosis."""
        return {"step": self.step, "diagnosis": self.code, "message": self.message}


class Doctor:
    """``doctor.observe(row)`` with every training-statistics row and ``doctor.observe_eval(row)``
    with every evaluation row; each returns the diagnoses that start there."""

    def __init__(self, loss: str = "bce", *, warmup: int = 200, patience: int = 200):
        self.loss, self.warmup, self.patience = loss, warmup, patience
        self.active: set[str] = set()
        self.rows: list[dict] = []  # training rows after the warm-up (their KEYS only)

    def state_dict(self) -> dict:
        """What a checkpoint keeps, so that a resumed run is diagnosed as an uninterrupted one:
        the diagnoses in force (not reported again) and the rows the next spans average."""
        return {"active": sorted(self.active), "rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.active = set(state["active"])
        self.rows = [dict(r) for r in state["rows"]]

    def _span_means(self, step: int) -> dict[str, float] | None:
        """Means over the rows of the last ``patience`` steps, once that many have been seen."""
        if step - self.warmup < self.patience:
            return None
        span = [x for x in self.rows if x["step"] > step - self.patience]
        return {k: statistics.fmean(x[k] for x in span)
                for k in ("d_real", "d_fake", "d_acc", "loss_d", "loss_g")}

    def _spike(self, r: dict) -> str | None:
        recent = self.rows[-10:]
        if len(recent) < 5:
            return None
        for key in ("loss_d", "loss_g"):
            median = statistics.median(x[key] for x in recent)
            if r[key] > 3 * median and r[key] > median + 1.5:
                return f"{key} {r[key]:.2f} against a median of {median:.2f} over the last " \
                       f"{len(recent)} windows"
        return None

    def _check(self, code: str, holds: bool, step: int, what: str) -> list[Diagnosis]:
        """Report ``code`` when its condition starts holding; forget it when it stops."""
        if not holds:
            self.active.discard(code)
            return []
        if code in self.active:
            return []
        self.active.add(code)
        return [Diagnosis(code, step, f"doctor at step {step}: {what}; {REMEDY[code]}")]

    def observe(self, r: dict) -> list[Diagnosis]:
        step = r["step"]
        if step <= self.warmup:
            return []
        spike = self._spike(r)  # against the windows before this one (a median: robust)
        found = self._check("loss_spike", spike is not None, step, f"loss spike: {spike}")
        self.rows.append({k: r[k] for k in KEYS})
        del self.rows[: -max(10, self.patience)]  # rows are at least a step apart
        m = self._span_means(step)
        if m is None:
            return found
        since = f"over steps {step - self.patience}-{step}"
        evidence = (f"mean D(x) {m['d_real']:.2f}, D(G(z)) {m['d_fake']:.2f}, D accuracy "
                    f"{m['d_acc']:.2f}, loss_g {m['loss_g']:.2f} {since}")
        wins = m["d_acc"] >= 0.95 and (m["loss_d"] <= 0.25 if self.loss == "hinge"
                                       else m["d_fake"] <= 0.1)
        found += self._check("d_wins", wins, step, f"D is winning outright ({evidence})")
        found += self._check("dgz_near_0", m["d_fake"] <= 0.02, step,
                             f"D(G(z)) is pinned near 0 ({evidence})")
        found += self._check("dgz_near_1", m["d_fake"] >= 0.9, step,
                             f"D(G(z)) is pinned near 1: D no longer tells fakes from data "
                             f"({evidence})")
        return found

    def observe_eval(self, r: dict) -> list[Diagnosis]:
        if "diversity" not in r:
            return []
        return self._check("collapse", r["diversity"] < 0.4, r["step"],
                           f"mode collapse: samples are {r['diversity']:.2f}x as varied as the "
                           "data (diversity ratio; about 1 when healthy)")
