"""End to end through `seqforge.cli.main` (in-process): the demo preset, neighbours, analogies, export, evaluation, bad
input."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_seqforge_in_process as run

# one worker trains the module-scoped run once for every test here (README "Testing": --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("word2vec_cli_run")]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("w2v")
    # task.workers=1: one kernel thread is deterministic (Hogwild over two is not) and leaves the other core to the
    # other pytest-xdist worker
    result = run("train", "experiment=word2vec_demo", "data.demo_sentences=12000", "trainer.max_epochs=6",
                 "task.workers=1", "trainer.enable_progress_bar=false", f"hydra.run.dir={root / 'out'}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    (root / "stdout.txt").write_text(result.stdout)
    return root


def test_demo_trains_exports_and_reports(demo_run: Path) -> None:
    """The preset trains, prints analogy accuracy and neighbours, writes both vector formats and checkpoints"""
    out = demo_run / "out"
    stdout = (demo_run / "stdout.txt").read_text()
    assert "analogy_acc" in stdout and "king:" in stdout
    assert (
        (out / "vectors.txt").is_file()
        and (out / "vectors.bin").is_file()
        and (out / "checkpoints" / "last.ckpt").is_file()
    )
    assert "val/loss" in (out / "csv" / "metrics.csv").read_text()


def test_neighbors_and_analogy_queries(demo_run: Path) -> None:
    """king - man + woman is queen; the neighbours of a word come with cosine scores"""
    result = run(
        "neighbors", f"ckpt={demo_run / 'out'}", "positive=[king,woman]", "negative=[man]", "topn=3", cwd=demo_run
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[0] == "queen", result.stdout
    result = run("neighbors", f"vectors={demo_run / 'out' / 'vectors.bin'}", "word=paris", "topn=10", cwd=demo_run)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 11, result.stdout + result.stderr


def test_export_and_evaluate_vectors(demo_run: Path) -> None:
    """export-vectors writes a file evaluate-vectors reads; analogy sections and total; similarity Spearman"""
    vec = demo_run / "exported.txt"
    result = run("export-vectors", f"ckpt={demo_run / 'out'}", f"output={vec}", "format=text", cwd=demo_run)
    assert result.returncode == 0 and vec.is_file(), result.stderr
    pairs = demo_run / "ws.tsv"
    pairs.write_text(
        "# w1\tw2\tscore\nking\tqueen\t9\nking\tstreet\t1\nparis\tfrance\t8\nboy\tgovernment\t0.5\n", encoding="utf-8"
    )
    result = run(
        "evaluate-vectors", f"vectors={vec}", "analogy=demo", f"similarity={pairs}", "restrict_vocab=1000", cwd=demo_run
    )
    assert result.returncode == 0, result.stderr
    assert (
        "gender" in result.stdout
        and "capital" in result.stdout
        and "total" in result.stdout
        and "Spearman" in result.stdout
    )


def test_unknown_word_and_missing_arguments_are_one_paragraph_errors(demo_run: Path) -> None:
    result = run("neighbors", f"vectors={demo_run / 'out' / 'vectors.txt'}", "word=kingz", cwd=demo_run)
    assert (
        result.returncode == 1
        and "'kingz' is not in the vocabulary" in result.stderr
        and "Traceback" not in result.stderr
    )
    result = run("neighbors", "word=king", cwd=demo_run)
    assert result.returncode == 2 and "needs exactly one of ckpt=" in result.stderr

