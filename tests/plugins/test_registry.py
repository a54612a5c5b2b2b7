"""The registry: names, validation, errors, and the Hydra config options it creates."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fixtures.components import FrozenConfig, TinyCell, TinyConfig, make_tiny

from seqforge.errors import AmbiguousComponentError, DuplicateComponentError, PluginError, UnknownComponentError
from seqforge.registry import KIND_GROUPS, Provider, Registry

TINY_TARGET = "fixtures.components.TinyCell"


@pytest.fixture
def registry() -> Registry:
    """A registry that leaves Hydra's ConfigStore alone."""
    return Registry(store_configs=False)


def compose_choice(store: Any, group: str, choice: str, overrides: list[str] = ()) -> Any:
    """Compose a minimal primary config that selects ``group=choice`` (ConfigStore only, no files)."""
    from hydra import compose, initialize

    store.store(name="registry_probe", node={"defaults": [{group: choice}, "_self_"]})
    with initialize(version_base=None):
        return compose("registry_probe", overrides=list(overrides))


# -- register and look up ------------------------------------------------------------
def test_register_then_get(registry: Registry) -> None:
    """A registered component is returned by get() with its factory, config and provider"""
    component = registry.cell("tiny", TinyCell, TinyConfig, description="for tests")
    assert registry.get("cell", "tiny") is component
    assert (component.factory, component.config, component.description) == (TinyCell, TinyConfig, "for tests")
    assert component.group == "model/cell" and component.target == TINY_TARGET
    assert registry.names("cell") == ["tiny"] and len(registry) == 1 and list(registry) == [component]


def test_unknown_name_lists_available_and_suggests_closest(registry: Registry) -> None:
    """Asking for a misspelt name lists every available one and suggests the closest"""
    for name in ("rnn", "lstm", "gru"):
        registry.cell(name, TinyCell, TinyConfig)
    with pytest.raises(UnknownComponentError) as excinfo:
        registry.get("cell", "lsmt")
    message = str(excinfo.value)
    assert "'lsmt'" in message and "Available: gru, lstm, rnn." in message
    assert "Did you mean `model/cell=lstm`?" in message


def test_unknown_name_with_none_registered_points_to_plugins_list(registry: Registry) -> None:
    """With nothing of that kind installed, the error says where to look instead of suggesting"""
    with pytest.raises(UnknownComponentError, match="seqforge plugins list") as excinfo:
        registry.get("attention", "luong")
    assert "Did you mean" not in str(excinfo.value)


def test_same_name_of_different_kinds_is_allowed(registry: Registry) -> None:
    """Names are per kind: a cell and an encoder may share one"""
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.encoder("tiny", TinyCell, TinyConfig)
    assert registry.get("cell", "tiny").kind == "cell" and registry.get("encoder", "tiny").kind == "encoder"


# -- duplicates ----------------------------------------------------------------------
def test_same_name_from_two_distributions_keeps_both_and_refuses_the_plain_name(registry: Registry) -> None:
    """Two distributions registering one name both stay registered under their qualified names; the plain name is
    refused naming both"""
    registry.begin(Provider("first", "Dist_A", "1.0"))
    first = registry.cell("tiny", TinyCell, TinyConfig)
    registry.commit()
    registry.begin(Provider("second", "dist-b", "2.0"))
    second = registry.cell("tiny", make_tiny, TinyConfig)
    registry.commit()
    assert (first.qualified_name, second.qualified_name) == ("dist-a:tiny", "dist-b:tiny")
    assert registry.get("cell", "dist-a:tiny") is first and registry.get("cell", "dist-b:tiny") is second
    assert registry.names("cell") == ["tiny"] and registry.qualified_names("cell") == ["dist-a:tiny", "dist-b:tiny"]
    assert registry.collisions() == [[first, second]] and len(registry) == 2
    with pytest.raises(AmbiguousComponentError) as excinfo:
        registry.get("cell", "tiny")
    message = str(excinfo.value)
    assert "The cell name 'tiny' (config key `model/cell`) is registered by 2 installed distributions" in message
    assert "`model/cell=dist-a:tiny` from plugin 'first' (Dist_A 1.0)" in message
    assert "`model/cell=dist-b:tiny` from plugin 'second' (dist-b 2.0)" in message
    assert "does not choose by install or load order" in message and "\n" not in message


def test_same_class_path_from_two_distributions_is_still_ambiguous(registry: Registry) -> None:
    """Pointing at the same class does not make a taken name free: the plain name is refused and the message says so"""
    for plugin, dist in (("victim", "seqforge-mgu"), ("aaa", "seqforge-impostor")):
        registry.begin(Provider(plugin, dist, "1.0"))
        registry.cell("mgu", TinyCell, TinyConfig)
        registry.commit()
    with pytest.raises(AmbiguousComponentError, match="the same class path"):
        registry.get("cell", "mgu")


