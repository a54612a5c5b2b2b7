"""RNN, LSTM and GRU cells.

Each cell keeps its weights in a one-layer ``nn.RNN``/``nn.LSTM``/``nn.GRU``, so
the fused whole-sequence path *is* PyTorch's kernel (same speed as raw torch)
while the step path computes the textbook equations from the same parameters
— a third-party cell only has to write the step path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class _FusedCell(nn.Module):
    """Shared plumbing: input projection, initial state, fused sequence path."""

    rnn: nn.RNNBase
    state_size: int = 1

    def __init__(self, input_size: int, hidden_size: int, fused: bool) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        if fused:
            # Offered only when enabled, so the generic loop sees exactly the paths it may use.
            self.forward_sequence = self._sequence

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype):
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)
        return zeros if self.state_size == 1 else tuple(zeros.clone() for _ in range(self.state_size))

    def project_input(self, x: Tensor) -> Tensor:
        """``(..., I) -> (..., G)``: ``W_ih x + b_ih`` for every step at once."""
        return F.linear(x, self.rnn.weight_ih_l0, self.rnn.bias_ih_l0)

    def forward(self, x_t: Tensor, state):
        """One step from raw input ``x_t`` ``(B, I)``."""
        return self.step(self.project_input(x_t), state)

    def _recurrent(self, h: Tensor) -> Tensor:
        return F.linear(h, self.rnn.weight_hh_l0, self.rnn.bias_hh_l0)  # (B, G)

    def _to_torch_state(self, state):
        if self.state_size == 1:
            return state.unsqueeze(0).contiguous()  # (1, B, H)
        return tuple(s.unsqueeze(0).contiguous() for s in state)

    def _from_torch_state(self, state):
        if self.state_size == 1:
            return state.squeeze(0)
        return tuple(s.squeeze(0) for s in state)

    def _sequence(self, x: Tensor, state, lengths: Tensor | None):
        """``x`` ``(B, T, I)`` -> ``(B, T, H)`` and the final state, with PyTorch's fused kernel.

        Under CPU autocast (``trainer.precision=bf16-mixed``, or ``16-mixed``, which Lightning runs as
        bf16 on CPU) the kernel runs in float32 with autocast off: oneDNN cannot build a bf16 LSTM
        primitive on CPUs without native bf16, and a recurrence gains little from bf16 on CPU anyway.
        """
        if x.device.type == "cpu" and _cpu_autocast():
            with torch.autocast("cpu", enabled=False):
                return self._fused(_to_float32(x), _to_float32(state), lengths)
        return self._fused(x, state, lengths)

    def _fused(self, x: Tensor, state, lengths: Tensor | None):
        torch_state = self._to_torch_state(state)
        if lengths is None:
            outputs, final = self.rnn(x, torch_state)
            return outputs, self._from_torch_state(final)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed, torch_state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])  # (B, T, H)
        return outputs, self._from_torch_state(final)


def _cpu_autocast() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def _to_float32(value):
    """Reduced-precision floating tensors (in a tensor or a tuple state) as float32; everything else unchanged."""
    if isinstance(value, tuple):
        return tuple(_to_float32(v) for v in value)
    return value.float() if value.dtype in (torch.bfloat16, torch.float16) else value


class RNNCell(_FusedCell):
    """Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        nonlinearity: ``tanh`` or ``relu``.
        init: ``default`` (PyTorch's uniform) or ``identity`` — the IRNN of Le et
            al. 2015: ``W_hh = identity_scale * I``, biases 0, ``W_ih ~ N(0, 0.001²)``;
            with ``relu`` it keeps gradients alive over long spans.
        identity_scale: diagonal value for ``init=identity``.
        fused: expose PyTorch's fused kernel for whole sequences.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        init: str = "default",
        identity_scale: float = 1.0,
        fused: bool = True,
    ) -> None:
        super().__init__(input_size, hidden_size, fused)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"model.cell.nonlinearity must be 'tanh' or 'relu', got '{nonlinearity}'")
        if init not in ("default", "identity"):
            raise ValueError(f"model.cell.init must be 'default' or 'identity', got '{init}'")
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        self.activation = torch.tanh if nonlinearity == "tanh" else torch.relu
        if init == "identity":
            with torch.no_grad():
                self.rnn.weight_hh_l0.copy_(torch.eye(hidden_size) * identity_scale)
                self.rnn.weight_ih_l0.normal_(0.0, 0.001)
                self.rnn.bias_ih_l0.zero_()
                self.rnn.bias_hh_l0.zero_()

    def step(self, px_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = self.activation(px_t + self._recurrent(h))  # (B, H)
        return h, h


class LSTMCell(_FusedCell):
    """LSTM (Hochreiter & Schmidhuber; Gers et al.'s forget gate), PyTorch gate order i, f, g, o.

    ``i, f, o = σ(·)``, ``g = tanh(·)`` of ``W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``;
    ``c_t = f ⊙ c_{t-1} + i ⊙ g``; ``h_t = o ⊙ tanh(c_t)``. State: ``(h, c)``.

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        forget_bias: initial forget-gate bias (Jozefowicz et al. 2015: 1.0 helps
            gradients flow early in training). Set in ``b_ih``; ``b_hh``'s forget part is 0.
        fused: expose PyTorch's fused kernel for whole sequences.
    """

    state_size = 2

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, fused: bool = True) -> None:
        super().__init__(input_size, hidden_size, fused)
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        with torch.no_grad():
            self.rnn.bias_ih_l0[hidden_size : 2 * hidden_size].fill_(forget_bias)
            self.rnn.bias_hh_l0[hidden_size : 2 * hidden_size].zero_()

    def step(self, px_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        gates = px_t + self._recurrent(h)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class GRUCell(_FusedCell):
    """GRU (Cho et al. 2014) in the cuDNN/PyTorch form, gate order r, z, n.

    ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}``.
    (Cho's original applies ``r`` before ``W_hn``; this form is what fused kernels compute.)

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        fused: expose PyTorch's fused kernel for whole sequences.
    """

    def __init__(self, input_size: int, hidden_size: int, fused: bool = True) -> None:
        super().__init__(input_size, hidden_size, fused)
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)

    def step(self, px_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        xr, xz, xn = px_t.chunk(3, dim=-1)  # 3 x (B, H)
        hr, hz, hn = self._recurrent(h).chunk(3, dim=-1)  # 3 x (B, H)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, h
