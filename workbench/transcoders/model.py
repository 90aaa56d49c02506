"""Cross-layer transcoders (Ameisen, Lindsey et al. 2025, "Circuit Tracing"), and per-layer ones.

A transcoder replaces an MLP by sparse features. Features at layer ℓ read the residual stream
entering MLP ℓ (``blocks.ℓ.hook_resid_mid``); a *cross-layer* feature writes to the output of MLP ℓ
and of every later MLP, so the reconstruction of MLP ℓ' sums over all source layers ℓ ≤ ℓ':

    a^ℓ = JumpReLU_θ(W_enc^ℓ x^ℓ + b_enc^ℓ)                  x^ℓ: (batch, d_model), a^ℓ: (batch, F)
    ŷ^ℓ' = Σ_{ℓ ≤ ℓ'} a^ℓ W_dec^{ℓ→ℓ'} + b_dec^ℓ'            ŷ^ℓ': the MLP ℓ' output (hook_mlp_out)

A *per-layer* transcoder (PLT) is the special case where features write only to their own layer.
Training minimises the reconstruction error summed over layers plus the paper's sparsity penalty

    λ_S Σ_ℓ Σ_i tanh(c · a_i^ℓ · ‖W_dec,i^ℓ‖)        ‖W_dec,i^ℓ‖: norm of i's decoders, concatenated

and the paper's pre-activation loss λ_P Σ ReLU(θ − h), which pushes up features that never cross
their threshold (dead features). JumpReLU thresholds learn through a straight-through estimator
with a rectangle kernel (Rajamanoharan et al. 2024), circuit-tracer's ``jumprelu`` function.

Parameters follow circuit-tracer's ``CrossLayerTranscoder`` layout (W_enc (L, F, d), W_dec[ℓ]
(F, L − ℓ, d), threshold (L, F)), so converting one into the other is a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from workbench import hooks
from workbench.config_checks import positive_ints, positive_numbers


@dataclass(frozen=True)
class CLTConfig:
    """Shape of a transcoder: ``n_layers`` MLPs of width ``d_model``, ``d_features`` features per layer."""

    n_layers: int
    d_model: int
    d_features: int = 256
    cross_layer: bool = True  # False: a per-layer transcoder (each feature writes to its own layer only)
    threshold_init: float = 0.05
    bandwidth: float = 0.05

    def __post_init__(self):
        positive_ints(self, ("n_layers", "d_model", "d_features"))
        positive_numbers(self, ("threshold_init", "bandwidth"))


class CrossLayerTranscoder(nn.Module):
    """Encoders per layer, decoders from each layer to itself and (if cross-layer) every later layer."""

    def __init__(self, config: CLTConfig, organism: str | None = None):
        super().__init__()
        self.config = config
        self.organism = organism  # whose MLPs it was trained on: replacing another organism's is refused
        L, F, d = config.n_layers, config.d_features, config.d_model
        self.W_enc = nn.Parameter(torch.empty(L, F, d))
        self.b_enc = nn.Parameter(torch.zeros(L, F))
        self.log_threshold = nn.Parameter(torch.full((L, F), math.log(config.threshold_init)))
        self.W_dec = nn.ParameterList(
            [nn.Parameter(torch.empty(F, self.n_targets(layer), d)) for layer in range(L)]
        )
        self.b_dec = nn.Parameter(torch.zeros(L, d))
        self.reset_parameters()

    def n_targets(self, layer: int) -> int:
        """How many MLP outputs the features of ``layer`` write to."""
        return self.config.n_layers - layer if self.config.cross_layer else 1

    def reset_parameters(self) -> None:
        """Encoders ~ U(±1/√d); decoders ~ U(±1/√(L·F)) as in the paper's appendix."""
        L, F, d = self.config.n_layers, self.config.d_features, self.config.d_model
        nn.init.uniform_(self.W_enc, -1 / math.sqrt(d), 1 / math.sqrt(d))
        for W in self.W_dec:
            nn.init.uniform_(W, -1 / math.sqrt(L * F), 1 / math.sqrt(L * F))

    @property
    def threshold(self) -> torch.Tensor:
        return self.log_threshold.exp()

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, L, d) residual entering each MLP → pre-activations (batch, L, F)."""
        return torch.einsum("bld,lfd->blf", x, self.W_enc) + self.b_enc

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Feature activations (batch, L, F), through circuit-tracer's JumpReLU with its straight-through gradient."""
        from circuit_tracer.transcoder.activation_functions import jumprelu

        return jumprelu.apply(self.pre_activations(x), self.threshold, self.config.bandwidth)

    def encode_layer(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """Features of one layer from the residual entering its MLP: (..., d_model) → (..., F)."""
        from circuit_tracer.transcoder.activation_functions import jumprelu

        pre = x @ self.W_enc[layer].T + self.b_enc[layer]
        return jumprelu.apply(pre, self.threshold[layer], self.config.bandwidth)

    def decoder(self, source: int, target: int) -> torch.Tensor | None:
        """W_dec^{source→target} (F, d_model), or None if layer ``source``'s features do not write to ``target``."""
        W = self.W_dec[source]
        return W[:, target - source] if 0 <= target - source < W.shape[1] else None

    def decode_layer(self, features: dict[int, torch.Tensor], layer: int, bias: bool = True) -> torch.Tensor:
        """MLP ``layer``'s reconstruction from the features of every layer up to it (``features[ℓ]``: (..., F)).

        ``bias=False`` leaves out b_dec: what a change in features adds to the output.
        """
        out = self.b_dec[layer] if bias else 0
        for source in range(layer + 1):
            W = self.decoder(source, layer)
            if W is not None:
                out = out + features[source] @ W
        return out

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """Features (batch, L, F) → reconstructed MLP outputs (batch, L, d)."""
        out = self.b_dec.expand(features.shape[0], -1, -1).clone()
        for source, W in enumerate(self.W_dec):
            written = torch.einsum("bf,ftd->btd", features[:, source], W)
            out[:, source : source + W.shape[1]] += written
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def fold_scales(self, input_scale: torch.Tensor, output_scale: torch.Tensor) -> "CrossLayerTranscoder":
        """Trained on x / input_scale and y / output_scale (each (L,), one scale per layer), become the
        transcoder that reads x and writes y, in place: the encoders divide by the input scale, and the
        decoders and output biases of each target layer multiply by its output scale (a per-layer
        transcoder's decoders write to their own layer only). Pre-activations, and so the thresholds, are unchanged."""
        self.W_enc /= input_scale[:, None, None]
        self.b_dec *= output_scale[:, None]
        for layer, W in enumerate(self.W_dec):
            W *= output_scale[layer:layer + W.shape[1], None]
        return self

    def decoder_norms(self) -> torch.Tensor:
        """‖W_dec,i^ℓ‖ over all layers feature i writes to: (L, F)."""
        return torch.stack([W.pow(2).sum((1, 2)).sqrt() for W in self.W_dec])

    def to_circuit_tracer(self):
        """The same transcoder as circuit-tracer's ``CrossLayerTranscoder`` (float32, in memory).

        A per-layer transcoder becomes a cross-layer one whose decoders to later layers are zero.
        """
        from circuit_tracer.transcoder.cross_layer_transcoder import CrossLayerTranscoder as CTTranscoder

        L, F, d = self.config.n_layers, self.config.d_features, self.config.d_model
        converted = CTTranscoder(
            n_layers=L, d_transcoder=F, d_model=d, activation_function="jump_relu", lazy_decoder=False,
            lazy_encoder=False, feature_input_hook=hooks.TRANSCODER_INPUT, feature_output_hook=hooks.TRANSCODER_OUTPUT,
            device=torch.device("cpu"), dtype=torch.float32,
            scan=f"workbench-{self.organism or 'transcoder'}",  # without one, every graph logs a warning
        )
        with torch.no_grad():
            converted.W_enc.copy_(self.W_enc)
            converted.b_enc.copy_(self.b_enc)
            converted.b_dec.copy_(self.b_dec)
            converted.activation_function.threshold.copy_(self.threshold[:, None, :])
            for layer, W in enumerate(self.W_dec):
                converted.W_dec[layer].zero_()
                converted.W_dec[layer][:, : W.shape[1]].copy_(W)
        return converted
