"""The package imports fast and lazily, and the notebook setup call does what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

IMPORT_BUDGET_S = 3.0

PROBE = """
import sys, time
start = time.perf_counter()
import workbench
elapsed = time.perf_counter() - start
heavy = sorted(m for m in ("torch", "transformer_lens", "sae_lens", "circuitsvis") if m in sys.modules)
print(elapsed, ",".join(heavy))
"""


def test_import_is_fast_and_lazy():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    elapsed, heavy = out.split()[0], out.split()[1:] or [""]
    assert float(elapsed) < IMPORT_BUDGET_S, f"import workbench took {float(elapsed):.2f} s"
    assert heavy == [""], f"import workbench imported heavy libraries: {heavy}"


def test_submodules_load_on_first_use():
    import workbench

    assert workbench.runtime.DEFAULT_SEED == 0
    try:
        workbench.no_such_module
    except AttributeError as error:
        assert "no_such_module" in str(error)
    else:
        raise AssertionError("unknown attribute did not raise AttributeError")


def test_setup_notebook_goes_offline():
    import circuitsvis.utils.render as render
    import plotly.io as pio

    import workbench

    settings = workbench.setup_notebook(seed=3)
    assert settings["seed"] == 3
    assert pio.renderers.default == workbench.notebook.PLOTLY_RENDERER
    assert render.internet_on() is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        workbench.notebook.filter_warnings()
        warnings.warn("HookedTransformer is deprecated and will be removed", DeprecationWarning)
    assert not [w for w in caught if "HookedTransformer" in str(w.message)]


def test_a_circuitsvis_view_carries_its_bundle_and_runs_it_only_if_no_view_on_the_page_has():
    """Each view draws alone; a second view on the page reuses the first's bundle (tfjs registered once)."""
    import circuitsvis

    import workbench

    workbench.setup_notebook()
    workbench.notebook.use_inline_circuitsvis()  # twice: the bundle is guarded once, not twice
    html = circuitsvis.tokens.colored_tokens(tokens=["a", "b"], values=[1.0, 2.0])._repr_html_()
    shared = f"globalThis[{workbench.notebook.CIRCUITSVIS_GLOBAL!r}]"
    assert html.count("var CircuitsVis=") == 1 and html.count(f"if (!{shared})") == 1
    guard, bundle_end, call = html.index(f"if (!{shared})"), html.index(f"{shared} = CircuitsVis;"), \
        html.index(f"{shared}.render(")
    assert guard < html.index("var CircuitsVis=") < bundle_end < call
    assert f"{shared}.ColoredTokens" in html[call:] and "CircuitsVis.render" not in html[call:].replace(shared, "")


def test_plotly_figures_load_nothing_from_the_internet():
    """plotly 7.1's notebook renderer writes a MathJax <script src> from cdnjs into every figure."""
    import plotly.graph_objects as go
    import plotly.io as pio

    import workbench

    workbench.setup_notebook()
    figure = go.Figure(go.Scatter(x=[0, 1], y=[1, 0])).to_dict()
    plain = pio.renderers["notebook"].to_mimebundle(figure)["text/html"]
    ours = pio.renderers[pio.renderers.default].to_mimebundle(figure)["text/html"]
    assert "cdnjs.cloudflare.com" in plain  # what the fix removes (if plotly stops, drop the fix)
    assert re.findall(r"<script[^>]*>", ours) and not re.findall(r"<script[^>]*\bsrc=", ours)
    assert "Plotly.newPlot" in ours
