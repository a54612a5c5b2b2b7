"""Registers the attentions with seqforge (entry point ``seqforge: attention``).

Each is selected with ``model/attention=<name>``; its config's fields become
``model.attention.<field>``. The core builds it as
``factory(query_size=Hq, memory_size=Hm, **fields)``. Factories are import
paths so loading the plugin does not import torch (fast CLI start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from seqforge.api import Registry, hookimpl

#: The seqforge plugin API this plugin is written against (checked before it is loaded).
SEQFORGE_PLUGIN_API = "1.0"

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

    attention_size: Optional[int] = None  # width of W_a's output and v_a; None: the decoder's hidden size


@dataclass
class BahdanauConfig:
    """``model/attention=bahdanau``: ``v_a^T tanh(W_q h_t + W_m h̄_s + b)``."""

    attention_size: Optional[int] = None  # width of W_q/W_m's output and v_a; None: the decoder's hidden size


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
