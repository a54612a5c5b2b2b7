"""Composing seqforge configs in-process (Hydra's compose API), as `seqforge train` would."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from seqforge.config import register_schema
    from seqforge.plugin_manager import get_plugins

    get_plugins()
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module("seqforge.conf", version_base=None):
        return compose("config", overrides=list(overrides))
