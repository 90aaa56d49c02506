"""Training a cross-layer (or per-layer) transcoder on an organism's MLP inputs and outputs.

Activations come from the organism's own training distribution: ``<bos> sentence`` rows, padding
dropped. The loss is the paper's (``workbench.clt``): reconstruction error of every MLP output, each
layer's divided by that layer's mean squared output norm so that layers count alike, plus the tanh
sparsity penalty (its coefficient ramps up linearly over training, as in the paper) and the
pre-activation loss against dead features.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from workbench.config_checks import non_negative_numbers, positive_ints, positive_numbers
from workbench.clt import INPUT_HOOK, OUTPUT_HOOK, CLTConfig, CrossLayerTranscoder


@dataclass(frozen=True)
class CLTTrainConfig:
    """How to train a transcoder: data, optimiser and the loss coefficients."""

    n_sentences: int = 8000
    steps: int = 2000
    batch_size: int = 1024  # tokens
    lr: float = 2e-3
    sparsity_coefficient: float = 5e-4  # λ_S, reached at the end of training
    tanh_scale: float = 4.0  # c
    preact_coefficient: float = 3e-6  # λ_P
    seed: int = 0

    def __post_init__(self):
        positive_ints(self, ("n_sentences", "steps", "batch_size"))
        positive_numbers(self, ("lr", "tanh_scale"))
        non_negative_numbers(self, ("sparsity_coefficient", "preact_coefficient"))


def hook_names(n_layers: int) -> tuple[list[str], list[str]]:
    """The transcoder's input and output hooks at every layer."""
    return [f"blocks.{l}.{INPUT_HOOK}" for l in range(n_layers)], [f"blocks.{l}.{OUTPUT_HOOK}" for l in range(n_layers)]


@torch.no_grad()
def mlp_activations(model, tokens: torch.Tensor, keep: torch.Tensor, batch_rows: int = 512):
    """MLP inputs and outputs at the ``keep`` positions of ``tokens``: two (n_kept, n_layers, d_model) tensors."""
    inputs, outputs = hook_names(model.cfg.n_layers)
    xs, ys = [], []
    for start in range(0, tokens.shape[0], batch_rows):
        rows = slice(start, start + batch_rows)
        _, cache = model.run_with_cache(tokens[rows], names_filter=lambda name: name in inputs or name in outputs)
        xs.append(torch.stack([cache[n] for n in inputs], dim=2)[keep[rows]])
        ys.append(torch.stack([cache[n] for n in outputs], dim=2)[keep[rows]])
    return torch.cat(xs), torch.cat(ys)


def organism_activations(model, world, n_sentences: int, seed: int = 0):
    """MLP inputs and outputs of ``model`` on ``n_sentences`` sampled training sentences (padding dropped)."""
    tokens = world.sample_tokens(n_sentences, seed)
    return mlp_activations(model, tokens, tokens != world.tokenizer.pad_token_id)


def clt_loss(clt: CrossLayerTranscoder, x, y, output_scale, sparsity_coefficient: float, config: CLTTrainConfig):
    """(total loss, parts) for one batch; ``output_scale``: (n_layers,) mean squared norm of each layer's y."""
    pre = clt.pre_activations(x)
    features = clt.encode(x)
    y_hat = clt.decode(features)
    reconstruction = ((y_hat - y).pow(2).sum(-1).mean(0) / output_scale).sum()
    sparsity = torch.tanh(config.tanh_scale * features * clt.decoder_norms()).sum((1, 2)).mean()
    preact = torch.relu(clt.threshold - pre).sum((1, 2)).mean()
    total = reconstruction + sparsity_coefficient * sparsity + config.preact_coefficient * preact
    l0 = (features > 0).float().sum(-1).mean(0)
    return total, {"reconstruction": reconstruction.item(), "sparsity": sparsity.item(), "l0": l0.tolist()}


