"""In a real browser: JupyterLab serves notebook 05, headless Chromium runs it, a latent slider
moves, and the displayed face must change. Saves a screenshot.

    python tests/browser/notebook05_sliders.py [--screenshot docs/notebook05_sliders.png]

Needs Debian's `chromium` (apt-get install chromium) and the `playwright` package (pip); no
browser download. JupyterLab listens on 127.0.0.1 only, with a random token. The notebook runs in
quick mode (ANIMEUTILS_QUICK=1), so it evaluates the latest run under runs/ or trains a tiny one.
`make browser` runs it; it is not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(port: int, token: str) -> subprocess.Popen:
    env = {**os.environ, "ANIMEUTILS_QUICK": "1"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
           "--port", str(port), f"--IdentityProvider.token={token}", "--allow-root",
           f"--ServerApp.root_dir={ROOT}"]
    lab = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):  # up to a minute for the server to answer
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={token}", timeout=1)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.kill()
    raise RuntimeError("JupyterLab did not start within a minute")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, default=ROOT / "notebook05_sliders.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    # JupyterLab autosaves what it runs: work on a throwaway copy beside the original (so its
    # bootstrap still finds the clone), never on the committed notebook.
    copy = ROOT / "notebooks" / "_browser_check_05.ipynb"
    shutil.copyfile(ROOT / "notebooks" / "05_evaluate.ipynb", copy)
    port, token = free_port(), secrets.token_hex(16)
    lab = start_lab(port, token)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{copy.name}?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            # The kernel is ready when the status bar says Idle; then Run > Run All Cells.
            page.get_by_text("Kernel status: Idle").first.wait_for(state="attached",
                                                                  timeout=120_000)
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator("li.lm-Menu-item", has_text="Run All Cells").first.click()
            image = page.locator(".widget-image").last
            try:
                image.wait_for(state="visible", timeout=int(os.environ.get("WAIT_MS", 300_000)))
            except Exception:
                page.screenshot(path=str(args.screenshot.with_suffix(".failed.png")))
                raise
            before = image.get_attribute("src")
            # Handles in order: truncation (at its maximum), then the principal directions.
            handle = page.locator(".widget-slider .noUi-handle, .widget-slider .ui-slider-handle")
            handle.nth(1).focus()
            for _ in range(10):
                page.keyboard.press("ArrowRight")
            deadline = time.time() + 30
            while image.get_attribute("src") == before and time.time() < deadline:
                time.sleep(0.2)
            after = image.get_attribute("src")
            image.scroll_into_view_if_needed()
            page.screenshot(path=str(args.screenshot))
            browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
        copy.unlink(missing_ok=True)
    changed = after != before
    print(f"slider moved; displayed image {'changed' if changed else 'DID NOT change'}; "
          f"screenshot: {args.screenshot}")
    return 0 if changed else 1


if __name__ == "__main__":
    sys.exit(main())
