"""What a learner sees: notebooks run in JupyterLab, in headless Chromium, with nothing from the internet.

The notebook tests prove that notebooks execute; this proves that they render. A JupyterLab server
on localhost serves a copy of the notebooks; Chromium (Debian's package, driven by Playwright) opens
each one, runs every cell and checks: no error output and no warning on stderr; every plotly figure
drawn; every circuitsvis view filled; the slider (01) and the explorer (04) redraw their figures when
moved; no request left localhost; nothing logged to the browser console as an error or warning.
Screenshots of every figure, view and widget go to ``SCREENSHOTS`` for a person to look at.

Without Chromium these tests skip, saying how to enable them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import NOTEBOOK_SECONDS, REPO

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("WORKBENCH_SCREENSHOTS", REPO / "tests" / "screenshots"))
VIEWPORT = {"width": 1280, "height": 900}  # the width the course's figures are made for
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LAB_SETTINGS = {  # what a learner would switch off once: the news pop-up, and the update check behind it
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
# The notebooks with widgets or circuitsvis views, and what to do with each widget. The rest run
# only with WORKBENCH_BROWSER_NOTEBOOKS=all (a few minutes more), to look at every figure.
WIDGETS = {
    "00_start_here.ipynb": None,
    "01_superposition.ipynb": "slider",
    "04_attribution_graphs.ipynb": "dropdown",
}
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")) \
    if os.environ.get("WORKBENCH_BROWSER_NOTEBOOKS") == "all" else list(WIDGETS)
RUN_TIMEOUT_S = 150  # per notebook, in the browser
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Each circuitsvis view carries its own copy of TensorFlow.js; a page with two kinds of view (notebook 08:
# attention patterns and top contexts) registers its kernels twice, and tfjs says so once per kernel.
# Harmless and not ours to fix; any other warning still fails the test.
TFJS_REREGISTERED = re.compile(r"^(The kernel '\w+' for backend '\w+' is already registered|"
                               r"\w+ backend was already registered\. Reusing existing backend factory\.|"
                               r"Platform browser has already been set\. Overwriting the platform with browser\.)$")


def library_noise(text: str) -> bool:
    return bool(TFJS_REREGISTERED.match(text))

if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM}. Install Debian's package "
                "(`apt-get install -y chromium`, as root; .ci/run does) or set WORKBENCH_CHROMIUM",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (requirements.txt)")


# ---- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_lab(root: Path, port: int, token: str, env: dict) -> subprocess.Popen:
    """JupyterLab serving ``root`` on localhost, with the app exposed to the page as ``window.jupyterapp``.

    The one place that knows the command line: point it at the course's own launcher when there is one.
    """
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token) of a JupyterLab server on a copy of the notebooks, with its own settings."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    for name, settings in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port, token = free_port(), secrets.token_hex(16)
    server = start_lab(root, port, token, env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{server.stderr.read()}", pytrace=False)
            time.sleep(0.5)
    yield url, token
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# ---- what the page reports ------------------------------------------------------------------------
class Watch:
    """Every request that leaves localhost (aborted), and every console error or warning, of one page."""

    def __init__(self, page):
        self.outside, self.console = [], []
        page.route("**/*", self._route)
        page.on("websocket", lambda ws: self._check(ws.url))
        page.on("console", lambda m: m.type in ("error", "warning") and not library_noise(m.text)
                and self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    def _check(self, url: str) -> bool:
        local = urlsplit(url).scheme in ("data", "blob", "about") or urlsplit(url).hostname in LOCAL_HOSTS
        if not local:
            self.outside.append(url)
        return local

    def _route(self, route):
        if self._check(route.request.url):
            route.continue_()
        else:
            route.abort("internetdisconnected")


NOTEBOOK_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session?.kernel;
    const cells = panel.content.model.cells;
    let code = 0, ran = 0, errors = [], stderr = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        code += 1;
        if (cell.executionCount !== null) ran += 1;
        for (const out of cell.outputs.toJSON()) {
            if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
            if (out.output_type === 'stream' && out.name === 'stderr') stderr.push(`cell ${i}: ${[].concat(out.text).join('')}`);
        }
    }
    return {status: kernel ? kernel.status : 'none', busy: panel.sessionContext.isBusy ?? false, code, ran, errors, stderr};
}"""

RENDERED = """() => {
    const box = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
    const plots = Array.from(document.querySelectorAll('.jp-OutputArea-output .plotly-graph-div'));
    const views = Array.from(document.querySelectorAll('.jp-OutputArea-output [id^="circuits-vis"]'));
    const room = el => el.closest('.jp-OutputArea-output').clientWidth;
    const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output'));
    // Text the figure draws (titles, tick labels, colour bars, names) that sits on other text.
    const clashes = p => {
        const texts = Array.from(p.querySelectorAll('svg text')).filter(t => t.textContent.trim())
            .map(t => [t.textContent.trim(), t.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
        const found = [];
        texts.forEach(([a, r], i) => texts.slice(i + 1).forEach(([b, q]) => {
            const dx = Math.min(r.right, q.right) - Math.max(r.left, q.left);
            const dy = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
            if (dx > 1 && dy > 1) found.push(`"${a}" on "${b}"`);
        }));
        return found;
    };
    return {
        plots: plots.map(p => ({drawn: !!p.querySelector('svg.main-svg'), size: box(p), room: room(p), clashes: clashes(p)})),
        views: views.map(v => ({children: v.childElementCount, size: box(v), room: room(v)})),
        entities: outputs.map(o => o.innerText).filter(t => /&(lt|gt|amp|quot);/.test(t)).map(t => t.slice(0, 200)),
    };
}"""


