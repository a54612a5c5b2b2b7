"""Bad input gets one clear paragraph, a non-zero exit, and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import run_seqforge, run_seqforge_in_process


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    text = result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in text, text


@pytest.mark.requires_plugins("rnn")
def test_unknown_cell_lists_available_and_suggests_the_closest(tmp_path: Path) -> None:
    """`model/cell=lsmt` names the key, lists the cells and suggests lstm"""
    result = run_seqforge("train", "model/cell=lsmt", cwd=tmp_path)
    # other installed cells may sit between
    assert_clean_failure(result, "model/cell", "Available: gru, ", "lstm, rnn.", "Did you mean `model/cell=lstm`?")


@pytest.mark.requires_plugins("rnn")
def test_unknown_component_in_a_sweep_is_caught_too(tmp_path: Path) -> None:
    """Each value of a sweep over components is checked"""
    result = run_seqforge("train", "-m", "model/cell=lstm,grux", cwd=tmp_path)
    assert_clean_failure(result, "Unknown cell 'grux'", "Did you mean `model/cell=gru`?")


@pytest.mark.requires_plugins("rnn")
def test_wrong_type_override_names_the_key(tmp_path: Path) -> None:
    """`model.hidden_size=abc` fails at composition, naming the key and the expected type"""
    result = run_seqforge("train", "model.hidden_size=abc", cwd=tmp_path)
    assert_clean_failure(result, "model.hidden_size", "Integer")


@pytest.mark.requires_plugins("rnn")
def test_wrong_type_in_a_plugin_config_names_the_key(tmp_path: Path) -> None:
    """Plugin config fields are typed too (`model.cell.forget_bias=x`)"""
    result = run_seqforge("train", "model.cell.forget_bias=x", cwd=tmp_path)
    assert_clean_failure(result, "model.cell.forget_bias", "Float")


@pytest.mark.requires_plugins("rnn")
def test_non_utf8_data_names_file_and_byte_offset(tmp_path: Path) -> None:
    """A latin-1 file is refused with its path and the offset of the bad byte"""
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"hello world\ncaf\xe9 au lait\n")
    result = run_seqforge("train", f"data.path={bad}", cwd=tmp_path)
    assert_clean_failure(result, str(bad), "byte offset 15", "line 2", "data.path")


@pytest.mark.parametrize("content, expected", [(None, "no such file"), (b"", "is empty"), (b"  \n\n", "is empty")])
def test_missing_or_empty_data_file(tmp_path: Path, content, expected) -> None:
    """Missing, empty and whitespace-only files each get their own message naming data.path"""
    from seqforge.data.text_io import read_text
    from seqforge.errors import DataError

    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=expected) as info:
        read_text(path)
    assert "data.path" in str(info.value) and str(path) in str(info.value)


def test_folder_without_split_files_is_explained(tmp_path: Path) -> None:
    """A data folder must hold train/valid/test files; the message says which is missing"""
    from seqforge.data.configs import TextDataConfig
    from seqforge.data.lm import load_split_texts
    from seqforge.errors import DataError

    (tmp_path / "ptb.train.txt").write_text("a b c\n")
    with pytest.raises(DataError, match="no valid file"):
        load_split_texts(TextDataConfig(path=str(tmp_path)))


def test_missing_checkpoint(tmp_path: Path) -> None:
    """A checkpoint path that does not exist"""
    result = run_seqforge_in_process("evaluate", f"ckpt={tmp_path / 'nope.ckpt'}", cwd=tmp_path)
    assert_clean_failure(result, "nope.ckpt", "no such file")


def test_torch_file_that_is_not_a_seqforge_checkpoint(tmp_path: Path) -> None:
    """A PyTorch file without seqforge's payload is named as such"""
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {}}, path)
    result = run_seqforge_in_process("generate", f"ckpt={path}", cwd=tmp_path)
    assert_clean_failure(result, "not a seqforge checkpoint")


def test_garbage_checkpoint(tmp_path: Path) -> None:
    """Random bytes are refused (weights_only loading, no code execution)"""
    path = tmp_path / "junk.ckpt"
    path.write_bytes(bytes(range(256)) * 8)
    result = run_seqforge_in_process("evaluate", f"ckpt={path}", cwd=tmp_path)
    assert_clean_failure(result, "not a readable seqforge checkpoint")


def test_generate_argument_of_the_wrong_type(tmp_path: Path) -> None:
    """`max_new_tokens=abc` names the argument"""
    result = run_seqforge_in_process("generate", "ckpt=x", "max_new_tokens=abc", cwd=tmp_path)
    assert_clean_failure(result, "max_new_tokens", "Integer")


def test_unknown_command_suggests(tmp_path: Path) -> None:
    """A typo in the command is answered with the closest one"""
    result = run_seqforge_in_process("trian", cwd=tmp_path)
    assert_clean_failure(result, "Did you mean 'train'?")


def test_gzip_text_is_read_and_a_broken_gzip_is_named(tmp_path: Path) -> None:
    """`.gz` data files are decompressed; a corrupt one is reported with its path"""
    import gzip

    from seqforge.data.text_io import read_text
    from seqforge.errors import DataError

    good = tmp_path / "corpus.txt.gz"
    good.write_bytes(gzip.compress(b"hello\nworld\n"))
    assert read_text(good) == "hello\nworld\n"
    bad = tmp_path / "broken.txt.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"broken\.txt\.gz"):
        read_text(bad)
