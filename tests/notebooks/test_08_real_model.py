"""Notebook 08's own run: SmolLM2's facts, lens, patching and AtP, its SAE, transcoders and graph, and steering.

Reads the values notebook 08's kernel computed (the model, the patching maps, the SAE's held-out activations and
dashboards, the graph and circuit-tracer's, the steering task, methods and shipped sweep) and checks, in that
kernel, the records the notebook prints against what its objects measure. The package on other inputs is tested
in ``tests/test_real_model*.py``: the loader against transformers and the hub names, patching's machinery, short
retrains of the SAE and transcoder recipes, the steering grader, fluency and generation, and the hub switches.
"""

from __future__ import annotations

from tests.claims import Cited, Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "08_real_model.ipynb"
DEFAULT = "__import__('inspect').signature({}).parameters['{}'].default"
PEAK = "[c[max(range(len(v)), key=v.__getitem__)] for c, v in zip(real_dashboards[{0}].contexts, real_dashboards[{0}].context_values)]"
EFFECTS = "{e.group: e for e in texas_effects}"
SAE_SWEEPS = "[s for s in texas_sweeps if s.method.startswith('SAE')]"
ONLY_DOM = ("texas_rows[0]['method'] == 'difference of means' and texas_rows[0]['concept'] > 0.5 "
            "and all(row['concept'] <= 0.1 for row in texas_rows[1:])")
# No SAE latent has " Texas" among the ten tokens it promotes most (measured in the kernel: one matrix product).
NO_TEXAS_LATENT = ("not bool(((lambda w: (w > w[:, texas:texas + 1]).sum(-1) < 10)"
                   "(saes.logit_weights(model, real_sae))).any())")
NOT_DALLAS_OR_TEXAS = "not any(w in label for label in strongest_labels for w in ('Dallas', 'Texas'))"

# Notebook 07's table over every state (shipped; notebook 07 reads it): per method, mean and max over the states.
FACTS_OVER_STATES = ("{r['method']: r for r in steering.method_summary("
                     "steering.read_concept_record()['tasks']['facts']['concepts'])}")
ORDER_AS_IN_07 = (
    "(lambda here, fs: here['difference of means'] > here['probe'] > max(v for m, v in here.items() if 'SAE' in m) "
    "and fs['difference of means']['mean'] > fs['probe']['mean'] > max(r['mean'] for m, r in fs.items() if 'SAE' in m) "
    "and min(r['mean'] for m, r in fs.items() if m in ('difference of means', 'probe') or 'SAE' in m) > 0.5 "
    "and max(r['max'] for m, r in fs.items() if 'SAE' in m) == 1)"
    "({r['method']: r['overall'] for r in texas_rows}, " + FACTS_OVER_STATES + ")")

