"""Config dataclasses of the encoders this plugin registers (import-light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass
class BagOfWordsEncoderConfig:
    """``model/encoder=bag_of_words``: mean or sum of the token vectors (masked), word order ignored; task=classify
    only."""

    reduce: str = "mean"  # mean|sum; sum with model.embedding.kind=onehot gives word counts

    #: Encoder contracts that `seqforge plugins check` waives, and why (it is a many-to-one encoder by design).
    contract_exemptions: ClassVar[dict[str, str]] = {
        "shapes": "one output step per sequence, not one per position (many_to_one; build_encoder refuses it for other "
        "tasks)",
        "padding": "a single summary step, so there are no padded output positions (masking has its own tests)",
        "gradients": "no parameters of its own (the embedding before it and the classifier after it learn)",
    }


@dataclass
class SelfAttentiveEncoderConfig:
    """``model/encoder=self_attentive``: a recurrent encoder (model.cell, sizes) + multi-head self-attention layers."""

    merge: str = "concat"  # how a bidirectional layer combines directions: concat|sum|mean
    # must divide the recurrent output size (2 * model.hidden_size when bidirectional, concat), e.g. 4 or 8
    heads: int = 1
    layers: int = 1  # self-attention layers after the recurrent ones
    layer_norm: bool = True  # LayerNorm after each residual sum
    attention_dropout: float = 0.0  # on each attention output before the residual (model.dropout is the recurrent one)

    # : Waived by `seqforge plugins check`: self-attention over a chunk sees only that chunk, so two chunks never equal
    # one.
    contract_exemptions: ClassVar[dict[str, str]] = {"state carry-over": "self-attention spans the whole input, not a "
                                                                         "carried state"}
