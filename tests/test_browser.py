"""What a learner sees: every notebook, as the suite ran it, drawn by JupyterLab in headless Chromium, offline.

The notebook modules prove that notebooks run and say what they measured; this proves that what
they drew renders. Each notebook's executed copy from this session (``tests.executed``: written by
its module the moment its run ends, outputs and widgets' state included) is signed as trusted and
opened in JupyterLab on localhost, in Chromium (Debian's package, driven by Playwright). For every
notebook: no error output and no warning on stderr; every plotly figure drawn, within the output
area at 1280 px, with no text on other text; every circuitsvis view filled; every widget drawn with
its controls and what it shows; no request left localhost; nothing logged to the browser console as
an error or warning (circuitsvis's bundle runs once a page: ``workbench.notebook``). Screenshots of
every figure, view and widget go to ``SCREENSHOTS`` for a person to look at.

Nothing runs twice: each notebook runs once, in its module. The kernel JupyterLab starts for a
notebook opened here stays idle until the server stops (shut down at once, it now and then cancelled
the debugger's first request, which the console reported). A widget is drawn from its saved state;
that moving it redraws its figure is tested in a kernel (``test_superposition``, ``test_graph_view``,
``test_steering``). Without Chromium these tests skip, saying how to enable them.
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

from tests import executed
from tests.conftest import NOTEBOOK_SECONDS, REPO

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("WORKBENCH_SCREENSHOTS", REPO / "tests" / "screenshots"))
VIEWPORT = {"width": 1280, "height": 900}  # the width the course's figures are made for
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LAB_SETTINGS = {  # what a learner would switch off once: the news pop-up, and the update check behind it
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
WAIT_FOR_RUN_S = 900  # for a notebook's module to finish its run (on the other worker, it may have just begun)
DRAW_TIMEOUT_S = 60
CELL_TIMEOUT_S = 600  # when this test runs a notebook itself
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM}. Install Debian's package "
                "(`apt-get install -y chromium`, as root; .ci/run does) or set WORKBENCH_CHROMIUM",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (requirements.txt)")


# ---- the executed notebooks ---------------------------------------------------------------------
def executed_copy(name: str) -> Path:
    """This session's executed ``name``: written by its module (waited for), or run here if no module runs it."""
    if name in executed.SCHEDULED:
        return executed.wait_for(name, WAIT_FOR_RUN_S)
    if not executed.written(name):
        from tests.notebook_client import KernelRun

        kernel_run = KernelRun(REPO / "notebooks" / name, CELL_TIMEOUT_S)
        kernel_run.close()
        executed.write(kernel_run.nb, name)
    return executed.wait_for(name, 0)


def problems_in_outputs(nb) -> list[str]:
    """Error outputs, and warnings on stderr, by cell: what a learner would find under the cells."""
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                found.append(f"cell {index}: {out['ename']}: {out['evalue']}")
            if out["output_type"] == "stream" and out["name"] == "stderr" and re.search(r"warn", out["text"], re.I):
                found.append(f"cell {index} warns: {out['text'][:300]}")
    return found


WIDGET_VIEW, WIDGET_STATE = "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json"
PROGRESS_BAR = ["HTMLModel", "FloatProgressModel", "HTMLModel"]  # tqdm's widget: a box of label, bar, counts


def progress_bars_as_text(nb):
    """``nb`` with each tqdm widget output replaced by the text it ended on ("training: 100%  1000/1000 [...]").

    A progress bar moves only while its cell runs. Drawn from saved state in a page whose kernel has just
    started, tqdm's many small models were sometimes not found (one suite run in three, notebook 02), so the
    copy shows what the bar said. Widgets that do something (sliders, menus) stay widgets.
    """
    import html

    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            children = state.get(view["model_id"], {}).get("state", {}).get("children", []) if view else []
            parts = [state.get(child.removeprefix("IPY_MODEL_"), {}) for child in children]
            if [part.get("model_name") for part in parts] == PROGRESS_BAR:
                label, counts = (html.unescape(parts[k]["state"].get("value", "")) for k in (0, 2))
                out["data"] = {"text/plain": f"{label} {counts}".strip()}
    return nb


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


