"""Text for a real model's dictionaries when no dataset can be downloaded: the model's own writing.

The organisms' dictionaries train on their world's sentences. A real model has no world, and the
datasets SAELens's tutorials stream (the Pile, OpenWebText) live on a hub this course cannot
reach. So the model writes its own corpus: each row starts from one of ``OPENINGS`` (everyday,
geographic, scientific and narrative beginnings, so that the text is varied) and continues by
sampling at temperature 1 with a seeded generator, with a key-value cache.

Text a model samples from itself is its own distribution: dictionaries trained on it describe
what the model does on text like it, not on the web. That is the price of offline, and the
notebooks say so. The rows are stored as token ids (safetensors, int32), so everything trained
on them is reproducible from the file even where sampling would round differently. The corpora the
course ships live in ``CORPUS_DIR``, each file's header naming the model that wrote it.
"""

from __future__ import annotations

from pathlib import Path

import torch

CORPUS_DIR = Path(__file__).resolve().parent / "corpora"

OPENINGS = (
    "The history of", "In the city of", "The capital of", "My favourite recipe", "Scientists have discovered",
    "Once upon a time", "The weather today", "How to build", "The largest state in", "During the war,",
    "The river flows", "A good teacher", "In 1850,", "The best way to learn", "She opened the door and",
    "The economy of", "Football is", "The museum in", "Travelling by train from", "The population of",
    "He wrote a letter to", "The mountains of", "Computers are", "The president of", "Music in the",
    "My grandmother lived in", "The university of", "The law says", "Farmers in", "The ocean is",
    "A short story about", "The company announced", "Children learn", "The old church in", "Doctors recommend",
    "The train station", "In the morning,", "The map shows", "Our team won", "The language spoken in",
)


@torch.no_grad()
def generate_rows(model, n_rows: int, row_tokens: int = 128, seed: int = 0, batch_rows: int = 40,
                  progress: bool = True) -> torch.Tensor:
    """``n_rows`` rows of ``row_tokens`` token ids: ``<bos>``, an opening, then the model's own sampled text.

    Rows are made in batches of openings of equal length (no padding), with one seeded generator, so
    the same model and seed give the same rows on the same machine.
    """
    from tqdm.auto import tqdm
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    if n_rows < 1 or row_tokens < 8:
        raise ValueError(f"need n_rows ≥ 1 and row_tokens ≥ 8, got {n_rows} and {row_tokens}")
    generator = torch.Generator().manual_seed(seed)
    openings = [OPENINGS[i % len(OPENINGS)] for i in range(n_rows)]
    starts = [model.to_tokens(text, prepend_bos=True)[0].cpu() for text in openings]
    order = sorted(range(n_rows), key=lambda i: (len(starts[i]), i))  # equal lengths side by side
    rows = torch.empty(n_rows, row_tokens, dtype=torch.long)
    bar = tqdm(total=n_rows, desc="the model writes its corpus", disable=not progress)
    i = 0
    while i < n_rows:
        length = len(starts[order[i]])
        batch = [j for j in order[i:i + batch_rows] if len(starts[j]) == length]
        tokens = torch.stack([starts[j] for j in batch]).to(model.cfg.device)
        cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, len(batch))
        written, new = [tokens], tokens
        for _ in range(row_tokens - length):
            probs = model(new, past_kv_cache=cache)[:, -1].float().softmax(-1).cpu()
            new = torch.multinomial(probs, 1, generator=generator).to(model.cfg.device)
            written.append(new)
        rows[batch] = torch.cat(written, dim=1).cpu()
        bar.update(len(batch))
        i += len(batch)
    bar.close()
    return rows


def save_rows(rows: torch.Tensor, path: Path, metadata: dict) -> None:
    """Write token rows as int32 safetensors, with ``metadata`` (strings) in the file's header."""
    from safetensors.torch import save_file

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file({"tokens": rows.to(torch.int32).contiguous()}, str(path), {k: str(v) for k, v in metadata.items()})


def corpus_path(name: str) -> Path:
    """Where corpus ``name`` ships: ``activations/corpora/NAME.safetensors``."""
    return CORPUS_DIR / f"{name}.safetensors"


def corpus_header(path: Path) -> dict[str, str]:
    """The metadata ``save_rows`` wrote in a corpus file's header (strings: the model, the recipe, the time)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as corpus:
        return corpus.metadata() or {}


def model_text(model_name: str, model, n_rows: int = 80, row_tokens: int = 128) -> torch.Tensor:
    """Token rows of a real model's own text: the corpus shipped for it (``smollm2_text``: its header names
    ``model_name``), else ``n_rows`` rows the model writes now (``generate_rows``: no dataset to download,
    and on a GPU it takes a minute). Either way the last rows are the ones to hold out (``split_rows``)."""
    shipped = [path for path in sorted(CORPUS_DIR.glob("*.safetensors")) if corpus_header(path).get("model") == model_name]
    if shipped:
        return load_rows(shipped[0]).to(model.cfg.device)
    return generate_rows(model, n_rows, row_tokens).to(model.cfg.device)


def load_rows(path: Path) -> torch.Tensor:
    """The token rows of a corpus file, as int64 ids ready for a model."""
    from safetensors.torch import load_file

    return load_file(str(path))["tokens"].long()


def corpus_dataset(rows: torch.Tensor):
    """The rows as a tokenized ``datasets.Dataset`` (SAELens's input, like ``organism_dataset``)."""
    from datasets import Dataset

    return Dataset.from_dict({"tokens": rows.tolist()})


def split_rows(rows: torch.Tensor, heldout: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train, heldout)``: the last ``heldout`` rows are kept for measuring, never trained on."""
    if not 0 < heldout < len(rows):
        raise ValueError(f"heldout must be between 1 and {len(rows) - 1}, got {heldout}")
    return rows[:-heldout], rows[-heldout:]
