"""The layer-normalised LSTM of Ba, Kiros & Hinton (2016), "Layer Normalization", eqs. 20-22.

    [f; i; o; g] = LN(W_h h_{t-1}; α_h, β_h) + LN(W_x x_t; α_x, β_x) + b
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(LN(c_t; α_c, β_c))

``LN(z; α, β) = α ⊙ (z - mean(z)) / sqrt(var(z) + eps) + β`` over the features
of each row, so every sequence is normalised on its own (unlike batch
normalisation, nothing is shared across the batch or over time), which is what
makes it work inside seqforge's masked loop, at any batch size and in beam
search. Normalising the summed inputs keeps the gates' pre-activations at a
steady scale from step to step, which speeds up and stabilises training.

The input term ``LN(W_x x_t) + b`` does not depend on the state, so the cell
offers seqforge's hoisting fast path: ``project_input`` computes it for all
steps in one batched matmul and ``step`` does the rest.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LayerNormLSTMCell(nn.Module):
    """An LSTM cell with layer normalisation; state ``(h, c)``, both ``(B, H)``.

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        forget_bias: initial value of the forget gate's part of ``b``.
        eps: variance epsilon of the three layer normalisations.
    """

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w_x = nn.Linear(input_size, 4 * hidden_size, bias=False)  # W_x: (4H, I)
        self.w_h = nn.Linear(hidden_size, 4 * hidden_size, bias=False)  # W_h: (4H, H)
        self.ln_x = nn.LayerNorm(4 * hidden_size, eps=eps)  # α_x, β_x
        self.ln_h = nn.LayerNorm(4 * hidden_size, eps=eps)  # α_h, β_h
        self.ln_c = nn.LayerNorm(hidden_size, eps=eps)  # α_c, β_c
        self.bias = nn.Parameter(torch.zeros(4 * hidden_size))  # b, gate order f, i, o, g
        with torch.no_grad():
            self.bias[:hidden_size].fill_(forget_bias)
            nn.init.orthogonal_(self.w_h.weight)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)
        return zeros, zeros.clone()

    def project_input(self, x: Tensor) -> Tensor:
        """``LN(W_x x) + b`` for any leading shape: ``(..., I) -> (..., 4H)``."""
        return self.ln_x(self.w_x(x)) + self.bias

    def step(self, px_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step from the projected input ``px_t`` ``(B, 4H)``."""
        h, c = state
        gates = px_t + self.ln_h(self.w_h(h))  # (B, 4H)
        f, i, o, g = gates.chunk(4, dim=-1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
        h = torch.sigmoid(o) * torch.tanh(self.ln_c(c))  # (B, H)
        return h, (h, c)

    def forward(self, x_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step from the raw input ``x_t`` ``(B, I)`` -> ``h_t`` ``(B, H)`` and ``(h_t, c_t)``."""
        return self.step(self.project_input(x_t), state)
