"""Sparse autoencoders on a language model's activations, trained with SAELens.

The same calls work for an organism and for a real model: ``train_lm_sae`` takes any
``HookedTransformer`` and a tokenized dataset (``datasets.Dataset`` with a ``tokens`` column) and runs
SAELens's ``LanguageModelSAETrainingRunner`` with ``override_model`` / ``override_dataset``; for
``gpt2`` pass ``HookedTransformer.from_pretrained("gpt2")`` and a pretokenized dataset instead.

Special tokens (``<bos>``, ``<pad>``, ``<eos>``) are excluded from training: the organisms pad every
sentence to the context length, and an SAE that spends latents on padding learns nothing.
"""

from __future__ import annotations

import signal
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from workbench import hooks
from workbench.config_checks import positive_ints, positive_numbers

@dataclass(frozen=True)
class LMSAEConfig:
    """One SAE training run on a language model's activations at ``hook_name``.

    ``architecture`` is one of SAELens's: ``topk`` (uses ``k``) or ``standard`` (uses
    ``l1_coefficient``). ``d_sae`` latents; ``training_tokens`` activations (special tokens excluded)
    in batches of ``batch_size_tokens``.
    """

    hook_name: str = hooks.resid_pre(1)
    architecture: str = "topk"
    d_sae: int = 1024
    k: int = 8
    l1_coefficient: float = 1.0
    training_tokens: int = 400_000
    batch_size_tokens: int = 1024
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self):
        if self.architecture not in ("topk", "standard"):
            raise ValueError(f"LMSAEConfig.architecture must be 'topk' or 'standard', got {self.architecture!r}")
        positive_ints(self, ("d_sae", "k", "training_tokens", "batch_size_tokens"))
        positive_numbers(self, ("lr", "l1_coefficient"))
        if self.training_tokens < self.batch_size_tokens:
            raise ValueError("LMSAEConfig.training_tokens must be at least one batch (batch_size_tokens)")


@contextmanager
def _signal_handlers_restored():
    """SAELens's runner installs SIGINT/SIGTERM handlers and leaves them; put the old ones back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextmanager
def _quiet_sae_lens_logger():
    """Hide SAELens's warnings that we passed our own model and dataset (we mean to) while training."""
    import logging

    logger = logging.getLogger("sae_lens")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def runner_config(config: LMSAEConfig, model, output_path: str | Path, checkpoint_path: str | Path,
                  context_size: int | None = None):
    """SAELens's ``LanguageModelSAERunnerConfig`` for ``config`` on ``model`` (wandb off, paths set).

    ``context_size``: the length of the dataset's rows (default the model's context, as the organisms'
    rows are; a real model's corpus rows are far shorter than its context)."""
    from sae_lens import LanguageModelSAERunnerConfig, LoggingConfig
    from sae_lens.saes.standard_sae import StandardTrainingSAEConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAEConfig

    sizes = dict(d_in=model.cfg.d_model, d_sae=config.d_sae)
    if config.architecture == "topk":
        sae_config = TopKTrainingSAEConfig(**sizes, k=config.k)
    else:
        sae_config = StandardTrainingSAEConfig(**sizes, l1_coefficient=config.l1_coefficient)
    n_ctx = model.cfg.n_ctx if context_size is None else context_size
    return LanguageModelSAERunnerConfig(
        sae=sae_config,
        model_name=model.cfg.model_name,
        model_from_pretrained_kwargs={},  # the model is given, not loaded: no from_pretrained processing
        hook_name=config.hook_name,
        dataset_path="override",
        is_dataset_tokenized=True,
        streaming=False,
        context_size=n_ctx,
        prepend_bos=False,  # the rows already start with <bos>
        exclude_special_tokens=True,
        training_tokens=config.training_tokens,
        train_batch_size_tokens=config.batch_size_tokens,
        store_batch_size_prompts=64,
        # SAELens's mixing buffer holds n_batches_in_buffer × context_size activations: 4 batches.
        n_batches_in_buffer=-(-4 * config.batch_size_tokens // n_ctx),
        lr=config.lr,
        lr_scheduler_name="cosineannealing",
        lr_end=config.lr / 10,
        lr_warm_up_steps=0,
        # A latent silent for 50 steps counts as dead and TopK's auxiliary loss pulls it back.
        dead_feature_window=50,
        feature_sampling_window=50,
        n_eval_batches=0,
        seed=config.seed,
        device=str(next(model.parameters()).device),
        logger=LoggingConfig(log_to_wandb=False),
        output_path=str(output_path),
        checkpoint_path=str(checkpoint_path),
        n_checkpoints=0,
        verbose=False,
    )


RUNNER_CONFIG = "runner_cfg.json"
MACHINE_PATH_KEYS = ("output_path", "checkpoint_path")


def forget_machine_paths(runner_cfg: Path) -> None:
    """Blank the folders of the machine that trained an SAE in SAELens's ``runner_cfg.json``.

    The file is kept for provenance (every hyperparameter of the run), but a shipped artifact
    should not carry one machine's paths; they are meaningless anywhere else.
    """
    import json

    if not runner_cfg.exists():
        return
    record = json.loads(runner_cfg.read_text())
    record.update({key: None for key in MACHINE_PATH_KEYS if key in record})
    runner_cfg.write_text(json.dumps(record))


def train_lm_sae(model, dataset, config: LMSAEConfig = LMSAEConfig(), *, save_to=None, progress: bool = True):
    """Train an SAE on ``model``'s activations at ``config.hook_name`` over ``dataset``; return SAELens's ``SAE``.

    ``dataset`` has a ``tokens`` column of rows of equal length (an organism's ``model.cfg.n_ctx``; a real
    model's corpus rows, ``activations.corpus_dataset``), each already starting with ``<bos>``: SAELens
    prepends nothing. When ``config.training_tokens`` exceeds the dataset, SAELens starts the dataset
    again (another epoch, the model re-run on it) with a warning that is silenced here. ``save_to`` (a folder) keeps
    the SAE in SAELens's format; otherwise it goes to a temporary folder that is removed. Deterministic:
    the SAE's initialisation and the activation shuffling draw from ``torch.manual_seed(config.seed)``
    inside a forked random state.
    """
    from sae_lens import SAE, LanguageModelSAETrainingRunner

    from workbench.saes.toy import sae_lens_progress

    with tempfile.TemporaryDirectory() as scratch:
        output_path = Path(save_to) if save_to is not None else Path(scratch) / "sae"
        cfg = runner_config(config, model, output_path, Path(scratch) / "checkpoints",
                            context_size=len(dataset[0]["tokens"]))
        with torch.random.fork_rng(), _signal_handlers_restored(), sae_lens_progress(progress), _quiet_sae_lens_logger():
            torch.manual_seed(config.seed)
            with warnings.catch_warnings():  # SAELens warns when it starts the rows again (and counts rows as tokens)
                warnings.filterwarnings("ignore", message="All samples in the training dataset have been exhausted")
                warnings.filterwarnings("ignore", message="The training dataset contains fewer samples")
                runner = LanguageModelSAETrainingRunner(cfg, override_model=model, override_dataset=dataset)
                runner.run()
        forget_machine_paths(output_path / RUNNER_CONFIG)
        sae = SAE.load_from_disk(str(output_path))
    sae.eval()
    return sae
