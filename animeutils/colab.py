"""Google Colab: keep runs on Google Drive, so that a disconnect loses nothing.

A Colab runtime's disk goes with the runtime, and each notebook opened from its badge gets a
runtime of its own. :func:`use_drive` mounts Drive and points ``$ANIMEUTILS_RUNS`` (and the
decoded-image cache, ``$ANIMEUTILS_CACHE``) at ``MyDrive/anime-dcgan``, for the notebook and for
every process it starts (the sweep's papermill runs, the CLI): notebook 05 then finds the runs
notebook 03 trained in another runtime, and ``resume=True`` continues them after a disconnect.
Outside Colab it does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import runlog, runtime

CACHE_ENV = "ANIMEUTILS_CACHE"
FOLDER = "anime-dcgan"  # under MyDrive


def use_drive(drive: bool | None = None, *, mount_point: str | Path = "/content/drive",
              folder: str = FOLDER) -> Path | None:
    """Mount Drive and keep runs there (``drive`` None or True, in Colab); returns the folder,
    or None when runs stay on the runtime's disk. Says which, in one line."""
    if not runtime.in_colab():
        if drive:
            print(f"drive=True only applies in Google Colab; runs stay in {runlog.runs_root()}")
        return None
    if drive is False:
        print(f"drive=False: runs stay in {runlog.runs_root()}, which a disconnect deletes")
        return None
    try:
        from google.colab import drive as google_drive

        google_drive.mount(str(mount_point))
    except Exception as e:  # refused in the pop-up, no account, or a timeout: say so, go on
        first = (str(e).strip().splitlines() or [""])[0]
        print(f"Google Drive was not mounted ({type(e).__name__}: {first}); runs stay in "
              f"{runlog.runs_root()} and are lost when the runtime disconnects: run this cell "
              "again and allow access, or set drive=False")
        return None
    root = Path(mount_point) / "MyDrive" / folder
    (root / "runs").mkdir(parents=True, exist_ok=True)
    os.environ[runlog.RUNS_ENV] = str(root / "runs")
    os.environ[CACHE_ENV] = str(root / "cache")
    print(f"runs and the decoded-image cache are kept on Google Drive: {root}")
    return root
