"""Classification, tagging and one-to-many generation end to end through `seqforge.cli.main` (in-process: the
commands, not the interpreter around them, are the subject), on tiny runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUIET, TINY_MODEL, run_seqforge_in_process
from test_bad_input import assert_clean_failure

pytestmark = pytest.mark.slow


def test_digits_demo_trains_reports_accuracy_and_macro_f1(tmp_path: Path) -> None:
    """experiment=digits_demo on a few steps: validation and test accuracy/macro-F1, per-label F1, examples"""
    result = run_seqforge_in_process(
        "train",
        "experiment=digits_demo",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=6",
        "trainer.check_val_every_n_epoch=null",
        "trainer.val_check_interval=6",
        "data.batch_size=16",
        f"hydra.run.dir={tmp_path / 'out'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    fragments = ("acc", "macro_f1", "Test F1 per label", "Examples (test split)", "examples train/valid/test 1257/180/360")
    for fragment in fragments:
        assert fragment in result.stdout, result.stdout[-2000:]
    metrics = (tmp_path / "out" / "csv" / "metrics.csv").read_text()
    assert "val/acc" in metrics and "test/macro_f1" in metrics


def test_classifying_your_own_text_file_then_evaluating_the_checkpoint(tmp_path: Path) -> None:
    """`label<TAB>text` files, a label unseen in training is reported, and `seqforge evaluate` rescores the checkpoint"""
    train = tmp_path / "train.tsv"
    train.write_text(
        "".join(
            f"{'pos' if i % 2 else 'neg'}\t{'good fine great' if i % 2 else 'bad poor awful'} {i}\n" for i in range(40)
        )
    )
    test = tmp_path / "test.tsv"
    test.write_text("pos\tgood great\nneg\tawful\nneutral\tso so\n")
    args = [
        "task=classify",
        "data=labelled",
        f"data.train={train}",
        f"data.valid={train}",
        f"data.test={test}",
        "task.pooling=max",
        "model/cell=gru",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=5",
        "trainer.val_check_interval=5",
        f"hydra.run.dir={tmp_path / 'out'}",
    ]
    result = run_seqforge_in_process("train", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 label(s) never seen in training: 'neutral' (1)" in result.stdout
    evaluated = run_seqforge_in_process("evaluate", f"ckpt={tmp_path / 'out'}", "split=test", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "macro_f1" in evaluated.stdout and "unseen" in evaluated.stdout


def test_tagging_demo_reports_seqeval_entity_scores(tmp_path: Path) -> None:
    """experiment=tagging_demo (small data, a few steps): precision/recall/F1 and token accuracy; tagged examples"""
    result = run_seqforge_in_process(
        "train",
        "experiment=tagging_demo",
        *QUIET,
        *TINY_MODEL,
        "data.n_train=64",
        "data.n_valid=16",
        "data.n_test=16",
        "task.char_hidden_size=4",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        f"hydra.run.dir={tmp_path / 'out'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    fragments = ("precision", "recall", "f1", "token_acc", "Entities on the test split (seqeval)", "Examples (test split)")
    for fragment in fragments:
        assert fragment in result.stdout, result.stdout[-2000:]


def test_a_conll_file_with_a_wrong_column_count_fails_cleanly_naming_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "train.conll"
    good.write_text("EU NNP B-ORG\nrejects VBZ O\n\nGerman JJ B-MISC\n")
    bad = tmp_path / "test.conll"
    bad.write_text("EU NNP B-ORG\nrejects O\n")
    result = run_seqforge_in_process(
        "train",
        "task=tag",
        "data=conll",
        f"data.train={good}",
        f"data.valid={good}",
        f"data.test={bad}",
        *QUIET,
        cwd=tmp_path,
    )
    assert_clean_failure(
        result, f"{bad}, line 2 (config key `data.test`)", "expected 3 whitespace-separated column(s)", "found 2"
    )


def test_conditional_demo_draws_digits_and_generate_samples_one(tmp_path: Path) -> None:
    """experiment=conditional_demo on a few steps prints greedy/beam/sampled drawings; `seqforge generate prompt=3`
    draws one"""
    result = run_seqforge_in_process(
        "train",
        "experiment=conditional_demo",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=6",
        "trainer.check_val_every_n_epoch=null",
        "trainer.val_check_interval=6",
        "task.show_conditions=2",
        "task.show_examples=1",
        f"hydra.run.dir={tmp_path / 'out'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for fragment in (
        "label_agreement",
        "ppl",
        "Generated: greedy, beam search (beam 4), then 1 sample(s)",
        "condition 0:",
        "condition 1:",
    ):
        assert fragment in result.stdout, result.stdout[-3000:]
    generated = run_seqforge_in_process(
        "generate",
        f"ckpt={tmp_path / 'out'}",
        "prompt=3",
        "temperature=0.7",
        "seed=1",
        "max_new_tokens=65",
        cwd=tmp_path,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert len(generated.stdout.rstrip("\n").splitlines()) == 8  # an 8x8 drawing
