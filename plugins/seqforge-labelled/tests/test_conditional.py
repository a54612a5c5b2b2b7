"""One-to-many generation: conditioning, the shared search, input formats, unknown conditions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqforge.api import ConfigError, DataError, DecodeConfig
from seqforge_labelled.conditional import ConditionalGenerator, generate_from
from seqforge_labelled.conditional_data import ConditionalData, collate
from seqforge_rnn.cells import GRUCell, LSTMCell


def make_model(
    condition: str, *, cell=LSTMCell, labels: int | None = 3, features: int | None = None, layers: int = 2
) -> ConditionalGenerator:
    torch.manual_seed(0)
    return ConditionalGenerator(
        cell=cell, vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=layers, dropout=0.0, condition_dim=5,
        num_labels=labels, feature_size=features, condition=condition,
    ).eval()


@pytest.mark.parametrize("condition", ["init", "input", "both"])
def test_the_condition_changes_the_output_through_the_chosen_path(condition: str) -> None:
    """Two labels give different logits at the first step whichever way the condition enters"""
    model = make_model(condition)
    logits = model(torch.tensor([0, 1]), torch.full((2, 3), 2))  # (B, T, V)
    assert logits.shape == (2, 3, 9)
    assert not torch.allclose(logits[0, 0], logits[1, 0])


def test_input_only_conditioning_starts_from_the_zero_state_and_init_only_adds_no_input() -> None:
    model = make_model("input")
    state = model.initial_state(torch.tensor([0, 2]))
    assert all(torch.all(leaf == 0) for layer in state.layers for leaf in layer)
    assert make_model("init").cells[0].input_size == 4 and model.cells[0].input_size == 4 + 5


def test_initial_state_fits_any_cell_structure() -> None:
    """LSTM (h, c) and GRU h states are both produced from the condition vector"""
    lstm = make_model("init").initial_state(torch.tensor([1]))
    gru = make_model("init", cell=GRUCell).initial_state(torch.tensor([1]))
    assert isinstance(lstm.layers[0], tuple) and len(lstm.layers[0]) == 2
    assert isinstance(gru.layers[0], torch.Tensor) and gru.layers[0].shape == (1, 6)


def test_feature_vector_conditions() -> None:
    model = make_model("both", labels=None, features=7)
    logits = model(torch.randn(3, 7), torch.full((3, 2), 2))
    assert logits.shape == (3, 2, 9)


def test_beam_of_one_equals_greedy_and_greedy_matches_a_manual_argmax_loop() -> None:
    """The shared search carries the condition in its state: beam 1 == greedy == argmax decoding by hand"""
    model = make_model("both")
    condition = torch.tensor([0, 1, 2])
    greedy = generate_from(model, condition, DecodeConfig(strategy="greedy", max_len=6))
    beam = generate_from(model, condition, DecodeConfig(strategy="beam", beam_size=1, max_len=6))
    assert [h[0].tokens for h in greedy] == [h[0].tokens for h in beam]
    for row in range(3):
        state, token, manual = model.initial_state(condition[row : row + 1]), torch.tensor([2]), []  # BOS = 2
        for _ in range(6):
            logits, state = model.step(token, state)
            token = logits.argmax(-1)
            if token.item() == 3:  # EOS
                break
            manual.append(token.item())
        assert greedy[row][0].tokens == manual


def test_beam_search_keeps_each_condition_with_its_beams() -> None:
    """Beam 4, n-best 3 for a batch equals decoding each condition alone"""
    model = make_model("init")
    options = DecodeConfig(strategy="beam", beam_size=4, n_best=3, max_len=5)
    batched = generate_from(model, torch.tensor([0, 1, 2]), options)
    for row in range(3):
        alone = generate_from(model, torch.tensor([row]), options)[0]
        assert [h.tokens for h in batched[row]] == [h.tokens for h in alone]


def test_sampling_is_reproducible_with_a_seed() -> None:
    model = make_model("both")
    options = DecodeConfig(strategy="sample", max_len=8, temperature=1.0)
    first = generate_from(model, torch.tensor([0, 1]), options, torch.Generator().manual_seed(3))
    again = generate_from(model, torch.tensor([0, 1]), options, torch.Generator().manual_seed(3))
    assert [h[0].tokens for h in first] == [h[0].tokens for h in again]


def test_text_lines_condition_on_their_label(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`label<TAB>text` lines; a test label never seen in training is reported and left out"""
    train = tmp_path / "train.tsv"
    train.write_text("greet\thello there\nbye\tsee you\ngreet\thi\n")
    test = tmp_path / "test.tsv"
    test.write_text("greet\thello\nthanks\tthank you\n")
    data = ConditionalData(train=str(train), valid=str(train), test=str(test)).prepare()
    assert data.labels == ["bye", "greet"]
    assert "'thanks' (1)" in capsys.readouterr().out
    assert len(data.encoded["test"]) == 1
    batch = collate(data.encoded["train"][:2])
    assert batch.tgt_in[0].tolist()[0] == 2 and batch.tgt_out[0].tolist()[-1] == 3  # <bos> y / y <eos>
    with pytest.raises(DataError, match="'thanks' was never seen in training; known labels: bye, greet"):
        data.encode_condition("thanks")


def test_tensor_file_with_feature_conditions(tmp_path: Path) -> None:
    """`targets` (N, T) ints with -1 padding and `features` (N, F)"""
    targets = np.array([[1, 2, 3, -1], [4, 4, -1, -1], [1, 1, 1, 1], [2, 3, -1, -1]])
    np.savez(tmp_path / "d.npz", targets=targets, features=np.random.default_rng(0).normal(size=(4, 5)))
    data = ConditionalData(path=str(tmp_path / "d.npz"), split=[0.5, 0.25, 0.25]).prepare()
    assert data.feature_size == 5 and not data.conditioned_on_labels
    assert data.examples["train"][1][1] == ["4", "4"]


def test_tensor_file_needs_exactly_one_kind_of_condition(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", targets=np.zeros((4, 3), dtype=int))
    with pytest.raises(DataError, match="exactly one condition"):
        ConditionalData(path=str(tmp_path / "d.npz")).prepare()


def test_unknown_condition_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="init, input, both"):
        make_model("sometimes")
