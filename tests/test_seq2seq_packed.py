"""``Seq2Seq.forward(..., tgt_lengths=)``: the decoder skips padded target positions without changing the real ones.

The unpacked loop is the reference: same logits, attention and gradients at every real position, with teacher
forcing and scheduled sampling (the same coin draws), for each attention placement and cell; zeros past each length.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_seq2seq import V_TGT, batch, make_model

from seqforge.testing.reference import ReferenceGRUCell as GRUCell
from seqforge.testing.reference import ReferenceLSTMCell as LSTMCell

TARGET_LENGTHS = (2, 6, 4)  # unsorted, and shorter than the source in one row, longer in another


def _targets(width: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    tgt_in = torch.randint(4, V_TGT, (len(TARGET_LENGTHS), width), generator=generator)  # (B, T)
    for row, length in enumerate(TARGET_LENGTHS):
        tgt_in[row, length:] = 0
    return tgt_in, torch.tensor(TARGET_LENGTHS)


def _real(lengths: torch.Tensor, width: int) -> torch.Tensor:
    return torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


@pytest.mark.parametrize(
    "decoder_cell, attention_style, teacher_forcing",
    [(GRUCell, "bahdanau", 0.5), (LSTMCell, "luong", 1.0), (GRUCell, "luong", 0.0), (LSTMCell, "bahdanau", 0.3)],
)
def test_packed_decoding_equals_the_unpacked_loop_at_real_positions(decoder_cell, attention_style, teacher_forcing):
    model = make_model(decoder_cell=decoder_cell, attention_style=attention_style, input_feeding=False).double()
    src, src_lengths = batch((5, 3, 1))
    tgt_in, lengths = _targets()
    real = _real(lengths, tgt_in.shape[1])
    outputs, gradients = [], []
    for packed in (False, True):
        model.zero_grad()
        generator = torch.Generator().manual_seed(7)
        logits, attention = model(
            src, src_lengths, tgt_in, teacher_forcing=teacher_forcing, generator=generator,
            tgt_lengths=lengths if packed else None,
        )
        loss = F.cross_entropy(logits[real], tgt_in[real])  # any loss over the real positions
        loss.backward()
        outputs.append((logits, attention, generator.get_state()))
        gradients.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    (logits, attention, stream), (packed_logits, packed_attention, packed_stream) = outputs
    torch.testing.assert_close(packed_logits[real], logits[real], rtol=0, atol=1e-10)
    torch.testing.assert_close(packed_attention[real], attention[real], rtol=0, atol=1e-10)
    assert packed_logits.shape == logits.shape and packed_attention.shape == attention.shape
    assert not packed_logits[~real].any() and not packed_attention[~real].any()  # ended sentences cost nothing
    assert torch.equal(packed_stream, stream)  # the same random draws: later batches see the same stream
    assert gradients[0].keys() == gradients[1].keys()
    for name, gradient in gradients[0].items():
        torch.testing.assert_close(gradients[1][name], gradient, rtol=0, atol=1e-10, msg=name)


def test_a_target_wider_than_its_longest_sentence_is_zero_padded():
    model = make_model(attention_style="bahdanau", input_feeding=False).double()
    src, src_lengths = batch((5, 3, 1))
    tgt_in, lengths = _targets(width=8)  # two all-padding columns
    generator = torch.Generator().manual_seed(7)
    logits, attention = model(src, src_lengths, tgt_in, teacher_forcing=0.5, generator=generator, tgt_lengths=lengths)
    reference_generator = torch.Generator().manual_seed(7)
    reference, _ = model(src, src_lengths, tgt_in, teacher_forcing=0.5, generator=reference_generator)
    real = _real(lengths, 8)
    assert logits.shape == reference.shape and attention is not None and attention.shape[:2] == (3, 8)
    torch.testing.assert_close(logits[real], reference[real], rtol=0, atol=1e-10)
    assert not logits[:, 6:].any()
    assert torch.equal(generator.get_state(), reference_generator.get_state())


@pytest.mark.parametrize("lengths", [(2, 0, 4), (2, 7, 4), (2, 6)])
def test_target_lengths_outside_the_batch_are_refused(lengths):
    model = make_model()
    src, src_lengths = batch((5, 3, 1))
    tgt_in, _ = _targets()
    with pytest.raises(ValueError, match="tgt_lengths must hold one length per row of tgt_in"):
        model(src, src_lengths, tgt_in, tgt_lengths=torch.tensor(lengths))
