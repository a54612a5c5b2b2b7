"""Config dataclasses of the encoders this plugin registers (import-light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BagOfWordsEncoderConfig:
    """``model/encoder=bag_of_words``: mean or sum of the token vectors (masked), word order ignored; task=classify only."""

    reduce: str = "mean"  # mean|sum; sum with model.embedding.kind=onehot gives word counts


@dataclass
class SelfAttentiveEncoderConfig:
    """``model/encoder=self_attentive``: a recurrent encoder (model.cell, sizes) + multi-head self-attention layers."""

    merge: str = "concat"  # how a bidirectional layer combines directions: concat|sum|mean
    heads: int = 4  # must divide the recurrent output size (2 * model.hidden_size when bidirectional, concat)
    layers: int = 1  # self-attention layers after the recurrent ones
    layer_norm: bool = True  # LayerNorm after each residual sum
    attention_dropout: float = 0.0  # on each attention output before the residual (model.dropout is the recurrent one)
