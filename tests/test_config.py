"""Composing run configs: every registered component, the shipped experiments, typed overrides."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from compose_helpers import compose_config

from seqforge.plugin_manager import get_registry

#: Small enough that building and one forward pass take milliseconds.
TINY = ["model.hidden_size=8", "model.embedding_dim=8", "data.seq_len=6", "data.batch_size=2", "data.eval_batch_size=2"]
WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "my",
    "dog",
    "ran",
    "to",
    "the",
    "big",
    "red",
    "barn",
    "and",
    "back",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-line text file (enough lines for the default 0.9/0.05/0.05 split)."""
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("".join(" ".join(WORDS[i % 7 : i % 7 + 6]) + ".\n" for i in range(60)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ptb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like PTB (ptb.train.txt, ptb.valid.txt, ptb.test.txt), a few lines each."""
    folder = tmp_path_factory.mktemp("ptb")
    for split, lines in (("train", 30), ("valid", 5), ("test", 5)):
        text = "".join(" ".join(WORDS[i % 9 : i % 9 + 7]) + "\n" for i in range(lines))
        (folder / f"ptb.{split}.txt").write_text(text, encoding="utf-8")
    return folder


def forward_once(cfg: Any) -> Any:
    """Build the run for ``cfg`` and push one training batch through the model; returns the built module."""
    import torch

    from seqforge.train import build_run

    module = build_run(cfg)
    batch = next(iter(module.data.train_dataloader()))
    logits, _ = module.model(batch.inputs)  # (B, T, V)
    assert logits.shape == (*batch.inputs.shape, len(module.data.vocab))
    assert torch.isfinite(logits).all()
    return module


# -- every registered component -------------------------------------------------------------
@pytest.mark.parametrize("cell", get_registry().names("cell"))
def test_every_registered_cell_composes_builds_and_runs_forward(cell: str, corpus: Path) -> None:
    """`model/cell=<name>` composes for each installed cell, and the model it builds runs a forward pass"""
    cfg = compose_config([f"model/cell={cell}", f"data.path={corpus}", *TINY])
    assert cfg.model.cell._target_ == get_registry().get("cell", cell).target
    forward_once(cfg)


@pytest.mark.requires_plugins("rnn")
def test_installed_plugins_provide_cells() -> None:
    """The parametrisation above is not empty: rnn, lstm and gru are installed"""
    assert {"rnn", "lstm", "gru"} <= set(get_registry().names("cell"))


def test_no_packaged_yaml_shadows_a_registered_component() -> None:
    """Hydra's search path is first-match-wins: no shipped `<group>/<name>.yaml` may hide a registered config"""
    shadowed = [
        f"{package}:{component.group}/{component.name}.yaml"
        for package in ("seqforge.conf",)
        for component in get_registry()
        if files(package).joinpath(*component.group.split("/"), f"{component.name}.yaml").is_file()
    ]
    assert shadowed == []


# -- shipped experiments ------------------------------------------------------------------
@pytest.mark.requires_plugins("rnn")
def test_char_lm_experiment_composes_the_default_job(corpus: Path) -> None:
    """experiment=char_lm is a character-level LSTM language model on text"""
    cfg = compose_config(["experiment=char_lm", f"data.path={corpus}", *TINY])
    assert cfg.model.cell._target_ == get_registry().get("cell", "lstm").target
    assert cfg.task._target_ == get_registry().get("task", "lm").target
    assert cfg.data._target_ == get_registry().get("data", "text").target
    assert cfg.data.tokenizer == "char" and cfg.optim.name == "adam"
    forward_once(cfg)


@pytest.mark.requires_plugins("rnn")
def test_ptb_small_experiment_matches_zaremba_small(ptb_folder: Path) -> None:
    """experiment=ptb_small: 2x200 LSTM, word tokens, SGD lr 1, clip 5, 13 epochs, init 0.1, and it builds on PTB-style
    files"""
    cfg = compose_config(["experiment=ptb_small", f"data.path={ptb_folder}"])
    assert (cfg.model.num_layers, cfg.model.hidden_size, cfg.model.embedding_dim) == (2, 200, 200)
    assert (cfg.model.dropout, cfg.model.init_range) == (0.0, 0.1)
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.scheduler.name) == ("sgd", 1.0, "MultiStepLR")
    assert (cfg.trainer.gradient_clip_val, cfg.trainer.max_epochs, cfg.trainer.max_steps) == (5.0, 13, -1)
    assert (cfg.data.tokenizer, cfg.data.seq_len, cfg.data.batch_size) == ("word", 20, 20)
    module = forward_once(compose_config(["experiment=ptb_small", f"data.path={ptb_folder}", "data.batch_size=2"]))
    assert module.data.vocab.encode(["cat", "barn"]) != [module.data.vocab.unk_id] * 2  # word tokens, not characters


@pytest.mark.requires_plugins("rnn")
def test_ptb_small_experiment_composes_with_another_cell(ptb_folder: Path) -> None:
    """experiment=ptb_small model/cell=gru swaps the cell and keeps the rest of the recipe"""
    cfg = compose_config(["experiment=ptb_small", "model/cell=gru", f"data.path={ptb_folder}"])
    assert cfg.model.cell._target_ == get_registry().get("cell", "gru").target


# -- typed overrides ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("model.hidden_size=abc", "model.hidden_size"),
        ("model.cell.forget_bias=abc", "model.cell.forget_bias"),
        ("data.batch_size=big", "data.batch_size"),
    ],
)
@pytest.mark.requires_plugins("rnn")
def test_wrong_typed_override_fails_at_composition_naming_the_key(override: str, key: str) -> None:
    """A value of the wrong type is rejected while composing, and the error names the key"""
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match=f"Error merging override {override}") as excinfo:
        compose_config([override])
    assert f"full_key: {key}" in str(excinfo.value.__cause__)


