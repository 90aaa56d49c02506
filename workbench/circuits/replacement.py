"""The replacement model: an organism whose MLPs are all replaced by a transcoder, attention untouched.

Inside ``with replaced(model, clt):`` every forward pass of ``model`` computes the transcoder's
features from the residual stream entering each MLP (``blocks.ℓ.hook_resid_mid``) and writes the
transcoder's reconstruction in place of each MLP output (``blocks.ℓ.hook_mlp_out``). A cross-layer
feature's writes to later layers are summed in there too. Nothing else changes, so the organisms'
own behaviour measures (``world.evaluate(model)``) run unchanged on the replacement model.

``fidelity`` compares the replacement with the original on held-out text: how often the top
next-token prediction agrees, and the mean KL divergence of the replacement from the original.
Agreement is also counted where the original has decided (its top two tokens differ by at least
``DECIDED_GAP`` in probability): where the world itself makes a free choice (which subject, which
verb) the original spreads its probability evenly, and which near-equal token wins is noise.
``rows_fidelity`` measures a real model's replacement on rows of its text, batch by batch, with the
explained variance of each layer's MLP output (``workbench.reconstruction``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

from workbench import hooks
from workbench.reconstruction import variance_parts
from workbench.transcoders.model import CrossLayerTranscoder


def replacement_hooks(clt: CrossLayerTranscoder, record: dict | None = None,
                      keep_bos: bool = False) -> list[tuple[str, callable]]:
    """Forward hooks that run ``clt`` in place of every MLP; ``record[layer]`` receives the features.

    ``keep_bos``: at position 0 the MLPs keep their own output and no feature fires, as in the
    local replacement model (circuit-tracer's zero positions). A real model's MLPs write outliers
    at ``<bos>`` (the attention sink) that its transcoders are not trained on; the organisms'
    transcoders replace every position.
    """
    features: dict[int, torch.Tensor] = {} if record is None else record

    def encode(resid_mid, hook):
        features[hook.layer()] = clt.encode_layer(resid_mid, hook.layer())
        if keep_bos:
            features[hook.layer()][:, 0] = 0
        return resid_mid

    def decode(mlp_out, hook):
        reconstruction = clt.decode_layer(features, hook.layer()).expand_as(mlp_out)
        if keep_bos:
            reconstruction = torch.cat([mlp_out[:, :1], reconstruction[:, 1:]], dim=1)
        return reconstruction

    n_layers = clt.config.n_layers
    return [(name, encode) for name in hooks.transcoder_inputs(n_layers)] + [
        (name, decode) for name in hooks.transcoder_outputs(n_layers)
    ]


def check_fits(model, clt: CrossLayerTranscoder) -> None:
    """Refuse a transcoder whose shape does not match the model's, or that was trained on another organism.

    Organisms share their shapes, so a transcoder of the wrong one would run and explain nothing;
    the organism's name is the model's ``cfg.model_name`` (set by ``organisms.load`` and ``train``).
    """
    if (clt.config.n_layers, clt.config.d_model) != (model.cfg.n_layers, model.cfg.d_model):
        raise ValueError(
            f"transcoder of {clt.config.n_layers} layers × d_model {clt.config.d_model} does not fit a model of "
            f"{model.cfg.n_layers} layers × d_model {model.cfg.d_model}"
        )
    organism = model.cfg.model_name
    if clt.organism is not None and organism != "custom" and clt.organism != organism:
        raise ValueError(f"this transcoder was trained on the {clt.organism!r} organism's MLPs, not on {organism!r}'s: "
                         f"load {organism!r}'s own (clt_training.SHIPPED lists them) or train one on it")


@contextmanager
def replaced(model, clt: CrossLayerTranscoder, record: dict | None = None, keep_bos: bool = False):
    """Within this block, ``model`` is its replacement model (hooks removed on exit; ``keep_bos``: see ``replacement_hooks``)."""
    check_fits(model, clt)
    with torch.no_grad(), model.hooks(fwd_hooks=replacement_hooks(clt, record, keep_bos)):
        yield model


DECIDED_GAP = 0.05  # below this, the original's top choice is a near tie (the world's free choices)


@dataclass(frozen=True)
class Fidelity:
    """How closely the replacement model follows the original on held-out text."""

    top1_agreement: float  # fraction of next-token predictions (argmax) that agree
    top1_agreement_decided: float  # the same, where the original's top two differ by ≥ DECIDED_GAP in probability
    kl: float  # mean KL(original ‖ replacement) per token, in nats
    l0: tuple[float, ...]  # mean active features per token, per layer
    n_tokens: int


@torch.no_grad()
def fidelity(model, clt: CrossLayerTranscoder, tokens: torch.Tensor, mask: torch.Tensor,
             keep_bos: bool = False, batch_rows: int | None = None) -> Fidelity:
    """Compare next-token predictions of ``model`` and its replacement at the ``mask`` positions.

    ``batch_rows``: run that many rows at a time (a real model's logits over 49k tokens are large)
    and average the batches' figures (``combine_fidelity``).
    """
    if batch_rows is None or batch_rows >= len(tokens):
        return fidelity_batch(model, clt, tokens, mask, keep_bos)[0]
    return combine_fidelity([fidelity_batch(model, clt, tokens[i:i + batch_rows], mask[i:i + batch_rows], keep_bos)
                             for i in range(0, len(tokens), batch_rows)])


def fidelity_batch(model, clt: CrossLayerTranscoder, tokens, mask, keep_bos: bool = False,
                   clean_logits: torch.Tensor | None = None) -> tuple[Fidelity, int]:
    """``fidelity`` of one batch of rows, and how many of its tokens are decided (``clean_logits``: the
    original's logits on ``tokens``, if already computed)."""
    clean = (model(tokens) if clean_logits is None else clean_logits).log_softmax(-1)
    top2 = clean.exp().topk(2, dim=-1).values
    decided = mask.bool() & (top2[..., 0] - top2[..., 1] >= DECIDED_GAP)
    record: dict[int, torch.Tensor] = {}
    with replaced(model, clt, record, keep_bos):
        replacement = model(tokens).log_softmax(-1)
    mask = mask.bool()
    agreement = clean.argmax(-1).eq(replacement.argmax(-1))
    agree, agree_decided = agreement[mask].float().mean(), agreement[decided].float().mean()
    kl = (clean.exp() * (clean - replacement)).sum(-1)[mask].mean()
    l0 = tuple(float((record[l] > 0).float().sum(-1)[mask].mean()) for l in sorted(record))
    return Fidelity(float(agree), float(agree_decided), float(kl), l0, int(mask.sum())), int(decided.sum())


def combine_fidelity(parts: list[tuple[Fidelity, int]]) -> Fidelity:
    """The ``fidelity`` of several batches from each one's (``Fidelity``, decided tokens): means weighted by
    tokens (by decided tokens for the agreement where decided)."""
    n = sum(part.n_tokens for part, _ in parts)
    n_decided = sum(decided for _, decided in parts)
    mean = lambda name: sum(getattr(part, name) * part.n_tokens for part, _ in parts) / n
    l0 = tuple(sum(part.l0[l] * part.n_tokens for part, _ in parts) / n for l in range(len(parts[0][0].l0)))
    decided = sum(part.top1_agreement_decided * d for part, d in parts if d) / max(n_decided, 1)
    return Fidelity(mean("top1_agreement"), decided, mean("kl"), l0, n)


def predicting_positions(rows: torch.Tensor) -> torch.Tensor:
    """The positions of token ``rows`` whose next token is in the row, ``<bos>`` left out: (n_rows, n_ctx) bool."""
    mask = torch.ones_like(rows, dtype=torch.bool)
    mask[:, 0] = mask[:, -1] = False
    return mask


@torch.no_grad()
def rows_fidelity(model, clt: CrossLayerTranscoder, rows: torch.Tensor, batch_rows: int = 8) -> tuple[Fidelity, list[float]]:
    """A real model's replacement on token ``rows`` of its text, two passes of the model per batch of rows:
    its ``fidelity`` (every position but ``<bos>`` replaced, at every ``predicting_positions``) and, per
    layer, the explained variance of the MLP outputs (``reconstruction``), pooled over every token but ``<bos>``."""
    inputs, outputs = hooks.transcoder_inputs(model.cfg.n_layers), hooks.transcoder_outputs(model.cfg.n_layers)
    fits, variance = [], []
    for start in range(0, len(rows), batch_rows):
        batch = rows[start:start + batch_rows].to(model.cfg.device)
        logits, cache = model.run_with_cache(batch, names_filter=lambda name: name in inputs or name in outputs)
        x = torch.stack([cache[name][:, 1:] for name in inputs], dim=2).flatten(0, 1)  # (tokens, n_layers, d_model)
        y = torch.stack([cache[name][:, 1:] for name in outputs], dim=2).flatten(0, 1)
        del cache
        variance.append(variance_parts(y, clt(x)))
        del x, y
        fits.append(fidelity_batch(model, clt, batch, predicting_positions(batch), keep_bos=True, clean_logits=logits))
    return combine_fidelity(fits), sum(variance[1:], variance[0]).explained.tolist()


@torch.no_grad()
def firing_rates(model, clt: CrossLayerTranscoder, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """How often each feature fires in the replacement model at the ``mask`` positions: (n_layers, F).

    A feature with rate 0 on held-out text is dead: it costs parameters and explains nothing.
    """
    record: dict[int, torch.Tensor] = {}
    with replaced(model, clt, record):
        model(tokens)
    mask = mask.bool()
    return torch.stack([(record[l][mask] > 0).float().mean(0) for l in sorted(record)])