CLAIMS = [
    Wording("Apache-2.0", "the licence's name"),
    Wording("as a 4-bit GGUF file", "the file's format"),
    Rule("the model is far deeper and its vocabulary far larger than an organism's",
         "cfg.n_layers >= 10 * facts_model.cfg.n_layers and cfg.d_vocab >= 100 * facts_model.cfg.d_vocab"),
    Rule("its top answer is right for each of these one-hop facts",
         "all(fact_results[prompt][1] == answer for prompt, answer in fact_prompts.items())"),
    Rule("is beyond it: it answers with the city itself", "two_hop_top == ' Dallas'"),
    Cited("the lens is only trustworthy near the top",
          "Belrose et al. 2023, Eliciting latent predictions from transformers with the tuned lens"),
    Rule('" Texas" appears only in the very last block', "float(texas_by_depth[:-1].max()) < 0.01 < float(texas_by_depth[-1])"),
    Rule("before it, the lens reads generic tokens at every depth",  # short words, punctuation, spaces
         "all(len(model.to_string(lens[d, -1].argmax()).strip()) <= 3 for d in range(lens.shape[0] - 1))"),
    Rule('its last token ("allas")', "str_tokens[city_position] == 'allas'"),
    Claim("up to the residual entering layer 23", "handoff_layer - 1"),
    Rule('then moves to the final position (" of") in one step',
         "float(resid_patching[:handoff_layer, -1].max()) < 0.1 < 0.5 < float(resid_patching[handoff_layer, -1]) "
         "and float(resid_patching[handoff_layer:, city_position].max()) < 0.1"),
    Claim("Attention in layer 23 moves it", "top_head_layer"),
    Claim("at r ≈ 0.93 over the residual sites", "correlations['residual (layer × position)']"),
    Claim("r ≈ 0.93 over the residual sites and over the heads", "correlations['heads (layer × head)']"),
    Rule("the linear estimate undershoots at every layer",
         "float(atp_gap[city_from:handoff_layer, city_position].max()) < -0.25"),
    Rule("One head, L23H4, restores most of the clean logit difference on its own",
         "head_labels[int(top_heads.indices[0])] == 'L23H4' and float(top_heads.values[0]) > 0.5"),
    Rule("several times what the next one restores", "float(top_heads.values[0]) > 2.5 * float(top_heads.values[1])"),
    Rule("it attends mostly to the city's last token",
         "int(top_head_attention.argmax()) == city_position and float(top_head_attention[city_position]) > 0.5"),
    Rule("in the layer where the residual patching showed the handoff", "top_head_layer == handoff_layer - 1"),
    Wording("it sees only what the model chose to write about", "what training on this corpus means"),
    Rule('" Texas" hardly occurs in it', "texas_in_corpus <= 2"),
    Claim("the residual stream entering block 24", "int(real_sae.cfg.metadata.hook_name.split('.')[1])"),
    Rule("where patching found the Dallas → Texas fact arriving at the last position",
         "real_sae.cfg.metadata.hook_name == hooks.resid_pre(handoff_layer)"),
    Claim("the SAE recovers 86% of the loss where the organism's recovers 97.8%",
          "[100 * sae_report.ce_recovered, 100 * organism_sae.ce_recovered]"),
    Rule("it explains far less of the variance", "sae_report.explained_variance < organism_sae.explained_variance - 0.2"),
    Rule("in each, half or more of the latents never fire on held-out text",
         "0.5 <= sae_report.dead_fraction < 0.7 and 0.5 <= organism_sae.dead_fraction < 0.7"),
    Wording("the five latents most active where the model must name Dallas's state", "the rule the cell applies"),
    Claim("fire on fewer than 10% of held-out tokens", "100 * sparse_below"),
    Rule("one fires on nearly every token", "max(float(firing_rates[l]) for l in dallas_top.indices.tolist()) > 0.95"),
    Rule('peaks on " of" after a noun in every one of its top contexts', f"set({PEAK.format(0)}) == {{' of'}}"),
    Rule('("the merchant **of** the Sun", "the Academy **of** American Philanthropy")',
         "all(any(q in ''.join(c) for c in real_dashboards[0].contexts) "
         "for q in ('the merchant of the Sun', 'the Academy of American Philanthropy'))"),
    Rule('promotes " course", " sorts", " interest"',
         "{' course', ' sorts', ' interest'} <= {w for w, _ in real_dashboards[0].promoted[:6]}"),
    Rule('("My grandmother lived **in**", "The museum in **the**", "In the city **of**")',
         "all(any(''.join(c[:max(range(len(v)), key=v.__getitem__) + 1]).endswith(q) "
         "for c, v in zip(real_dashboards[1].contexts, real_dashboards[1].context_values)) "
         "for q in ('My grandmother lived in', 'The museum in the', 'In the city of'))"),
    Rule('promotes " location", " locations", " place" (and, oddly, " cells")',
         "{' location', ' locations', ' place', ' cells'} <= {w for w, _ in real_dashboards[1].promoted[:6]}"),
    Rule('No latent is about Texas: not one has " Texas" among the ten tokens it promotes most', NO_TEXAS_LATENT),
    Rule("the corpus hardly mentions it", "texas_in_corpus <= 2"),
    Rule("ours have a small fraction of that", "transcoder.config.d_features < 500"),
    Wording("a feature's label is only the contexts it fires on most in held-out text", "what a label is here"),
    Rule("moves the next-token distribution by several nats", "record['fidelity']['kl'] > 2"),
    Rule("rarely keeps the top token", "record['fidelity']['top1_agreement'] < 0.25"),
    Rule("the organisms' CLTs kept it nearly everywhere the organism had decided, with a KL below 0.01",
         "len(organism_clts) == 6 and all(f['top1_agreement_decided'] >= 0.99 and f['kl'] < 0.01 "
         "for f in organism_clts.values())"),  # the bottleneck organism's: 0.998 of decided tokens, the others 1.0
    Rule("They explain less than half of the MLP output's variance in most layers",
         "float((explained < 0.5).float().mean()) > 0.5"),
    Rule("Thousands of features are active, and pruning keeps hundreds of them with most of the error nodes",
         "graph.n_features >= 2000 and 100 <= kept_features < 1000 and kept_errors > graph.n_layers * graph.n_pos / 2"),
    Rule("unlike notebook 04's organism graph, which keeps far fewer", "organism_kept * 10 < kept_features"),
    Claim("Replacement score 0.51", "graph_scores.replacement"),
    Rule("about half of the influence from the input", "0.4 < graph_scores.replacement < 0.6"),
    Claim("completeness 0.87", "graph_scores.completeness"),
    Rule("most nodes' inputs are still mostly features", "graph_scores.completeness > 0.5"),
    Rule("The organism's graph scores higher on both", "organism_scores.replacement > graph_scores.replacement "
         "and organism_scores.completeness > graph_scores.completeness"),
    Wording("the nodes that carry half of the influence", "the figure's pruning threshold, `node_threshold`"),
    Wording("the tokens it fires on most in a few held-out rows", "what a label is"),
    Rule("None of the five most influential features is about Dallas or Texas",
         f"len(strongest_labels) == 5 and {NOT_DALLAS_OR_TEXAS}"),
    Rule('most of them fire on frequent words (" the", " of", " in") at their own positions',
         "sum(graph.token_strings[int(graph.active_features[n][1])] in (' the', ' of', ' in') for n in strongest) "
         "> len(strongest) / 2"),
    Rule("by head L23H4", "head_labels[int(top_heads.indices[0])] == 'L23H4'"),
    Wording("the rows of its most influential features", "what `max_feature_nodes` keeps"),
    Rule("circuit-tracer agreeing on every edge it computes", "difference < 1e-5"),
    Rule("Notebook 04's organism graph, computed above, was nearly complete", "organism_scores.completeness > 0.95"),
    Rule("leave most of the MLPs' output to the error nodes", "float(explained.mean()) < 0.5"),
    Rule("unsteered, the model names a state after most report prompts, not always the right one, and never Texas",
         "unsteered.instruction > 0.5 and unsteered.concept == 0 and report_prompt.startswith('Seattle') "
         "and not unsteered_text.startswith(' Washington')"),
    Claim("among its 10 likeliest next tokens", DEFAULT.format("steering.prompted_task", "fluency_k")),
    Claim("The model's own greedy text scores 1", "unsteered.fluency"),
    Rule("the residual entering the block where the fact reaches the last position",
         "texas_choices.hook == hooks.resid_pre(handoff_layer)"),
    Wording("the one whose direction most raises the probability of the concept's words", "how the latent is chosen"),
    Rule("The difference of means is the only method that steers SmolLM2 to Texas.", ONLY_DOM),
    Rule("a vector a fraction of a typical residual's length", "0 < texas_rows[0]['factor'] < 1"),
    Rule("most report generations name Texas and still begin with a state, and fluency stays high",
         "texas_rows[0]['concept'] > 0.5 and texas_rows[0]['instruction'] > 0.5 and texas_rows[0]['fluency'] > 0.9"),
    Rule("Pushed further, it breaks the answer's form first, then fluency",  # the sweep on 'choose', past its factor
         "(lambda s: s.choose[2].instruction < s.choose[1].instruction and s.choose[3].fluency < s.choose[2].fluency)"
         "(next(s for s in texas_sweeps if s.method == 'difference of means'))"),
    Rule("names Texas in a few report generations",
         "0 < next(r for r in texas_rows if r['method'] == 'probe')['concept'] * len(texas_task.split('report')) <= 3"),
    Rule("No SAE latent makes the model say Texas on the report prompts",
         f"len({SAE_SWEEPS}) == 4 and all(s.reported.concept == 0 for s in {SAE_SWEEPS})"),
    Rule("they change little at small factors and break the answer at large ones",
         f"all(s.choose[0].fluency == 1.0 and s.choose[-1].instruction == 0 for s in {SAE_SWEEPS})"),
    Rule("their concept score stays at the bottom", f"all(x.concept <= 0.1 for s in {SAE_SWEEPS} for x in s.choose)"),
    Rule("trained on text that hardly mentions Texas", "texas_in_corpus <= 2"),
    Claim("(0.82 against ≈ 0.1 or less)", "[texas_rows[0]['overall'], max(row['overall'] for row in texas_rows[1:])]"),
    Rule("Against notebook 07, averaged over every state of the facts organism: the same order of these three (the "
         "difference of means, then the probe, then the SAE latent), but there all three steer, and on some states an "
         "SAE latent steers perfectly.", ORDER_AS_IN_07),
    Rule('Unsteered, the model answers "California" after "Seattle is a city in the state of"',
         "report_prompt == 'Seattle is a city in the state of' and unsteered_text.startswith(' California')"),
    Rule('the difference of means makes it "Texas"', "steered_texts['difference of means'].startswith(' Texas')"),
    Rule('the best-F1 SAE latent, added, makes it "New York"',
         "list(steered_texts)[1] == 'SAE latent added' and steered_texts['SAE latent added'].startswith(' New York')"),
    Rule("Unsteered, SmolLM2 puts only a few of the Texas cities in Texas",
         "0 < texas_city_answers.count('Texas') <= len(texas_city_answers) / 4"),
    Rule('(most of the others in "New …" states)',
         "texas_city_answers.count('New') > (len(texas_city_answers) - texas_city_answers.count('Texas')) / 2"),
    Rule("steered, most of them get Texas, and so do most of the cities outside it",
         f"{EFFECTS}['Texas cities'].to_concept > 0.5 and {EFFECTS}['cities outside Texas'].to_concept > 0.5"),
    Rule("it changes a minority of the capitals' answers and none to Austin, Dallas or Houston",
         f"{EFFECTS}['capitals of other states'].changed < 0.5 and {EFFECTS}['capitals of other states'].to_concept == 0"),
    Rule("much of the graph runs through error nodes", "graph_scores.replacement < 0.6"),
    Rule("no feature found is about Dallas or Texas",
         f"{NOT_DALLAS_OR_TEXAS} and not any(w.strip() in ('Dallas', 'Texas') for d in real_dashboards for w, _ in d.promoted)"),
    Rule("only the difference of means steers", ONLY_DOM),
]


