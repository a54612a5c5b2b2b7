"""model.decoder.readout=concat and model.decoder.initial_query=state (the Bahdanau readout and first query)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqforge.decoders import RecurrentDecoder
from seqforge.encoders import RecurrentEncoder
from seqforge.errors import ConfigError
from seqforge.seq2seq import Seq2Seq
from seqforge.testing.reference import ReferenceGRUCell as GRUCell

V_SRC, V_TGT, E, H = 13, 11, 6, 10


class Additive(nn.Module):
    """v^T tanh(W_q q + W_m m): enough of an attention for the wiring (the plugin's is tested in its own package)."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.q, self.m, self.v = nn.Linear(query_size, H), nn.Linear(memory_size, H), nn.Linear(H, 1, bias=False)

    def forward(self, query, memory, mask, keys=None):
        scores = self.v(torch.tanh(self.q(query)[:, None] + self.m(memory))).squeeze(-1)  # (B, S)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        return torch.einsum("bs,bsh->bh", weights, memory), weights


def make_model(**decoder_options) -> Seq2Seq:
    torch.manual_seed(0)
    encoder = RecurrentEncoder(cell=GRUCell, input_size=E, hidden_size=H, num_layers=1, bidirectional=True)
    options = {"attention_style": "bahdanau", "input_feeding": False, **decoder_options}
    decoder = RecurrentDecoder(
        cell=GRUCell, attention=Additive, vocab_size=V_TGT, embedding_dim=E, hidden_size=H, num_layers=1,
        dropout=0.0, memory_size=encoder.output_size, **options,
    )
    return Seq2Seq(source_embedding=nn.Embedding(V_SRC, E), encoder=encoder, decoder=decoder).eval()


def batch():
    torch.manual_seed(1)
    src = torch.randint(4, V_SRC, (3, 5))  # (B, S)
    src[2, 2:] = 0
    return src, torch.tensor([5, 5, 2])


def test_concat_readout_is_one_linear_layer_over_state_context_and_embedding() -> None:
    """readout=concat: logits = W_o [h_t; c_t; E y_{t-1}] + b_o, no tanh combine layer"""
    model = make_model(readout="concat")
    decoder = model.decoder
    assert decoder.combine is None and decoder.output.in_features == H + 2 * H + E
    state = model.encode(*batch())
    y_prev = torch.tensor([2, 5, 7])
    logits, next_state, _ = decoder.step(y_prev, state)
    context, _ = decoder.attention(state.output, state.memory, state.mask)  # bahdanau: queried with h_{t-1}
    readout = torch.cat([next_state.output, context, decoder.embedding(y_prev)], dim=-1)  # (B, H + 2H + E)
    torch.testing.assert_close(logits, decoder.output(readout))


def test_attentional_readout_stays_the_default() -> None:
    """Without the option the output layer reads tanh(W_c [c_t; h_t]) (hidden-sized), as before"""
    decoder = make_model().decoder
    assert decoder.combine is not None and decoder.output.in_features == H


def test_initial_query_state_makes_the_first_attention_depend_on_the_bridged_state() -> None:
    """initial_query=state: h_0 = the bridged decoder state queries at step 1; zero (the default) ignores it"""
    src, lengths = batch()
    model = make_model(initial_query="state")
    state = model.encode(src, lengths)
    torch.testing.assert_close(state.output, state.layers[0])
    zero = make_model()  # same seed: same parameters
    assert torch.count_nonzero(zero.encode(src, lengths).output) == 0
    _, with_state = model(src, lengths, torch.full((3, 1), 2))
    _, with_zero = zero(src, lengths, torch.full((3, 1), 2))
    assert not torch.allclose(with_state, with_zero)


@pytest.mark.parametrize(
    "options, key",
    [
        ({"readout": "deep"}, "model.decoder.readout"),
        ({"initial_query": "h0"}, "model.decoder.initial_query"),
        ({"readout": "concat", "attention_style": "luong", "input_feeding": True}, "model.decoder.input_feeding"),
        ({"readout": "concat", "tie_embeddings": True}, "model.decoder.tie_embeddings"),
    ],
)
def test_bad_readout_options_are_refused_naming_the_key(options, key) -> None:
    """Unknown values and combinations that cannot work are ConfigErrors naming the key"""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_model(**options)
