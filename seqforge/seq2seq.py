"""Encoder–decoder wiring, cell- and attention-agnostic, with teacher forcing / scheduled sampling."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.bridge import StateBridge
from seqforge.decoders import DecoderState, RecurrentDecoder
from seqforge.recurrent.stack import RecurrentStack


class Seq2Seq(nn.Module):
    """Source embedding -> encoder -> bridge -> decoder.

    Args:
        source_embedding: ``(B, S) -> (B, S, E)``.
        encoder: an :class:`~seqforge.interfaces.Encoder` whose ``stack.layers`` are its cells.
        decoder: a :class:`RecurrentDecoder`.

    The bridge kind comes from the decoder's ``bridge`` option (``linear|zero|copy``,
    see :class:`~seqforge.bridge.StateBridge`).
    """

    def __init__(self, *, source_embedding: nn.Embedding, encoder: nn.Module, decoder: RecurrentDecoder) -> None:
        super().__init__()
        self.source_embedding = source_embedding
        self.encoder = encoder
        self.decoder = decoder
        stack = cast(RecurrentStack, encoder.stack)  # what the docstring asks of the encoder
        encoder_cells = [list(cast(nn.ModuleList, layer)) for layer in stack.layers]  # [layer][direction]
        self.bridge = StateBridge(decoder.bridge, encoder_cells, list(decoder.cells))
        self.dropout = nn.Dropout(decoder.dropout.p)

    def encode(self, src: Tensor, src_lengths: Tensor) -> DecoderState:
        """``src`` ``(B, S)`` -> the decoder's initial state (memory, mask, bridged layers)."""
        encoded = self.encoder(self.dropout(self.source_embedding(src)), src_lengths)  # outputs (B, S, H_enc)
        layers = self.bridge(encoded.state, src.shape[0], encoded.outputs.device, encoded.outputs.dtype)
        return self.decoder.initial_state(layers, encoded.outputs, encoded.mask)

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor,
        tgt_in: Tensor,
        *,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Logits ``(B, T, V)`` and attention ``(B, T, S)`` (or None) for the target prefix ``tgt_in``.

        ``teacher_forcing < 1`` is scheduled sampling (Bengio et al. 2015): at
        each step, each sentence gets the true previous token with that
        probability and the model's own greedy prediction otherwise.
        """
        state = self.encode(src, src_lengths)
        logits, attention = [], []
        y_prev = tgt_in[:, 0]  # (B,) <bos>
        for t in range(tgt_in.shape[1]):
            step_logits, state, weights = self.decoder.step(y_prev, state)  # (B, V)
            logits.append(step_logits)
            if weights is not None:
                attention.append(weights)
            if t + 1 < tgt_in.shape[1]:
                y_prev = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = step_logits.detach().argmax(dim=-1)  # (B,)
                    use_truth = (
                        torch.rand(y_prev.shape, generator=generator, device="cpu").to(y_prev.device) < teacher_forcing
                    )
                    y_prev = torch.where(use_truth, y_prev, own)
        return torch.stack(logits, dim=1), torch.stack(attention, dim=1) if attention else None  # (B, T, V), (B, T, S)

    def log_prob_step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """The search step function: ``(N,)`` tokens -> log-probs ``(N, V)``, state, attention ``(N, S)``."""
        logits, state, weights = self.decoder.step(tokens, state)
        return F.log_softmax(logits, dim=-1), state, weights
