"""Encoder–decoder wiring, cell- and attention-agnostic, with teacher forcing / scheduled sampling."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.bridge import StateBridge
from seqforge.decoders import DecoderState, RecurrentDecoder
from seqforge.interfaces import ReinforceAttention
from seqforge.recurrent.stack import RecurrentStack
from seqforge.recurrent.state import map_state
from seqforge.search import select_state_rows


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
        tgt_lengths: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Logits ``(B, T, V)`` and attention ``(B, T, S)`` (or None) for the target prefix ``tgt_in``.

        ``teacher_forcing < 1`` is scheduled sampling (Bengio et al. 2015): at
        each step, each sentence gets the true previous token with that
        probability and the model's own greedy prediction otherwise.

        ``tgt_lengths`` ``(B,)`` (the real tokens of each row of ``tgt_in``) skips the padding: step
        ``t`` runs only the sentences longer than ``t``, as a packed sequence does, and their logits
        and attention are 0 past each length (positions a masked loss ignores). In a random batch of
        Multi30k half the decoder's positions are padding, so this halves the decoder's work; the
        real positions get the same values as without it, with the same random draws. (Ignored under a
        REINFORCE attention, whose loss reads a sample at every row and step.)
        """
        state = self.encode(src, src_lengths)
        # a REINFORCE attention records one sample per row and step for its loss: it needs every row at every step
        if tgt_lengths is None or isinstance(self.decoder.attention, ReinforceAttention):
            return self._decode_every_row(state, tgt_in, teacher_forcing, generator)
        return self._decode_real_rows(state, tgt_in, tgt_lengths, teacher_forcing, generator)

    def _decode_every_row(
        self, state: DecoderState, tgt_in: Tensor, teacher_forcing: float, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor | None]:
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
                    use_truth = _coins(y_prev.shape[0], teacher_forcing, generator).to(y_prev.device)  # (B,)
                    y_prev = torch.where(use_truth, y_prev, step_logits.detach().argmax(dim=-1))
        return torch.stack(logits, dim=1), torch.stack(attention, dim=1) if attention else None  # (B, T, V), (B, T, S)

    def _decode_real_rows(
        self,
        state: DecoderState,
        tgt_in: Tensor,
        tgt_lengths: Tensor,
        teacher_forcing: float,
        generator: torch.Generator | None,
    ) -> tuple[Tensor, Tensor | None]:
        """Rows sorted longest first, so the sentences still running at step ``t`` are a prefix of the batch."""
        batch, steps = tgt_in.shape
        lengths = tgt_lengths.cpu()
        if lengths.shape != (batch,) or bool((lengths < 1).any()) or bool((lengths > steps).any()):
            raise ValueError(
                f"tgt_lengths must hold one length per row of tgt_in, each between 1 and its width {steps}; "
                f"got {lengths.tolist()} for tgt_in of shape {tuple(tgt_in.shape)}."
            )
        order = torch.argsort(lengths, descending=True, stable=True)  # (B,)
        running = (lengths[order].unsqueeze(0) > torch.arange(steps).unsqueeze(1)).sum(1).tolist()  # per step
        active_steps = int(lengths.max())
        order = order.to(tgt_in.device)
        state = select_state_rows(state, order)
        targets = tgt_in.index_select(0, order)  # (B, T)
        features, positions, attention = [], [], []
        y_prev = targets[:, 0]  # (B,) <bos>
        for t in range(active_steps):
            rows = running[t]
            state = map_state(lambda leaf, n=rows: leaf[:n], state)  # (rows, *): the sentences still running
            step_features, state, weights = self.decoder.step_features(y_prev[:rows], state)  # (rows, F)
            features.append(step_features)
            positions.append(order[:rows] * steps + t)  # (rows,) their places in the (B * T) output
            if weights is not None:
                attention.append(F.pad(weights, (0, 0, 0, batch - rows)))  # (B, S): zero rows for ended sentences
            if t + 1 < steps:
                y_prev = targets[:, t + 1]
                if teacher_forcing < 1.0:
                    # the draws of the unpacked loop: one coin per sentence, in the batch's order
                    use_truth = _coins(batch, teacher_forcing, generator).to(y_prev.device)[order]  # (B,)
                    y_prev = self._own_predictions(y_prev, step_features, ~use_truth[:rows])
        if teacher_forcing < 1.0:
            for _ in range(active_steps, steps - 1):  # the unpacked loop's draws for all-padding steps
                _coins(batch, teacher_forcing, generator)
        # the output layer, the largest matrix, once over every real position (one large product, not T small ones)
        logits = self.decoder.output(torch.cat(features))  # (N, V)
        padded = logits.new_zeros(batch * steps, logits.shape[1]).index_copy(0, torch.cat(positions), logits)
        if not attention:
            return padded.view(batch, steps, -1), None  # (B, T, V)
        restore = torch.argsort(order)  # (B,)
        padding = steps - active_steps  # steps where every sentence has ended (T wider than the longest)
        stacked = F.pad(torch.stack(attention, dim=1), (0, 0, 0, padding)).index_select(0, restore)  # (B, T, S)
        return padded.view(batch, steps, -1), stacked

    def _own_predictions(self, truth: Tensor, features: Tensor, own: Tensor) -> Tensor:
        """``truth`` ``(B,)`` with rows ``own`` ``(rows,)`` bool replaced by the model's greedy prediction from
        ``features`` ``(rows, F)`` (no gradient flows through a chosen token)."""
        rows = own.nonzero().squeeze(1)  # (M,)
        if rows.numel() == 0:
            return truth
        with torch.no_grad():
            predicted = self.decoder.output(features[rows]).argmax(dim=-1)  # (M,)
        return truth.index_copy(0, rows, predicted)

    def log_prob_step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """The search step function: ``(N,)`` tokens -> log-probs ``(N, V)``, state, attention ``(N, S)``."""
        logits, state, weights = self.decoder.step(tokens, state)
        return F.log_softmax(logits, dim=-1), state, weights


def _coins(batch: int, teacher_forcing: float, generator: torch.Generator | None) -> Tensor:
    """``(B,)`` bool: True where a sentence gets the true previous token (drawn on the CPU: one stream on any
    device)."""
    return torch.rand((batch,), generator=generator, device="cpu") < teacher_forcing
