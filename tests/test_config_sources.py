"""One source of truth for config: the dataclass defaults, the YAML presets and the optimiser table agree."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest
import torch
from compose_helpers import compose_config
from omegaconf import OmegaConf

from seqforge.config import OPTIMISERS, OptimConfig, TrainerConfig, optim_config
from seqforge.module import make_optimizer
from seqforge.precision import ADAPTIVE_OPTIMISERS

TRAINER_PRESETS = sorted(
    p.name.removesuffix(".yaml")
    for p in resources.files("seqforge.conf").joinpath("trainer").iterdir()
    if p.name.endswith(".yaml")
)


def own_keys(preset: str) -> dict:
    """The keys a trainer preset file sets itself (its `defaults:` list aside)."""
    text = resources.files("seqforge.conf").joinpath("trainer", f"{preset}.yaml").read_text()
    return {k: v for k, v in OmegaConf.to_container(OmegaConf.create(text)).items() if k != "defaults"}


def test_the_trainer_presets_are_found() -> None:
    assert {"default", "epochs", "ddp"} <= set(TRAINER_PRESETS)


@pytest.mark.parametrize("preset", TRAINER_PRESETS)
@pytest.mark.requires_plugins("rnn")
def test_a_trainer_preset_changes_only_the_keys_it_sets_on_purpose(preset: str) -> None:
    """trainer=default restates TrainerConfig's defaults and must agree key for key; any other preset composes to
    the defaults plus exactly its own keys"""
    defaults = dataclasses.asdict(TrainerConfig())
    own = own_keys(preset)
    if preset == "default":
        disagree = {k: (v, defaults.get(k, "<no such key>")) for k, v in own.items() if defaults.get(k, object()) != v}
        assert not disagree, (
            f"seqforge/conf/trainer/default.yaml disagrees with TrainerConfig (yaml, dataclass): {disagree}"
        )
        expected = defaults
    else:
        expected = {**defaults, **own}
    composed = OmegaConf.to_container(compose_config([f"trainer={preset}"]).trainer)
    assert composed == expected


@pytest.mark.requires_plugins("rnn")
def test_the_default_run_is_the_trainer_dataclass_and_optim_adam() -> None:
    cfg = compose_config()
    assert OmegaConf.to_container(cfg.trainer) == dataclasses.asdict(TrainerConfig())
    assert (
        OmegaConf.to_container(cfg.optim)
        == dataclasses.asdict(OptimConfig())
        == dataclasses.asdict(optim_config("adam"))
    )


@pytest.mark.parametrize("name", list(OPTIMISERS))
@pytest.mark.requires_plugins("rnn")
def test_every_optimiser_in_the_table_is_selectable_and_builds_its_class(name: str) -> None:
    """optim=<name> composes the table's values for every row (rmsprop and adagrad included) and builds that class"""
    cfg = compose_config([f"optim={name}"])
    row = OPTIMISERS[name]
    assert cfg.optim.name == name and cfg.optim.lr == row.lr and cfg.optim.weight_decay == row.weight_decay
    optimizer = make_optimizer(cfg.optim, [torch.nn.Parameter(torch.zeros(2))])
    assert type(optimizer) is getattr(torch.optim, row.torch_class)
    group = optimizer.param_groups[0]
    assert group["lr"] == row.lr and group["weight_decay"] == row.weight_decay
    if row.momentum is not None:
        assert group["momentum"] == row.momentum
    assert (name in ADAPTIVE_OPTIMISERS) == row.adaptive


def test_an_optimiser_outside_the_table_is_refused_naming_the_choices() -> None:
    from seqforge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"optim.name='lion' is not known; expected one of: adam, adamw, sgd, "
                                          r"rmsprop, adagrad"):
        make_optimizer(OmegaConf.create({"name": "lion", "lr": 1.0, "weight_decay": 0.0, "momentum": 0.0}), [])
