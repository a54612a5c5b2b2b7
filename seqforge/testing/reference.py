"""Minimal reference components the checks plug into the component under test.

An encoder is checked with :class:`ElmanCell` as its cell, a decoder with
:class:`GeneralAttention` as its attention: both are small, exact and obey
their contracts (tested), so a failure points at the component under test.

:class:`ReferenceRNNCell`, :class:`ReferenceLSTMCell` and :class:`ReferenceGRUCell`
are the cells the core's own tests run its machinery with, so those tests need
no plugin: each holds a one-layer ``nn.RNN``/``nn.LSTM``/``nn.GRU`` for its
weights, offers the hoisted path (``project_input`` + ``step``) and, with
``fused=True``, PyTorch's fused kernel as ``forward_sequence`` — every path
:func:`seqforge.recurrent.run_cell` can take. :class:`DotAttention` is the
parameter-free counterpart of :class:`GeneralAttention`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqforge.interfaces import State


class ElmanCell(nn.Module):
    """``h_t = tanh(W x_t + U h_{t-1} + b)``."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.input = nn.Linear(input_size, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.input(x_t) + self.recurrent(h))  # (B, H)
        return h, h


class GeneralAttention(nn.Module):
    """Luong's *general* score ``h_t^T W h̄_s`` with a masked softmax."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.query_size, self.memory_size = query_size, memory_size
        self.w = nn.Linear(memory_size, query_size, bias=False)

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        keys = self.w(memory) if keys is None else keys  # (B, S, Hq)
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights  # (B, Hm), (B, S)


class DotAttention(nn.Module):
    """Luong's *dot* score ``h_t^T h̄_s`` with a masked softmax (needs ``query_size == memory_size``)."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.query_size, self.memory_size = query_size, memory_size

    def forward(self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None) -> tuple[Tensor, Tensor]:
        keys = memory if keys is None else keys  # (B, S, H)
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=-1)  # (B, S)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights  # (B, H), (B, S)


class _KernelCell(nn.Module):
    """A cell whose weights are a one-layer ``self.rnn`` (PyTorch's layout), stepped by hand or run by its kernel.

    ``fused=True`` adds ``forward_sequence`` (the kernel, with packing for padded batches); without it the
    generic loop is the only whole-sequence path, so a test can compare the two on the same weights.
    """

    rnn: nn.RNNBase
    state_size: int = 1
    step: Callable[[Tensor, Any], tuple[Tensor, Any]]  # each subclass's recurrence, on a projected input (B, G)

    def __init__(self, input_size: int, hidden_size: int, fused: bool) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        if fused:
            self.forward_sequence = self._fused

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> State:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)
        return zeros if self.state_size == 1 else tuple(zeros.clone() for _ in range(self.state_size))

    def project_input(self, x: Tensor) -> Tensor:
        """``(..., I) -> (..., G)``: ``W_ih x + b_ih``, hoisted out of the loop."""
        return F.linear(x, self._parameter("weight_ih_l0"), self._parameter("bias_ih_l0"))

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        return self.step(self.project_input(x_t), state)

    def _recurrent(self, h: Tensor) -> Tensor:
        return F.linear(h, self._parameter("weight_hh_l0"), self._parameter("bias_hh_l0"))  # (B, G)

    def _parameter(self, name: str) -> Tensor:
        """``self.rnn``'s parameter ``name``: nn.RNNBase sets them by name, so torch's stubs do not declare them."""
        return cast(Tensor, getattr(self.rnn, name))

    def _fused(self, x: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """``x`` ``(B, T, I)`` -> ``(B, T, H)`` (zeros past each length) and the state at each length."""
        # (1, B, H) each: nn.RNN/GRU take one tensor (state_size 1), nn.LSTM an (h, c) tuple
        torch_state = state.unsqueeze(0) if isinstance(state, Tensor) else tuple(s.unsqueeze(0) for s in state)
        if lengths is None:
            outputs, final = self.rnn(x, torch_state)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, final = self.rnn(packed, torch_state)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])  # (B, T, H)
        return outputs, final.squeeze(0) if self.state_size == 1 else tuple(f.squeeze(0) for f in final)


class ReferenceRNNCell(_KernelCell):
    """Elman: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, ``act`` = tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", fused: bool = False) -> None:
        super().__init__(input_size, hidden_size, fused)
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        self.activation = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(self, px_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = self.activation(px_t + self._recurrent(h))  # (B, H)
        return h, h


class ReferenceLSTMCell(_KernelCell):
    """LSTM in PyTorch's gate order i, f, g, o; state ``(h, c)``.

    ``c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)``; ``h_t = σ(o) ⊙ tanh(c_t)``, gates from ``W_ih x_t + b_ih + W_hh h_{t-1} +
    b_hh``.
    """

    state_size = 2

    def __init__(self, input_size: int, hidden_size: int, fused: bool = False) -> None:
        super().__init__(input_size, hidden_size, fused)
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)

    def step(self, px_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        i, f, g, o = (px_t + self._recurrent(h)).chunk(4, dim=-1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class ReferenceGRUCell(_KernelCell):
    """GRU in PyTorch's form: ``r`` multiplies ``W_hn h + b_hn``, as fused kernels compute it."""

    def __init__(self, input_size: int, hidden_size: int, fused: bool = False) -> None:
        super().__init__(input_size, hidden_size, fused)
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)

    def step(self, px_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        x_r, x_z, x_n = px_t.chunk(3, dim=-1)  # 3 x (B, H)
        h_r, h_z, h_n = self._recurrent(h).chunk(3, dim=-1)  # 3 x (B, H)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h  # (B, H)
        return h, h
