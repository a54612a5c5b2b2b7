"""``seqforge.testing``: the contract test-suite for plugin authors.

One call per kind checks a component against the contracts the core relies on
and raises :class:`ContractError` (an ``AssertionError``) naming each broken
contract and how to fix it::

    from seqforge.testing import check_cell, check_attention, check_plugin

    def test_my_cell_keeps_the_contracts():
        check_cell("minimal_rnn")            # a registered name, built from its config as `seqforge train` does

    def test_my_attention_with_options():
        check_attention(MyAttention, {"temperature": 2.0}, query_size=6, memory_size=10)

    def test_everything_my_plugin_registers():
        check_plugin(my_package.plugin)

It is also a pytest plugin (entry point ``pytest11``), so its fixtures —
``seqforge_registry``, ``seqforge_plugin_env``, ``seqforge_run`` — are available
in every test of an environment where seqforge is installed.

Importing this package is cheap; torch is imported by the first check.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Broken": "seqforge.testing._contracts",
    "ContractError": "seqforge.testing._contracts",
    "ContractResult": "seqforge.testing._contracts",
    "check_cell": "seqforge.testing.cells",
    "cell_results": "seqforge.testing.cells",
    "check_attention": "seqforge.testing.attention",
    "attention_results": "seqforge.testing.attention",
    "check_encoder": "seqforge.testing.modules",
    "encoder_results": "seqforge.testing.modules",
    "check_decoder": "seqforge.testing.modules",
    "decoder_results": "seqforge.testing.modules",
    "check_task": "seqforge.testing.modules",
    "task_results": "seqforge.testing.modules",
    "task_capabilities": "seqforge.testing.modules",
    "check_registrations": "seqforge.testing.registrations",
    "registration_results": "seqforge.testing.registrations",
    "check_plugin": "seqforge.testing.registrations",
    "plugin_results": "seqforge.testing.registrations",
    "tiny_training_run": "seqforge.testing.training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'seqforge.testing' has no attribute '{name}'")
