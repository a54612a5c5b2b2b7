"""model.init_std / model.init_range: whole-model initialisation when a run is built (seqforge.initialisation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from compose_helpers import compose_config

from seqforge.errors import ConfigError
from seqforge.train import build_run


def _built(tmp_path: Path, *overrides: str):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat and the dog sat on the log\n" * 40, encoding="utf-8")
    cfg = compose_config([f"data.path={corpus}", "data.tokenizer=word", "model/cell=gru", "model.embedding_dim=64",
                          "model.hidden_size=96", *overrides])
    return build_run(cfg).model


def test_init_std_draws_every_weight_from_a_normal_and_zeroes_every_bias(tmp_path: Path) -> None:
    """model.init_std=0.01: weights (embedding, cell, output) have std ~0.01 and mean ~0; all biases are exactly 0"""
    model = _built(tmp_path, "model.init_std=0.01")
    weights = {name: p for name, p in model.named_parameters() if not name.rsplit(".", 1)[-1].startswith("bias")}
    biases = {name: p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1].startswith("bias")}
    assert biases and len(weights) >= 3
    for name, bias in biases.items():
        assert torch.count_nonzero(bias) == 0, name
    values = torch.cat([p.detach().flatten() for p in weights.values()])
    assert values.numel() > 40_000
    assert abs(values.std().item() - 0.01) < 0.0005 and abs(values.mean().item()) < 0.0005
    for name, weight in weights.items():  # each weight on its own, not only the pooled values
        assert 0.007 < weight.detach().std().item() < 0.013, name


def test_without_init_keys_each_module_keeps_its_own_init(tmp_path: Path) -> None:
    """Neither key: some bias is non-zero and the weights are not N(0, 0.01) (the default is left alone)"""
    model = _built(tmp_path)
    biases = [p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1].startswith("bias")]
    assert any(torch.count_nonzero(b) > 0 for b in biases)
    assert max(p.detach().std().item() for p in model.parameters() if p.dim() == 2) > 0.05


def test_init_range_still_draws_every_parameter_uniformly(tmp_path: Path) -> None:
    """model.init_range=0.05: biases included, every value in [-0.05, 0.05], spread over the interval"""
    model = _built(tmp_path, "model.init_range=0.05")
    values = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()
    assert values.min() >= -0.05 and values.max() <= 0.05
    np.testing.assert_allclose(values.std(), 0.05 / np.sqrt(3), rtol=0.05)


@pytest.mark.parametrize(
    "overrides, named",
    [
        (("model.init_std=0.01", "model.init_range=0.1"), ("model.init_range", "model.init_std")),
        (("model.init_std=0",), ("model.init_std",)),
        (("model.init_std=-0.5",), ("model.init_std",)),
        (("model.init_range=-0.1",), ("model.init_range",)),
    ],
)
def test_bad_init_values_are_refused_naming_the_key(tmp_path: Path, overrides: tuple[str, ...], named) -> None:
    """Both keys at once, a non-positive std or a negative range: a ConfigError that names the key(s)"""
    with pytest.raises(ConfigError) as error:
        _built(tmp_path, *overrides)
    for key in named:
        assert key in str(error.value)
