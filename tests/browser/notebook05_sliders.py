"""In a real browser: JupyterLab serves notebook 05, headless Chromium runs it, a latent slider
moves, and the displayed face must change. Saves a screenshot.

    python tests/browser/notebook05_sliders.py [--screenshot runs/notebook05_sliders.png]

`make browser` runs it, and so does CI (.ci/run, after `make test`). Needs Debian's `chromium`
(apt-get install chromium) and the `playwright` package (pip); no browser download. JupyterLab
listens on 127.0.0.1 only, with a random token. The notebook runs in quick mode
(ANIMEUTILS_QUICK=1): it evaluates the latest run under runs/, or trains a tiny one first (a
fresh clone has none).

Isolated from the user's Jupyter state: config, data, runtime, settings and workspace folders
are a temporary directory. (A saved workspace from an earlier session once reopened two
notebooks, one of them in a hidden tab, which made the check wait on the hidden one.) News and
update checks are off, the notebook is opened in a throwaway copy whose kernel is this script's
own Python (the only kernelspec the server offers), any dialog that appears is logged and
dismissed, and every wait is bounded by one overall deadline (--budget). On a failure it saves
<screenshot>-failure.png, -failure.html and -failure.txt (the page) beside the screenshot and
prints the end of JupyterLab's log (<screenshot>-jupyterlab.log, kept).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "animeutils-browser-check"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
SLIDER_HANDLE = ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle"  # ipywidgets 8, 7


class CheckFailed(RuntimeError):
    pass


class Deadline:
    """One budget for the whole check; every wait takes what is left of it, capped."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def ms(self, cap_s: float) -> int:
        left = self.left()
        if left <= 0:
            raise CheckFailed("out of time (--budget)")
        return int(1000 * min(cap_s, left))


def log(message: str) -> None:
    print(f"[browser check {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_jupyter(tmp: Path) -> dict[str, str]:
    """Environment variables for a Jupyter that sees nothing of the user's state, with one
    kernelspec (this interpreter), no news or update checks, and every notebook cell attached
    to the page (no windowing)."""
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "settings", "workspaces",
                                          "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True)
    spec = dirs["data"] / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({Path(sys.executable).parent.parent.name})",
        "language": "python",
    }))
    (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps({
        "KernelSpecManager": {"allowed_kernelspecs": [KERNEL]},
        "MappingKernelManager": {"default_kernel_name": KERNEL},
    }))
    settings = {
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, values in settings.items():
        path = dirs["settings"] / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def start_lab(port: int, token: str, env: dict[str, str], logfile, deadline: Deadline):
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
           "--port", str(port), f"--IdentityProvider.token={token}", "--allow-root",
           f"--ServerApp.root_dir={ROOT}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    lab = subprocess.Popen(cmd, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    end = time.monotonic() + min(90, deadline.left())
    while time.monotonic() < end:
        if lab.poll() is not None:
            raise CheckFailed(f"JupyterLab exited with status {lab.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={token}", timeout=2)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.kill()
    raise CheckFailed("JupyterLab did not answer within 90 s")


def api(port: int, token: str, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{path}?token={token}",
                                timeout=5) as response:
        return json.load(response)


def dismiss_dialogs(page) -> None:
    """Log and dismiss any modal dialog (none is expected with the settings above)."""
    dialogs = page.locator(".jp-Dialog")
    for _ in range(5):
        if not dialogs.count() or not dialogs.first.is_visible():
            return
        text = " | ".join(dialogs.first.inner_text().split("\n"))
        log(f"dismissing a dialog: {text[:300]}")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)


def raise_on_error_output(panel) -> None:
    errors = panel.locator('[data-mime-type="application/vnd.jupyter.error"]')
    if errors.count():
        raise CheckFailed("a cell raised:\n" + errors.first.inner_text()[-2000:])


def wait_until(page, what: str, condition, deadline: Deadline, cap_s: float, panel=None):
    """Poll ``condition()`` until it is true, dismissing dialogs and failing fast on a cell
    error; at most ``cap_s`` seconds (or what is left of the budget)."""
    end = time.monotonic() + deadline.ms(cap_s) / 1000
    start = time.monotonic()
    while True:
        dismiss_dialogs(page)
        if panel is not None:
            raise_on_error_output(panel)
        if condition():
            log(f"{what}: {time.monotonic() - start:.1f} s")
            return
        if time.monotonic() > end:
            raise CheckFailed(f"timed out after {time.monotonic() - start:.0f} s waiting for "
                              f"{what}")
        page.wait_for_timeout(250)


def shown(image) -> str:
    """The displayed image's bytes (fetched from its blob: URL in the page), as a digest."""
    return image.evaluate("""async e => {
        const bytes = new Uint8Array(await (await fetch(e.src)).arrayBuffer());
        let h = 2166136261;
        for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
        return `${bytes.length} bytes, FNV-1a ${h.toString(16)}`;
    }""")


def session_of(port: int, token: str, name: str):
    return next((s for s in api(port, token, "sessions") if s["path"].endswith(name)), None)


