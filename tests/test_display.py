"""circuitsvis views show tokens as the learner would write them, at a size that fits a notebook."""

import html
import json
import re

import torch

from workbench.viz import display


def rendered_props(view) -> tuple[str, dict]:
    """(component, props) that circuitsvis's page script renders, read back from the view's offline HTML."""
    bundle = r"(?:globalThis\['[^']+'\]|CircuitsVis)"  # circuitsvis's own, or the page's one copy (workbench.notebook)
    component, props = re.search(bundle + r'\.render\(\s*"[^"]+",\s*' + bundle + r'\.(\w+),\s*(\{.*\})\s*\)',
                                 view.local_src, flags=re.S).groups()
    return component, json.loads(props)


def test_attention_tokens_read_the_same_as_html_and_as_chart_labels():
    """The heads' buttons read tokens as HTML, the zoomed heat map draws them as text: one spelling for both."""
    view = display.attention_patterns(["<bos>", "Dallas", "A&B"], torch.rand(4, 3, 3))
    component, props = rendered_props(view)
    assert component == "AttentionHeads"
    assert props["tokens"] == ["‹bos›", "Dallas", "＆".join("AB")]
    assert all(html.unescape(token) == token for token in props["tokens"])  # no markup, no entity
    assert f'<div style="max-width:{display.ATTENTION_VIEW_WIDTH}px">' in view.local_src  # not 1,200 px tall
    assert props["attentionHeadNames"] == ["H0", "H1", "H2", "H3"]  # short enough for the selector's tiles


def test_top_samples_read_as_sentences():
    contexts = [[["<bos>", "The", "state", "containing", "Houston", "is", "Texas", "."]]]
    view = display.top_samples(contexts, [[[0.0] * 8]], ["7"], item_name="Feature")
    component, props = rendered_props(view)
    assert component == "TopkSamples"
    (shown,) = props["tokens"][0][0]
    assert "".join(html.unescape(token) for token in shown) == "<bos> The state containing Houston is Texas ."
