"""The steering package on inputs notebook 07 does not use: the graders on invented generations (a state where a
capital was asked, a couplet line with the wrong adjective), the harmonic mean, hooks at rest, the SAE clamp's
arithmetic on random residuals, and generation with a cache on the couplets world's held-out pairs.

The bench's own results (splits, choices, sweeps, tables, rankings, side effects) are read from notebook 07's run in
``tests/notebooks/test_07_steering.py``.
"""

from __future__ import annotations

import torch

from workbench import organisms, saes, steering, transcoders
from workbench.steering import bench, vectors


# ---- scores -----------------------------------------------------------------------------------


def test_harmonic_mean_is_zero_when_any_score_is_zero():
    grades = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.5, 1.0, 1.0]])
    torch.testing.assert_close(bench.harmonic_mean(grades), torch.tensor([1.0, 0.0, 3 / 4], dtype=torch.float64))


def test_facts_grader_reads_the_ground_truth():
    world = organisms.get_world("facts")
    task = steering.facts_task(world, "California")
    two_hop = next(c for c in task.cases if c.prompt == world.two_hop_prompt("Dallas"))
    city_in = next(c for c in task.cases if c.prompt == world.city_state_prompt("Dallas"))
    assert task.grade(two_hop, ["Sacramento", "."]) == (1, 1, 1)
    assert task.grade(two_hop, ["California", "."]) == (1, 0, 1)  # a state where a capital was asked
    assert task.grade(two_hop, ["Los_Angeles", "."]) == (1, 0, 1)  # a city of California, not a capital
    assert task.grade(two_hop, ["Austin", "."]) == (0, 1, 1)
    assert task.grade(city_in, ["California", "is"]) == (1, 1, 0)
    assert task.target_completion(two_hop) == f"{two_hop.prompt} Sacramento ."


def test_couplets_grader_reads_the_ground_truth():
    world = organisms.get_world("couplets")
    task = steering.couplets_task(world, "food")
    case = next(c for c in task.cases if c.truth["a"] == "lake")
    cake = [world.first_word_table["cake"], ",", "he", "found", "the", "cake", "<eos>"]
    assert task.grade(case, cake) == (1, 1, 1)
    assert task.grade(case, [world.first_word_table["snake"], *cake[1:]]) == (1, 1, 0)  # wrong adjective
    assert task.grade(case, [*cake[:5], "tea", "<eos>"]) == (1, 0, 0)
    assert task.target_completion(case).endswith("the cake <eos>")


def test_generation_with_a_cache_matches_the_worlds_own():
    model, world = organisms.load("couplets")
    prompts = [world.first_line_prompt(s, a) for s, a in world.heldout_pairs[:16]]
    assert steering.generate(model, prompts, 7) == world.complete(model, prompts)


# ---- hooks ------------------------------------------------------------------------------------


def test_hooks_at_rest_change_nothing(facts_organism):
    model, world = facts_organism
    hook = steering.steering_hook(model)
    tokens = model.to_tokens([world.two_hop_prompt("Dallas")])
    with torch.no_grad():
        clean = model(tokens)
        clt = transcoders.load_clt("facts_clt")
        unclamped = vectors.clt_clamp_hooks(clt, model.cfg.n_layers, [], [])
        torch.testing.assert_close(model.run_with_hooks(tokens, fwd_hooks=unclamped), clean)
        direction = vectors.vector_method("d", model, hook, torch.ones(model.cfg.d_model), 1.0, [0.0])
        torch.testing.assert_close(model.run_with_hooks(tokens, fwd_hooks=direction.setup(0.0)[1]), clean)


def test_sae_clamp_writes_value_minus_activation_along_the_decoder():
    sae = saes.load_sae("facts_resid1")
    resid = torch.randn(2, 3, sae.cfg.d_in, generator=torch.Generator().manual_seed(0))
    for latent in (0, 7, sae.cfg.d_sae - 1):
        with torch.no_grad():
            out = vectors.sae_clamp(sae, latent, 5.0)(resid.clone(), None)
            expected = resid + (5.0 - sae.encode(resid)[..., latent])[..., None] * sae.W_dec[latent]
        torch.testing.assert_close(out, expected)


def test_the_steering_slider_shows_the_continuation_of_what_is_chosen():
    """Each control moves the text: a new factor, a new prompt, a new method (whose factors the slider takes)."""
    from workbench.viz.steering import steering_slider

    methods = [vectors.Method("push", [1.0, 2.0], lambda factor: (None, [])),
               vectors.Method("clamp", [5.0], lambda factor: (None, []))]
    slider = steering_slider(methods, ["a", "b"], lambda method, factor, prompt: f"{method.name} {factor:g} {prompt}")
    method_menu, prompt_menu, factor, output = slider.children
    assert output.value == "<pre>a <b>push 0 a</b></pre>"
    factor.value = 2.0
    assert "push 2 a" in output.value
    prompt_menu.value = "b"
    assert "push 2 b" in output.value
    method_menu.value = "clamp"
    assert list(factor.options) == [0.0, 5.0] and "clamp 0 b" in output.value
