"""End to end through the console script: train, generate, evaluate, --cfg job."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from cli_helpers import TINY, run_seqforge, write_corpus

# one worker trains the module-scoped run once for every test here (README "Testing": --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_cli_trained_run")]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """One tiny training run shared by the tests below."""
    root = tmp_path_factory.mktemp("run")
    corpus = write_corpus(root / "corpus.txt")
    result = run_seqforge(
        "train", f"data.path={corpus}", "trainer.max_steps=12", "trainer.val_check_interval=6",
        f"hydra.run.dir={root / 'out'}", *TINY, cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "stdout.txt").write_text(result.stdout)
    return root


@pytest.mark.requires_plugins("rnn")
def test_train_writes_checkpoints_config_and_metrics(trained_run: Path) -> None:
    """A run leaves last/best checkpoints, the composed config and a metrics CSV in its Hydra run dir"""
    out = trained_run / "out"
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "checkpoints" / "best.ckpt").is_file()
    assert (out / ".hydra" / "config.yaml").is_file()
    assert "hidden_size: 16" in (out / "config.yaml").read_text()
    rows = list(csv.DictReader((out / "csv" / "metrics.csv").open()))
    assert any(row.get("val/bpc") for row in rows)
    stdout = (trained_run / "stdout.txt").read_text()
    assert "bpc" in stdout and "ppl" in stdout and "Sample" in stdout


@pytest.mark.requires_plugins("rnn")
def test_evaluate_reproduces_the_test_metrics_of_training(trained_run: Path) -> None:
    """`evaluate` on the final checkpoint gives the test loss training reported"""
    rows = list(csv.DictReader((trained_run / "out" / "csv" / "metrics.csv").open()))
    logged = float(next(row["test/loss"] for row in rows if row.get("test/loss")))
    result = run_seqforge("evaluate", f"ckpt={trained_run / 'out'}", "split=test", cwd=trained_run)
    assert result.returncode == 0, result.stderr[-3000:]
    # "test (3 of 23 batches)": a limit is printed
    match = re.search(r"test[^│\n]*│\s*([\d.]+)\s*│\s*([\d.]+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(2)) == pytest.approx(logged, abs=1e-3)  # columns: bpc, loss, ppl


@pytest.mark.requires_plugins("rnn")
def test_generate_continues_the_prompt_deterministically(trained_run: Path) -> None:
    """`generate` starts with the prompt, produces text, and is reproducible with a seed"""
    args = ("generate", f"ckpt={trained_run / 'out' / 'checkpoints' / 'last.ckpt'}", "prompt=The ", "max_new_tokens=40",
            "temperature=0.8", "top_k=20", "seed=3")
    first = run_seqforge(*args, cwd=trained_run)
    second = run_seqforge(*args, cwd=trained_run)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.startswith("The ")
    assert len(first.stdout.rstrip("\n")) >= 40
    assert first.stdout == second.stdout


@pytest.mark.requires_plugins("rnn")
def test_cfg_job_prints_the_composed_config_with_overrides(tmp_path: Path) -> None:
    """`train --cfg job` shows the composition, overrides applied, without training"""
    result = run_seqforge(
        "train", "model/cell=gru", "model.hidden_size=128", "model.num_layers=2", "model.bidirectional=false",
        "trainer.max_steps=50", "data.seq_len=64", "optim.lr=3e-3", "seed=1", "--cfg", "job", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "_target_: seqforge_rnn.cells.GRUCell" in out
    assert "hidden_size: 128" in out and "num_layers: 2" in out and "max_steps: 50" in out
    assert "seq_len: 64" in out and "seed: 1" in out
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*.ckpt"))


@pytest.mark.requires_plugins("rnn")
def test_experiment_char_lm_is_the_default_job(tmp_path: Path) -> None:
    """`experiment=char_lm` composes to the same config as no arguments"""
    plain = run_seqforge("train", "--cfg", "job", cwd=tmp_path)
    named = run_seqforge("train", "experiment=char_lm", "--cfg", "job", cwd=tmp_path)
    assert plain.returncode == 0 and named.returncode == 0, plain.stderr + named.stderr
    assert plain.stdout == named.stdout
    assert "LSTMCell" in plain.stdout and "tokenizer: char" in plain.stdout
