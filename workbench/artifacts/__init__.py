"""Everything the course ships, in one registry with one command line.

An artifact is a trained thing a notebook loads: an organism's checkpoint, the text a real model
wrote, an SAE, a transcoder. Each has a recipe here, so that it can be reproduced by one command and
measured by another (``python -m workbench.artifacts list | train NAME | evaluate NAME | seeds NAME |
seed-transcoder NAME --seed S | case-seeds NAME``: ``cli``). From Python, ``train(name, **overrides)`` retrains one
without writing it (``train("facts_clt", steps=300)`` for a quick run) and ``evaluate(name, trained=None)``
measures the shipped copy or one just trained.

``registry`` (the recipes by name; ``get``, ``train``, ``evaluate``, ``load``, ``ship``, ``listing``),
``kinds`` (what every kind of artifact does; a kind is registered once for its recipe's type), one
module per kind (``organism``, ``corpus``, ``sae``, ``transcoder``: its recipe and its class),
``seeds`` (seed tables: how much of a result is the recipe; the case studies' headline numbers per seed),
``steering_concepts`` (notebook 07's steering bench over every concept, shipped as a record), ``cli`` (the
command line).

This subpackage sits above every stage of the pipeline: it is the only place that knows how a
dictionary was made from an organism, and nothing in the pipeline imports it. Notebook 08's choice of
an SAE and of text for any model is handed out here too, from the stages that define it.
"""

from workbench.lazy import namespace

EXPORTS = {
    "registry": [
        "ARTIFACTS", "KINDS", "names", "get", "train", "load", "evaluate", "ship", "listing"
    ],
    "kinds": [
        "Artifact", "KINDS_BY_RECIPE", "register", "artifact"
    ],
    "organism": [
        "Organism"
    ],
    "corpus": [
        "CorpusRecipe", "Corpus"
    ],
    "sae": [
        "SAERecipe", "CorpusSAERecipe", "OrganismSAE", "CorpusSAE", "splice_report"
    ],
    "transcoder": [
        "TranscoderRecipe", "CorpusTranscoderRecipe", "OrganismTranscoder", "CorpusTranscoder"
    ],
    "seeds": [
        "SEEDS", "seed_table_path", "seed_configs", "train_seed", "same_weights", "weight_difference",
        "shipped_seed_row", "seed_sweep", "seed_trial_paths", "seed_trials", "seed_table", "SEED_BOOKKEEPING",
        "seed_spread", "seed_verdict", "seed_sentence", "seed_transcoder_path", "seed_transcoder_record",
        "transcoder_on_seed", "case_seed_table_path", "case_seed_record", "case_seed_table", "case_study_inputs",
        "write_case_seed_row"
    ],
    "steering_concepts": [
        "BENCHES", "ConceptBench", "run_concept_bench", "write_concept_record"
    ],
    "cli": [
        "main"
    ],
    "workbench.saes.loading": [
        "model_sae"
    ],
    "workbench.activations.corpus": [
        "model_text"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
