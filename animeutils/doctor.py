"""The training doctor: recognises the common GAN failure modes from the statistics a run already
reads (one row every ``log_every`` steps, and the scheduled evaluations) and says what the
literature suggests. It never stops a run: the NaN guard does that.

=============  ===============================================  ==================================
diagnosis      seen as                                          remedies suggested
=============  ===============================================  ==================================
d_wins         D accuracy >= 0.95 with D(G(z)) <= 0.15 (BCE;    DiffAugment (Zhao et al. 2020),
               hinge: loss_d <= 0.25) for ``patience`` steps    lower lr_d (TTUR, Heusel et al.
                                                                2017), one-sided label smoothing
                                                                (Salimans et al. 2016), R1
                                                                (Mescheder et al. 2018)
dgz_near_0     D(G(z)) <= 0.02 for ``patience`` steps: every    as d_wins; D's gradient to G is
               fake rejected with certainty                     then mostly noise
dgz_near_1     D(G(z)) >= 0.9 for ``patience`` steps: D no      raise lr_d or lower lr_g, less
               longer tells fakes from data                     dropout/augmentation in D
collapse       diversity ratio < 0.4 at an evaluation: samples  DiffAugment, R1, lower lr_g;
               far more alike than the data (mode collapse)     resume an earlier checkpoint
loss_spike     a window's loss_d or loss_g above 3x the median  lower both learning rates, R1;
               of the last 10 windows (and > median + 1.5)      a NaN often follows
=============  ===============================================  ==================================

Each diagnosis is reported once when it starts, and again only after its condition has cleared.
Nothing is judged in the first ``warmup`` steps, where D always leads.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

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
        self.since: dict[str, int | None] = {code: None for code in REMEDY}  # condition start
        self.active: set[str] = set()
        self.history: list[dict] = []  # recent training rows, for the spike baseline
        self.last_step = 0

    def _d_wins(self, r: dict) -> bool:
        if self.loss == "hinge":
            return r["d_acc"] >= 0.95 and r["loss_d"] <= 0.25
        return r["d_acc"] >= 0.95 and r["d_fake"] <= 0.15

    def _spike(self, r: dict) -> str | None:
        recent = self.history[-10:]
        if len(recent) < 5:
            return None
        for key in ("loss_d", "loss_g"):
            median = statistics.median(x[key] for x in recent)
            if r[key] > 3 * median and r[key] > median + 1.5:
                return f"{key} {r[key]:.2f} against a median of {median:.2f} over the last " \
                       f"{len(recent)} windows"
        return None

    def _sustained(self, code: str, holds: bool, step: int, start: int) -> bool:
        """Track a condition that held since ``start``; True once it has lasted ``patience``."""
        if not holds:
            self.since[code] = None
            self.active.discard(code)
            return False
        if self.since[code] is None:
            self.since[code] = start
        return step - self.since[code] >= self.patience

    def _report(self, code: str, step: int, what: str) -> list[Diagnosis]:
        if code in self.active:
            return []
        self.active.add(code)
        return [Diagnosis(code, step, f"doctor at step {step}: {what}; {REMEDY[code]}")]

    def observe(self, r: dict) -> list[Diagnosis]:
        step, start, self.last_step = r["step"], self.last_step, r["step"]
        found: list[Diagnosis] = []
        if step <= self.warmup:
            self.history.append(r)
            return found
        evidence = (f"D(x) {r['d_real']:.2f}, D(G(z)) {r['d_fake']:.2f}, D accuracy "
                    f"{r['d_acc']:.2f}, loss_g {r['loss_g']:.2f}")
        for code, holds, what in (
            ("d_wins", self._d_wins(r), "D is winning outright"),
            ("dgz_near_0", r["d_fake"] <= 0.02, "D(G(z)) is pinned near 0"),
            ("dgz_near_1", r["d_fake"] >= 0.9, "D(G(z)) is pinned near 1, D no longer "
                                                "tells fakes from data"),
        ):
            if self._sustained(code, holds, step, start):
                since = self.since[code]
                found += self._report(code, step, f"{what} since step {since} ({evidence})")
        spike = self._spike(r)
        if spike:
            found += self._report("loss_spike", step, f"loss spike: {spike}")
        else:
            self.active.discard("loss_spike")
            self.history.append(r)  # a spike does not raise the baseline it is judged by
        del self.history[:-10]
        return found

    def observe_eval(self, r: dict) -> list[Diagnosis]:
        if "diversity" not in r:
            return []
        if r["diversity"] >= 0.4:
            self.active.discard("collapse")
            return []
        return self._report("collapse", r["step"], f"mode collapse: samples are "
                            f"{r['diversity']:.2f}x as varied as the data (diversity ratio; "
                            "about 1 when healthy)")