def run_notebook(page, url: str, token: str, name: str) -> dict:
    """Open ``name``, wait for its kernel, run every cell, and return the state once the kernel is idle."""
    # A workspace of its own, reset: otherwise the lab reopens (and starts kernels for) earlier notebooks.
    page.goto(f"{url}/lab/workspaces/{Path(name).stem}/tree/{name}?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
                           "?.status === 'idle'", timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); "
                               "return s.errors.length > 0 || (s.ran === s.code && s.status === 'idle'); }",
                               timeout=RUN_TIMEOUT_S * 1000, polling=500)
    except sync_api.TimeoutError:
        state = page.evaluate(NOTEBOOK_STATE)
        pytest.fail(f"{name} did not finish in {RUN_TIMEOUT_S} s: {state['ran']} of {state['code']} code cells ran, "
                    f"kernel {state['status']}", pytrace=False)
    return page.evaluate(NOTEBOOK_STATE)


def screenshot(page, element, path: Path) -> None:
    """A picture of ``element``: the window grows as tall as it for the picture, so none of it is cut off."""
    height = element.evaluate("el => el.getBoundingClientRect().height")
    tall = height + 300 > VIEWPORT["height"]  # room for the lab's bars above and below
    if tall:  # resizing makes the lab lay itself out again: only when needed
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 300})
    element.scroll_into_view_if_needed()
    element.screenshot(path=path)
    if tall:
        page.set_viewport_size(VIEWPORT)


def screenshot_outputs(page, folder: Path, stem: str) -> None:
    """The page as the learner sees it, then one picture per figure, view and widget."""
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{stem}-page.png")
    outputs = page.locator(".jp-Cell:has(.plotly-graph-div, [id^='circuits-vis'], .jp-OutputArea-output .widget-box)"
                           " .jp-Cell-outputWrapper")
    for k in range(outputs.count()):
        screenshot(page, outputs.nth(k), folder / f"{stem}-{k:02d}.png")


def widget_figure_text(widget) -> str:
    """The text the widget's plotly figures show (titles, labels): it changes when they are redrawn."""
    return widget.locator(".plotly-graph-div").evaluate_all("plots => plots.map(p => p.textContent).join('|')")


def use_widget(page, kind: str, folder: Path, stem: str) -> tuple[str, str]:
    """Move the slider one step, or pick another node; return the figures' text before and after."""
    widget = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator(".plotly-graph-div")).first
    widget.scroll_into_view_if_needed()
    before = widget_figure_text(widget)
    if kind == "slider":
        handle = widget.locator(".noUi-handle").first
        handle.click()
        handle.press("ArrowRight")
    else:
        widget.locator("select").first.select_option(index=3)
    page.wait_for_function("([el, before]) => Array.from(el.querySelectorAll('.plotly-graph-div')).map("
                           "p => p.textContent).join('|') !== before && el.querySelector('svg.main-svg')",
                           arg=[widget.element_handle(), before], timeout=30_000)
    screenshot(page, widget, folder / f"{stem}-{kind}-moved.png")
    return before, widget_figure_text(widget)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_learner_sees_every_figure_and_widget(lab, browser, name, record_property):
    url, token = lab
    start = time.perf_counter()
    page = browser.new_page(viewport=VIEWPORT)
    watch = Watch(page)
    try:
        state = run_notebook(page, url, token, name)
        rendered = page.evaluate(RENDERED)
        stem = name.removesuffix(".ipynb")
        screenshot_outputs(page, SCREENSHOTS, stem)  # before the checks: a failure comes with its pictures

        assert not state["errors"], f"{name}: error outputs {state['errors']}"
        assert state["ran"] == state["code"], f"{name}: {state['ran']} of {state['code']} code cells ran"
        warnings = [text for text in state["stderr"] if re.search(r"warn", text, re.I)]
        assert not warnings, f"{name}: warnings a learner would see:\n" + "\n".join(warnings)
        assert rendered["plots"], f"{name}: no plotly figure"
        blank = [k for k, p in enumerate(rendered["plots"]) if not p["drawn"] or min(p["size"]) < 50]
        assert not blank, f"{name}: plotly figures {blank} of {len(rendered['plots'])} not drawn: {rendered['plots']}"
        empty = [k for k, v in enumerate(rendered["views"]) if not v["children"] or min(v["size"]) < 20]
        assert not empty, f"{name}: circuitsvis views {empty} empty: {rendered['views']}"
        too_wide = [item for item in rendered["plots"] + rendered["views"] if item["size"][0] > item["room"] + 1]
        assert not too_wide, f"{name}: wider than the notebook at {VIEWPORT['width']} px: {too_wide}"
        assert not rendered["entities"], f"{name}: text escaped twice: {rendered['entities']}"
        clashes = {k: p["clashes"] for k, p in enumerate(rendered["plots"]) if p["clashes"]}
        assert not clashes, f"{name}: text on text in plotly figures (by index): {clashes}"
        if WIDGETS.get(name):
            before, after = use_widget(page, WIDGETS[name], SCREENSHOTS, stem)
            assert after != before
        assert not watch.outside, f"{name}: requests left localhost: {watch.outside}"
        assert not watch.console, f"{name}: browser console:\n" + "\n".join(watch.console[:20])
    finally:
        page.evaluate("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.shutdown()")
        page.close(run_before_unload=False)
        record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # the suite prints it among the notebooks
        print(f"\nscreenshots of {name}: {SCREENSHOTS}")
