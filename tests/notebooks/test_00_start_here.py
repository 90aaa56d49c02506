"""Notebook 00's own run: the facts organism on the Dallas prompt, its cache, the logit lens, the state swap.

Reads the values notebook 00's kernel computed; the logit lens on another organism is tested in
``tests/test_lens.py``, the facts world's ground truth and training in ``tests/test_facts.py``.
"""

from __future__ import annotations

from tests.claims import Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "00_start_here.ipynb"
SWAP_LAYER = "int(__import__('workbench.organisms.facts', fromlist=['facts']).STATE_SWAP_HOOK.split('.')[1])"
AUSTIN_LOG_PROB = "float(lens_log_probs[{}, -1, austin])"
CLAIMS = [
    Wording("Places in a model are always named by their TransformerLens hook names", "a convention of the course"),
    Claim("a 2-layer transformer", "model.cfg.n_layers"),
    Rule('The model was never trained on "the capital of the state containing **Dallas**"',
         "'Dallas' in facts_world.heldout_cities and ' Dallas is' not in ' '.join(facts_world.training_pools['two_hop'])"),
    Wording("which heads of layer 0 attend to the city?", "a question; layer 0 names a layer"),
    Rule("The lens finds nothing useful in the embedding", "int(lens_probs[0].argmax()) != austin"),
    Rule("after block 0 Austin is already on top, though unsure",
         "int(lens_probs[1].argmax()) == austin and float(lens_probs[1, austin]) < 0.5"),
    Rule("after block 1 it is sure", "int(lens_probs[2].argmax()) == austin and float(lens_probs[2, austin]) > 0.9"),
    Rule("most of the way (in log-probability) within block 0",
         f"{AUSTIN_LOG_PROB.format(1)} - {AUSTIN_LOG_PROB.format(0)} > "
         f"0.5 * ({AUSTIN_LOG_PROB.format(2)} - {AUSTIN_LOG_PROB.format(0)})"),
    Rule("p(Texas) stays small at every depth", "float(lens_probs[:, texas].max()) < 0.1"),
    Rule("even after block 0, where it peaks, capitals outrank it",
         "int(lens_probs[:, texas].argmax()) == 1 and texas_rank[1] > 1 and all("
         "model.tokenizer.decode([token]) in facts_world.capital_of.values()"
         " for token in lens_probs[1].topk(texas_rank[1] - 1).indices.tolist())"),
    Claim("Take the mean residual entering block 1 at the last position", SWAP_LAYER),
    Rule("and the model answers Sacramento", "model.tokenizer.decode(swapped) == 'Sacramento'"),
]


def test_the_organism_answers_the_held_out_two_hop_prompt(run):
    assert run.value("completion.split()[-2:]") == ["Austin", "."]
    assert run.value("[model.cfg.n_layers, model.cfg.d_model]") == [2, 128]


def test_the_last_depth_of_the_lens_is_the_model_output(run):
    assert run.value("list(lens_log_probs.shape) == [model.cfg.n_layers + 1, tokens.shape[1], model.cfg.d_vocab]")
    assert run.value("(lens_log_probs[-1] - logits[0].log_softmax(-1)).abs().max().item()") < 1e-5


def test_the_lens_at_the_last_position_as_printed(run):
    """Austin on top after block 0 (0.285) and sure after block 1 (0.907); Texas peaks at 0.042 after block 0,
    fifth behind four capitals: the values of the shipped checkpoint."""
    assert [round(p, 3) for p in run.value("lens_probs[:, austin]")] == [0.011, 0.285, 0.907]
    assert [round(p, 3) for p in run.value("lens_probs[:, texas]")] == [0.002, 0.042, 0.002]
    assert run.value("texas_rank[1]") == 5