def check(page, port: int, token: str, copy: Path, screenshot: Path, deadline: Deadline) -> bool:
    page.set_default_timeout(30_000)
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{copy.name}?token={token}",
              timeout=deadline.ms(90))
    panel = page.locator(".jp-NotebookPanel:visible")
    wait_until(page, "the notebook on the page",
               lambda: panel.count() == 1 and panel.locator(".jp-Cell").count() > 0,
               deadline, 120)

    def kernel_idle():
        session = session_of(port, token, copy.name)
        return session is not None and session["kernel"]["execution_state"] == "idle"

    wait_until(page, "the kernel to be idle", kernel_idle, deadline, 120)
    kernel = session_of(port, token, copy.name)["kernel"]["name"]
    if kernel != KERNEL:
        raise CheckFailed(f"the notebook got kernel {kernel!r}, not {KERNEL!r}")
    log(f"kernel {kernel}: {sys.executable}")

    panel.locator(".jp-Cell").first.click(timeout=deadline.ms(30))
    page.get_by_role("menuitem", name="Run", exact=True).click(timeout=deadline.ms(30))
    page.locator("li.lm-Menu-item", has_text="Run All Cells").first.click(
        timeout=deadline.ms(30))
    log("Run > Run All Cells")
    image = panel.locator(".widget-image").last
    wait_until(page, "the notebook to run to the latent explorer",
               lambda: image.count() > 0 and image.is_visible()
               and (image.get_attribute("src") or "").startswith(("blob:", "data:")),
               deadline, 240, panel)
    wait_until(page, "the kernel to finish", kernel_idle, deadline, 60, panel)
    before = shown(image)
    page.wait_for_timeout(1000)
    if shown(image) != before:
        raise CheckFailed("the displayed image changes with no input: the check would mean nothing")

    # Handles in order: truncation (at its maximum), then the principal directions.
    handle = panel.locator(SLIDER_HANDLE).nth(1)
    handle.scroll_into_view_if_needed(timeout=deadline.ms(30))
    handle.focus(timeout=deadline.ms(30))
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    try:
        wait_until(page, "the face to change", lambda: shown(image) != before,
                   deadline, 30, panel)
    except CheckFailed as e:
        log(str(e))
    changed = shown(image) != before
    readout = panel.locator(".widget-slider").nth(1).locator(".widget-readout")
    log(f"first direction slider reads {readout.first.inner_text() if readout.count() else '?'}"
        f"; displayed image {'changed' if changed else 'DID NOT change'} ({before} -> "
        f"{shown(image)})")
    image.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(screenshot))
    return changed


def save_failure(page, screenshot: Path) -> None:
    stem = screenshot.with_suffix("")
    for suffix, write in ((".png", lambda p: page.screenshot(path=str(p), full_page=True)),
                          (".html", lambda p: p.write_text(page.content())),
                          (".txt", lambda p: p.write_text(page.inner_text("body")))):
        path = Path(f"{stem}-failure{suffix}")
        try:
            write(path)
            log(f"saved {path}")
        except Exception as e:  # the page may be gone: save what can be saved
            log(f"could not save {path}: {e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, default=ROOT / "notebook05_sliders.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--budget", type=float, default=240,
                        help="seconds for everything up to the screenshot (default 240)")
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        print(f"error: no Chromium at {args.chromium} (apt-get install chromium)",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    deadline = Deadline(args.budget)
    screenshot = args.screenshot.resolve()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    lab_log = Path(f"{screenshot.with_suffix('')}-jupyterlab.log")
    for old in screenshot.parent.glob(f"{screenshot.stem}-failure.*"):
        old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="animeutils-browser-"))
    env = {**os.environ, **isolated_jupyter(tmp), "ANIMEUTILS_QUICK": "1"}
    # JupyterLab autosaves what it runs: work on a throwaway copy beside the original (so its
    # bootstrap still finds the clone), never on the committed notebook.
    copy = ROOT / "notebooks" / "_browser_check_05.ipynb"
    notebook = json.loads((ROOT / "notebooks" / "05_evaluate.ipynb").read_text())
    notebook["metadata"]["kernelspec"] = {"name": KERNEL, "display_name": KERNEL,
                                          "language": "python"}
    copy.write_text(json.dumps(notebook, indent=1))
    port, token = free_port(), secrets.token_hex(16)
    ok, lab = False, None
    start = time.monotonic()
    try:
        with open(lab_log, "w") as logfile:
            lab = start_lab(port, token, env, logfile, deadline)
            log(f"JupyterLab up on port {port}: {time.monotonic() - start:.1f} s")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.on("dialog", lambda d: (log(f"browser dialog: {d.message}"), d.dismiss()))
                try:
                    ok = check(page, port, token, copy, screenshot, deadline)
                    if not ok:
                        save_failure(page, screenshot)
                except Exception as e:
                    log(f"FAILED: {type(e).__name__}: {e}")
                    save_failure(page, screenshot)
                finally:
                    browser.close()
    except CheckFailed as e:
        log(f"FAILED: {e}")
    finally:
        if lab is not None:
            lab.terminate()
            try:
                lab.wait(timeout=30)
            except subprocess.TimeoutExpired:
                lab.kill()
                lab.wait()
        copy.unlink(missing_ok=True)
        (copy.parent / ".ipynb_checkpoints" / f"{copy.stem}-checkpoint.ipynb").unlink(
            missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        lines = lab_log.read_text(errors="replace").splitlines() if lab_log.exists() else []
        print(f"--- the last {min(60, len(lines))} lines of {lab_log} ---", file=sys.stderr)
        print("\n".join(lines[-60:]), file=sys.stderr)
        print(f"FAILED after {time.monotonic() - start:.0f} s", file=sys.stderr)
        return 1
    print(f"slider moved; displayed image changed; {time.monotonic() - start:.0f} s; "
          f"screenshot: {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