def test_unknown_qualified_name_lists_the_qualified_names(registry: Registry) -> None:
    """A misspelt distribution in a qualified name lists the qualified spellings and suggests the closest"""
    registry.begin(Provider("first", "dist-a", "1.0"))
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.commit()
    with pytest.raises(UnknownComponentError, match=r"Unknown cell 'dist-x:tiny'.*Available: dist-a:tiny\. Did you "
                                                    r"mean `model/cell=dist-a:tiny`\?"):
        registry.get("cell", "dist-x:tiny")


def test_one_distribution_registering_a_name_twice_is_rejected(registry: Registry) -> None:
    """Two entry points of one distribution cannot share a name: their qualified names would be the same"""
    registry.begin(Provider("one", "dist-a", "1.0"))
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.commit()
    registry.begin(Provider("two", "dist-a", "1.0"))
    with pytest.raises(DuplicateComponentError, match=r"cell 'tiny' is registered twice: by plugin 'one' \(dist-a "
                                                      r"1.0\) and by plugin 'two'"):
        registry.cell("tiny", make_tiny, TinyConfig)


def test_core_names_are_reserved(registry: Registry) -> None:
    """A plugin registering a name seqforge's core has is rejected, whatever its distribution"""
    registry.begin(Provider("core", "seqforge", "0.1.0"))
    registry.encoder("recurrent", TinyCell, TinyConfig)
    registry.commit()
    registry.begin(Provider("mine", "dist-a", "1.0"))
    with pytest.raises(DuplicateComponentError, match="The names of seqforge's core are reserved"):
        registry.encoder("recurrent", make_tiny, TinyConfig)


def test_duplicate_within_one_plugin_rejected(registry: Registry) -> None:
    """One plugin registering a name twice is caught before anything is committed"""
    registry.begin(Provider("twice"))
    registry.cell("tiny", TinyCell, TinyConfig)
    with pytest.raises(DuplicateComponentError, match="plugin 'twice' and by plugin 'twice'"):
        registry.cell("tiny", TinyCell, TinyConfig)


def test_pending_registrations_are_invisible_until_commit_and_dropped_by_rollback(registry: Registry) -> None:
    """A plugin's registrations are atomic: rollback leaves no trace"""
    registry.begin(Provider("half"))
    registry.cell("tiny", TinyCell, TinyConfig)
    assert registry.names("cell") == []
    registry.rollback()
    assert len(registry) == 0
    registry.cell("tiny", TinyCell, TinyConfig)  # the name is free again
    assert registry.get("cell", "tiny").provider == Provider("<direct>")


# -- invalid registrations -------------------------------------------------------------
def test_invalid_kind_rejected(registry: Registry) -> None:
    """An unknown kind is rejected, listing the valid ones"""
    with pytest.raises(PluginError, match="unknown kind 'celll'; expected one of: cell, encoder, decoder, attention, "
                                          "task, data"):
        registry.register("celll", "tiny", TinyCell, TinyConfig)


@pytest.mark.parametrize("name", ["", "LSTM", "my cell", "model.cell", "a/b", "ß", "null", 5])
def test_bad_name_rejected(registry: Registry, name: Any) -> None:
    """Names that cannot be typed as `model/cell=<name>` are rejected with the rule"""
    with pytest.raises(PluginError, match="names must be non-empty lowercase ASCII letters"):
        registry.cell(name, TinyCell, TinyConfig)


@pytest.mark.parametrize("config", [dict, TinyConfig(), None], ids=["class", "instance", "none"])
def test_config_that_is_not_a_dataclass_type_rejected(registry: Registry, config: Any) -> None:
    """The config must be a dataclass type (not an instance, not a plain class)"""
    with pytest.raises(PluginError, match="expected a dataclass type"):
        registry.cell("tiny", TinyCell, config)


def test_config_field_without_default_rejected(registry: Registry) -> None:
    """Every config field needs a default, and the message names the ones without"""
    Incomplete = dataclasses.make_dataclass("Incomplete", [("width", int), ("depth", int), ("scale", float, 1.0)])
    with pytest.raises(PluginError, match="fields without defaults: width, depth") as excinfo:
        registry.cell("tiny", TinyCell, Incomplete)
    assert "`model/cell=tiny`" in str(excinfo.value)


