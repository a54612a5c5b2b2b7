"""model/encoder=self_attentive: one layer against a float64 hand computation, masking, and the Encoder contracts."""

from __future__ import annotations

import math

import pytest
import torch

from seqforge.api import ConfigError
from seqforge.testing import check_encoder
from seqforge_labelled.self_attention import MultiHeadSelfAttention, SelfAttentiveEncoder


def _layer(heads: int, layer_norm: bool = False) -> MultiHeadSelfAttention:
    torch.manual_seed(0)
    return MultiHeadSelfAttention(4, heads=heads, layer_norm=layer_norm, dropout=0.0).double()


def _reference(layer: MultiHeadSelfAttention, h: torch.Tensor, length: int) -> torch.Tensor:
    """Loops over one sequence: per head, per query, softmax over the real keys of q.k/sqrt(d)."""
    H, heads = h.shape[-1], layer.heads
    d = H // heads
    q, k, v = layer.query(h[:length]), layer.key(h[:length]), layer.value(h[:length])  # (L, H)
    out = torch.zeros(h.shape[0], H, dtype=h.dtype)
    for t in range(length):
        context = []
        for head in range(heads):
            cols = slice(head * d, (head + 1) * d)
            scores = torch.stack([q[t, cols] @ k[s, cols] / math.sqrt(d) for s in range(length)])
            weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
            context.append(sum(weights[s] * v[s, cols] for s in range(length)))
        out[t] = h[t] + layer.output(torch.cat(context))
    return out


@pytest.mark.parametrize("heads", [1, 2])
def test_one_layer_matches_a_hand_computation_and_padding_is_zero(heads: int) -> None:
    layer = _layer(heads)
    h = torch.randn(2, 5, 4, dtype=torch.float64)
    lengths = torch.tensor([5, 3])
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)  # (2, 5)
    out = layer(h, mask)
    for row in range(2):
        assert torch.allclose(out[row], _reference(layer, h[row], int(lengths[row])), atol=1e-12)
    assert torch.equal(out[1, 3:], torch.zeros(2, 4, dtype=torch.float64))
    assert torch.equal(layer.last_weights[1, :, :, 3:], torch.zeros(1 if heads == 1 else 2, 5, 2, dtype=torch.float64))


def test_layer_norm_normalises_the_residual_sum() -> None:
    layer = _layer(2, layer_norm=True)
    out = layer(torch.randn(1, 3, 4, dtype=torch.float64), torch.ones(1, 3, dtype=torch.bool))
    assert torch.allclose(out.mean(-1), torch.zeros(1, 3, dtype=torch.float64), atol=1e-12)


def test_padding_content_changes_nothing_and_gradients_check() -> None:
    layer = _layer(2, layer_norm=True)
    h = torch.randn(2, 4, 4, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    noisy = h.clone()
    noisy[~mask] = 1e3
    assert torch.allclose(layer(h, mask), layer(noisy, mask))
    assert torch.autograd.gradcheck(lambda x: layer(x, mask), (h.clone().requires_grad_(True),))


def test_heads_must_divide_the_size() -> None:
    with pytest.raises(ConfigError, match=r"model\.encoder\.heads=3 must be >= 1 and divide the encoder's output size 4"):
        MultiHeadSelfAttention(4, heads=3, layer_norm=False, dropout=0.0)


def test_the_registered_encoder_passes_the_encoder_contracts() -> None:
    """Every contract except chunked state carry-over: self-attention over a chunk sees only that chunk, by design"""
    check_encoder("self_attentive", {"heads": 1, "layers": 2}, skip=["state carry-over"])


def test_the_encoder_stacks_recurrence_then_attention() -> None:
    from seqforge.testing.reference import ElmanCell

    encoder = SelfAttentiveEncoder(
        cell=ElmanCell, input_size=3, hidden_size=4, bidirectional=True, heads=2, layers=3
    ).double()
    out = encoder(torch.randn(2, 5, 3, dtype=torch.float64), torch.tensor([5, 2]))
    assert encoder.output_size == 8 and len(encoder.attention) == 3
    assert out.outputs.shape == (2, 5, 8) and torch.equal(out.outputs[1, 2:], torch.zeros(3, 8, dtype=torch.float64))
    assert out.state is not None
