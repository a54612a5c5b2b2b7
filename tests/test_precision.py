"""`trainer.precision`: each value Lightning accepts either trains on CPU or is refused before training, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TINY, run_seqforge_in_process
from omegaconf import OmegaConf

from seqforge.config import SeqforgeConfig
from seqforge.errors import ConfigError
from seqforge.precision import canonical_precision, check_precision, precision_problem


def config(precision: Any, optim: str = "adam") -> Any:
    cfg = OmegaConf.structured(SeqforgeConfig)
    cfg.trainer.precision = precision
    cfg.optim.name = optim
    return cfg


@pytest.mark.parametrize(
    "value, canonical",
    [
        ("32-true", "32-true"),
        (32, "32-true"),
        ("32", "32-true"),
        ("64-true", "64-true"),
        (64, "64-true"),
        ("64", "64-true"),
        ("bf16-mixed", "bf16-mixed"),
        ("bf16", "bf16-mixed"),
        ("16-mixed", "16-mixed"),
        (16, "16-mixed"),
        ("16", "16-mixed"),
        ("bf16-true", "bf16-true"),
        ("16-true", "16-true"),
        ("transformer-engine", "transformer-engine"),
        ("bf17", None),
        ("float16", None),
        (True, None),
    ],
)
def test_lightning_spellings_are_read_as_lightning_reads_them(value: Any, canonical: Any) -> None:
    """The older spellings map as in Lightning (16 is 16-mixed, bf16 is bf16-mixed); unknown values map to None"""
    assert canonical_precision(value) == canonical


@pytest.mark.parametrize(
    "value", ["32-true", 32, "32", "64-true", 64, "64", "bf16-mixed", "bf16", "16-mixed", 16, "16", "bf16-true"]
)
def test_precisions_that_train_on_cpu_are_accepted(value: Any) -> None:
    """Every precision that trains on CPU passes the check (16-mixed becomes bf16-mixed in Lightning on CPU)"""
    assert precision_problem(config(value)) is None


@pytest.mark.parametrize("optim, refused", [("adam", True), ("adamw", True), ("rmsprop", True), ("sgd", False)])
def test_16_true_is_refused_with_adaptive_optimisers_only(optim: str, refused: bool) -> None:
    """float16 weights with Adam-like optimisers go NaN at the first step (eps 1e-8 is 0 in float16); with SGD they
    train"""
    problem = precision_problem(config("16-true", optim))
    assert (problem is not None) == refused
    if refused:
        assert problem.startswith("`trainer.precision=16-true` keeps the weights and the optimiser state in float16")
        assert f"`optim.name={optim}`" in problem and "bf16-mixed" in problem


@pytest.mark.parametrize("value", ["transformer-engine", "transformer-engine-float16"])
def test_transformer_engine_is_refused_without_its_package_and_a_gpu(value: str) -> None:
    """FP8 precisions need NVIDIA's Transformer Engine and CUDA; without them the message says which is missing"""
    with pytest.raises(ConfigError, match=rf"^`trainer.precision={value}` runs FP8 layers .* a CUDA device .* not "
                                          r"available here"):
        check_precision(config(value))


def test_unknown_precision_lists_lightnings_values() -> None:
    """A value Lightning does not know is refused listing the accepted ones"""
    with pytest.raises(ConfigError, match=r"^`trainer.precision=bf17` is not a precision Lightning accepts\. Use one "
                                          r"of 16-true, 16-mixed, bf16-true"):
        check_precision(config("bf17"))


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.requires_plugins("rnn")
def test_bf16_mixed_trains_each_cell_from_the_cli(cell: str, tmp_path: Path) -> None:
    """`seqforge train trainer.precision=bf16-mixed` trains LSTM, GRU and RNN on CPU (LSTM used to fail in oneDNN,
    blamed on the plugin)"""
    run = tmp_path / "run"
    result = run_seqforge_in_process(
        "train",
        f"model/cell={cell}",
        "trainer.precision=bf16-mixed",
        "trainer.max_steps=2",
        *TINY,
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "bug in that component" not in result.stderr and (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["16-true", "transformer-engine", "bf17"])
@pytest.mark.requires_plugins("rnn")
def test_precision_that_cannot_train_is_refused_before_training(precision: str, tmp_path: Path) -> None:
    """A refused precision exits 1 with one paragraph naming trainer.precision, no traceback and no checkpoint"""
    run = tmp_path / "run"
    result = run_seqforge_in_process(
        "train", f"trainer.precision={precision}", "trainer.max_steps=2", *TINY, f"hydra.run.dir={run}", cwd=tmp_path
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"seqforge: error: `trainer.precision={precision}`" in result.stderr
    assert not (run / "checkpoints").exists()