def test_config_defining_target_rejected(registry: Registry) -> None:
    """The registry fills in `_target_`; a config that sets it itself is rejected"""
    WithTarget = dataclasses.make_dataclass("WithTarget", [("_target_", str, "x.Y")])
    with pytest.raises(PluginError, match="defines `_target_`"):
        registry.cell("tiny", TinyCell, WithTarget)


def test_config_with_unsupported_field_type_rejected_at_registration(registry: Registry) -> None:
    """A field type OmegaConf cannot hold fails when registering (inside the plugin), not later in ConfigStore"""
    WithSet = dataclasses.make_dataclass("WithSet", [("ids", set, dataclasses.field(default_factory=set))])
    with pytest.raises(PluginError, match="not a valid Hydra structured config: Unexpected type annotation: set"):
        registry.cell("tiny", TinyCell, WithSet)


def _local_factory() -> Any:
    class Local:
        pass

    return Local


@pytest.mark.parametrize(
    "factory",
    [lambda **kw: kw, _local_factory(), "NoDots", "a..b", 42],
    ids=["lambda", "local", "nodots", "emptypart", "int"],
)
def test_factory_without_import_path_rejected(registry: Registry, factory: Any) -> None:
    """A factory Hydra cannot import by path (lambda, local class, malformed string) is rejected at registration"""
    with pytest.raises(PluginError, match="has no import path"):
        registry.cell("tiny", factory, TinyConfig)


# -- Hydra's ConfigStore ----------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KIND_GROUPS))
def test_registering_stores_config_under_kind_group_with_target(config_store: Any, kind: str) -> None:
    """Each kind's config lands in ConfigStore under its group (model/cell, task, ...) with `_target_` filled in"""
    Registry().register(kind, "tiny", TinyCell, TinyConfig)
    node = config_store.load(f"{KIND_GROUPS[kind]}/tiny.yaml").node
    assert dict(node) == {"_target_": TINY_TARGET, "width": 3, "scale": 1.0}


def test_dotted_string_factory_becomes_target(config_store: Any) -> None:
    """A factory given as an import path is stored verbatim as `_target_` (no import at registration)"""
    Registry().cell("tiny", "not_imported_yet.cells.TinyCell", TinyConfig)
    assert config_store.load("model/cell/tiny.yaml").node._target_ == "not_imported_yet.cells.TinyCell"


def test_store_configs_false_leaves_config_store_alone(config_store: Any) -> None:
    """Registry(store_configs=False) registers without touching Hydra"""
    Registry(store_configs=False).cell("tiny", TinyCell, TinyConfig)
    assert "tiny.yaml" not in config_store.repo.get("model", {}).get("cell", {})


def test_registered_component_composes_and_instantiates(config_store: Any) -> None:
    """`model/cell=<name>` composes from ConfigStore and instantiates the factory with the config's fields"""
    from hydra.utils import instantiate

    Registry().cell("tiny", make_tiny, TinyConfig)
    cfg = compose_choice(config_store, "model/cell", "tiny", ["model.cell.width=7"])
    cell = instantiate(cfg.model.cell)
    assert isinstance(cell, TinyCell) and cell.kwargs == {"width": 7, "scale": 1.0}


def test_frozen_config_composes_and_accepts_overrides(config_store: Any) -> None:
    """A frozen config dataclass still registers and can be overridden on the command line"""
    Registry().cell("frozen", TinyCell, FrozenConfig)
    cfg = compose_choice(config_store, "model/cell", "frozen", ["model.cell.width=5"])
    assert cfg.model.cell.width == 5 and cfg.model.cell._target_ == TINY_TARGET


def test_wrong_typed_override_of_registered_field_fails_at_composition(config_store: Any) -> None:
    """Config fields keep their types: `model.cell.width=abc` fails while composing, naming the key"""
    from hydra.errors import ConfigCompositionException

    Registry().cell("tiny", TinyCell, TinyConfig)
    with pytest.raises(ConfigCompositionException, match=r"model\.cell\.width=abc") as excinfo:
        compose_choice(config_store, "model/cell", "tiny", ["model.cell.width=abc"])
    cause = str(excinfo.value.__cause__)
    assert "could not be converted to Integer" in cause and "full_key: model.cell.width" in cause