def train_clt(activations, clt_config: CLTConfig, config: CLTTrainConfig = CLTTrainConfig(), *,
              progress: bool = True, history: list | None = None, organism: str | None = None) -> CrossLayerTranscoder:
    """Train a transcoder on ``activations`` = (inputs, outputs), each (n_tokens, n_layers, d_model).

    Deterministic: initial weights and batches draw from generators seeded with ``config.seed``.
    ``history``, if given, receives the loss parts every 100 steps. ``organism`` names whose
    activations these are; the transcoder keeps it, and refuses to replace another organism's MLPs.
    """
    from tqdm.auto import tqdm

    x_all, y_all = activations
    if x_all.shape != y_all.shape or x_all.shape[1:] != (clt_config.n_layers, clt_config.d_model):
        raise ValueError(f"activations of shape {tuple(x_all.shape)} and {tuple(y_all.shape)} do not fit {clt_config}")
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        clt = CrossLayerTranscoder(clt_config, organism)
    with torch.no_grad():
        clt.b_dec.copy_(y_all.mean(0))
    output_scale = (y_all - y_all.mean(0)).pow(2).sum(-1).mean(0)
    optimizer = torch.optim.Adam(clt.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, 2 * (1 - step / config.steps)))
    generator = torch.Generator().manual_seed(config.seed)
    bar = tqdm(range(config.steps), desc="training transcoder", disable=not progress)
    for step in bar:
        batch = torch.randint(x_all.shape[0], (config.batch_size,), generator=generator)
        ramp = config.sparsity_coefficient * (step + 1) / config.steps
        loss, parts = clt_loss(clt, x_all[batch], y_all[batch], output_scale, ramp, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == config.steps - 1:
            bar.set_postfix(nmse=f"{parts['reconstruction'] / clt_config.n_layers:.3f}", l0=f"{sum(parts['l0']):.1f}")
            if history is not None:
                history.append({"step": step + 1, **parts})
    clt.eval()
    return clt


# --- Shipped transcoders ------------------------------------------------------------------------

CLT_DIR = Path(__file__).resolve().parent / "clts"


@dataclass(frozen=True)
class ShippedCLT:
    """The recipe of a shipped transcoder: which organism, its shape, how it was trained."""

    organism: str
    cross_layer: bool
    d_features: int = 256
    train: CLTTrainConfig = CLTTrainConfig()


SHIPPED: dict[str, ShippedCLT] = {
    "facts_clt": ShippedCLT("facts", cross_layer=True),
    "facts_plt": ShippedCLT("facts", cross_layer=False),
    "couplets_clt": ShippedCLT("couplets", cross_layer=True),
    "couplets_plt": ShippedCLT("couplets", cross_layer=False),
}


def _recipe(name: str) -> ShippedCLT:
    if name not in SHIPPED:
        raise KeyError(f"unknown shipped transcoder {name!r}; known: {', '.join(SHIPPED)}")
    return SHIPPED[name]


def train_shipped(name: str, *, steps: int | None = None, progress: bool = True, history: list | None = None):
    """Retrain shipped transcoder ``name`` from its recipe (``steps`` shortens it); return it."""
    from dataclasses import replace

    from workbench import organisms

    recipe = _recipe(name)
    model, world = organisms.load(recipe.organism)
    train = recipe.train if steps is None else replace(recipe.train, steps=steps)
    activations = organism_activations(model, world, train.n_sentences, train.seed)
    config = CLTConfig(model.cfg.n_layers, model.cfg.d_model, recipe.d_features, cross_layer=recipe.cross_layer)
    return train_clt(activations, config, train, progress=progress, history=history, organism=recipe.organism)


def save_clt(clt: CrossLayerTranscoder, path, metadata: dict | None = None) -> Path:
    """Write ``path`` (.safetensors: weights) and its .json (shape, organism and ``metadata``)."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in clt.state_dict().items()}, str(path))
    path.chmod(0o644)
    record = {"config": asdict(clt.config), "organism": clt.organism, "metadata": metadata or {}}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def load_clt(name_or_path) -> CrossLayerTranscoder:
    """A shipped transcoder by name (``workbench/clts/<name>``) or one saved with ``save_clt`` (never unpickles)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(name_or_path)
    if path.suffix != ".safetensors":
        path = CLT_DIR / f"{name_or_path}.safetensors"
    if not path.exists():
        shipped = sorted(p.stem for p in CLT_DIR.glob("*.safetensors"))
        raise FileNotFoundError(f"no transcoder at {path}; shipped: {', '.join(shipped) or 'none'}")
    try:
        state = load_file(str(path))
        record = json.loads(path.with_suffix(".json").read_text())
        clt = CrossLayerTranscoder(CLTConfig(**record["config"]), record.get("organism"))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a valid transcoder (safetensors weights and the JSON record save_clt "
                         f"writes): {type(error).__name__}: {error}") from None
    clt.load_state_dict(state)
    clt.eval()
    return clt.requires_grad_(False)  # for analysis: no autograd bookkeeping in graphs and interventions


def shipped_metadata(name: str) -> dict:
    """What was measured when shipped transcoder ``name`` was trained (fidelity, behaviours, time)."""
    return json.loads((CLT_DIR / f"{name}.json").read_text())["metadata"]


def measure(name: str, clt: CrossLayerTranscoder) -> dict:
    """Fidelity of ``clt`` as the replacement of its organism, and the organism's behaviours under it."""
    from workbench import organisms
    from workbench.replacement import fidelity, heldout_tokens, replaced

    model, world = organisms.load(_recipe(name).organism)
    tokens, mask = heldout_tokens(world)
    result = {"fidelity": asdict(fidelity(model, clt, tokens, mask))}
    with replaced(model, clt):
        result["behaviour"] = world.core_metrics(model)
    return result


def main(argv=None) -> None:
    """``python -m workbench.clt_training train NAME``: retrain a shipped transcoder into ``workbench/clts``."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m workbench.clt_training", description=main.__doc__)
    parser.add_argument("command", choices=["train", "list"])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(SHIPPED)}")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, recipe in SHIPPED.items():
            print(f"{name}: {recipe}")
        return
    if not args.names or not set(args.names) <= set(SHIPPED):
        parser.error(f"train needs the NAME of one or more shipped transcoders: {', '.join(SHIPPED)}")
    from workbench import runtime

    runtime.configure()
    for name in args.names:
        start = time.process_time()
        clt = train_shipped(name)
        cpu_seconds = time.process_time() - start
        metadata = {"recipe": asdict(SHIPPED[name]), "train_cpu_seconds": round(cpu_seconds, 1), **measure(name, clt)}
        print(f"saved {save_clt(clt, CLT_DIR / name, metadata)}: {json.dumps(metadata)}")


if __name__ == "__main__":
    main()
