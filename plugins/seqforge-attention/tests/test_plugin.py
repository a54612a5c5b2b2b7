"""The plugin registers its attentions, torch-free, and is found through its entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from omegaconf import OmegaConf

import seqforge_attention
from seqforge.api import Attention, ConfigError, Registry, instantiate
from seqforge.plugin_manager import load_plugins  # the loader itself is core, not plugin API
from seqforge_attention import plugin

# `none` is the core's (seqforge.decoders.no_attention)
NAMES = ["bahdanau", "hard", "local_m", "local_p", "luong_concat", "luong_dot", "luong_general"]


@pytest.fixture
def registry() -> Registry:
    """A fresh registry holding only this plugin's components (Hydra's global ConfigStore untouched)."""
    loaded = load_plugins(
        autoload=False, extra=[("attention", plugin)], registry=Registry(store_configs=False), report=False
    )
    assert loaded.failures == []
    return loaded.registry


@pytest.fixture
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No SEQFORGE_* plugin variables from the caller's environment."""
    monkeypatch.delenv("SEQFORGE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("SEQFORGE_PLUGINS", raising=False)
    return monkeypatch


def test_registers_exactly_its_seven_attentions(registry) -> None:
    """Loading the plugin registers the four global attentions, local_m, local_p and hard, all of kind attention"""
    assert registry.names("attention") == NAMES
    assert len(registry) == len(NAMES)
    assert {component.kind for component in registry} == {"attention"}
    assert all(component.description for component in registry)


@pytest.mark.parametrize("name", NAMES)
def test_each_factory_builds_an_attention_from_its_config_defaults(registry, name) -> None:
    """The registered _target_ resolves and builds with the core's wiring (query_size, memory_size)"""
    node = OmegaConf.structured(registry.get("attention", name).node)
    attention = instantiate(node, "model.attention", query_size=4, memory_size=4)
    assert isinstance(attention, Attention)
    assert (attention.query_size, attention.memory_size) == (4, 4)


@pytest.mark.parametrize("name", ["local_m", "local_p", "hard"])
def test_local_and_hard_fields_reach_the_module(registry, name) -> None:
    """model.attention.score=bahdanau model.attention.attention_size=3 (and window / estimator) build what they say"""
    overrides = {
        "score": "bahdanau",
        "attention_size": 3,
        **({"estimator": "reinforce", "temperature": 0.5} if name == "hard" else {"window": 2}),
    }
    node = OmegaConf.merge(OmegaConf.structured(registry.get("attention", name).node), overrides)
    attention = instantiate(node, "model.attention", query_size=4, memory_size=6)
    assert attention.score_name == "bahdanau" and attention.scorer.attention_size == 3
    assert attention.estimator == "reinforce" if name == "hard" else attention.window == 2


def test_an_unknown_score_is_a_config_error_naming_model_attention(registry) -> None:
    """model.attention.score=cosine fails when the model is built, naming the key and the choices"""
    node = OmegaConf.merge(OmegaConf.structured(registry.get("attention", "local_p").node), {"score": "cosine"})
    with pytest.raises(ConfigError, match=r"model\.attention\.score must be one of dot, general, concat, bahdanau"):
        instantiate(node, "model.attention", query_size=4, memory_size=4)


@pytest.mark.parametrize("name", ["luong_concat", "bahdanau"])
def test_attention_size_override_reaches_the_module(registry, name) -> None:
    """model.attention.attention_size=3 builds a module whose attention size is 3"""
    node = OmegaConf.merge(OmegaConf.structured(registry.get("attention", name).node), {"attention_size": 3})
    attention = instantiate(node, "model.attention", query_size=4, memory_size=6)
    assert attention.attention_size == 3
    assert attention.v_a.weight.shape == (1, 3)


def test_luong_dot_scale_override_reaches_the_module(registry) -> None:
    """model.attention.scale=true builds a scaled dot-product attention"""
    node = OmegaConf.merge(OmegaConf.structured(registry.get("attention", "luong_dot").node), {"scale": True})
    assert instantiate(node, "model.attention", query_size=4, memory_size=4).scale is True


def test_wrong_typed_override_is_rejected_at_composition(registry) -> None:
    """attention_size=abc fails when the config is composed, not inside the module"""
    node = OmegaConf.structured(registry.get("attention", "bahdanau").node)
    with pytest.raises(Exception, match="attention_size"):
        OmegaConf.merge(node, {"attention_size": "abc"})


def test_luong_dot_size_mismatch_is_a_config_error_naming_model_attention(registry) -> None:
    """The core turns luong_dot's ValueError into a ConfigError naming `model.attention` and both sizes"""
    node = OmegaConf.structured(registry.get("attention", "luong_dot").node)
    with pytest.raises(ConfigError) as info:
        instantiate(node, "model.attention", query_size=8, memory_size=16)
    message = str(info.value)
    assert "`model.attention`" in message
    assert "query_size=8" in message and "memory_size=16" in message and "model.hidden_size" in message


def test_loading_the_plugin_does_not_import_torch() -> None:
    """Registration uses import paths, so `seqforge plugins list` stays torch-free"""
    code = (
        "import sys\n"
        "from seqforge.plugin_manager import load_plugins\n"
        "from seqforge.registry import Registry\n"
        "from seqforge_attention import plugin\n"
        "loaded = load_plugins(autoload=False, extra=[('attention', plugin)], registry=Registry(store_configs=False))\n"
        "assert not loaded.failures, loaded.failures\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_installed_entry_point_is_found_with_distribution_name() -> None:
    """`pip install` exposes the entry point seqforge: attention = seqforge_attention.plugin from seqforge-attention"""
    found = [ep for ep in entry_points(group="seqforge") if ep.name == "attention"]
    assert len(found) == 1, "is seqforge-attention installed? (pip install -e plugins/seqforge-attention)"
    (ep,) = found
    assert ep.value == "seqforge_attention.plugin"
    assert ep.dist is not None and ep.dist.metadata["Name"] == "seqforge-attention"
    assert ep.dist.version == seqforge_attention.__version__ == "0.1.0"
    assert ep.load() is plugin


def test_autoload_registers_the_attentions_under_the_distribution(plugin_env) -> None:
    """With SEQFORGE_PLUGINS=seqforge-attention, autoloading finds exactly this plugin and credits its distribution"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "seqforge-attention")
    loaded = load_plugins(registry=Registry(store_configs=False), report=False)
    assert loaded.failures == []
    assert [(p.plugin, p.distribution, p.version) for p in loaded.providers] == [
        ("attention", "seqforge-attention", "0.1.0")
    ]
    assert loaded.registry.names("attention") == NAMES
    assert "seqforge-attention" in str(loaded.registry.get("attention", "bahdanau").provider)


def test_autoload_with_the_core_has_no_duplicates(plugin_env) -> None:
    """Loaded together with seqforge's own plugin, every attention name is registered once and nothing is skipped"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "core,seqforge-attention")
    loaded = load_plugins(registry=Registry(store_configs=False), report=False)
    assert loaded.failures == []
    assert {p.plugin for p in loaded.providers} == {"core", "attention"}
    assert loaded.registry.names("attention") == sorted([*NAMES, "none"])
    assert loaded.registry.get("attention", "none").provider.plugin == "core"
    for name in set(NAMES):
        assert loaded.registry.get("attention", name).provider.distribution == "seqforge-attention"


# -- seqforge's contract suite ------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_registered_attentions_keep_every_attention_contract(name) -> None:
    """seqforge.testing.check_attention: normalised weights, exactly 0 and inert on masked positions, shapes, gradients,
    ..."""
    from seqforge.testing import check_attention

    check_attention(name)
    if name != "luong_dot":  # luong_dot needs equal sizes (and says so); the others project between them
        check_attention(name, query_size=5, memory_size=9)


def test_plugin_registrations_are_valid() -> None:
    """seqforge.testing.check_registrations: API version declared, valid described names, no collisions"""
    from seqforge.testing import check_registrations

    check_registrations(plugin, name="attention")