def test_qualified_name_composes_and_ambiguous_plain_name_cannot_be_built(config_store: Any) -> None:
    """`model/cell=<dist>:<name>` composes (Hydra accepts ':' unquoted); the ambiguous plain name composes to a node
    whose build refuses naming both"""
    from seqforge.builders import instantiate

    registry = Registry()
    for plugin, dist, factory in (("first", "dist-a", TinyCell), ("second", "dist-b", make_tiny)):
        registry.begin(Provider(plugin, dist, "1.0"))
        registry.cell("tiny", factory, TinyConfig)
        registry.commit()
    cfg = compose_choice(config_store, "model/cell", "tiny", ["model/cell=dist-b:tiny", "model.cell.width=7"])
    assert cfg.model.cell._target_ == "fixtures.components.make_tiny" and cfg.model.cell.width == 7
    cfg = compose_choice(config_store, "model/cell", "tiny")
    with pytest.raises(AmbiguousComponentError, match=r"The cell name 'tiny' .* `model/cell=dist-a:tiny` .* "
                                                      r"`model/cell=dist-b:tiny`"):
        instantiate(cfg.model.cell, "model.cell", input_size=3, hidden_size=4)


# -- presets --------------------------------------------------------------------------
def _preset_file(tmp_path: Any, text: str, name: str = "tiny_demo.yaml") -> Any:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plugin_preset_composes_globally_with_its_defaults_overrides(config_store: Any, tmp_path: Any) -> None:
    """A preset a plugin registers is selectable as `experiment=<name>`: its defaults override groups, its keys land at
    the root"""
    registry = Registry()
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.cell("other", make_tiny, TinyConfig)
    registry.begin(Provider("demo", "demo-dist", "1.0"))
    registry.preset("tiny_demo", _preset_file(tmp_path, "defaults:\n  - override /model/cell: other\nmodel:\n  cell:\n "
                                                        "   width: 9\nseed: 3\n"))
    assert registry.presets() == []  # invisible until committed
    registry.commit()
    assert [p.name for p in registry.presets()] == ["tiny_demo"] and registry.presets()[
        0
    ].provider.distribution == "demo-dist"
    from hydra import compose, initialize

    config_store.store(name="preset_probe", node={"defaults": [{"model/cell": "tiny"}, {"experiment": None}, "_self_"]})
    with initialize(version_base=None):
        cfg = compose("preset_probe", overrides=["experiment=tiny_demo"])
    assert cfg.model.cell._target_ == "fixtures.components.make_tiny" and cfg.model.cell.width == 9 and cfg.seed == 3


def test_preset_named_like_a_core_preset_or_twice_is_rejected(registry: Registry, tmp_path: Any) -> None:
    """Presets are never shadowed silently: seqforge's own names are reserved, and a second plugin's same name is
    refused naming both"""
    path = _preset_file(tmp_path, "seed: 1\n")
    with pytest.raises(DuplicateComponentError, match="ships with seqforge itself"):
        registry.preset("char_lm", path)
    registry.begin(Provider("first", "dist-a", "1.0"))
    registry.preset("mine", path)
    registry.commit()
    registry.begin(Provider("second", "dist-b", "1.0"))
    with pytest.raises(DuplicateComponentError, match=r"dist-a.*dist-b|first.*second"):
        registry.preset("mine", path)


@pytest.mark.parametrize("text", [None, "- just\n- a list\n", "key: [unclosed\n"])
def test_preset_file_missing_or_not_a_mapping_is_the_plugins_error(
    registry: Registry, tmp_path: Any, text: Any
) -> None:
    """A preset that cannot be read fails inside the plugin's registration, naming the file"""
    path = tmp_path / "broken.yaml" if text is None else _preset_file(tmp_path, text, "broken.yaml")
    with pytest.raises(PluginError, match=r"broken\.yaml"):
        registry.preset("broken", path)


def test_describe_target_names_who_registered_a_factory(registry: Registry) -> None:
    """Error messages name a built component by its registration: one name, several names of one plugin, or qualified
    names"""
    registry.begin(Provider("tiny", "seqforge-tiny", "1.0"))
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.cell("tiny-too", TinyCell, TinyConfig)
    registry.cell("made", make_tiny, TinyConfig)
    registry.commit()
    target = f"{TinyCell.__module__}.{TinyCell.__qualname__}"
    assert registry.describe_target(target) == "cell 'tiny' / 'tiny-too' of plugin 'tiny' (seqforge-tiny 1.0)"
    assert (
        registry.describe_target(f"{make_tiny.__module__}.make_tiny")
        == "cell 'made' of plugin 'tiny' (seqforge-tiny 1.0)"
    )
    assert registry.describe_target("somewhere.Else") is None
    registry.begin(Provider("other", "seqforge-other", "2.0"))
    registry.cell("tiny", TinyCell, TinyConfig)
    registry.commit()
    assert (
        registry.describe_target(target)
        == f"cell 'seqforge-other:tiny' / 'seqforge-tiny:tiny' / 'seqforge-tiny:tiny-too' ({target})"
    )
