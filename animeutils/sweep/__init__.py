"""A grid of named settings, each trained for several seeds by running notebook 03 through
papermill, then summarised from the run folders alone: the label-smoothing grids of notebook 04
(:data:`SETTINGS`), the recipe comparison of docs/recipes.md (:data:`RECIPE_SETTINGS`) and
notebook 02's architecture variants (:data:`VARIANT_SETTINGS`).

Layout of a sweep folder::

    <sweep_dir>/<setting>/seed<k>/         one run folder of animeutils.train per setting and seed
        03_train.ipynb                     the executed training notebook
        sweep.json                         written when the notebook ends: finished or failed
        papermill.log                      papermill's output
    <sweep_dir>/runs.csv                   one row per run
    <sweep_dir>/results.csv                one row per setting: mean and std over seeds

A sweep that stops part-way resumes: runs whose ``sweep.json`` says finished (or failed) with the
same parameters are skipped, and the others continue from their last checkpoint (notebook 03
with ``resume=True``); a run stopped by an error a retry can fix (its data changed, out of
memory) is marked as needing attention and tried again. With several GPUs the runs are spread
one per device.

One job per module: :mod:`.grids` (named settings and grids), :mod:`.planning` (runs and their
state on disk), :mod:`.notebook03` (finding notebook 03), :mod:`.runner` (papermill children,
devices, interrupts), :mod:`.stats` (means, Welch intervals, Holm), :mod:`.report` (tables,
conclusions, figures), :mod:`.evidence` (the sweeps committed under docs/).

    from animeutils import sweep
    sweep.run_sweep("runs/label_smoothing", grid="core", seeds=3, epochs=10)
    rows = sweep.summarise(sweep.collect("runs/label_smoothing"))

Command line: ``python -m animeutils.sweep --sweep-dir runs/label_smoothing --seeds 3``.
"""

from .evidence import LABEL_SWEEPS, OTHER_SWEEPS, committed_results
from .grids import (
    BASELINES,
    GRIDS,
    LABEL_FIELDS,
    NAMED_SETTINGS,
    RECIPE_SETTINGS,
    SETTING_FIELDS,
    SETTINGS,
    VARIANT_SETTINGS,
    baseline,
    describe_grid,
    grid_settings,
    seed_list,
    setting,
    settings_of,
)
from .notebook03 import NOTEBOOK, notebook_parameters, raw_url, training_notebook
from .planning import MARKER, Run, marker, notebook_defaults, plan, state
from .report import (
    collect,
    conclusions,
    mean_curves,
    parse_csv,
    plot_curves,
    read_csv,
    run_summary,
    sample_panel,
    table_markdown,
    write_csv,
    write_results,
)
from .runner import RETRYABLE, Outcome, Stopper, default_devices, execute, run_sweep
from .stats import METRICS, Comparison, compare, holm, summarise, verdict, welch

__all__ = [
    "BASELINES",
    "GRIDS",
    "LABEL_FIELDS",
    "LABEL_SWEEPS",
    "MARKER",
    "METRICS",
    "NAMED_SETTINGS",
    "NOTEBOOK",
    "OTHER_SWEEPS",
    "RECIPE_SETTINGS",
    "RETRYABLE",
    "SETTINGS",
    "SETTING_FIELDS",
    "VARIANT_SETTINGS",
    "Comparison",
    "Outcome",
    "Run",
    "Stopper",
    "baseline",
    "collect",
    "committed_results",
    "compare",
    "conclusions",
    "default_devices",
    "describe_grid",
    "execute",
    "grid_settings",
    "holm",
    "main",
    "marker",
    "mean_curves",
    "notebook_defaults",
    "notebook_parameters",
    "parse_csv",
    "plan",
    "plot_curves",
    "raw_url",
    "read_csv",
    "run_summary",
    "run_sweep",
    "sample_panel",
    "seed_list",
    "setting",
    "settings_of",
    "state",
    "summarise",
    "table_markdown",
    "training_notebook",
    "verdict",
    "welch",
    "write_csv",
    "write_results",
]


def main(argv: list[str] | None = None) -> int:
    """The command line (``python -m animeutils.sweep``)."""
    from .__main__ import main as cli  # __main__ imports this package: resolve it on call

    return cli(argv)
