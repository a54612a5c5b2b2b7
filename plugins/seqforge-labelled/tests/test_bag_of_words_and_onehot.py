"""One-hot token input and the bag-of-words encoder: hand computations, masking, and who may use them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from seqforge.api import ConfigError, EmbeddingConfig, build_token_embedding
from seqforge_labelled.bag_of_words import BagOfWordsEncoder, bag_of_words

X = torch.tensor(
    [[[1.0, 2.0], [3.0, -4.0], [50.0, 60.0]], [[-1.0, 0.5], [70.0, 80.0], [90.0, 99.0]]], dtype=torch.float64
)  # (2, 3, 2), garbage padding
LENGTHS = torch.tensor([2, 1])


def test_onehot_is_the_fixed_identity_with_zero_padding() -> None:
    """kind=onehot: row i of the identity per id, all zeros for <pad> (id 0); no parameters to learn"""
    embedding = build_token_embedding(5, 99, EmbeddingConfig(kind="onehot"), padding_idx=0)
    out = embedding(torch.tensor([[3, 1, 0]]))  # (1, 3, 5)
    assert embedding.embedding_dim == 5 and list(embedding.parameters()) == []
    assert torch.equal(out[0], torch.tensor([[0, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=out.dtype))


def test_learned_is_an_nn_embedding_of_the_configured_size() -> None:
    embedding = build_token_embedding(5, 7, EmbeddingConfig(), padding_idx=0)
    assert isinstance(embedding, torch.nn.Embedding) and embedding.embedding_dim == 7 and embedding.padding_idx == 0


def test_onehot_refuses_pretrained_vectors_and_unknown_kinds_are_named() -> None:
    with pytest.raises(ConfigError, match=r"model\.embedding\.kind=onehot.*pretrained"):
        build_token_embedding(5, 7, EmbeddingConfig(kind="onehot", pretrained="v.txt"))
    with pytest.raises(ConfigError, match=r"model\.embedding\.kind must be learned or onehot, got 'random'"):
        build_token_embedding(5, 7, EmbeddingConfig(kind="random"))


@pytest.mark.parametrize(
    "reduce, expected", [("sum", [[4.0, -2.0], [-1.0, 0.5]]), ("mean", [[2.0, -1.0], [-1.0, 0.5]])]
)
def test_bag_of_words_reduces_only_real_positions(reduce: str, expected: list) -> None:
    """Hand computation: first row (1,2)+(3,-4) over 2 steps; second row only (-1, .5); padding ignored"""
    mask = torch.arange(3).unsqueeze(0) < LENGTHS.unsqueeze(1)  # (2, 3)
    assert torch.allclose(bag_of_words(X, mask, reduce), torch.tensor(expected, dtype=torch.float64))
    out = BagOfWordsEncoder(input_size=2, reduce=reduce, hidden_size=8, num_layers=3)(X, LENGTHS)
    assert (
        out.outputs.shape == (2, 1, 2)
        and out.mask.all()
        and torch.allclose(out.outputs[:, 0], torch.tensor(expected, dtype=torch.float64))
    )


def test_onehot_sum_bag_of_words_is_word_counts() -> None:
    """onehot + sum = the count vector of the sequence's words (padding not counted)"""
    ids = torch.tensor([[2, 3, 2, 0], [4, 0, 0, 0]])
    embedded = build_token_embedding(5, 0, SimpleNamespace(kind="onehot", pretrained=None))(ids)  # (2, 4, 5)
    counts = BagOfWordsEncoder(input_size=5, reduce="sum")(embedded, torch.tensor([3, 1])).outputs[:, 0]  # (2, 5)
    assert torch.equal(counts, torch.tensor([[0, 0, 2, 1, 0], [0, 0, 0, 0, 1]], dtype=counts.dtype))


def test_padding_more_changes_nothing_and_gradients_check() -> None:
    mask_lengths = torch.tensor([2, 1])
    wider = torch.cat([X, torch.randn(2, 4, 2, dtype=torch.float64)], dim=1)  # (2, 7, 2)
    encoder = BagOfWordsEncoder(input_size=2)
    assert torch.allclose(encoder(X, mask_lengths).outputs, encoder(wider, mask_lengths).outputs)
    x = X.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: encoder(t, mask_lengths).outputs, (x,))


def test_an_unknown_reduce_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model\.encoder\.reduce must be one of mean, sum, got 'max'"):
        BagOfWordsEncoder(input_size=2, reduce="max")


def test_a_task_with_its_own_learned_embedding_refuses_onehot_instead_of_ignoring_it() -> None:
    """init_embedding (what every token task calls) sees an nn.Embedding while kind=onehot: a ConfigError, not a silent
    learned run"""
    from seqforge.api import init_embedding

    with pytest.raises(ConfigError, match=r"model\.embedding\.kind=onehot is supported by the tasks that embed tokens "
                                          "with build_token_embedding"):
        init_embedding(torch.nn.Embedding(4, 3), ["<pad>", "a", "b", "c"], EmbeddingConfig(kind="onehot"))
    init_embedding(
        build_token_embedding(4, 3, EmbeddingConfig(kind="onehot")),
        ["<pad>", "a", "b", "c"],
        EmbeddingConfig(kind="onehot"),
    )
