"""The real-data presets: experiment=conll_ner and experiment=sst2 compose and train."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from compose_helpers import compose_config

QUIET = ["logger=none", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def test_conll_ner_preset_trains_by_epochs_on_whole_splits(tmp_path: Path) -> None:
    """experiment=conll_ner: task=tag data=conll, a char-feature BiLSTM, by epochs, whole val/test splits; it trains"""
    from seqforge.train import run_training

    lines = []
    for i in range(30):
        lines += [f"John{i % 3} B-PER", "visited O", f"Paris{i % 2} B-LOC", ". O", ""]
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.txt").write_text("\n".join(lines))
    overrides = ["experiment=conll_ner", *(f"data.{s}={tmp_path / s}.txt" for s in ("train", "valid", "test"))]
    cfg = compose_config(overrides)
    assert cfg.task._target_.endswith("TaggingTask") and cfg.task.char_features and cfg.model.bidirectional
    assert (cfg.trainer.max_steps, cfg.trainer.max_epochs, cfg.trainer.limit_test_batches) == (-1, 15, None)
    assert (cfg.checkpoint.monitor, cfg.checkpoint.mode) == ("val/f1", "max")
    metrics = run_training(
        compose_config([*overrides, "trainer.max_epochs=1", *QUIET, "task.show_examples=0"]), tmp_path / "run"
    )
    assert "f1" in metrics["test"] and metrics["test"].coverage is None


def test_sst2_preset_trains_from_label_sentence_lines_and_word_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """experiment=sst2 reads stsa.binary `label sentence` lines and starts from model.embedding.pretrained"""
    from seqforge.train import run_training

    good, bad = "a stirring , funny and moving film", "a dull , lifeless and tedious mess"
    for split in ("train", "dev", "test"):
        (tmp_path / f"stsa.binary.{split}").write_text("".join(f"1 {good}\n0 {bad}\n" for _ in range(20)))
    words = sorted(set((good + " " + bad).split()))
    rng = random.Random(0)
    (tmp_path / "vectors.txt").write_text(
        f"{len(words)} 100\n"
        + "".join(f"{w} " + " ".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(100)) + "\n" for w in words)
    )
    overrides = [
        "experiment=sst2",
        *(f"data.{k}={tmp_path}/stsa.binary.{s}" for k, s in (("train", "train"), ("valid", "dev"), ("test", "test"))),
    ]
    cfg = compose_config(overrides)
    assert (cfg.task.pooling, cfg.model.bidirectional, cfg.model.embedding_dim, cfg.trainer.max_steps) == (
        "max",
        True,
        100,
        -1,
    )
    assert (cfg.checkpoint.monitor, cfg.checkpoint.mode) == ("val/acc", "max")
    metrics = run_training(
        compose_config(
            [
                *overrides,
                f"model.embedding.pretrained={tmp_path}/vectors.txt",
                "trainer.max_epochs=4",
                *QUIET,
                "task.show_examples=0",
            ]
        ),
        tmp_path / "run",
    )
    assert f"{len(words)} of " in capsys.readouterr().out  # every word of the data got its vector
    assert metrics["test"]["acc"] == 1.0  # two sentences learnt