def in_kernel(run, code: str, result: str):
    """Runs ``code`` (statements) in the notebook's kernel, then returns ``result`` evaluated there."""
    return run.value(f"(exec({code!r}, globals()), {result})[1]")


# ---- the model, its facts, the lens -----------------------------------------------------------------


def test_smollm2_is_a_30_layer_llama(run):
    cfg = run.value("[cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.n_key_value_heads, cfg.d_mlp, cfg.d_vocab]")
    assert cfg == [30, 576, 9, 3, 1536, 49152]
    assert run.value("[cfg.normalization_type, cfg.gated_mlp, cfg.positional_embedding_type]") == ["RMS", True, "rotary"]


def test_smollm2_knows_one_hop_facts(run):
    results = run.value("[fact_results[p] for p in fact_prompts]")
    assert [round(p, 2) for p, _ in results] == [0.19, 0.46, 0.43]
    assert [top for _, top in results] == [" Texas", " Austin", " Paris"]


def test_the_logit_lens_finds_texas_in_the_last_block_only(run):
    assert [round(p, 2) for p in run.value("texas_by_depth[-3:]")] == [0.0, 0.0, 0.19]


# ---- patching and AtP -------------------------------------------------------------------------------


def test_patching_baselines_and_the_handoff(run):
    assert [round(d, 2) for d in run.value("[clean_diff, corrupt_diff]")] == [2.46, -2.99]
    assert run.value("list(resid_patching.shape)") == [30, 8]
    assert run.value("[city_position, city_from, handoff_layer]") == [2, 2, 24]
    resid = run.value("resid_patching")
    city = [row[2] for row in resid]
    assert min(city[:24]) < 0.5 <= min(city[2:24]) and round(min(city[2:24]), 2) == 0.76  # the city token to layer 23
    assert max(city[24:]) < 0.1  # ... and no longer from layer 24
    assert max(row[-1] for row in resid[:24]) < 0.1 and round(resid[24][-1], 2) == 0.87  # the last position from 24


