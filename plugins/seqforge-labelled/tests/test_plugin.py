"""The plugin registers classification, tagging and one-to-many generation, their data and presets, torch-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqforge.api import Registry
from seqforge.plugin_manager import load_plugins  # the loader itself is core, not plugin API
from seqforge.testing import check_task
from seqforge_labelled import plugin


@pytest.fixture
def registry() -> Registry:
    """A fresh registry holding only this plugin's registrations (Hydra's global ConfigStore untouched)."""
    loaded = load_plugins(
        autoload=False, extra=[("labelled", plugin)], registry=Registry(store_configs=False), report=False
    )
    assert loaded.failures == []
    return loaded.registry


def test_registers_its_tasks_data_encoders_presets_and_the_han_attention_command(registry: Registry) -> None:
    """tasks classify/doc_classify/tag/conditional, their data, encoders bag_of_words/self_attentive, seven presets --
    nothing else"""
    assert registry.names("task") == ["classify", "conditional", "doc_classify", "tag"]
    assert registry.names("data") == [
        "authors",
        "conditional",
        "conll",
        "digit_rows",
        "digits",
        "documents",
        "entities",
        "labelled",
    ]
    assert registry.names("encoder") == ["bag_of_words", "self_attentive"]
    assert len(registry) == 14 and all(component.description for component in registry)
    assert [p.name for p in registry.presets()] == [
        "conditional_demo",
        "conll_ner",
        "digits_demo",
        "han_demo",
        "sst2",
        "tagging_demo",
        "wnut17",
    ]
    assert all(p.description for p in registry.presets())
    # `seqforge predict` and `generate` stay core verbs
    assert [c.name for c in registry.commands()] == ["han-attention"]


def test_the_core_registers_none_of_the_family() -> None:
    """The core's own entry point no longer provides classify, tag, conditional or their data"""
    from seqforge import core_components as builtin

    core = load_plugins(
        autoload=False, extra=[("core", builtin)], registry=Registry(store_configs=False), report=False
    ).registry
    assert not {"classify", "tag", "conditional"} & set(core.names("task"))
    assert not {"labelled", "digits", "conll", "entities", "conditional", "digit_rows"} & set(core.names("data"))


def test_the_family_is_found_through_its_entry_point() -> None:
    """`seqforge plugins list` names the distribution with its components and presets"""
    result = subprocess.run([sys.executable, "-m", "seqforge.cli", "plugins", "list"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "seqforge-labelled" in result.stdout
    for name in ("classify", "digit_rows", "conll", "tagging_demo", "wnut17", "sst2"):
        assert name in result.stdout, result.stdout


def test_loading_the_plugin_imports_neither_torch_nor_its_heavy_dependencies() -> None:
    """Registering stays cheap: `seqforge plugins list` must not pay for torch, lightning, scikit-learn, seqeval or
    babel"""
    code = (
        "import sys\nfrom seqforge.api import Registry\nfrom seqforge_labelled import plugin\n"
        "plugin.seqforge_register(Registry(store_configs=False))\n"
        "print(sorted(m for m in ('torch', 'lightning', 'sklearn', 'seqeval', 'babel') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("task, overrides", [
    ("classify", ["data=digits", "data.batch_size=16"]),
    ("tag", ["data=entities", "data.n_train=32", "data.n_valid=8", "data.n_test=8", "data.batch_size=8"]),
    ("conditional", ["data=digit_rows", "data.batch_size=16", "task.show_conditions=0", "task.show_examples=0"]),
])
def test_each_task_keeps_the_task_contracts_on_its_offline_demo_data(task: str, overrides: list[str]) -> None:
    """The authors' task suite (compose, protocol, a training step, an evaluation step) passes on tiny offline data"""
    results = check_task(task, overrides)
    assert [r.contract for r in results] == ["composes", "protocol", "training step", "evaluation step"]
    assert all(r.passed for r in results)


def test_the_contract_suite_passes_for_both_encoders_and_runs_all_but_their_declared_exemptions() -> None:
    """`seqforge plugins check labelled` for the encoders: every contract passes except those each config waives, with
    its reason"""
    from seqforge.testing import plugin_results
    from seqforge_labelled.encoder_configs import BagOfWordsEncoderConfig, SelfAttentiveEncoderConfig

    results = [r for r in plugin_results(plugin, name="labelled") if r.kind == "encoder"]
    assert results and all(r.passed for r in results), [r.line() for r in results if not r.passed]
    checked = {(r.component.split(" ")[0].strip("'"), r.contract) for r in results}
    for name, config in (("bag_of_words", BagOfWordsEncoderConfig), ("self_attentive", SelfAttentiveEncoderConfig)):
        assert config.contract_exemptions and all(config.contract_exemptions.values())
        assert not {(name, contract) for contract in config.contract_exemptions} & checked
        assert (name, "determinism") in checked
