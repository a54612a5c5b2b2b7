"""Local and hard attention end to end through `seqforge.cli.main` (in-process): tiny translate_demo runs, beam
decoding, heatmaps, contracts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_seqforge_in_process

pytestmark = pytest.mark.slow

TINY = [
    "experiment=translate_demo", "data.n_train=200", "data.n_valid=20", "data.n_test=20", "data.batch_size=32",
    "model.hidden_size=16", "model.embedding_dim=8", "trainer.max_steps=3", "trainer.val_check_interval=3",
    "trainer.enable_progress_bar=false", "task.heatmaps=1", "task.show_examples=1",
]


@pytest.mark.parametrize(
    "overrides",
    [
        [
            "model/attention=local_p",
            "model.attention.score=concat",
            "model.attention.window=3",
            "task.decode.strategy=beam",
            "task.decode.beam_size=3",
        ],
        [
            "model/attention=local_m",
            "model.attention.score=bahdanau",
            "model.attention.window=2",
            "model.decoder.attention_style=bahdanau",
        ],
        [
            "model/attention=hard",
            "model.attention.estimator=reinforce",
            "task.decode.strategy=beam",
            "task.decode.beam_size=3",
        ],
        [
            "model/attention=hard",
            "model.attention.estimator=gumbel",
            "model.attention.temperature=0.5",
            "model.attention.inference=expected",
        ],
    ],
    ids=["local_p-concat-beam", "local_m-bahdanau", "hard-reinforce-beam", "hard-gumbel-expected"],
)
def test_translate_demo_trains_evaluates_and_plots_with_the_attention(tmp_path: Path, overrides: list[str]) -> None:
    """`seqforge train experiment=translate_demo model/attention=...` runs 3 steps, reports BLEU and writes a heatmap"""
    result = run_seqforge_in_process("train", *TINY, *overrides, f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bleu" in result.stdout and "Examples (test split)" in result.stdout
    assert [p.name for p in (tmp_path / "out" / "attention").glob("*.png")] == ["step000003_0.png"]


def test_a_bad_estimator_is_refused_before_training_naming_the_key(tmp_path: Path) -> None:
    """model.attention.estimator=vimco: a one-paragraph config error naming the key, no traceback"""
    result = run_seqforge_in_process(
        "train",
        *TINY,
        "model/attention=hard",
        "model.attention.estimator=vimco",
        f"hydra.run.dir={tmp_path / 'x'}",
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "model.attention.estimator" in result.stderr and "gumbel, reinforce" in result.stderr


def test_plugins_check_attention_passes_for_every_attention(tmp_path: Path) -> None:
    """`seqforge plugins check attention`: every registered attention (local_m, local_p, hard included) keeps every
    contract"""
    result = run_seqforge_in_process("plugins", "check", "attention", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    for name in ("local_m", "local_p", "hard"):
        assert f"attention '{name}'" in result.stdout
    assert ", 0 broken." in result.stdout
