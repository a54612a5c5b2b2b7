"""The generic recurrent decoder: any cell, stacked, with any attention, one step at a time.

Two placements of attention (``model.decoder.attention_style``), any score
function (dot, general, concat, additive — the attention plugin's):

``luong`` (Luong et al. 2015, global attention; OpenNMT's default): the top
layer's new output ``h_t`` queries the memory; ``h~_t = tanh(W_c [c_t; h_t])``
feeds the output layer and, with input feeding, the next step's input.

``bahdanau`` (Bahdanau et al. 2015): the previous output ``h_{t-1}`` queries
the memory; the context enters the recurrent step with the embedding,
``h_t = cell([E y_{t-1}; c_t], h_{t-1})``, and ``tanh(W_c [c_t; h_t])`` feeds
the output layer. The first query ``h_0`` is zero (``initial_query=zero``) or
the bridged initial state (``initial_query=state``: Bahdanau's ``s_0``).

The output layer reads (``model.decoder.readout``) the attentional state
``W_o dropout(tanh(W_c [c_t; h_t]))`` (``attentional``), or ``W_o [h_t; c_t; E y_{t-1}]``
(``concat``: Bahdanau et al.'s readout of ``s_i``, ``c_i`` and ``y_{i-1}`` as a
single linear layer, without their maxout layer, as in bentrevett's tutorial;
no dropout beyond the embedding's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, cast, runtime_checkable

import torch
from torch import Tensor, nn

from seqforge.errors import ConfigError
from seqforge.interfaces import ReinforceAttention, StepAttention
from seqforge.recurrent.state import map_state

READOUTS = ("attentional", "concat")
INITIAL_QUERIES = ("zero", "state")


@runtime_checkable
class _ProjectsMemory(Protocol):
    """An attention's optional ``project_memory(memory (B, S, Hm)) -> keys (B, S, K)`` (see Attention)."""

    def project_memory(self, memory: Tensor) -> Tensor: ...


def _first_leaf(state: Any) -> Tensor:
    """The first tensor of a cell state (``h`` of an LSTM's ``(h, c)``; a GRU's state itself)."""
    leaves: list[Tensor] = []

    def keep(leaf: Tensor) -> Tensor:
        leaves.append(leaf)
        return leaf

    map_state(keep, state)
    return leaves[0]


def no_attention(**_: Any) -> None:
    """Factory for ``model/attention=none``."""
    return None


@dataclass
class DecoderState:
    """Everything a decoding step needs; every tensor has the batch (or batch × beam) first.

    Keeping the encoder memory here lets beam search expand and reorder it
    together with the recurrent state, whatever the cell.
    """

    layers: list[Any]  # one cell state per layer
    feed: Tensor | None  # (B, H) previous attentional state (input feeding), or None
    memory: Tensor  # (B, S, H_enc)
    mask: Tensor  # (B, S) bool
    keys: Tensor | None  # (B, S, K) the attention's projection of memory, or None
    output: Tensor | None = None  # (B, H) the top layer's previous output (the query in bahdanau style)
    step: Tensor | None = None  # (B,) long: index t of the target token being produced, for a StepAttention; else None

    #: Identical for every beam of a sentence: beam search does not copy them when it reorders beams.
    beam_static_fields: ClassVar[tuple[str, ...]] = ("memory", "mask", "keys")


