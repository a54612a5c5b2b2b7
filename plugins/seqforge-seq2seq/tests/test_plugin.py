"""The plugin registers translation, its data, its preset and `seqforge translate`, torch-free, through its entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqforge.api import Registry
from seqforge.plugin_manager import load_plugins  # the loader itself is core, not plugin API
from seqforge.testing import check_task
from seqforge_seq2seq import plugin


@pytest.fixture
def registry() -> Registry:
    """A fresh registry holding only this plugin's registrations (Hydra's global ConfigStore untouched)."""
    loaded = load_plugins(
        autoload=False, extra=[("seq2seq", plugin)], registry=Registry(store_configs=False), report=False
    )
    assert loaded.failures == []
    return loaded.registry


def test_registers_the_translation_task_its_data_preset_and_command(registry: Registry) -> None:
    """task translation, data parallel, dates and reorder, presets translate_demo and reorder_demo, command translate -- nothing else"""
    assert registry.names("task") == ["translation"]
    assert registry.names("data") == ["dates", "parallel", "reorder"]
    assert len(registry) == 4
    assert sorted(p.name for p in registry.presets()) == ["reorder_demo", "translate_demo"]
    assert [(c.name, c.target) for c in registry.commands()] == [("translate", "seqforge_seq2seq.commands.translate")]


def test_translate_is_the_plugins_command_not_a_builtin() -> None:
    """The core no longer implements `translate`; the installed plugin's command is listed in `seqforge --help`"""
    from seqforge.cli import COMMANDS
    from seqforge.commands import BUILTIN_COMMANDS

    assert "translate" not in COMMANDS and "translate" not in BUILTIN_COMMANDS
    result = subprocess.run(
        [sys.executable, "-m", "seqforge.cli", "--help"], capture_output=True, text=True, check=True
    )
    plugin_part = result.stdout.split("plugin commands:")[1]
    assert "seqforge translate" in plugin_part and "seqforge-seq2seq" in plugin_part


def test_loading_the_plugin_imports_neither_torch_nor_its_heavy_dependencies() -> None:
    """Registering stays cheap: `seqforge plugins list` must not pay for torch, sacrebleu, matplotlib, babel or
    tokenizers"""
    code = (
        "import sys\nfrom seqforge.api import Registry\nfrom seqforge_seq2seq import plugin\n"
        "plugin.seqforge_register(Registry(store_configs=False))\n"
        "print(sorted(m for m in ('torch', 'sacrebleu', 'matplotlib', 'babel', 'tokenizers', 'lightning') if m in "
        "sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_translation_keeps_the_task_contracts_on_tiny_dates() -> None:
    """The authors' task suite (compose, protocol, a training step, an evaluation step) passes on a tiny dates run"""
    results = check_task("translation", [
        "data=dates", "data.n_train=64", "data.n_valid=8", "data.n_test=8", "data.batch_size=8",
        "model/decoder=recurrent", "task.heatmaps=0",
    ])
    assert [r.contract for r in results] == ["composes", "protocol", "training step", "evaluation step"]
    assert all(r.passed for r in results)