class Lab:
    """A JupyterLab server on a folder and settings of its own; ``add`` puts a notebook there, trusted."""

    def __init__(self, home: Path):
        from nbformat.sign import NotebookNotary

        self.root = home / "notebooks"
        self.root.mkdir()
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
        for name, settings in LAB_SETTINGS.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        # The server checks trust against this data folder: its secret is made here, before the server reads it.
        (home / "data").mkdir()
        self.notary = NotebookNotary(data_dir=str(home / "data"))
        assert self.notary.secret
        port, self.token = free_port(), secrets.token_hex(16)
        self.server = start_lab(self.root, port, self.token, env)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                break
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    self.server.kill()
                    pytest.fail(f"JupyterLab did not start:\n{self.server.stderr.read()}", pytrace=False)
                time.sleep(0.5)

    def add(self, path: Path):
        """Copy the executed notebook at ``path`` into the lab's folder, signed (its outputs' scripts run), with
        its progress bars as the text they ended on (``progress_bars_as_text``); return the copy."""
        import nbformat

        nb = nbformat.read(path, as_version=4)
        copy = progress_bars_as_text(nbformat.from_dict(nb))
        self.notary.sign(copy)
        nbformat.write(copy, self.root / path.name)
        return copy

    def close(self):
        self.server.terminate()
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.close()


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
        page.on("console", lambda m: m.type in ("error", "warning") and self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    def clear(self):
        self.outside.clear()
        self.console.clear()

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


@pytest.fixture(scope="module")
def page(lab, browser):
    """One page for every notebook, watched from its first request: JupyterLab loads once, each notebook opens alone."""
    page = browser.new_page(viewport=VIEWPORT)
    page.watch = Watch(page)
    page.goto(f"{lab.url}/lab?token={lab.token}&reset")
    page.wait_for_function("() => window.jupyterapp?.commands.hasCommand('docmanager:open')", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")
    yield page
    page.close(run_before_unload=False)


OPEN = """async (path) => {
    const app = window.jupyterapp;
    for (const widget of Array.from(app.shell.widgets('main'))) { widget.dispose(); }  // no 'save changes?'
    const panel = await app.commands.execute('docmanager:open', {path});
    await panel.context.ready;
    app.shell.activateById(panel.id);
}"""

# What the open notebook shows so far: its outputs that hold a figure or a view; its widgets, and how many are
# not drawn yet ("Loading widget..." while the model is looked up, then empty until the view is made); and how
# many of its plotly figures and circuitsvis views are drawn.
DRAWN = """() => {
    const root = window.jupyterapp.shell.currentWidget.node;
    const top = Array.from(root.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output'));
    const plots = Array.from(root.querySelectorAll('.jp-OutputArea-output .plotly-graph-div'));
    const views = Array.from(root.querySelectorAll('.jp-OutputArea-output [id^="circuits-vis"]'));
    const widgets = top.filter(o => o.classList.contains('lm-Panel'));
    return {figures: top.filter(o => !o.classList.contains('lm-Panel') && o.querySelector('.plotly-graph-div, [id^="circuits-vis"]')).length,
            widgets: widgets.length, waiting: widgets.filter(w => !w.querySelector('.jupyter-widgets')).length,
            shown: plots.length + views.length,
            drawn: plots.filter(p => p.querySelector('svg.main-svg')).length + views.filter(v => v.childElementCount).length};
}"""


def expected_outputs(nb) -> dict:
    """How many outputs of ``nb`` hold a plotly figure or a circuitsvis view, and how many are widgets."""
    figures = widgets = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            widgets += WIDGET_VIEW in data
            figures += WIDGET_VIEW not in data and bool(re.search(r"plotly-graph-div|circuits-vis", str(data.get("text/html", ""))))
    return {"figures": figures, "widgets": widgets}


RENDERED = """() => {
    const root = window.jupyterapp.shell.currentWidget.node;
    const box = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
    const plots = Array.from(root.querySelectorAll('.jp-OutputArea-output .plotly-graph-div'));
    const views = Array.from(root.querySelectorAll('.jp-OutputArea-output [id^="circuits-vis"]'));
    // A widget's output is a panel (ipywidgets' renderer); it reads "Loading widget..." until its model is found.
    const widgets = Array.from(root.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output.lm-Panel'));
    const room = el => el.closest('.jp-OutputArea-output').clientWidth;
    const outputs = Array.from(root.querySelectorAll('.jp-OutputArea-output'));
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
        widgets: widgets.map(w => ({text: w.innerText.slice(0, 80),
                                    controls: w.querySelectorAll('.widget-slider, .widget-dropdown, select').length,
                                    shown: w.querySelectorAll('.plotly-graph-div svg.main-svg, .widget-html-content pre').length})),
        entities: outputs.map(o => o.innerText).filter(t => /&(lt|gt|amp|quot);/.test(t)).map(t => t.slice(0, 200)),
    };
}"""


def open_notebook(page, name: str, expected: dict) -> dict:
    """Open ``name`` alone; once its ``expected`` outputs are there and every figure, view and widget in them is
    drawn (and stays so for a moment), what it shows. Outputs arrive over a while on a busy machine."""
    page.evaluate(OPEN, name)
    deadline, last, steady = time.monotonic() + DRAW_TIMEOUT_S, None, 0
    while steady < 3 and time.monotonic() < deadline:
        state = page.evaluate(DRAWN)
        complete = (state["figures"] >= expected["figures"] and state["widgets"] >= expected["widgets"]
                    and not state["waiting"] and state["drawn"] == state["shown"])
        steady = steady + 1 if complete and state == last else 0
        last = state
        page.wait_for_timeout(300)
    return page.evaluate(RENDERED)


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
    outputs = page.locator(".jp-NotebookPanel:visible .jp-Cell:has(.plotly-graph-div, [id^='circuits-vis'],"
                           " .jp-OutputArea-output .widget-box) .jp-Cell-outputWrapper")
    for k in range(outputs.count()):
        screenshot(page, outputs.nth(k), folder / f"{stem}-{k:02d}.png")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_learner_sees_every_figure_and_widget(lab, page, name, record_property):
    nb = lab.add(executed_copy(name))
    start = time.perf_counter()
    page.watch.clear()
    try:
        expected = expected_outputs(nb)
        rendered = open_notebook(page, name, expected)
        screenshot_outputs(page, SCREENSHOTS, name.removesuffix(".ipynb"))  # first: a failure comes with pictures

        problems = problems_in_outputs(nb)
        assert not problems, f"{name}: what a learner finds under the cells:\n" + "\n".join(problems)
        assert rendered["plots"], f"{name}: no plotly figure"
        blank = [k for k, p in enumerate(rendered["plots"]) if not p["drawn"] or min(p["size"]) < 50]
        assert not blank, f"{name}: plotly figures {blank} of {len(rendered['plots'])} not drawn: {rendered['plots']}"
        empty = [k for k, v in enumerate(rendered["views"]) if not v["children"] or min(v["size"]) < 20]
        assert not empty, f"{name}: circuitsvis views {empty} empty: {rendered['views']}"
        assert len(rendered["widgets"]) == expected["widgets"], \
            f"{name}: {expected['widgets']} widgets saved, {len(rendered['widgets'])} drawn"
        broken = [w for w in rendered["widgets"] if not w["controls"] or not w["shown"]]
        assert not broken, f"{name}: widgets drawn without their controls or what they show: {rendered['widgets']}"
        too_wide = [item for item in rendered["plots"] + rendered["views"] if item["size"][0] > item["room"] + 1]
        assert not too_wide, f"{name}: wider than the notebook at {VIEWPORT['width']} px: {too_wide}"
        assert not rendered["entities"], f"{name}: text escaped twice: {rendered['entities']}"
        clashes = {k: p["clashes"] for k, p in enumerate(rendered["plots"]) if p["clashes"]}
        assert not clashes, f"{name}: text on text in plotly figures (by index): {clashes}"
        assert not page.watch.outside, f"{name}: requests left localhost: {page.watch.outside}"
        assert not page.watch.console, f"{name}: browser console:\n" + "\n".join(page.watch.console[:20])
    finally:
        record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # the suite prints it among the notebooks
        print(f"\nscreenshots of {name}: {SCREENSHOTS}")
