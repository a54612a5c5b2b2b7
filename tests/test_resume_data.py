"""Resume keeps the checkpoint's vocabularies and refuses data files that changed since (unless told to accept)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, run_seqforge_in_process, write_corpus
from compose_helpers import compose_config

from seqforge.data.fingerprint import data_files, file_fingerprint
from seqforge.data.vocab import Vocabulary
from seqforge.errors import DataError
from seqforge.train import run_training


def _lm(corpus: Path, *extra: str):
    return compose_config(
        [
            f"data.path={corpus}",
            *TINY,
            "trainer.max_steps=4",
            "checkpoint.every_n_train_steps=2",
            "trainer.val_check_interval=10",
            "test_after_fit=false",
            "task.sample_length=0",
            "logger=csv",
            "seed=1",
            *extra,
        ]
    )


def _payload(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["seqforge"]


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, Path]:
    """A finished 4-step char-LM run on a small corpus: (corpus, run dir)."""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=800)
    run_training(_lm(corpus), tmp_path / "run")
    return corpus, tmp_path / "run"


@pytest.mark.requires_plugins("rnn")
def test_checkpoint_records_size_and_hash_of_each_data_file(trained: tuple[Path, Path]) -> None:
    """The payload holds data.path's size and BLAKE2b, as computed from the file"""
    corpus, run_dir = trained
    assert _payload(run_dir)["data_fingerprint"] == {"data.path": file_fingerprint(corpus)}
    assert file_fingerprint(corpus)["size"] == corpus.stat().st_size


@pytest.mark.requires_plugins("rnn")
def test_resume_after_the_corpus_was_edited_is_refused_naming_the_file(trained: tuple[Path, Path]) -> None:
    """An edited corpus: DataError naming the file and the override that accepts it; nothing is trained"""
    corpus, run_dir = trained
    corpus.write_text(corpus.read_text()[::-1], encoding="utf-8")  # same characters, same size: only the hash tells
    with pytest.raises(DataError, match=rf"'{corpus}' \(`data.path`\) changed.*accept_data_change=true"):
        run_training(_lm(corpus, "trainer.max_steps=6"), run_dir, ckpt_path=run_dir / "checkpoints" / "last.ckpt")
    assert _payload(run_dir)["config"]["trainer"]["max_steps"] == 4


@pytest.mark.requires_plugins("rnn")
def test_resume_on_another_data_path_is_refused_naming_both_files(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """data.path pointing elsewhere: refused (was a size-mismatch traceback), naming the old and the new file"""
    _, run_dir = trained
    other = write_corpus(tmp_path / "other.txt", chars=3000)
    with pytest.raises(DataError, match=r"`data.path` is now '.*other.txt'.*not the '.*corpus.txt'"):
        run_training(_lm(other, "trainer.max_steps=6"), run_dir, ckpt_path=run_dir / "checkpoints" / "last.ckpt")


@pytest.mark.requires_plugins("rnn")
def test_accepted_data_change_resumes_with_the_saved_vocabulary(trained: tuple[Path, Path]) -> None:
    """accept_data_change=true: training continues with the checkpoint's token ids, not a vocabulary rebuilt from the
    new text"""
    corpus, run_dir = trained
    saved = _payload(run_dir)
    edited = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n" + corpus.read_text()
    corpus.write_text(edited, encoding="utf-8")
    rebuilt = Vocabulary.build(edited[: int(len(edited) * 0.9)]).itos
    assert rebuilt != saved["data_state"]  # a rebuilt vocabulary would move 'z' (and every embedding row after it)

    run_training(
        _lm(corpus, "trainer.max_steps=6", "accept_data_change=true"),
        run_dir,
        ckpt_path=run_dir / "checkpoints" / "last.ckpt",
    )
    resumed = _payload(run_dir)
    assert resumed["data_state"] == saved["data_state"]
    # the next resume checks against the new file
    assert resumed["data_fingerprint"] == {"data.path": file_fingerprint(corpus)}
    assert resumed["config"]["accept_data_change"] is False  # accepted once, not for every later change


@pytest.mark.requires_plugins("rnn")
def test_a_folder_counts_as_the_files_the_module_reads(tmp_path: Path) -> None:
    """data.path=<folder>: the language model fingerprints its three split files, not unrelated files beside them"""
    from seqforge.plugin_manager import get_plugins
    from seqforge.train import build_run

    get_plugins()
    folder = tmp_path / "ptb"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        write_corpus(folder / f"ptb.{split}.txt", chars=400)
    (folder / "README").write_text("notes")
    module = build_run(_lm(folder))
    assert sorted(data_files(module.data)) == [
        "data.path/ptb.test.txt",
        "data.path/ptb.train.txt",
        "data.path/ptb.valid.txt",
    ]


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_cli_refuses_changed_data_with_one_message_and_no_traceback(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """`seqforge train resume=<run>` after the corpus changed: non-zero exit, the file and the fix named, no traceback"""
    corpus, run_dir = trained
    corpus.write_text(corpus.read_text() + "more text\n", encoding="utf-8")
    result = run_seqforge_in_process("train", f"resume={run_dir}", cwd=tmp_path)
    assert result.returncode != 0
    assert str(corpus) in result.stderr and "accept_data_change=true" in result.stderr
    assert "Traceback" not in result.stderr