def test_atp_agrees_and_undershoots_on_the_city_token(run):
    assert [round(r, 2) for r in run.value("list(correlations.values())")] == [0.93, 0.93]
    gap = [row[2] for row in run.value("atp_gap")[2:24]]
    assert all(-0.65 < g < -0.25 for g in gap)  # AtP undershoots on the city token, layers 2 to 23
    assert run.value("[worst_layer, worst_position]") == [11, 2]
    assert [round(v, 2) for v in run.value("[resid_patching[11, 2], resid_atp[11, 2]]")] == [0.97, 0.35]
    assert run.value("resid_patching.numel() + head_patching.numel()") == 510


def test_the_heads_that_restore_most(run):
    assert run.value("[head_labels[i] for i in top_heads.indices.tolist()]") == ["L23H4", "L23H1", "L29H1"]
    assert [round(v, 2) for v in run.value("top_heads.values")] == [0.7, 0.23, 0.21]
    assert round(run.value("top_head_attention[city_position]"), 2) == 0.69


def test_patching_a_whole_clean_layer_restores_the_clean_metric(run):
    """The machinery: every position of one residual layer patched from the clean run gives the clean metric."""
    deviation = in_kernel(run, """
_, _clean_cache = model.run_with_cache(problem.clean, names_filter=hooks.resid_pre(5))
_patched = circuits.run_logit_diff(model, problem, problem.corrupt,
                                   [(hooks.resid_pre(5), lambda value, hook: _clean_cache[hook.name])])
""", "abs(_patched.item() - clean_diff)")
    assert deviation < 1e-4


