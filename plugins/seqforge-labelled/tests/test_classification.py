"""Classification: input formats, unseen labels, metrics, and the model over any encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqforge.api import DataError
from seqforge_labelled.classification import ClassificationTask
from seqforge_labelled.labelled_data import IGNORE, LabelledData, read_label_lines


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_tab_and_space_separated_lines(tmp_path: Path) -> None:
    """`label<TAB>text` keeps spaces inside the text; `label text` splits at the first space"""
    assert read_label_lines(write(tmp_path / "a.tsv", "pos\tvery good film\n\nneg\tbad\n"), key="data.path") == [
        ("pos", "very good film"), ("neg", "bad"),
    ]
    assert read_label_lines(write(tmp_path / "b.txt", "pos very good film\nneg bad\n"), key="data.path") == [
        ("pos", "very good film"), ("neg", "bad"),
    ]


def test_a_line_without_text_names_file_and_line(tmp_path: Path) -> None:
    """The file's first line has a tab, so line 3 without one is refused with file:line"""
    path = write(tmp_path / "a.tsv", "pos\tgood\nneg\tbad\nneutral\n")
    with pytest.raises(DataError, match=r"a\.tsv, line 3 \(config key `data.train`\): expected 'label<TAB>text'"):
        read_label_lines(path, key="data.train")


def _text_splits(tmp_path: Path, test_lines: str) -> dict[str, str]:
    return {
        "train": write(tmp_path / "train.tsv", "pos\tgood fun\nneg\tbad dull\npos\tfun\nneg\tdull\n"),
        "valid": write(tmp_path / "valid.tsv", "pos\tgood\nneg\tbad\n"),
        "test": write(tmp_path / "test.tsv", test_lines),
    }


def test_labels_unseen_in_training_are_reported_and_left_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A test label absent from training is printed with its count and gets the ignore id (never a wrong class)"""
    data = LabelledData(**_text_splits(tmp_path, "pos\tfun\nneutral\tmeh\nneutral\tok\n")).prepare()
    out = capsys.readouterr().out
    assert "test split has 2 example(s) with 1 label(s) never seen in training: 'neutral' (2)" in out
    assert data.unseen == {"test": {"neutral": 2}}
    assert [label for _, _, label in data.encoded["test"]] == [data.labels.index("pos"), IGNORE, IGNORE]


def test_unseen_labels_can_be_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'neutral' \(1\).*data\.unseen_labels=report"):
        LabelledData(**_text_splits(tmp_path, "neutral\tmeh\n"), unseen_labels="error").prepare()


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
def test_tensor_files_of_float_sequences(tmp_path: Path, suffix: str) -> None:
    """`x` (N, T, F) with `lengths` and string labels from .pt and .npz; padding beyond the length is cut"""
    x = np.random.default_rng(0).normal(size=(6, 5, 3)).astype(np.float32)
    arrays = {"x": x, "y": np.array(["a", "b", "a", "b", "a", "b"]), "lengths": np.array([5, 4, 3, 5, 2, 1])}
    path = tmp_path / f"data{suffix}"
    if suffix == ".npz":
        np.savez(path, **arrays)
    else:
        torch.save(
            {
                "x": torch.from_numpy(x),
                "y": torch.tensor([0, 1, 0, 1, 0, 1]),
                "lengths": torch.tensor(arrays["lengths"]),
            },
            path,
        )
    data = LabelledData(path=str(path), split=[0.5, 0.17, 0.33]).prepare()
    assert data.feature_size == 3 and len(data.labels) == 2
    _index, inputs, _ = data.encoded["train"][1]
    assert inputs.shape == (4, 3) and torch.allclose(inputs, torch.from_numpy(x[1, :4]))


def test_tensor_file_with_nan_is_refused(tmp_path: Path) -> None:
    x = np.zeros((4, 3, 2), dtype=np.float32)
    x[2, 1, 0] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match="sequence 2 contains NaN"):
        LabelledData(path=str(tmp_path / "d.npz"), split=[0.5, 0.25, 0.25]).prepare()


def test_accuracy_and_macro_f1_match_a_hand_computation(tmp_path: Path) -> None:
    """3 classes; gold 0 0 1 2, predicted 0 1 1 1: accuracy 2/4; F1 per class 2/3 (P 1, R 1/2), 1/2 (P 1/3, R 1), 0 ->
    macro 7/18"""
    data = LabelledData(**_text_splits(tmp_path, "pos\tfun\n"))
    data.labels = ["a", "b", "c"]
    metrics = ClassificationTask().compute_metrics(
        {"nll": 2.0, "examples": 4.0, "unseen": 0.0}, data, [(0, 0), (1, 0), (1, 1), (1, 2)]
    )
    assert metrics["acc"] == pytest.approx(0.5)
    assert metrics["macro_f1"] == pytest.approx(7 / 18)
    assert metrics["loss"] == pytest.approx(0.5)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_classifier_logits_do_not_depend_on_batch_padding(pooling: str) -> None:
    """A bidirectional GRU classifier gives each sequence the same logits alone and in a padded batch"""
    from seqforge.encoders import RecurrentEncoder
    from seqforge_labelled.classification import SequenceClassifier
    from seqforge_rnn.cells import GRUCell

    torch.manual_seed(0)
    encoder = RecurrentEncoder(cell=GRUCell, input_size=3, hidden_size=5, bidirectional=True)
    model = SequenceClassifier(
        encoder=encoder, num_labels=4, pooling=pooling, dropout=0.0, vocab_size=None, embedding_dim=0
    ).eval()
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 3])
    batched = model(x, lengths)
    alone = model(x[1:, :3], torch.tensor([3]))
    assert torch.allclose(batched[1], alone[0], atol=1e-5)
