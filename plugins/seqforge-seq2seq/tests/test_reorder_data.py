"""The reorder demo's data: transformation, determinism, format, config errors; the preset with every attention."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from seqforge.api import ConfigError
from seqforge_seq2seq.reorder import SEPARATOR, ReorderData, generate_pairs, reorder, segment_lengths

OPTIONS = {"min_len": 15, "max_len": 40, "symbols": 16, "max_segment": 6}


def test_each_segment_is_reversed_and_upper_cased() -> None:
    """Hand-checked: 'c a | d b e | f' -> 'A C | E B D | F'; without separators the whole sequence turns round"""
    assert reorder("c a | d b e | f") == "A C | E B D | F"
    assert reorder("p | a b") == "P | B A"
    assert reorder("a b c d") == "D C B A"


def test_the_same_seed_gives_the_same_pairs_and_another_seed_others() -> None:
    """Generation is a pure function of its arguments"""
    first = generate_pairs(50, seed=7, **OPTIONS)
    assert first == generate_pairs(50, seed=7, **OPTIONS)
    assert first != generate_pairs(50, seed=8, **OPTIONS)


def test_sources_have_the_configured_lengths_alphabet_and_segments() -> None:
    """15-40 tokens of a..p and '|', segments of 1-6 symbols, no empty segment, every target = reorder(source)"""
    pairs = generate_pairs(300, seed=3, **OPTIONS)
    lengths = set()
    for source, target in pairs:
        tokens = source.split()
        lengths.add(len(tokens))
        assert 15 <= len(tokens) <= 40
        assert set(tokens) <= set(string.ascii_lowercase[:16]) | {SEPARATOR}
        segments = [segment.split() for segment in source.split(SEPARATOR)]
        assert all(1 <= len(segment) <= 6 for segment in segments), source
        assert target == reorder(source) and len(target.split()) == len(tokens)
    assert min(lengths) <= 17 and max(lengths) >= 38  # the range is covered, not just its middle


def test_max_segment_zero_reverses_the_whole_sequence() -> None:
    """data.max_segment=0: no separators, the target is the reversed, upper-cased source"""
    for source, target in generate_pairs(20, seed=1, **{**OPTIONS, "max_segment": 0}):
        assert SEPARATOR not in source
        assert target.split() == [symbol.upper() for symbol in reversed(source.split())]


@pytest.mark.parametrize("max_segment", [2, 3, 6])
def test_segment_lengths_fill_every_length_exactly(max_segment: int) -> None:
    """Segments plus one separator between each fill the requested length, for every length and many draws"""
    rng = random.Random(0)
    for length in range(1, 45):
        for _ in range(20):
            sizes = segment_lengths(length, max_segment, rng)
            assert sum(sizes) + len(sizes) - 1 == length
            assert all(1 <= size <= max_segment for size in sizes)


def test_data_module_splits_are_held_out_and_word_tokenized() -> None:
    """The requested split sizes; valid/test sources never occur in training; vocabulary = symbols + '|' + specials"""
    data = ReorderData(n_train=200, n_valid=20, n_test=30, symbols=5, min_len=3, max_len=6).prepare()
    train = {source for source, _ in data.pairs["train"]}
    assert len(data.pairs["train"]) == 200
    assert 0 < len(data.pairs["valid"]) <= 20 and 0 < len(data.pairs["test"]) <= 30
    assert not train & {source for source, _ in data.pairs["valid"] + data.pairs["test"]}
    assert len(data.source_codec) == 4 + 5 + 1 and len(data.target_codec) == 4 + 5 + 1
    _source, target = data.pairs["test"][0]
    assert data.target_codec.decode(data.target_codec.encode(target)) == target


@pytest.mark.parametrize(
    "options, key",
    [
        ({"max_segment": 1}, "data.max_segment"),
        ({"symbols": 27}, "data.symbols"),
        ({"min_len": 20, "max_len": 10}, "data.min_len"),
        ({"max_len": 60, "max_source_len": 50}, "data.max_source_len"),
    ],
)
def test_sizes_the_generator_cannot_honour_are_config_errors(options: dict, key: str) -> None:
    """Each impossible setting is refused naming its key"""
    with pytest.raises(ConfigError, match=key):
        ReorderData(n_train=10, n_valid=2, n_test=2, **options).prepare()


ATTENTIONS = [
    ["model/attention=none"], ["model/attention=luong_dot"], ["model/attention=luong_general"],
    ["model/attention=luong_concat"], ["model/attention=bahdanau"], ["model/attention=local_m"],
    ["model/attention=local_p"], ["model/attention=hard", "model.attention.estimator=gumbel"],
    ["model/attention=hard", "model.attention.estimator=reinforce"],
]


@pytest.mark.slow
@pytest.mark.parametrize("attention", ATTENTIONS, ids=lambda a: "-".join(o.split("=")[1] for o in a))
def test_the_preset_trains_and_tests_with_every_attention(tmp_path: Path, attention: list[str]) -> None:
    """experiment=reorder_demo runs unchanged with each attention the bench compares (luong_dot: query = memory size)"""
    from compose_helpers import compose_config

    from seqforge.train import build_run, make_trainer

    cfg = compose_config([
        "experiment=reorder_demo", *attention, "data.n_train=64", "data.n_valid=8", "data.n_test=8",
        "data.batch_size=16", "trainer.max_steps=2", "trainer.val_check_interval=2",
        "trainer.enable_progress_bar=false",
        "logger=none", "task.heatmaps=0", "task.show_examples=0", "trainer.enable_model_summary=false",
    ])
    module = build_run(cfg)
    trainer = make_trainer(cfg, tmp_path, task=module.task)
    trainer.fit(module, datamodule=module.data)
    trainer.test(module, datamodule=module.data, verbose=False)
    metrics = module.last_metrics["test"]
    assert 0.0 <= metrics["exact_match"] <= 1.0 and 0.0 <= metrics["token_acc"] <= 1.0 and "bleu" in metrics
