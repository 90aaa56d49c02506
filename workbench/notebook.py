"""The one call at the top of every notebook: ``workbench.setup_notebook()``.

It makes a notebook behave the same in JupyterLab, in exported HTML and under nbmake, with no
network:

- seeds and thread count (``workbench.runtime``);
- plotly's ``"notebook"`` renderer, which embeds plotly.js once per kernel (the default mimetype
  renderer shows a blank figure in exported HTML; ``"cdn"`` and ``"notebook_connected"`` fetch
  plotly.js from the internet), less the MathJax ``<script src>`` from cdnjs that plotly 7.1 writes
  into every figure (registered as ``"notebook_offline"``; no figure here uses LaTeX);
- circuitsvis in inline mode: its ``internet_on()`` probes google.com on every display and, when
  the probe succeeds, loads its JavaScript from a CDN; we make the probe answer "offline". Each
  inline view carries circuitsvis's whole bundle (TensorFlow.js within it), and a page that ran it
  twice would log one warning per TensorFlow.js kernel registered again: a view still carries the
  bundle (it must draw alone), but runs it only if no view on the page has;
- TransformerLens's ``HookedTransformer`` deprecation warning filtered (it fires on every model
  construction in transformer-lens 3.x and drowns the output).
"""

from __future__ import annotations

import os
import re
import warnings

from workbench import runtime

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}

PLOTLY_RENDERER = "notebook_offline"
CIRCUITSVIS_GLOBAL = "workbench circuitsvis"  # the page's one copy of circuitsvis's bundle
# plotly's HtmlRenderer passes include_mathjax="cdn" unconditionally (plotly/io/_base_renderers.py).
REMOTE_SCRIPT = re.compile(r'<script[^>]*\bsrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>')


def go_offline() -> None:
    """Tell Hugging Face libraries and wandb not to reach the network (set before they import)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def filter_warnings() -> None:
    """Silence warnings that fire on every call and teach nothing."""
    warnings.filterwarnings("ignore", message=r".*HookedTransformer.*deprecated.*")
    warnings.filterwarnings("ignore", message=r".*deprecated.*HookedTransformer.*")
    # SAELens's activation store copies token rows with torch.tensor(tensor): harmless, repeated per batch.
    warnings.filterwarnings("ignore", message=r"To copy construct from a tensor", module=r"sae_lens\.")


def offline_notebook_renderer():
    """plotly's ``"notebook"`` renderer, with every ``<script src>`` that would leave the machine removed."""
    from plotly.io._base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        def to_mimebundle(self, fig_dict):
            bundle = super().to_mimebundle(fig_dict)
            return {**bundle, "text/html": REMOTE_SCRIPT.sub("", bundle["text/html"])}

    return OfflineNotebookRenderer()


def use_offline_plotly() -> None:
    """Render plotly figures with plotly.js embedded in the notebook (works offline and in HTML)."""
    import plotly.io as pio

    if PLOTLY_RENDERER not in pio.renderers:
        pio.renderers[PLOTLY_RENDERER] = offline_notebook_renderer()
    pio.renderers.default = PLOTLY_RENDERER


def use_inline_circuitsvis() -> None:
    """Make circuitsvis inline its JavaScript instead of probing google.com and using a CDN, run once a page."""
    import circuitsvis.utils.render as render

    render.internet_on = lambda *args, **kwargs: False
    if not getattr(render.render_local, "runs_bundle_once", False):
        render.render_local = bundle_once(render.render_local)


def bundle_once(render_local):
    """circuitsvis's ``render_local``, its bundle run only by the first view on a page (``CIRCUITSVIS_GLOBAL``).

    ``render_local`` writes ``<div id=…/><script type="module">BUNDLE CircuitsVis.render(…)</script>``;
    the bundle defines ``var CircuitsVis``, module-scoped, so every view ran it again.
    """

    def render_local_once(react_element_name: str, **kwargs) -> str:
        html = render_local(react_element_name, **kwargs)
        call = html.rindex("CircuitsVis.render(")
        start = html.index(">", html.index("<script")) + 1
        shared = f"globalThis[{CIRCUITSVIS_GLOBAL!r}]"
        return (html[:start] + f"\nif (!{shared}) {{\n" + html[start:call] + f"\n{shared} = CircuitsVis;\n}}\n"
                + html[call:].replace("CircuitsVis.", f"{shared}.", 2))

    render_local_once.runs_bundle_once = True
    return render_local_once


def setup_notebook(seed: int = runtime.DEFAULT_SEED, threads: int | None = None, offline: bool = True) -> dict:
    """Seed, set threads, go offline, and set up plotly and circuitsvis; return the runtime settings.

    ``offline=False`` leaves the Hugging Face libraries free to download (notebook 08's hub switch).
    """
    if offline:
        go_offline()
    filter_warnings()
    use_offline_plotly()
    use_inline_circuitsvis()
    return runtime.configure(seed=seed, threads=threads)
