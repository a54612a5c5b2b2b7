"""Encoder–decoder wiring: bridges, masking, teacher forcing, decoding on the real model (seqforge.testing's reference
cells: no plugin)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqforge.decoders import RecurrentDecoder
from seqforge.encoders import RecurrentEncoder
from seqforge.errors import ConfigError
from seqforge.search import beam_search, greedy_search
from seqforge.seq2seq import Seq2Seq
from seqforge.testing.reference import ReferenceGRUCell as GRUCell
from seqforge.testing.reference import ReferenceLSTMCell as LSTMCell
from seqforge.testing.reference import ReferenceRNNCell as RNNCell

V_SRC, V_TGT, E = 13, 11, 8
BOS, EOS = 2, 3


def dot_attention(query_size: int, memory_size: int) -> nn.Module:
    """A minimal attention written against the protocol only (no plugin needed)."""

    class Dot(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.project = nn.Linear(query_size, memory_size, bias=False)

        def forward(self, query, memory, mask, keys=None):
            scores = torch.einsum("bh,bsh->bs", self.project(query), memory).masked_fill(~mask, float("-inf"))  # (B, S)
            weights = scores.softmax(-1)
            return torch.einsum("bs,bsh->bh", weights, memory), weights

    return Dot()


def make_model(
    *, encoder_cell=LSTMCell, decoder_cell=GRUCell, bidirectional=True, attention=dot_attention, hidden=12,
    decoder_hidden=10, layers=2, decoder_layers=1, bridge="linear", input_feeding=True, attention_style="luong",
) -> Seq2Seq:
    torch.manual_seed(0)
    encoder = RecurrentEncoder(
        cell=encoder_cell, input_size=E, hidden_size=hidden, num_layers=layers, bidirectional=bidirectional
    )
    decoder = RecurrentDecoder(
        cell=decoder_cell,
        attention=attention,
        vocab_size=V_TGT,
        embedding_dim=E,
        hidden_size=decoder_hidden,
        num_layers=decoder_layers,
        dropout=0.0,
        memory_size=encoder.output_size,
        input_feeding=input_feeding,
        bridge=bridge,
        attention_style=attention_style,
    )
    return Seq2Seq(source_embedding=nn.Embedding(V_SRC, E), encoder=encoder, decoder=decoder).eval()


def batch(lengths=(5, 3, 1)):
    torch.manual_seed(1)
    src = torch.randint(4, V_SRC, (len(lengths), max(lengths)))  # (B, S)
    for row, length in enumerate(lengths):
        src[row, length:] = 0
    return src, torch.tensor(lengths)


@pytest.mark.parametrize("encoder_cell, decoder_cell", [(LSTMCell, GRUCell), (GRUCell, LSTMCell), (RNNCell, LSTMCell)])
def test_linear_bridge_connects_any_encoder_cell_to_any_decoder_cell(encoder_cell, decoder_cell) -> None:
    """Bidirectional 2-layer encoder -> 1-layer decoder of another cell type and size"""
    model = make_model(encoder_cell=encoder_cell, decoder_cell=decoder_cell)
    src, lengths = batch()
    state = model.encode(src, lengths)
    template = model.decoder.cells[0].initial_state(3, device=torch.device("cpu"), dtype=torch.float32)
    leaves = [state.layers[0]] if isinstance(template, torch.Tensor) else list(state.layers[0])
    expected = [template] if isinstance(template, torch.Tensor) else list(template)
    assert [leaf.shape for leaf in leaves] == [t.shape for t in expected]
    assert all(leaf.abs().sum() > 0 for leaf in leaves)


def test_zero_bridge_starts_the_decoder_from_zeros() -> None:
    """bridge=zero ignores the encoder's final state"""
    state = make_model(bridge="zero").encode(*batch())
    assert torch.count_nonzero(state.layers[0]) == 0


def test_copy_bridge_requires_matching_states() -> None:
    """bridge=copy with a bidirectional encoder is refused, naming the option to use instead"""
    with pytest.raises(ConfigError, match="bridge=linear"):
        make_model(bridge="copy")