class RecurrentDecoder(nn.Module):
    """Embedding -> stacked cells (+ attention) -> output layer.

    Args:
        cell: factory ``cell(input_size=..., hidden_size=...)``.
        attention: factory ``attention(query_size=..., memory_size=...)`` returning a
            module, or None (or a factory returning None) for no attention.
        vocab_size, embedding_dim, hidden_size, num_layers, dropout: sizes.
        memory_size: ``H_enc`` of the encoder outputs.
        input_feeding: concatenate the previous attentional state to the input.
        tie_embeddings: output layer shares the embedding matrix.
        bridge: how the encoder's final state initialises this decoder (read by the seq2seq wiring).
        attention_style: ``luong`` or ``bahdanau`` placement (module docstring).
        readout: what the output layer reads, ``attentional`` or ``concat`` (module docstring).
        initial_query: bahdanau style's first query, ``zero`` or the bridged ``state``.
    """

    def __init__(
        self,
        *,
        cell: Callable[..., nn.Module],
        attention: Callable[..., nn.Module | None] | None,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        memory_size: int,
        input_feeding: bool = True,
        tie_embeddings: bool = False,
        bridge: str = "linear",
        attention_style: str = "luong",
        readout: str = "attentional",
        initial_query: str = "zero",
    ) -> None:
        super().__init__()
        if attention_style not in ("luong", "bahdanau"):
            raise ConfigError(f"model.decoder.attention_style must be 'luong' or 'bahdanau', got '{attention_style}'.")
        if readout not in READOUTS:
            raise ConfigError(f"model.decoder.readout must be one of {', '.join(READOUTS)}, got '{readout}'.")
        if initial_query not in INITIAL_QUERIES:
            raise ConfigError(
                f"model.decoder.initial_query must be one of {', '.join(INITIAL_QUERIES)}, got '{initial_query}'."
            )
        self.readout = readout
        self.initial_query = initial_query
        self.bridge = bridge
        self.attention = attention(query_size=hidden_size, memory_size=memory_size) if attention is not None else None
        self.bahdanau_style = attention_style == "bahdanau" and self.attention is not None
        self.attention_needs_step = isinstance(self.attention, StepAttention)  # e.g. local-m: its window follows t
        self.input_feeding = input_feeding and self.attention is not None and not self.bahdanau_style
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        first_input = (
            embedding_dim + (hidden_size if self.input_feeding else 0) + (memory_size if self.bahdanau_style else 0)
        )
        self.cells = nn.ModuleList(
            cell(input_size=first_input if i == 0 else hidden_size, hidden_size=hidden_size) for i in range(num_layers)
        )
        if readout == "concat" and self.input_feeding:
            raise ConfigError(
                "model.decoder.readout=concat has no attentional state for input feeding to pass on: set "
                "model.decoder.input_feeding=false or model.decoder.attention_style=bahdanau."
            )
        concat = readout == "concat"
        self.combine = (
            nn.Linear(memory_size + hidden_size, hidden_size) if self.attention is not None and not concat else None
        )
        self.dropout = nn.Dropout(dropout)
        readout_size = hidden_size + (memory_size if self.attention is not None else 0) + embedding_dim
        self.output = nn.Linear(readout_size if concat else hidden_size, vocab_size)
        if tie_embeddings and concat:
            raise ConfigError(
                "model.decoder.tie_embeddings=true cannot share the embedding with a model.decoder.readout=concat "
                f"output layer (it reads {readout_size} features, the embedding has {embedding_dim}); use "
                "model.decoder.readout=attentional."
            )
        if tie_embeddings:
            if embedding_dim != hidden_size:
                raise ConfigError(
                    f"model.decoder.tie_embeddings=true needs model.embedding_dim ({embedding_dim}) equal to the "
                    f"decoder hidden size ({hidden_size}, model.decoder.hidden_size or model.hidden_size)."
                )
            self.output.weight = self.embedding.weight

    def initial_state(self, layers: list[Any], memory: Tensor, mask: Tensor) -> DecoderState:
        """The state before the first target token (``layers`` from the bridge)."""
        keys = None
        if isinstance(self.attention, _ProjectsMemory):
            keys = self.attention.project_memory(memory)  # (B, S, K), once per source batch
        zeros = memory.new_zeros(memory.shape[0], self.hidden_size)  # (B, H)
        query = zeros
        if self.bahdanau_style and self.initial_query == "state":
            query = _first_leaf(layers[-1])  # (B, H): h of the top layer's bridged state (gru, lstm, rnn)
            if query.shape != zeros.shape:
                raise ConfigError(
                    "model.decoder.initial_query=state queries with the first tensor of the decoder cell's state, "
                    f"which has shape {tuple(query.shape)}, not (batch, hidden) = {tuple(zeros.shape)}; use "
                    "model.decoder.initial_query=zero with this cell."
                )
        return DecoderState(
            layers=layers, feed=zeros if self.input_feeding else None, memory=memory, mask=mask, keys=keys,
            output=query if self.bahdanau_style else None,
            # (B,) t = 0
            step=memory.new_zeros(memory.shape[0], dtype=torch.long) if self.attention_needs_step else None,
        )

    def step(self, y_prev: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """``y_prev`` ``(B,)`` -> logits ``(B, V)``, the next state, attention weights ``(B, S)`` or None."""
        features, next_state, weights = self.step_features(y_prev, state)
        return self.output(features), next_state, weights

    def step_features(self, y_prev: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """:meth:`step` without its output layer: what ``self.output`` reads ``(B, F)``, the next state, weights.

        Training applies the output layer, by far the largest matrix, once to every step's features
        after the loop (one large matrix product instead of one small one per step).
        """
        x = self.dropout(self.embedding(y_prev))  # (B, E)
        embedded = x
        weights = None
        where = {"step": state.step} if self.attention_needs_step else {}
        if self.bahdanau_style and self.attention is not None:  # bahdanau_style implies an attention
            # query h_{t-1}
            context, weights = self.attention(state.output, state.memory, state.mask, keys=state.keys, **where)
            x = torch.cat([x, context], dim=-1)  # (B, E + H_enc)
        elif self.input_feeding:
            x = torch.cat([x, cast(Tensor, state.feed)], dim=-1)  # (B, E + H); feed is set under input feeding
        layers = []
        for index, (cell, layer_state) in enumerate(zip(self.cells, state.layers)):
            h, new_state = cell(x, layer_state)  # (B, H)
            layers.append(new_state)
            x = self.dropout(h) if index < len(self.cells) - 1 else h
        top = x  # (B, H)
        if self.attention is not None and not self.bahdanau_style:
            # (B, H_enc), (B, S)
            context, weights = self.attention(top, state.memory, state.mask, keys=state.keys, **where)
        if self.readout == "concat":
            parts = [top, context, embedded] if self.attention is not None else [top, embedded]
            features = torch.cat(parts, dim=-1)  # (B, H [+ H_enc] + E)
        else:
            if self.attention is not None and self.combine is not None:  # both or neither with this readout
                x = torch.tanh(self.combine(torch.cat([context, top], dim=-1)))  # (B, H): attentional state h~_t
            features = self.dropout(x)  # (B, H)
        next_state = DecoderState(
            layers, x if self.input_feeding else None, state.memory, state.mask, state.keys,
            output=top if self.bahdanau_style else None, step=None if state.step is None else state.step + 1,
        )
        return features, next_state, weights

    def estimator_loss(self, logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
        """The attention's score-function surrogate loss (a :class:`ReinforceAttention`), else a zero scalar.

        Call once after a teacher-forced training pass and add the result to the loss. The reward
        is each sequence's log-likelihood ``Σ_t log p(y_t | ...)`` of ``targets`` (Xu et al. 2015,
        eq. 11), detached: it weighs the attention's sampled positions, never trained through.

        Args:
            logits: ``(B, T, V)`` of that pass.
            targets: ``(B, T)`` token ids.
            mask: ``(B, T)`` bool, True at real target tokens.
        """
        if not isinstance(self.attention, ReinforceAttention):
            return logits.new_zeros(())
        log_probs = torch.log_softmax(logits.detach(), dim=-1)  # (B, T, V)
        token_ll = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1) * mask  # (B, T), 0 at padding
        return self.attention.reinforce_loss(token_ll.sum(dim=1), mask)  # reward (B,)
