"""Data-parallel training from the console script (CPU, gloo)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, run_seqforge, write_corpus

pytestmark = pytest.mark.slow


def _state(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.requires_plugins("rnn")
def test_ddp_on_two_cpu_processes_equals_one_process_with_the_combined_batch(tmp_path: Path) -> None:
    """`seqforge train trainer=ddp devices=2` (batch 4 per rank) ends with the parameters of 1 process at batch 8"""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=4000)
    common = [
        f"data.path={corpus}",
        "trainer.max_steps=8",
        "trainer.val_check_interval=4",
        "task.sample_length=0",
        "seed=3",
        *TINY,
    ]
    single = run_seqforge("train", *common, "data.batch_size=8", f"hydra.run.dir={tmp_path / 'single'}", cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = run_seqforge(
        "train", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", *common, "data.batch_size=4",
        f"hydra.run.dir={tmp_path / 'ddp'}", cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert not (tmp_path / "outputs").exists()  # the child rank wrote into the parent's run dir, not a new one
    expected, actual = _state(tmp_path / "single"), _state(tmp_path / "ddp")
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-4, atol=1e-5, msg=name)