def test_copy_bridge_passes_the_top_encoder_layers_through() -> None:
    """A unidirectional LSTM encoder hands its top layer's (h, c) to an LSTM decoder of the same size"""
    model = make_model(encoder_cell=LSTMCell, decoder_cell=LSTMCell, bidirectional=False, hidden=10, bridge="copy")
    src, lengths = batch()
    encoded = model.encoder(model.source_embedding(src), lengths)
    state = model.encode(src, lengths)
    torch.testing.assert_close(state.layers[0][0], encoded.state[1][0][0])


def test_tied_embeddings_need_equal_sizes() -> None:
    """tie_embeddings with embedding_dim != hidden size is a config error naming both keys"""
    with pytest.raises(ConfigError, match=r"model\.embedding_dim"):
        RecurrentDecoder(
            cell=GRUCell, attention=None, vocab_size=V_TGT, embedding_dim=E, hidden_size=10, num_layers=1, dropout=0.0,
            memory_size=12, tie_embeddings=True,
        )


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_attention_never_looks_at_padded_source_positions(style: str) -> None:
    """Weights are exactly 0 beyond each source length; padding values do not change the output"""
    model = make_model(attention_style=style)
    src, lengths = batch()
    tgt_in = torch.full((3, 4), BOS)
    logits, attention = model(src, lengths, tgt_in)
    assert attention.shape == (3, 4, src.shape[1])
    for row, length in enumerate(lengths.tolist()):
        assert torch.all(attention[row, :, length:] == 0)
    noisy = src.clone()
    noisy[1, 3:] = 7
    noisy[2, 1:] = 9
    torch.testing.assert_close(model(noisy, lengths, tgt_in)[0], logits)


def test_teacher_forcing_zero_feeds_the_models_own_greedy_predictions() -> None:
    """With ratio 0 the teacher-forced pass reproduces greedy decoding's tokens"""
    model = make_model()
    src, lengths = batch()
    greedy = greedy_search(
        model.log_prob_step, model.encode(src, lengths), batch_size=3, bos_id=BOS, eos_id=-1, max_len=6
    )
    garbage_targets = torch.cat([torch.full((3, 1), BOS), torch.randint(4, V_TGT, (3, 5))], dim=1)
    logits, _ = model(src, lengths, garbage_targets, teacher_forcing=0.0)
    assert logits.argmax(-1).tolist() == [h[0].tokens for h in greedy]


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_beam_of_one_equals_greedy_on_the_real_model(style: str) -> None:
    """beam_size=1 gives greedy's tokens and log-probability exactly"""
    model = make_model(attention_style=style)
    src, lengths = batch()
    greedy = greedy_search(
        model.log_prob_step, model.encode(src, lengths), batch_size=3, bos_id=BOS, eos_id=EOS, max_len=8
    )
    beam = beam_search(
        model.log_prob_step, model.encode(src, lengths), batch_size=3, beam_size=1, bos_id=BOS, eos_id=EOS, max_len=8
    )
    for g, b in zip(greedy, beam):
        assert g[0].tokens == b[0].tokens
        assert g[0].log_prob == pytest.approx(b[0].log_prob, abs=1e-6)


def test_without_attention_the_decoder_returns_no_weights() -> None:
    """attention=None decodes from the bridged state alone"""
    model = make_model(attention=None)
    logits, attention = model(*batch(), torch.full((3, 2), BOS))
    assert attention is None and logits.shape == (3, 2, V_TGT)


@pytest.mark.parametrize("style", ["luong", "bahdanau"])
def test_gradients_reach_encoder_decoder_bridge_and_attention(style: str) -> None:
    """One backward pass reaches every parameter"""
    model = make_model(attention_style=style).train()
    src, lengths = batch()
    tgt_in = torch.randint(4, V_TGT, (3, 4))
    logits, _ = model(src, lengths, tgt_in)
    logits.logsumexp(-1).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


def test_bahdanau_style_queries_with_the_previous_state() -> None:
    """In bahdanau style the first step's query is the zero initial output, so its weights don't depend on the decoder
    input"""
    model = make_model(attention_style="bahdanau")
    src, lengths = batch()
    _, first = model(src, lengths, torch.full((3, 1), BOS))
    _, other = model(src, lengths, torch.full((3, 1), 5))
    torch.testing.assert_close(first, other)
    _, luong_first = make_model(attention_style="luong")(src, lengths, torch.full((3, 1), BOS))
    _, luong_other = make_model(attention_style="luong")(src, lengths, torch.full((3, 1), 5))
    assert not torch.allclose(luong_first, luong_other)
