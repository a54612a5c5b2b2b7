"""seqforge.builders.instantiate: config fields through Hydra, the core's wiring straight to the factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from omegaconf import OmegaConf

from seqforge.builders import instantiate
from seqforge.errors import ConfigError


@dataclass
class Built:
    size: int = 1
    state: Any = None
    tokens: list = field(default_factory=list)


def make_built(size: int = 1, state: Any = None) -> Built:
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    return Built(size=size, state=state)


def node(**fields: Any) -> Any:
    return OmegaConf.create({"_target_": f"{__name__}.make_built", **fields})


def test_wiring_strings_that_omegaconf_would_interpret_arrive_unchanged() -> None:
    """A saved vocabulary holding '???' (MISSING) or '${x}' (an interpolation) reaches the factory as text"""
    state = {"words": ["???", "${x}", "${oc.env:HOME}", "plain"]}
    built = instantiate(node(size=2), "data", state=state)
    assert built.size == 2
    assert built.state == state


def test_a_factory_that_rejects_its_wiring_is_named_by_key() -> None:
    """A ValueError from the factory becomes one paragraph naming the config key and the target"""
    with pytest.raises(ConfigError, match=r"`data` \(.*make_built\) rejected its configuration: size must be >= 0"):
        instantiate(node(), "data", size=-1)


def test_an_unknown_target_is_named_by_key() -> None:
    """A target that cannot be imported names the key and points at the plugins"""
    with pytest.raises(ConfigError, match=r"(?s)Could not build `model.cell` from `_target_: nowhere.Cell`.*seqforge "
                                          r"plugins list"):
        instantiate(OmegaConf.create({"_target_": "nowhere.Cell"}), "model.cell", input_size=3)