# ---- the SAE ----------------------------------------------------------------------------------------


def test_the_corpus_the_sae_trained_on(run):
    assert run.value("[len(train_rows), len(heldout_rows), corpus_rows.shape[1]]") == [360, 40, 128]
    assert run.value("texas_in_corpus") == 1  # " Texas" once in the training rows
    assert round(run.value("train_tokens") / 1000, 1) == 45.6
    passes = run.value("artifacts.get(real_sae_name).recipe.config['training_tokens'] / train_tokens")
    assert round(passes, 1) == 2.2  # SAELens went through the rows that many times


def test_the_record_the_notebook_prints(run):
    report = run.value("vars(sae_report)")
    assert [round(report[k], 2) for k in ("ce_clean", "ce_sae", "ce_zero")] == [3.73, 4.70, 10.80]
    assert round(run.value("sae_report.ce_recovered"), 2) == 0.86
    assert round(report["explained_variance"], 2) == 0.63 and report["l0"] == 32.0
    assert round(report["dead_fraction"], 2) == 0.53
    assert round(run.value("saes.sae_record(real_sae_name)['train_cpu_seconds']") / 60, 1) == 5.5
    assert round(run.value("organism_sae.ce_recovered"), 3) == 0.978  # notebook 02's SAE, measured in this run


def test_the_notebooks_own_activations_agree_with_the_record(run):
    """L0 and dead latents from the notebook's held-out feature activations are the shipped record's."""
    l0, dead = run.value("(lambda fires: [fires.float().sum(-1).mean(), (fires.sum(0) == 0).float().mean()])"
                         "(heldout_acts[activations.content_mask(heldout_rows, model.tokenizer)] > 0)")
    record = run.value("[sae_report.l0, sae_report.dead_fraction]")
    assert abs(l0 - record[0]) < 1e-4 and abs(dead - record[1]) < 1e-6


def test_the_dallas_latents_and_their_firing_rates(run):
    assert run.value("dallas_top.indices") == [323, 786, 176, 223, 1995]
    assert [round(r, 2) for r in run.value("[firing_rates[176], firing_rates[786]]")] == [0.99, 0.43]
    assert run.value("sparse_latents") == [323, 1995]
    assert run.value("[d.feature for d in real_dashboards]") == [323, 1995]


