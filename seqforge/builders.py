"""Builders: turn composed config nodes into modules (configs stay out of module code).

Every component built here is annotated with who provided it (:mod:`seqforge.provenance`):
the registry knows which plugin registered a ``_target_``, so run-time errors raised
later in the machinery can name the plugin without the machinery asking the plugin manager.
"""

from __future__ import annotations

import functools
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqforge import provenance
from seqforge.errors import ConfigError
from seqforge.plugin_manager import loaded_registry


def instantiate(node: Any, key: str, **wiring: Any) -> Any:
    """``hydra.utils.instantiate`` with a one-paragraph error naming the config key.

    ``wiring`` is what the core supplies on top of the user's fields (sizes, submodules,
    saved vocabularies). It goes straight to the factory, never through OmegaConf, where a
    string inside it such as ``"???"`` (OmegaConf's MISSING) or ``"${x}"`` (an interpolation)
    would change meaning — WNUT17's vocabulary holds the token ``???``.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    try:
        if not wiring:
            return _with_provenance(hydra_instantiate(node, _convert_="all"), node)
        factory = hydra_instantiate(node, _convert_="all", _partial_=True)
    except ConfigError:
        raise  # already names its own (innermost) key
    except InstantiationException as exc:
        raise _build_error(node, key, exc.__cause__ or exc) from None
    try:
        built = factory(**wiring)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - as Hydra wraps a failing constructor: named by key, one paragraph
        raise _build_error(node, key, exc) from None
    return _with_provenance(built, node)


def _target(node: Any) -> Any:
    return node.get("_target_") if isinstance(node, (dict, DictConfig)) else None


def _with_provenance(built: Any, node: Any) -> Any:
    """``built``, annotated with the registered component its ``_target_`` names.

    Only when plugins are loaded and one of them registered that target.
    """
    registry, target = loaded_registry(), _target(node)
    description = registry.describe_target(target) if registry is not None and isinstance(target, str) else None
    return provenance.annotate(built, description) if description is not None else built


def _build_error(node: Any, key: str, cause: BaseException) -> ConfigError:
    """The one-paragraph error for a component that could not be built from ``node`` (config key ``key``)."""
    if isinstance(cause, ConfigError):
        return cause
    target = _target(node)
    if isinstance(cause, ValueError):
        return ConfigError(f"`{key}` ({target}) rejected its configuration: {cause}")
    return ConfigError(
        f"Could not build `{key}` from `_target_: {target}`: {type(cause).__name__}: {cause}. If this config came from "
        "a checkpoint, install the plugin that provides the component (see `seqforge plugins list`)."
    )


def cell_factory(model_cfg: Any) -> Any:
    """``model.cell`` as a factory ``(input_size=..., hidden_size=...) -> Cell``."""
    return functools.partial(instantiate, model_cfg.cell, "model.cell")


def build_encoder(model_cfg: Any, *, input_size: int, many_to_one: bool = False) -> Any:
    """``model.encoder`` wired with the cell factory and the shared sizes.

    An encoder that summarises a whole sequence in one step (``many_to_one = True``, e.g.
    ``model/encoder=bag_of_words``) is refused unless the caller asks for ``many_to_one``
    (a classifier does; a tagger or decoder needs one output per position).
    """
    encoder = instantiate(
        model_cfg.encoder,
        "model.encoder",
        cell=cell_factory(model_cfg),
        input_size=input_size,
        hidden_size=model_cfg.hidden_size,
        num_layers=model_cfg.num_layers,
        bidirectional=model_cfg.bidirectional,
        dropout=model_cfg.dropout,
    )
    if getattr(encoder, "many_to_one", False) and not many_to_one:
        raise ConfigError(
            f"model.encoder ({type(encoder).__name__}) summarises each sequence in a single step, so it only fits a "
            "many-to-one task (task=classify); this task needs one output per position. Choose another model/encoder "
            "(recurrent, self_attentive)."
        )
    return encoder


def as_plain(cfg: Any) -> Any:
    """A DictConfig as plain dicts/lists (for checkpoints loadable with ``weights_only=True``)."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
