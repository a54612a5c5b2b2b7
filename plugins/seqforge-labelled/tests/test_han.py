"""Hierarchical attention network: both attention levels by hand (float64), masking, documents files, and the HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqforge.api import DataError, EncoderOutput
from seqforge_labelled.documents import collate_documents, read_documents
from seqforge_labelled.han import HierarchicalAttentionNetwork
from seqforge_labelled.han_html import attention_html


class Identity(torch.nn.Module):
    """An encoder that returns its input (so the attention levels can be checked by hand)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.output_size = size

    def forward(self, x, lengths=None, state=None):
        mask = torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        return EncoderOutput(outputs=x * mask.unsqueeze(-1), mask=mask)


def _han() -> HierarchicalAttentionNetwork:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(10, 3, padding_idx=0)
    return HierarchicalAttentionNetwork(
        embedding=embedding,
        word_encoder=Identity(3),
        sentence_encoder=Identity(3),
        num_labels=2,
        dropout=0.0,
        attention_size=4,
    ).double()


def _pool(attention: torch.nn.Module, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Yang et al.: u = tanh(W h + b), a = softmax(u . u_ctx), s = sum a h; over one unpadded sequence h (T, H)."""
    u = torch.tanh(h @ attention.project.weight.T + attention.project.bias)  # (T, A)
    scores = u @ attention.score.weight[0]  # (T,)
    a = torch.exp(scores) / torch.exp(scores).sum()
    return a, a @ h


DOCS = torch.tensor([
    [[1, 2, 3], [4, 5, 0], [0, 0, 0]],  # 2 sentences
    [[6, 0, 0], [0, 0, 0], [0, 0, 0]],  # 1 sentence
])
LENGTHS = torch.tensor([2, 1])


def test_both_attention_levels_and_the_logits_match_a_hand_computation() -> None:
    model = _han()
    logits = model(DOCS, LENGTHS)
    for row, n in enumerate(LENGTHS.tolist()):
        sentence_vectors = []
        for i in range(n):
            ids = [t for t in DOCS[row, i].tolist() if t]
            a, s = _pool(model.word_attention, model.embedding.weight[ids])
            assert torch.allclose(model.word_weights[row, i, : len(ids)], a, atol=1e-12)
            assert torch.all(model.word_weights[row, i, len(ids):] == 0)
            sentence_vectors.append(s)
        b, v = _pool(model.sentence_attention, torch.stack(sentence_vectors))
        assert torch.allclose(model.sentence_weights[row, :n], b, atol=1e-12)
        assert torch.all(model.sentence_weights[row, n:] == 0)
        assert torch.allclose(logits[row], model.head(v), atol=1e-12)


def test_more_padding_of_words_and_sentences_changes_nothing() -> None:
    model = _han()
    wider = torch.zeros(2, 5, 6, dtype=torch.long)
    wider[:, :3, :3] = DOCS
    alone = model(DOCS[1:, :1, :1], LENGTHS[1:])
    assert torch.allclose(model(DOCS, LENGTHS), model(wider, LENGTHS), atol=1e-12)
    assert torch.allclose(model(DOCS, LENGTHS)[1:], alone, atol=1e-12)


class _Table(torch.nn.Module):
    """An embedding whose table is a given tensor (so gradcheck can differentiate through it)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(ids, self.table, padding_idx=0)


def test_gradients_check_through_both_levels() -> None:
    model = _han()
    table = model.embedding.weight.detach().clone().requires_grad_(True)

    def logits(t: torch.Tensor) -> torch.Tensor:
        model.embedding = _Table(t)
        return model(DOCS, LENGTHS)

    assert torch.autograd.gradcheck(logits, (table,))


def test_both_file_formats_read_the_same_documents(tmp_path: Path) -> None:
    lines = tmp_path / "docs.tsv"
    lines.write_text("pos\tgood film . ||| great cast\nneg\tdull\n")
    blocks = tmp_path / "docs.txt"
    blocks.write_text("pos\ngood film .\ngreat cast\n\n\nneg\ndull\n")
    expected = [("pos", "good film .\ngreat cast"), ("neg", "dull")]
    assert read_documents(str(lines), key="data.train", format="lines", separator=" ||| ") == expected
    assert read_documents(str(blocks), key="data.train", format="blocks", separator=" ||| ") == expected


def test_malformed_documents_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("pos\tfine ||| ok\nno tab here\n")
    with pytest.raises(DataError, match=r"bad.tsv, line 2 \(config key `data.train`, data.format=lines\)"):
        read_documents(str(bad), key="data.train", format="lines", separator=" ||| ")
    lonely = tmp_path / "lonely.txt"
    lonely.write_text("pos\nfine\n\nneg\n")
    with pytest.raises(DataError, match=r"lonely.txt, line 4 .*label on the first line and at least one sentence"):
        read_documents(str(lonely), key="data.train", format="blocks", separator=" ||| ")


def test_collating_pads_sentences_and_words() -> None:
    batch = collate_documents([(0, torch.tensor([[1, 2], [3, 0]]), 1), (1, torch.tensor([[4, 5, 6]]), 0)])
    assert batch.inputs.shape == (2, 2, 3) and batch.lengths.tolist() == [2, 1]
    assert batch.inputs[1].tolist() == [[4, 5, 6], [0, 0, 0]]


def test_the_html_shades_words_and_sizes_sentence_bars() -> None:
    page = attention_html([{
        "gold": "austen", "predicted": "carroll", "probability": 0.7, "sentences": [["a", "<b>"], ["c"]],
        "sentence_weights": [0.25, 0.75], "word_weights": [[0.2, 0.8], [1.0]],
    }])
    assert "✗ document 0" in page and "&lt;b&gt;" in page
    assert "width:25%" in page and "width:75%" in page
    assert "rgba(51,102,204,0.25)" in page and "rgba(51,102,204,1.00)" in page