def test_what_the_dashboards_show(run):
    of_peaks, place_peaks = run.value(PEAK.format(0)), run.value(PEAK.format(1))
    assert len(of_peaks) == 8 and set(of_peaks) == {" of"}
    assert place_peaks[:3] == [" the", " in", " the"]
    promoted = run.value("[[w for w, _ in d.promoted[:6]] for d in real_dashboards]")
    assert promoted[0][:3] == [" course", " sorts", "course"] and " interest" in promoted[0]
    assert {" location", " locations", " place", " cells"} <= set(promoted[1])  # no latent promotes Texas: CLAIMS


# ---- transcoders and the graph ----------------------------------------------------------------------


def test_the_transcoders_record_the_notebook_prints(run):
    fit = run.value("record['fidelity']")
    assert round(fit["kl"], 2) == 4.34 and round(fit["top1_agreement"], 2) == 0.11
    assert round(sum(fit["l0"]) / len(fit["l0"])) == 27
    assert run.value("[transcoder.config.n_layers, transcoder.config.d_features]") == [30, 128]
    explained = run.value("[explained.median(), explained.min(), explained.argmin(), explained.max(), explained.argmax()]")
    assert [round(explained[0], 2), round(explained[1], 2), explained[2], round(explained[3], 2), explained[4]] == \
        [0.34, 0.16, 3, 0.89, 2]


def test_the_graph_of_the_dallas_fact(run):
    assert run.value("[graph.n_pos, graph.logit_strings]") == [8, [" Texas"]]  # tokens as text: no "Ġ" for the space
    assert run.value("graph.token_strings[-3:]") == [" the", " state", " of"]
    assert run.value("graph.text") == "<|im_start|>Dallas is in the state of"  # the tokens' own spaces
    assert "smollm2_plt: &lt;|im_start|&gt; Dallas is in the state of → Texas" in run.value("dallas_figure.layout.title.text")
    assert round(run.value("graph.n_features / (graph.n_layers * (graph.n_pos - 1))")) == 30
    assert round(run.value("graph.logit_probabilities[0]"), 2) == 0.19
    assert run.value("[graph.n_features, kept_features, kept_errors]") == [6300, 984, 151]
    scores = run.value("[graph_scores.replacement, graph_scores.completeness]")
    assert [round(s, 3) for s in scores] == [0.508, 0.870]


def test_the_organism_graph_it_is_compared_with_is_notebook_04s(run):
    assert [round(s, 3) for s in run.value("[organism_scores.replacement, organism_scores.completeness]")] == [0.906, 0.969]
    assert 10 <= run.value("organism_kept") <= 60


def test_circuit_tracer_computes_the_same_graph(run):
    """circuit-tracer, on the same model (GQA and a gated MLP renamed into its modules) and transcoders."""
    assert run.value("theirs.n_features") == 32
    assert run.value("difference") < 1e-5
    assert round(run.value("graph.adjacency.abs().max()"), 1) == 10.4


def test_the_figure_fits_and_nothing_hides_anything(run):
    import plotly.io

    from tests.test_graph_view import drawn_boxes, overlapping

    assert run.value("[int(figure_pruned.node_mask[:graph.n_features].sum()), "
                     "int(figure_pruned.node_mask[graph.error_start:graph.token_start].sum())]") == [137, 70]
    figure = plotly.io.from_json(run.value("dallas_figure.to_json()"))
    markers, labels, ticks, _ = drawn_boxes(figure)
    assert not overlapping(markers) and not overlapping(labels) and not overlapping(labels, markers)
    assert not overlapping(ticks)
    assert figure.layout.width <= 840


# ---- steering ---------------------------------------------------------------------------------------


def test_the_prompts_are_one_batch_and_the_splits_as_stated(run):
    assert run.value("len({model.to_tokens(case.prompt).shape[1] for case in texas_task.cases})") == 1
    assert run.value("{split: len(texas_task.split(split)) for split in steering.SPLITS}") == \
        {"train": 12, "choose": 12, "report": 24}
    assert run.value("sum(label for _, label in texas_task.examples) == len(texas_cities)") is True
    assert run.value("texas_task.concept_words") == ["ĠAustin", "ĠDallas", "ĠHouston", "ĠTexas"]  # each one token


