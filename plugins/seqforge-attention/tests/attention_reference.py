"""Float64 reference computations for the tests: each score, softmax and window written out position by position."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


@torch.no_grad()
def reference_score(scorer: nn.Module, name: str, q: Tensor, h: Tensor) -> float:
    """``score(h_t, h̄_s)`` for one query ``q`` ``(Hq,)`` and one memory vector ``h`` ``(Hm,)``, from the scorer's own
    weights."""
    if name == "dot":
        value = float(q @ h)
        return value / math.sqrt(q.shape[0]) if scorer.scale else value
    if name == "general":
        return float(q @ (scorer.w_a.weight @ h))  # h_t^T W_a h̄_s
    bias = scorer.w_m.bias if scorer.w_m.bias is not None else torch.zeros(scorer.attention_size, dtype=q.dtype)
    z = scorer.w_q.weight @ q + scorer.w_m.weight @ h + bias  # W_q h_t + W_m h̄_s (+ b)
    return float(scorer.v_a.weight.squeeze(0) @ torch.tanh(z))  # v_a^T tanh(...)


def softmax_over(scores: dict[int, float]) -> dict[int, float]:
    """``exp(score_s) / Σ_{s'} exp(score_s')`` over the given positions only."""
    top = max(scores.values())
    exps = {s: math.exp(v - top) for s, v in scores.items()}
    total = sum(exps.values())
    return {s: e / total for s, e in exps.items()}


def randomise(module: nn.Module) -> nn.Module:
    """Float64, every parameter drawn from N(0, 1) (a zero bias would hide a missing one)."""
    module = module.double()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_()
    return module
