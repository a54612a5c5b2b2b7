"""Registers the attentions with seqforge (entry point ``seqforge: attention``).

Each is selected with ``model/attention=<name>``; its config's fields become
``model.attention.<field>``. The core builds it as
``factory(query_size=Hq, memory_size=Hm, **fields)``. Factories are import
paths so loading the plugin does not import torch (fast CLI start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from seqforge.api import Registry, hookimpl

#: The seqforge plugin API this plugin is written against (checked before it is loaded).
SEQFORGE_PLUGIN_API = "1.1"

_MODULE = "seqforge_attention.attention"


@dataclass
class LuongDotConfig:
    """``model/attention=luong_dot``: ``h_t^T h̄_s``; needs decoder and encoder sizes to match."""

    scale: bool = False  # divide scores by sqrt(H) (scaled dot product): keeps the softmax soft for large H


@dataclass
class LuongGeneralConfig:
    """``model/attention=luong_general``: ``h_t^T W_a h̄_s``; no fields (``W_a`` is ``Hq x Hm``)."""


@dataclass
class LuongConcatConfig:
    """``model/attention=luong_concat``: ``v_a^T tanh(W_a [h_t; h̄_s])``."""

    attention_size: int | None = None  # width of W_a's output and v_a; None: the decoder's hidden size


@dataclass
class BahdanauConfig:
    """``model/attention=bahdanau``: ``v_a^T tanh(W_q h_t + W_m h̄_s + b)``."""

    attention_size: int | None = None  # width of W_q/W_m's output and v_a; None: the decoder's hidden size


@dataclass
class LocalMConfig:
    """``model/attention=local_m``: Luong et al. 2015 local-m, window ``[t - D, t + D]`` around the target position
    ``t``."""

    score: str = "general"  # dot | general | concat | bahdanau: how a position inside the window is scored
    window: int = 5  # D >= 0: the window's half-width (2D + 1 positions), clipped to the source
    attention_size: int | None = None  # score=concat|bahdanau: width of their MLP; None: the decoder's hidden size
    scale: bool = False  # score=dot: divide by sqrt(H)


@dataclass
class LocalPConfig:
    """``model/attention=local_p``: Luong et al. 2015 local-p, predicted ``p_t`` and a Gaussian ``σ = D/2`` over ``[p_t
    - D, p_t + D]``."""

    score: str = "general"  # dot | general | concat | bahdanau: how a position inside the window is scored
    window: int = 5  # D >= 1: the window's half-width; also sets the Gaussian's σ = D / 2
    # width of W_p in p_t = S · sigmoid(v_p^T tanh(W_p h_t)); None: the decoder's hidden size
    predict_size: int | None = None
    normalize: bool = False  # false: the paper's weights (softmax x Gaussian, sum <= 1); true: renormalised to sum to 1
    attention_size: int | None = None  # score=concat|bahdanau: width of their MLP
    scale: bool = False  # score=dot: divide by sqrt(H)


@dataclass
class HardConfig:
    """``model/attention=hard``: Xu et al. 2015 stochastic hard attention, one sampled source position per step."""

    score: str = "general"  # dot | general | concat | bahdanau: scores of the distribution α positions are drawn from
    # training gradient: gumbel (straight-through Gumbel-softmax) | reinforce (Xu et al. 2015)
    estimator: str = "gumbel"
    temperature: float = 1.0  # gumbel: τ of softmax((log α + g) / τ)
    inference: str = "argmax"  # eval/decoding: argmax (one position) | expected (soft context Σ α h_s)
    entropy_weight: float = 0.01  # reinforce: λ_e of the entropy bonus
    baseline_decay: float = 0.9  # reinforce: b <- β b + (1 - β) mean(reward), β as in the paper
    attention_size: int | None = None  # score=concat|bahdanau: width of their MLP
    scale: bool = False  # score=dot: divide by sqrt(H)


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.attention(
        "luong_dot", f"{_MODULE}.LuongDotAttention", LuongDotConfig,
        description="Luong dot: h_t^T h_s (scale=true divides by sqrt(H)); needs equal sizes",
    )
    registry.attention(
        "luong_general", f"{_MODULE}.LuongGeneralAttention", LuongGeneralConfig,
        description="Luong general (multiplicative): h_t^T W_a h_s",
    )
    registry.attention(
        "luong_concat", f"{_MODULE}.LuongConcatAttention", LuongConcatConfig,
        description="Luong concat: v_a^T tanh(W_a · concat(h_t, h_s))",
    )
    registry.attention(
        "bahdanau", f"{_MODULE}.BahdanauAttention", BahdanauConfig,
        description="Bahdanau additive: v_a^T tanh(W_q h_t + W_m h_s + b)",
    )
    registry.attention(
        "local_m", "seqforge_attention.local.LocalMAttention", LocalMConfig,
        description="Luong local-m: any score inside the window [t-D, t+D] around the target position",
    )
    registry.attention(
        "local_p", "seqforge_attention.local.LocalPAttention", LocalPConfig,
        description="Luong local-p: predicted p_t = S·sigmoid(v_p^T tanh(W_p h_t)), window ±D, Gaussian σ=D/2",
    )
    registry.attention(
        "hard", "seqforge_attention.hard.HardAttention", HardConfig,
        description="Xu et al. hard attention: one sampled position (gumbel or reinforce); argmax or expected at "
                    "inference",
    )