def test_unsteered_scores(run):
    unsteered = run.value("vars(unsteered)")
    assert (unsteered["concept"], unsteered["overall"], unsteered["fluency"]) == (0.0, 0.0, 1.0)
    assert round(unsteered["instruction"], 3) == 0.917


def test_the_choices_the_notebook_prints(run):
    hook, unit, by_label, by_effect = run.value(
        "[texas_choices.hook, texas_choices.unit, texas_choices.sae_by_label, texas_choices.sae_by_effect]")
    assert hook == "blocks.24.hook_resid_pre" and round(unit) == 336
    assert (by_label[0], round(by_label[1], 2)) == (762, 0.74)
    assert (by_effect[0], round(by_effect[1], 2)) == (46, 0.12)


def test_the_table_the_notebook_prints(run):
    best = run.value("texas_rows[0]")
    assert best["method"] == "difference of means" and best["factor"] == 0.25
    assert [round(best[k], 2) for k in ("concept", "instruction", "fluency", "overall")] == [0.83, 0.88, 0.94, 0.82]
    assert round(run.value("next(r for r in texas_rows if r['method'] == 'probe')['concept']") * 24) == 2
    assert run.value("all(row['overall'] <= 0.1 for row in texas_rows[1:])") is True


def test_the_shipped_sweep_is_what_the_bench_measures(run):
    """Three of the six methods at their chosen factor, measured again in the kernel (choose and report together,
    as the sweep batched them): the table's best, an SAE latent added by label and one clamped by effect."""
    same = in_kernel(run, """
_checked = ("difference of means", "SAE latent added", "SAE latent (by effect) clamped")
_same = {}
for _method, _recorded in zip(texas_methods, texas_sweeps):
    if _method.name in _checked:
        _steered_model, _hooks = _method.setup(_recorded.best_factor)
        _scores = steering.evaluate(_steered_model, texas_task, _hooks)
        _same[_method.name] = [_scores["choose"] == _recorded.choose[_recorded.best_index],
                               _scores["report"] == _recorded.reported]
""", "_same")
    assert same == {name: [True, True] for name in ("difference of means", "SAE latent added",
                                                    "SAE latent (by effect) clamped")}


def test_a_record_of_another_task_or_other_methods_is_refused(run):
    refusals = in_kernel(run, """
import json as _json, pathlib as _pathlib, tempfile as _tempfile
_refusals = []
with _tempfile.TemporaryDirectory() as _folder:
    _copy = _pathlib.Path(_folder) / texas_record.name
    _changed = _json.loads(texas_record.read_text())
    _changed["task"]["cases"][0][1] = "train"
    _copy.write_text(_json.dumps(_changed))
    for _path, _methods in ((_copy, texas_methods), (texas_record, texas_methods[:1])):
        try:
            steering.recorded_sweeps(texas_task, _methods, _path)
            _refusals.append(None)
        except ValueError as _error:
            _refusals.append(str(_error))
""", "_refusals")
    assert "another task" in refusals[0] and "records the methods" in refusals[1]


def test_the_examples_and_side_effects(run):
    assert run.value("report_prompt") == "Seattle is a city in the state of"
    assert run.value("unsteered_text").startswith(" California")
    assert run.value("list(steered_texts)") == ["difference of means", "SAE latent added"]
    texts = run.value("steered_texts")
    assert texts["difference of means"].startswith(" Texas") and texts["SAE latent added"].startswith(" New York")
    assert run.value("texas_city_answers.count('Texas')") == 3
    effects = run.value(f"{{g: vars(e) for g, e in {EFFECTS}.items()}}")
    assert [e["n"] for e in effects.values()] == [14, 48, 39]
    assert round(effects["Texas cities"]["to_concept"], 2) == 0.86
    assert round(effects["cities outside Texas"]["to_concept"], 2) == 0.81
    capitals = effects["capitals of other states"]
    assert (round(capitals["changed"], 2), capitals["to_concept"]) == (0.23, 0.0)