@pytest.mark.requires_plugins("rnn")
def test_unknown_component_override_lists_options_and_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    """`seqforge train model/cell=lsmt` stops before Hydra with the available cells and the closest one"""
    from seqforge.cli import _check_component_overrides

    with pytest.raises(SystemExit):
        _check_component_overrides(["model/cell=lsmt", "model.hidden_size=8"])
    assert "Did you mean `model/cell=lstm`?" in capsys.readouterr().err



# -- sequence to sequence: every cell x every attention ------------------------------------------
TINY_DATES = [
    "task=translation",
    "data=dates",
    "data.n_train=40",
    "data.n_valid=8",
    "data.n_test=8",
    "data.batch_size=4",
    "model.hidden_size=8",
    "model.embedding_dim=8",
]


@pytest.mark.parametrize("attention", get_registry().names("attention"))
@pytest.mark.parametrize("cell", get_registry().names("cell"))
def test_every_cell_and_attention_compose_into_a_working_seq2seq(cell: str, attention: str) -> None:
    """`task=translation model/cell=<c> model/attention=<a>` builds; logits (B, T, V) and attention (B, T, S) come out"""
    import torch

    from seqforge.train import build_run

    bidirectional = "false" if attention == "luong_dot" else "true"  # dot needs equal encoder/decoder sizes
    cfg = compose_config(
        [*TINY_DATES, f"model/cell={cell}", f"model/attention={attention}", f"model.bidirectional={bidirectional}"]
    )
    module = build_run(cfg)
    batch = next(iter(module.data.train_dataloader()))
    logits, weights = module.model(batch.src, batch.src_lengths, batch.tgt_in)
    assert logits.shape == (*batch.tgt_in.shape, len(module.data.target_codec))
    assert torch.isfinite(logits).all()
    if attention == "none":
        assert weights is None
    else:
        assert weights.shape == (*batch.tgt_in.shape, batch.src.shape[1])
        if getattr(module.model.decoder.attention, "weights_sum_to_one", True):
            torch.testing.assert_close(weights.sum(-1), torch.ones(batch.tgt_in.shape))
        else:  # local-p as in the paper: the window's softmax damped by a Gaussian, so each row sums to at most 1
            sums = weights.sum(-1)
            assert (weights >= 0).all() and (sums > 0).all() and (sums <= 1 + 1e-6).all()
