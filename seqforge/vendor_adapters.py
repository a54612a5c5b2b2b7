"""Every call seqforge makes into a private (or undocumented) Hydra, OmegaConf, Optuna-sweeper or Lightning API.

Each function says which private name it touches and why no public API does the job.
Nothing else in seqforge touches these names, so an upgrade that moves one breaks
here, and ``tests/test_vendor_adapters.py`` (which checks :data:`PRIVATE_APIS` against
the installed versions, within the ranges pinned in pyproject.toml) names it before a
user's run does. The third-party imports happen inside the functions: importing this
module costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


@dataclass(frozen=True)
class PrivateApi:
    """One private name an adapter below relies on.

    Attributes:
        distribution: the PyPI distribution that defines it (its pyproject range pins the versions checked).
        module: the module to import.
        path: the attribute path inside ``module`` (``Class.method``), or ``module:`` alone for the module.
        parameters: the leading parameter names the adapter passes (positionally or by name), or None for an attribute.
        used_by: the adapter function(s) here that use it.
    """

    distribution: str
    module: str
    path: str
    parameters: tuple[str, ...] | None
    used_by: str


#: What the adapters rely on. Instance attributes (set in ``__init__``) are checked on a fresh instance by the test.
PRIVATE_APIS: tuple[PrivateApi, ...] = (
    PrivateApi("hydra-core", "hydra._internal.utils", "get_args_parser", (), "hydra_args_parser"),
    PrivateApi(
        "hydra-core",
        "hydra._internal.utils",
        "_run_hydra",
        ("args", "args_parser", "task_function", "config_path", "config_name"),
        "run_hydra",
    ),
    PrivateApi(
        "hydra-core",
        "hydra._internal.config_loader_impl",
        "ConfigLoaderImpl._apply_overrides_to_config",
        ("overrides", "cfg"),
        "wrap_override_application",
    ),
    PrivateApi("omegaconf", "omegaconf", "DictConfig._get_node", ("self", "key"), "raw_child"),
    PrivateApi(
        "hydra-optuna-sweeper",
        "hydra_plugins.hydra_optuna_sweeper._impl",
        "OptunaSweeperImpl.sweep",
        ("self", "arguments"),
        "wrap_optuna_sweep",
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch.callbacks",
        "ModelCheckpoint._save_last_checkpoint",
        ("self", "trainer", "monitor_candidates"),
        "save_last_checkpoint",
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch.callbacks",
        "ModelCheckpoint._monitor_candidates",
        ("self", "trainer"),
        "save_last_checkpoint",
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch.callbacks",
        "ModelCheckpoint._last_global_step_saved",
        None,
        "save_last_checkpoint",
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch.callbacks",
        "ModelCheckpoint._save_topk_checkpoint",
        ("self", "trainer", "monitor_candidates"),
        "save_checkpoints_now",
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch.callbacks",
        "ModelCheckpoint._should_skip_saving_checkpoint",
        ("self", "trainer"),
        "save_checkpoints_now",
    ),
    PrivateApi(
        "lightning", "lightning.pytorch.callbacks", "ModelCheckpoint._every_n_train_steps", None, "every_n_train_steps"
    ),
    PrivateApi(
        "lightning",
        "lightning.pytorch",
        "Trainer.fit_loop.epoch_loop.batch_progress.is_last_batch",
        None,
        "is_last_batch",
    ),
)

#: The marker a wrapper carries, so wrapping twice (a second ``seqforge train`` in one process, tests) is a no-op.
_WRAPPED = "_seqforge_wrapped"


# -- Hydra ------------------------------------------------------------------------------------------------
def hydra_args_parser() -> argparse.ArgumentParser:
    """Hydra's own command-line parser (``--multirun``, ``--cfg``, overrides, ...).

    Private: ``hydra._internal.utils.get_args_parser``. ``@hydra.main`` builds it
    itself from ``sys.argv`` and offers no way to hand it the words after a
    subcommand, and ``seqforge train`` must look at the overrides (``resume=``,
    component names, sweep plugins) before Hydra runs. A CLI that rewrote
    ``sys.argv`` instead would break Lightning's DDP children, which re-run it.
    """
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def run_hydra(args: argparse.Namespace, parser: argparse.ArgumentParser, task_function: Callable[[Any], Any],
              *, config_path: str, config_name: str) -> None:
    """What ``@hydra.main`` does (compose, ``-m`` sweeps, ``--cfg``, run directory, logging) for parsed ``args``.

    Private: ``hydra._internal.utils._run_hydra``, the function ``@hydra.main``
    calls. The public decorator reads ``sys.argv`` itself (see :func:`hydra_args_parser`).
    ``config_path`` is relative to ``task_function``'s module, as for ``@hydra.main``.
    """
    from hydra._internal.utils import _run_hydra

    _run_hydra(
        args=args, args_parser=parser, task_function=task_function, config_path=config_path, config_name=config_name
    )


def wrap_override_application(
    wrap: Callable[[Callable[[list[Any], Any], None]], Callable[[list[Any], Any], None]],
) -> None:
    """Replace the step that applies ``key=value`` overrides to the composed config by ``wrap(original)``; idempotent.

    Private: the static method ``ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)``
    (hydra-core 1.3). Hydra has no hook between parsing overrides and applying
    them, and its own messages for a mistyped key ("Could not override ...; To
    append to your config use +...") would send users to ``+key``, which typed
    nodes refuse; seqforge names the nearest existing key instead.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    original = ConfigLoaderImpl.__dict__.get("_apply_overrides_to_config")
    if (
        original is None
        or getattr(original, _WRAPPED, False)
        or getattr(getattr(original, "__func__", None), _WRAPPED, False)
    ):
        return
    apply = original.__func__ if isinstance(original, staticmethod) else original
    wrapped = wrap(apply)
    setattr(wrapped, _WRAPPED, True)
    # mypy sees the attribute as the bare function and cannot check a patched method: at run time the class needs the
    # staticmethod descriptor itself
    ConfigLoaderImpl._apply_overrides_to_config = staticmethod(wrapped)  # type: ignore[method-assign, assignment]


def raw_child(node: Any, key: str) -> Any:
    """The child node of a ``DictConfig`` as stored: no interpolation resolved, a ``???`` value does not raise.

    Private: ``DictConfig._get_node``. The public accessors (``node[key]``,
    ``OmegaConf.select``) resolve interpolations and raise on missing values, and
    naming the nearest key must not do either.
    """
    return node._get_node(key)


def wrap_optuna_sweep(wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``OptunaSweeperImpl.sweep`` by ``wrap(original)`` if the Optuna sweeper is in use (imported); idempotent.

    Private: ``hydra_plugins.hydra_optuna_sweeper._impl.OptunaSweeperImpl.sweep``.
    The sweeper ends with ``study.best_trial``, a bare ``ValueError`` traceback when
    no trial completed; it has no hook to report that, so seqforge wraps the
    method to say why instead. Not imported here: a sweep without Optuna never loads it.
    """
    import sys

    impl = sys.modules.get("hydra_plugins.hydra_optuna_sweeper._impl")
    if impl is None or getattr(impl.OptunaSweeperImpl.sweep, _WRAPPED, False):
        return
    wrapped = wrap(impl.OptunaSweeperImpl.sweep)
    setattr(wrapped, _WRAPPED, True)
    impl.OptunaSweeperImpl.sweep = wrapped


# -- Lightning --------------------------------------------------------------------------------------------
def save_last_checkpoint(checkpoint: Any, trainer: Any) -> None:
    """Write ``checkpoint``'s ``last.ckpt`` for the current step now, unless it already holds this step.

    Private: ``ModelCheckpoint._last_global_step_saved``, ``_monitor_candidates``
    and ``_save_last_checkpoint``. A signal mid-training must leave a ``last.ckpt``
    that the callback itself recognises (its ``last`` link or copy, its
    ``CHECKPOINT_NAME_LAST`` pattern and top-k bookkeeping), and ``ModelCheckpoint``
    only writes it from its own hooks; ``trainer.save_checkpoint`` would bypass all of that.
    """
    # not saved at this step yet (Lightning's own bookkeeping)
    if checkpoint._last_global_step_saved != trainer.global_step:
        checkpoint._save_last_checkpoint(trainer, checkpoint._monitor_candidates(trainer))


def every_n_train_steps(checkpoint: Any) -> int:
    """``ModelCheckpoint(every_n_train_steps=...)`` as the callback resolved it (0: not step-based).

    Private: ``ModelCheckpoint._every_n_train_steps``; the constructor argument is not kept publicly.
    """
    return int(checkpoint._every_n_train_steps)


def save_checkpoints_now(checkpoint: Any, trainer: Any) -> None:
    """What ``ModelCheckpoint`` does at a step-interval save (top-k and ``last.ckpt``), at a step the caller chose.

    Private: ``_should_skip_saving_checkpoint``, ``_monitor_candidates``,
    ``_save_topk_checkpoint``, ``_save_last_checkpoint``. Under manual optimisation
    (truncated BPTT) one batch takes several optimiser steps and Lightning's own
    ``on_train_batch_end`` test (``global_step % every == 0``) misses most
    multiples; there is no public way to ask the callback to save with its own
    naming, top-k and ``last`` bookkeeping.
    """
    if checkpoint._should_skip_saving_checkpoint(trainer):
        return
    candidates = checkpoint._monitor_candidates(trainer)
    checkpoint._save_topk_checkpoint(trainer, candidates)
    checkpoint._save_last_checkpoint(trainer, candidates)


def is_last_batch(trainer: Any) -> bool:
    """Whether the training batch just run is the last of its epoch.

    Undocumented: ``trainer.fit_loop.epoch_loop.batch_progress.is_last_batch``, the
    loop state Lightning's own epoch-interval scheduler stepping reads. Lightning
    has no public flag for it, and ``len(train_dataloader)`` is wrong for
    iterable loaders and ``limit_train_batches``.
    """
    return bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)


def resolve(api: PrivateApi) -> Any:
    """The object ``api`` names (imports its module; attribute paths through instances are not resolved here)."""
    value: Any = importlib.import_module(api.module)
    for part in api.path.split("."):
        value = getattr(value, part)
    return value
