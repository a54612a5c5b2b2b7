"""Config dataclasses of the core encoder and decoder (import-light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecurrentEncoderConfig:
    """``model/encoder=recurrent``; sizes come from ``model.*``."""

    merge: str = "concat"  # how a bidirectional layer combines directions: concat|sum|mean


@dataclass
class RecurrentDecoderConfig:
    """``model/decoder=recurrent``: any cell, stacked, with optional attention (``model/attention``)."""

    hidden_size: int | None = None  # None: model.hidden_size
    num_layers: int | None = None  # None: model.num_layers
    input_feeding: bool = True  # feed the previous attentional state into the next step (Luong et al. 2015, 3.3)
    # share the target embedding with the output layer (needs embedding_dim == decoder hidden size)
    tie_embeddings: bool = False
    bridge: str = "linear"  # encoder final state -> decoder initial state: linear|zero|copy
    # luong: h_t queries, h~_t fed forward | bahdanau: h_{t-1} queries, context enters the cell
    attention_style: str = "luong"
    # what the output layer reads: attentional (tanh(W_c [c_t; h_t])) | concat ([h_t; c_t; E y_{t-1}], Bahdanau readout)
    readout: str = "attentional"
    initial_query: str = "zero"  # bahdanau style's first query: zero | state (the bridged s_0, as Bahdanau et al.)


@dataclass
class NoAttentionConfig:
    """``model/attention=none``: the decoder sees only the bridged encoder state."""
