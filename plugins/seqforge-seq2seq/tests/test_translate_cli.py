"""Translation end to end through `seqforge.cli.main` (in-process; one test reads stdin through the real console
script): train, heatmaps, evaluate, translate."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_seqforge_in_process

# one worker trains the module-scoped run once for every test here (README "Testing": --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("translate_cli_run")]

TINY_DATES = [
    "experiment=translate_demo", "data.n_train=600", "data.n_valid=40", "data.n_test=40", "data.batch_size=32",
    "model.hidden_size=16", "model.embedding_dim=8", "trainer.max_steps=12", "trainer.val_check_interval=6",
    "trainer.enable_progress_bar=false", "task.heatmaps=2", "task.show_examples=2",
]


@pytest.fixture(scope="module")
def translation_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("translate")
    result = run_seqforge_in_process("train", *TINY_DATES, f"hydra.run.dir={root / 'out'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "stdout.txt").write_text(result.stdout)
    return root


def test_training_reports_bleu_chrf_exact_match_and_prints_examples(translation_run: Path) -> None:
    """The metrics table has BLEU, chrF and exact match; a few test examples are printed"""
    stdout = (translation_run / "stdout.txt").read_text()
    for name in ("bleu", "chrf", "exact_match", "token_acc"):
        assert name in stdout
    assert "Examples (test split)" in stdout and "->" in stdout


def test_attention_heatmaps_are_written_each_validation(translation_run: Path) -> None:
    """Two validations x two examples = four PNG files"""
    pngs = sorted((translation_run / "out" / "attention").glob("*.png"))
    assert [p.name for p in pngs] == ["step000006_0.png", "step000006_1.png", "step000012_0.png", "step000012_1.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_translate_files_with_beam_search_and_n_best(translation_run: Path) -> None:
    """`translate input=... output=... decode=beam decode.n_best=3` writes 3 Moses-style lines per input"""
    source = translation_run / "in.txt"
    source.write_text("22. November 2026\nnov 22, 2026\n")
    target = translation_run / "out.txt"
    result = run_seqforge_in_process(
        "translate", f"ckpt={translation_run / 'out'}", f"input={source}", f"output={target}",
        "decode=beam", "decode.beam_size=4", "decode.n_best=3", cwd=translation_run,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = target.read_text().splitlines()
    assert len(lines) == 6
    assert [line.split(" ||| ")[0] for line in lines] == ["0", "0", "0", "1", "1", "1"]
    scores = [float(line.split(" ||| ")[2]) for line in lines[:3]]
    assert scores == sorted(scores, reverse=True)
    assert "translated 2 line(s)" in result.stderr


def test_translate_reads_stdin_and_counts_unknown_characters(translation_run: Path) -> None:
    """stdin to stdout, one line per input; characters never seen in training are counted as <unk>"""
    import subprocess

    from cli_helpers import SEQFORGE

    result = subprocess.run(
        [SEQFORGE, "translate", f"ckpt={translation_run / 'out'}"], input="22/11/26\n☃☃ 2026\n",
        capture_output=True, text=True, cwd=translation_run, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.splitlines()) == 2
    assert "2 unknown source token(s)" in result.stderr


def test_evaluate_reports_bleu_on_the_test_split(translation_run: Path) -> None:
    """`evaluate split=test` prints BLEU for the checkpoint"""
    result = run_seqforge_in_process("evaluate", f"ckpt={translation_run / 'out'}", "split=test", cwd=translation_run)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bleu" in result.stdout and "test" in result.stdout


def test_dot_attention_that_cannot_combine_sizes_fails_at_config_time(tmp_path: Path) -> None:
    """luong_dot with a bidirectional encoder (2H) and decoder H is refused before training, naming the keys"""
    result = run_seqforge_in_process(
        "train", *TINY_DATES, "model/attention=luong_dot", f"hydra.run.dir={tmp_path / 'x'}", cwd=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "model.attention" in result.stderr and "model.hidden_size" in result.stderr


def test_a_checkpoint_written_while_translation_was_core_still_translates(translation_run: Path) -> None:
    """Stored targets seqforge.tasks.translation / seqforge.data.dates (before the split) load via formerly= and
    translate the same"""
    import torch

    ckpt = translation_run / "out" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    config = checkpoint["seqforge"]["config"]
    assert config["task"]["_target_"] == "seqforge_seq2seq.translation.TranslationTask"
    config["task"]["_target_"] = "seqforge.tasks.translation.TranslationTask"
    config["data"]["_target_"] = "seqforge.data.dates.DatesData"
    old = translation_run / "old.ckpt"
    torch.save(checkpoint, old)
    new_result = run_seqforge_in_process("translate", f"ckpt={ckpt}", cwd=translation_run, stdin="22. November 2026\n")
    old_result = run_seqforge_in_process("translate", f"ckpt={old}", cwd=translation_run, stdin="22. November 2026\n")
    assert old_result.returncode == 0, old_result.stderr[-3000:]
    assert old_result.stdout == new_result.stdout and old_result.stdout.strip()
