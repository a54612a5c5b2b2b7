"""Parallel data: reading, bad input, codecs, the dates generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqforge.api import UNK_ID, ConfigError, DataError
from seqforge_seq2seq.codecs import codec_from_state, fit_codec
from seqforge_seq2seq.dates import generate_pairs
from seqforge_seq2seq.parallel import ParallelData


def write_pair_files(tmp_path: Path, sources: list[str], targets: list[str]) -> tuple[Path, Path]:
    src, tgt = tmp_path / "train.src", tmp_path / "train.tgt"
    src.write_text("\n".join(sources) + "\n")
    tgt.write_text("\n".join(targets) + "\n")
    return src, tgt


def sentences(n: int) -> tuple[list[str], list[str]]:
    return [f"a b c {i % 7}" for i in range(n)], [f"x y {i % 5}" for i in range(n)]


def test_line_count_mismatch_names_both_files_and_counts(tmp_path: Path) -> None:
    """10 source lines vs 9 target lines: both paths and both counts in one message"""
    src, tgt = write_pair_files(tmp_path, *sentences(10))
    tgt.write_text("\n".join(sentences(9)[1]) + "\n")
    with pytest.raises(DataError) as info:
        ParallelData(source=str(src), target=str(tgt)).prepare()
    message = str(info.value)
    assert str(src) in message and str(tgt) in message and "10 lines" in message and "9" in message


def test_empty_pairs_are_skipped_and_counted(tmp_path: Path, capsys) -> None:
    """Pairs with an empty side are dropped and the count is reported"""
    sources, targets = sentences(40)
    sources[3], targets[7] = "", "   "
    src, tgt = write_pair_files(tmp_path, sources, targets)
    data = ParallelData(source=str(src), target=str(tgt)).prepare()
    assert sum(len(p) for p in data.pairs.values()) == 38
    assert data.report["empty_skipped"] == 2
    assert "skipped 2 empty" in capsys.readouterr().out


def test_tsv_with_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    """A TSV line without exactly one tab is refused with its line number"""
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("a\tb\nc\td\ne f\n")
    with pytest.raises(DataError, match=r"line 3 .*2 tab-separated"):
        ParallelData(tsv=str(tsv)).prepare()


def test_too_long_pairs_are_truncated_and_counted_or_refused(tmp_path: Path, capsys) -> None:
    """too_long=truncate cuts and counts; too_long=error stops naming the limits"""
    sources, targets = sentences(40)
    sources[0] = " ".join(["w"] * 30)
    src, tgt = write_pair_files(tmp_path, sources, targets)
    data = ParallelData(source=str(src), target=str(tgt), max_source_len=10).prepare()
    assert data.report["train_truncated"] == 1
    assert max(len(s) for _, s, _ in data.encoded["train"]) == 10
    assert "truncated 1 train pair" in capsys.readouterr().out
    with pytest.raises(DataError, match=r"data\.max_source_len=10"):
        ParallelData(source=str(src), target=str(tgt), max_source_len=10, too_long="error").prepare()


def test_unknown_tokens_at_inference_map_to_unk_and_are_counted(tmp_path: Path) -> None:
    """Words never seen in training become <unk>, and the caller learns how many"""
    src, tgt = write_pair_files(tmp_path, *sentences(40))
    data = ParallelData(source=str(src), target=str(tgt)).prepare()
    ids, unknown = data.encode_source(["a b zebra giraffe"])
    assert unknown == 2 and ids[0].count(UNK_ID) == 2


def test_only_one_of_source_and_target_is_a_config_error(tmp_path: Path) -> None:
    """data.source without data.target is explained"""
    src, _ = write_pair_files(tmp_path, *sentences(5))
    with pytest.raises(ConfigError, match=r"data\.target"):
        ParallelData(source=str(src)).prepare()


def test_shared_vocabulary_is_one_codec(tmp_path: Path) -> None:
    """shared_vocab=true gives both sides the same ids"""
    src, tgt = write_pair_files(tmp_path, *sentences(40))
    data = ParallelData(source=str(src), target=str(tgt), shared_vocab=True).prepare()
    assert data.source_codec is data.target_codec
    assert data.source_codec.encode("x a") != [UNK_ID, UNK_ID]


@pytest.mark.parametrize("kind", ["char", "word", "subword"])
def test_codecs_round_trip_through_their_saved_state(kind: str) -> None:
    """encode -> decode is the identity on training text, also after saving and restoring the codec"""
    texts = ["the cat sat on the mat", "a dog sat on a log", "the dog and the cat"] * 5
    codec = fit_codec(kind, texts, lowercase=False, min_freq=1, max_vocab=None, subword_vocab_size=60)
    restored = codec_from_state(codec.state())
    for text in texts[:3]:
        assert restored.decode(codec.encode(text)) == text
        assert restored.encode(text) == codec.encode(text)


def test_dates_are_real_locale_strings_mapped_to_iso() -> None:
    """Generated pairs are reproducible, use Babel's month names, and their targets are ISO dates"""
    first = generate_pairs(200, seed=5, first_year=1950, last_year=2049, locales=["de_DE", "fr_FR", "en_GB"])
    assert first == generate_pairs(200, seed=5, first_year=1950, last_year=2049, locales=["de_DE", "fr_FR", "en_GB"])
    import datetime

    for written, iso in first:
        date = datetime.date.fromisoformat(iso)
        assert 1950 <= date.year <= 2049
        assert str(date.day) in written
    assert any("novembre" in w.lower() or "november" in w.lower() for w, _ in first)


def test_unknown_locale_is_a_config_error() -> None:
    """A locale Babel does not know is named"""
    with pytest.raises(ConfigError, match="xx_YY"):
        generate_pairs(3, seed=0, first_year=1950, last_year=2049, locales=["xx_YY"])
