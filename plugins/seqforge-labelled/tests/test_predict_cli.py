"""`seqforge predict` end to end: a tiny trained classifier and tagger applied to new lines from a file and from stdin."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUIET, TINY_MODEL, run_seqforge_in_process
from test_bad_input import assert_clean_failure

POSITIVE, NEGATIVE = "good fine great", "bad poor awful"


def _train(root: Path, *args: str) -> Path:
    result = run_seqforge_in_process("train", *args, *QUIET, *TINY_MODEL, f"hydra.run.dir={root / 'out'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "out"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    """Two labels told apart by disjoint words: learnt within 30 steps (p about 0.65 for the right label)."""
    root = tmp_path_factory.mktemp("classifier")
    train = root / "train.tsv"
    train.write_text(
        "".join(f"{'pos' if i % 2 else 'neg'}\t{POSITIVE if i % 2 else NEGATIVE} {i}\n" for i in range(40))
    )
    return _train(
        root, "task=classify", "data=labelled", f"data.train={train}", f"data.valid={train}", f"data.test={train}",
        "model/cell=gru", "trainer.max_steps=30", "trainer.val_check_interval=30", "task.show_examples=0",
    )


@pytest.mark.slow
def test_classify_a_file_writes_label_and_probability_per_line_and_reports_blank_lines(classifier: Path) -> None:
    """One `label<TAB>probability` row per non-empty line; blank lines skipped and named; unknown words counted"""
    source = classifier.parent / "in.txt"
    source.write_text(f"{POSITIVE}\n\n{NEGATIVE} zzz\n  \ngreat good qqq www\n")
    target = classifier.parent / "labels.txt"
    result = run_seqforge_in_process(
        "predict", f"ckpt={classifier}", f"input={source}", f"output={target}", "batch_size=2", cwd=classifier.parent
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("\t") for line in target.read_text().splitlines()]
    assert [label for label, _ in rows] == ["pos", "neg", "pos"]
    assert all(0.5 <= float(p) <= 1.0 for _, p in rows)  # the arg-max of two labels
    assert "predicted 3 line(s)" in result.stderr
    assert "skipped 2 empty input line(s) (lines 2, 4)" in result.stderr
    assert "3 unknown token(s) mapped to <unk>" in result.stderr


@pytest.mark.slow
def test_tag_stdin_writes_conll_token_tag_rows_with_a_blank_line_between_sentences(tmp_path: Path) -> None:
    """stdin -> stdout: every token once with a tag seen in training; a blank line skipped and named; unknown words
    counted"""
    train = tmp_path / "train.conll"
    sentences = [
        ("I live in Paris", "O O O B-LOC"),
        ("She left New York today", "O O B-LOC I-LOC O"),
        ("It rains", "O O"),
    ]
    train.write_text(
        "\n".join("".join(f"{w} {t}\n" for w, t in zip(s.split(), tags.split())) for s, tags in sentences * 8)
    )
    tagger = _train(
        tmp_path, "task=tag", "data=conll", f"data.train={train}", f"data.valid={train}", f"data.test={train}",
        "trainer.max_steps=6", "trainer.val_check_interval=6", "task.show_examples=0",
    )
    result = run_seqforge_in_process("predict", f"ckpt={tagger}", cwd=tmp_path, stdin="I live in York\n\nShe left   Oslo today\n")
    assert result.returncode == 0, result.stderr[-3000:]
    blocks = [block.splitlines() for block in result.stdout.rstrip("\n").split("\n\n")]
    assert [[row.split("\t")[0] for row in block] for block in blocks] == [
        ["I", "live", "in", "York"],
        ["She", "left", "Oslo", "today"],
    ]
    assert all(row.split("\t")[1] in {"O", "B-LOC", "I-LOC"} for block in blocks for row in block)
    assert "predicted 2 line(s)" in result.stderr and "skipped 1 empty input line(s) (line 2)" in result.stderr
    assert "1 of 8 token(s) unknown to the word vocabulary, mapped to <unk>" in result.stderr


@pytest.mark.slow
def test_a_task_without_predict_is_refused_naming_the_task_and_the_commands_that_apply(tmp_path: Path) -> None:
    """A language model checkpoint: one paragraph naming LanguageModelTask, classify/tag, and translate/generate"""
    lm = _train(
        tmp_path, "data.seq_len=8", "data.batch_size=4", "data.eval_batch_size=2", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1", "task.sample_length=5", "trainer.max_steps=1",
    )
    result = run_seqforge_in_process("predict", f"ckpt={lm}", cwd=tmp_path, stdin="some text\n")
    assert_clean_failure(
        result,
        "LanguageModelTask",
        "task=classify",
        "task=tag",
        "from seqforge-labelled",
        "seqforge translate",
        "seqforge generate",
    )


def test_a_classifier_of_float_features_is_refused_with_the_python_route() -> None:
    """`predict` reads text lines; a classifier trained on tensor files says so instead of failing inside the codec"""
    from seqforge.api import DataError
    from seqforge_labelled.classification import ClassificationTask
    from seqforge_labelled.labelled_data import LabelledData

    data = LabelledData(state={"labels": ["0", "1"], "codec": None, "feature_size": 8})
    with pytest.raises(DataError, match=r"float feature sequences \(8 features per step.*ClassificationTask.classify"):
        ClassificationTask().predict(None, data, ["0.1 0.2"])


@pytest.mark.slow
def test_words_added_by_extend_vocab_are_known_at_predict_time_without_the_vectors_file(tmp_path: Path) -> None:
    """model.embedding.extend_vocab: "York" (never in training, but in the vectors file) is no <unk> for predict,
    and the checkpoint alone carries its row: the vectors file is deleted first"""
    train = tmp_path / "train.conll"
    train.write_text("I O\nlive O\nin O\nParis B-LOC\n" * 8 + "\n", encoding="utf-8")
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("2 8\nParis " + " ".join(["0.1"] * 8) + "\nYork " + " ".join(["0.2"] * 8) + "\n",
                       encoding="utf-8")
    tagger = _train(
        tmp_path, "task=tag", "data=conll", f"data.train={train}", f"data.valid={train}", f"data.test={train}",
        "trainer.max_steps=2", "trainer.val_check_interval=2", "task.show_examples=0",
        f"model.embedding.pretrained={vectors}", "model.embedding.extend_vocab=true",
    )
    vectors.unlink()
    result = run_seqforge_in_process("predict", f"ckpt={tagger}", cwd=tmp_path, stdin="I live in York\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 of 4 token(s) unknown to the word vocabulary" in result.stderr
