"""Issue 13's baselines and attention variants end to end through `seqforge.cli.main` (in-process), on tiny runs (a
few steps)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUIET, TINY_MODEL, run_seqforge_in_process
from test_bad_input import assert_clean_failure

pytestmark = [pytest.mark.slow, pytest.mark.requires_plugins("rnn")]  # the runs use model/cell=gru|lstm


def _sentiment(tmp_path: Path) -> Path:
    data = tmp_path / "train.tsv"
    data.write_text("".join(f"{'pos' if i % 2 else 'neg'}\t{'good fine great' if i % 2 else 'bad poor awful'} film "
                            f"{i % 5}\n" for i in range(40)))
    return data


def _classify(tmp_path: Path, *overrides: str) -> list[str]:
    data = _sentiment(tmp_path)
    return [
        "task=classify",
        "data=labelled",
        f"data.train={data}",
        f"data.valid={data}",
        f"data.test={data}",
        "model/cell=gru",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=3",
        "trainer.val_check_interval=3",
        "task.show_examples=0",
        f"hydra.run.dir={tmp_path / 'out'}",
        *overrides,
    ]


def test_bag_of_words_counts_from_onehot_input_train_a_classifier(tmp_path: Path) -> None:
    """model/encoder=bag_of_words reduce=sum over model.embedding.kind=onehot: a linear model of word counts"""
    result = run_seqforge_in_process(
        "train",
        *_classify(tmp_path, "model/encoder=bag_of_words", "model.encoder.reduce=sum", "model.embedding.kind=onehot"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    vocabulary = int(result.stdout.split("vocabulary ")[1].split()[0])
    # no embedding or encoder parameters: only the (vocabulary x 2 labels) linear head and its bias
    assert f"parameters {vocabulary * 2 + 2:,}" in result.stdout, result.stdout[-2000:]


def test_self_attentive_encoder_with_structured_pooling_logs_the_penalty(tmp_path: Path) -> None:
    result = run_seqforge_in_process(
        "train",
        *_classify(
            tmp_path,
            "model/encoder=self_attentive",
            "model.encoder.heads=2",
            "model.encoder.layers=2",
            "task.pooling=structured",
            "task.pooling_hops=3",
            "task.pooling_hidden=5",
            "task.pooling_penalty=1.0",
            "trainer.log_every_n_steps=1",
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train/penalty" in (tmp_path / "out" / "csv" / "metrics.csv").read_text()


def test_a_tagger_refuses_the_bag_of_words_encoder_with_a_clear_message(tmp_path: Path) -> None:
    result = run_seqforge_in_process(
        "train",
        "experiment=tagging_demo",
        "model/encoder=bag_of_words",
        "data.n_train=16",
        "data.n_valid=8",
        "data.n_test=8",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=1",
        f"hydra.run.dir={tmp_path / 'out'}",
        cwd=tmp_path,
    )
    assert_clean_failure(
        result, "model.encoder (BagOfWordsEncoder) summarises each sequence in a single step", "task=classify"
    )


@pytest.mark.requires_plugins("seq2seq")  # experiment=translate_demo
def test_self_attentive_encoder_trains_a_tagger_and_a_translator(tmp_path: Path) -> None:
    tagger = run_seqforge_in_process(
        "train",
        "experiment=tagging_demo",
        "model/encoder=self_attentive",
        "model.encoder.heads=2",
        "model.embedding.kind=onehot",
        "data.n_train=32",
        "data.n_valid=8",
        "data.n_test=8",
        "task.char_hidden_size=4",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        f"hydra.run.dir={tmp_path / 'tag'}",
        cwd=tmp_path,
    )
    assert tagger.returncode == 0, tagger.stderr[-3000:]
    translator = run_seqforge_in_process(
        "train",
        "experiment=translate_demo",
        "model/encoder=self_attentive",
        "model.encoder.heads=2",
        "data.n_train=64",
        "data.n_valid=8",
        "data.n_test=8",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        f"hydra.run.dir={tmp_path / 'mt'}",
        cwd=tmp_path,
    )
    assert translator.returncode == 0, translator.stderr[-3000:]


def test_han_demo_trains_and_renders_both_attention_levels(tmp_path: Path) -> None:
    """experiment=han_demo (a few steps), then `seqforge han-attention` writes words and sentences highlighted"""
    result = run_seqforge_in_process(
        "train", "experiment=han_demo", *QUIET, *TINY_MODEL, "trainer.max_steps=3", "trainer.val_check_interval=3",
        f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "examples train/valid/test 450/60/60 | 3 labels" in result.stdout and "sentences of words" in result.stdout
    page = tmp_path / "han.html"
    rendered = run_seqforge_in_process("han-attention", f"ckpt={tmp_path / 'out'}", f"output={page}", "count=2", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    html = page.read_text()
    assert html.count("class='doc'") == 2 and "class='bar'" in html and "rgba(51,102,204," in html
    new = tmp_path / "new.txt"
    new.write_text("alice was beginning to get very tired . ||| she peeped into the book\nemma smiled .\n")
    predicted = run_seqforge_in_process("predict", f"ckpt={tmp_path / 'out'}", f"input={new}", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    rows = [line.split("\t") for line in predicted.stdout.splitlines() if "\t" in line]
    assert len(rows) == 2 and all(label in ("austen", "carroll", "chesterton") for label, _ in rows)


def test_doc_classify_over_blank_line_documents_and_the_flat_baseline(tmp_path: Path) -> None:
    docs = tmp_path / "docs.txt"
    docs.write_text(
        "".join(
            f"{'pos' if i % 2 else 'neg'}\n{'good film .' if i % 2 else 'bad film .'}\n{'great cast' if i % 2 else 'poor plot'} {i % 3}\n\n"
            for i in range(24)
        )
    )
    common = [
        f"data.train={docs}",
        f"data.valid={docs}",
        f"data.test={docs}",
        "data.format=blocks",
        "model/cell=gru",
        *QUIET,
        *TINY_MODEL,
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "data.batch_size=8",
    ]
    han = run_seqforge_in_process(
        "train", "task=doc_classify", "data=documents", *common, f"hydra.run.dir={tmp_path / 'han'}", cwd=tmp_path
    )
    assert han.returncode == 0, han.stderr[-3000:]
    assert "examples train/valid/test 24/24/24" in han.stdout
    flat = run_seqforge_in_process(
        "train",
        "task=classify",
        "data=documents",
        "data.flat=true",
        *common,
        f"hydra.run.dir={tmp_path / 'flat'}",
        cwd=tmp_path,
    )
    assert flat.returncode == 0, flat.stderr[-3000:]
    assert "| flat" in flat.stdout
    refused = run_seqforge_in_process(
        "train",
        "task=doc_classify",
        "data=documents",
        "data.flat=true",
        *common,
        f"hydra.run.dir={tmp_path / 'x'}",
        cwd=tmp_path,
    )
    assert_clean_failure(refused, "task=doc_classify needs documents of sentences")
