"""Plugin loading: real entry points, per-plugin isolation, environment switches."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from plugin_requirements import installed_version

import seqforge
from seqforge import hookspecs
from seqforge.plugin_manager import LoadedPlugins, discover_entry_points, load_plugins
from seqforge.registry import Provider, Registry

CORE = Provider("core", "seqforge", version("seqforge"))
# tests using it are marked requires_plugins("rnn")
RNN = Provider("rnn", "seqforge-rnn", installed_version("seqforge-rnn"))
FAKE = ("seqforge-fake-plugins", "0.3.0")


def load(**kwargs: Any) -> LoadedPlugins:
    """Load plugins into a registry that leaves Hydra's ConfigStore alone."""
    return load_plugins(registry=Registry(store_configs=False), **kwargs)


def failure_for(loaded: LoadedPlugins, plugin: str) -> str:
    """The one-line reason ``plugin`` was skipped (fails the test if it was not)."""
    reasons = [f.reason for f in loaded.failures if f.provider.plugin == plugin]
    assert len(reasons) == 1, f"expected one failure for {plugin}, got {loaded.failures}"
    return reasons[0]


def components(loaded: LoadedPlugins) -> dict[tuple[str, str], str]:
    """``(kind, name) -> plugin`` of everything registered."""
    return {(c.kind, c.name): c.provider.plugin for c in loaded.registry}


# -- the real installed plugins --------------------------------------------------------
@pytest.mark.requires_plugins("rnn")
def test_entry_points_find_core_and_rnn_with_distributions_and_versions(plugin_env: Any) -> None:
    """Entry-point discovery finds 'core' (seqforge) and 'rnn' (seqforge-rnn), and loading registers their components"""
    found = {ep.name: (ep.dist.metadata["Name"], ep.dist.version) for ep in discover_entry_points()}
    assert found["core"] == ("seqforge", seqforge.__version__) and found["rnn"] == ("seqforge-rnn", RNN.version)
    loaded = load()
    assert loaded.providers[:1] == [CORE] and RNN in loaded.providers
    assert {("encoder", "recurrent"), ("task", "lm"), ("data", "text")} <= {
        k for k, p in components(loaded).items() if p == "core"
    }
    assert {k for k, p in components(loaded).items() if p == "rnn"} == {
        ("cell", "rnn"),
        ("cell", "lstm"),
        ("cell", "gru"),
    }
    assert loaded.registry.get("cell", "lstm").provider == RNN


def test_installed_plugins_load_without_failures(plugin_env: Any) -> None:
    """Everything installed in this environment loads: no import errors, no two plugins claiming one name"""
    assert [f"{f.provider}: {f.reason}" for f in load().failures] == []


# -- isolation of broken plugins (real entry points of a fake distribution) --------------
@pytest.mark.requires_plugins("rnn")
def test_plugin_that_fails_to_import_is_reported_by_name_and_skipped(
    fake_site: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry point whose module raises ImportError is named on stderr and skipped; the rest load"""
    loaded = load()
    assert "import failed: ImportError: seqforge_fake_fakebroken needs the 'warp-drive' package" in failure_for(
        loaded, "fakebroken"
    )
    stderr = capsys.readouterr().err
    assert "seqforge: skipped plugin 'fakebroken' (seqforge-fake-plugins 0.3.0): import failed: ImportError" in stderr
    assert {"core", "rnn", "fakeok"} <= {p.plugin for p in loaded.providers}
    assert loaded.registry.get("cell", "fake-ok").provider == Provider("fakeok", *FAKE)


def test_plugin_whose_registration_raises_is_skipped_with_its_partial_registrations(
    fake_site: Any, config_store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin raising inside seqforge_register is reported and none of its components survive, in the registry or in
    Hydra"""
    loaded = load_plugins()  # storing configs: the rolled-back one must not reach ConfigStore either
    assert failure_for(loaded, "fakeraises") == "registration failed: RuntimeError: the plugin's own bug"
    assert "skipped plugin 'fakeraises' (seqforge-fake-plugins 0.3.0)" in capsys.readouterr().err
    assert "half-done" not in loaded.registry.names("cell")
    assert "half-done.yaml" not in config_store.repo["model"]["cell"]
    assert "fake-ok.yaml" in config_store.repo["model"]["cell"]
    assert "fakeraises" not in {p.plugin for p in loaded.providers} and loaded.manager.get_plugin("fakeraises") is None


@pytest.mark.requires_plugins("rnn")
def test_plugins_sharing_a_name_both_load_and_the_plain_name_is_refused_naming_both(
    fake_site: Any, plugin_env: Any
) -> None:
    """A plugin registering 'lstm' next to seqforge-rnn loads too: each keeps its qualified name, and plain 'lstm' names
    both providers"""
    from seqforge.errors import AmbiguousComponentError

    plugin_env.setenv("SEQFORGE_PLUGINS", "core,rnn,xdup,fakeok")
    loaded = load(report=False)
    assert loaded.failures == [] and [p.plugin for p in loaded.providers] == ["core", "fakeok", "rnn", "xdup"]
    assert loaded.registry.get("cell", "seqforge-rnn:lstm").provider == RNN
    assert loaded.registry.get("cell", "seqforge-fake-plugins:lstm").target == "seqforge_fake_xdup.MyLSTM"
    assert loaded.registry.get("cell", "dup-extra").provider.plugin == "xdup"
    with pytest.raises(AmbiguousComponentError) as excinfo:
        loaded.registry.get("cell", "lstm")
    message = str(excinfo.value)
    assert f"`model/cell=seqforge-rnn:lstm` from plugin 'rnn' (seqforge-rnn {RNN.version})" in message
    assert "`model/cell=seqforge-fake-plugins:lstm` from plugin 'xdup' (seqforge-fake-plugins 0.3.0)" in message


def test_core_components_cannot_be_taken_by_a_plugin_that_sorts_first(fake_site: Any, plugin_env: Any) -> None:
    """The core loads first, so a plugin named 'acoredup' registering 'recurrent' is the one rejected"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "acoredup,core")
    loaded = load(report=False)
    assert "encoder 'recurrent' is registered twice" in failure_for(loaded, "acoredup")
    assert loaded.providers == [CORE]


@pytest.mark.requires_plugins("rnn")
def test_plugin_name_already_taken_is_rejected_naming_the_holder(plugin_env: Any) -> None:
    """An extra plugin reusing an installed entry-point name is rejected, naming the installed one"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "rnn")
    loaded = load(extra=[("rnn", ValidPlugin())], report=False)
    assert (
        failure_for(loaded, "rnn")
        == f"the plugin name 'rnn' is already taken by plugin 'rnn' (seqforge-rnn {RNN.version}); rename one entry "
           "point."
    )
    assert loaded.providers == [RNN]


# -- environment switches ------------------------------------------------------------
def test_disable_autoload_loads_nothing_from_entry_points(fake_site: Any, plugin_env: Any) -> None:
    """SEQFORGE_DISABLE_PLUGIN_AUTOLOAD=1 imports no entry point; explicitly passed plugins still load"""
    plugin_env.setenv("SEQFORGE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert discover_entry_points() == []
    loaded = load(extra=[("mine", ValidPlugin())])
    assert loaded.providers == [Provider("mine")] and loaded.failures == []
    assert loaded.registry.names("cell") == ["valid"]
    assert "seqforge_fake_fakebroken" not in sys.modules


@pytest.mark.parametrize("allow", ["rnn", "seqforge-rnn", "Seqforge_RNN", " rnn , "])
@pytest.mark.requires_plugins("rnn")
def test_allow_list_loads_only_the_named_plugin(fake_site: Any, plugin_env: Any, allow: str) -> None:
    """SEQFORGE_PLUGINS selects by entry-point name or (normalised) distribution name"""
    plugin_env.setenv("SEQFORGE_PLUGINS", allow)
    loaded = load()
    assert loaded.providers == [RNN] and loaded.failures == []
    assert {c.kind for c in loaded.registry} == {"cell"}


def test_allow_list_by_distribution_loads_all_its_entry_points(fake_site: Any, plugin_env: Any) -> None:
    """Naming a distribution in SEQFORGE_PLUGINS loads each of its entry points"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "seqforge-fake-plugins")
    assert sorted(ep.name for ep in discover_entry_points()) == [
        "acoredup",
        "fakebroken",
        "fakeok",
        "fakeraises",
        "xdup",
    ]


@pytest.mark.requires_plugins("rnn")
def test_allow_list_entry_matching_nothing_is_reported_with_a_suggestion(
    plugin_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in SEQFORGE_PLUGINS is reported (instead of silently loading nothing) with the closest name"""
    plugin_env.setenv("SEQFORGE_PLUGINS", "rnm")
    loaded = load()
    assert loaded.providers == []
    assert "SEQFORGE_PLUGINS names 'rnm', but no installed plugin has that" in failure_for(loaded, "rnm")
    assert "Did you mean 'rnn'?" in capsys.readouterr().err


# -- hook implementations ------------------------------------------------------------
@pytest.mark.parametrize("plugin", ["ValidPlugin", "NoArgPlugin"])
def test_hookimpl_may_take_fewer_arguments_than_the_spec(plugin_env: Any, plugin: str) -> None:
    """As in pluggy, an implementation may leave out hook arguments it does not need"""
    loaded = load(extra=[("mine", globals()[plugin]())], autoload=False)
    assert loaded.failures == [] and loaded.providers == [Provider("mine")]


def test_misspelt_hook_is_reported_with_the_right_name(plugin_env: Any) -> None:
    """A plugin implementing an unknown hook is rejected, suggesting the hook it probably meant"""
    loaded = load(extra=[("typo", TypoPlugin())], autoload=False, report=False)
    assert "unknown hook(s) seqforge_regster" in failure_for(loaded, "typo")
    assert "Did you mean 'seqforge_register'?" in failure_for(loaded, "typo")


def test_plugin_without_any_hookimpl_is_reported(plugin_env: Any) -> None:
    """A seqforge_register without @seqforge.hookimpl would silently do nothing; it is reported instead"""
    loaded = load(extra=[("undecorated", UndecoratedPlugin())], autoload=False, report=False)
    assert "implements no seqforge hook: decorate its functions with @seqforge.hookimpl" in failure_for(
        loaded, "undecorated"
    )


def test_hookimpl_with_unknown_argument_is_reported(plugin_env: Any) -> None:
    """pluggy's validation error (an argument the hook does not provide) is reported, not raised"""
    loaded = load(extra=[("badarg", BadArgPlugin()), ("mine", ValidPlugin())], autoload=False, report=False)
    assert "invalid hook implementation" in failure_for(loaded, "badarg")
    assert loaded.providers == [Provider("mine")]


# -- hookspecs are documented -----------------------------------------------------------
def undocumented_hook_parameters(module: types.ModuleType) -> list[str]:
    """Each hookspec in ``module`` without a docstring, or whose docstring lacks ``:param <name>:`` for an argument."""
    problems = []
    for name, function in vars(module).items():
        if getattr(function, f"{hookspecs.PROJECT_NAME}_spec", None) is None:
            continue
        doc = inspect.getdoc(function) or ""
        if not doc.strip():
            problems.append(f"{name}: no docstring")
        problems += [
            f"{name}: parameter '{arg}' undocumented"
            for arg in inspect.signature(function).parameters
            if f":param {arg}:" not in doc
        ]
    return problems


def test_every_hookspec_documents_every_parameter() -> None:
    """Each hook in seqforge.hookspecs has a docstring with ':param <name>:' for every argument"""
    specs = [name for name, f in vars(hookspecs).items() if getattr(f, "seqforge_spec", None) is not None]
    assert "seqforge_register" in specs
    assert undocumented_hook_parameters(hookspecs) == []


def test_undocumented_hookspec_is_detected() -> None:
    """The documentation check above catches a missing docstring and a missing ':param:'"""
    module = types.ModuleType("fake_hookspecs")

    def seqforge_partly(registry: Any, device: Any) -> None:
        """Documented in part.

        :param registry: the registry.
        """

    def seqforge_bare(registry: Any) -> None:
        pass

    module.seqforge_partly, module.seqforge_bare = (
        hookspecs.hookspec(seqforge_partly),
        hookspecs.hookspec(seqforge_bare),
    )
    assert undocumented_hook_parameters(module) == [
        "seqforge_partly: parameter 'device' undocumented",
        "seqforge_bare: no docstring",
        "seqforge_bare: parameter 'registry' undocumented",
    ]


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def undocumented_in_guide(module: types.ModuleType, guide: str) -> list[str]:
    """Each hookspec of ``module`` without a ``### `name(params)``` section in ``guide``, or whose section lacks a
    parameter."""
    problems = []
    for name, function in vars(module).items():
        if getattr(function, f"{hookspecs.PROJECT_NAME}_spec", None) is None:
            continue
        params = list(inspect.signature(function).parameters)
        heading = f"### `{name}({', '.join(params)})`"
        if heading not in guide:
            problems.append(f"{name}: no section '{heading}'")
            continue
        section = guide.split(heading, 1)[1].split("\n#", 1)[0]
        problems += [f"{name}: parameter '{arg}' not described" for arg in params if f"| `{arg}` |" not in section]
    return problems


def test_guide_documents_every_hookspec_and_parameter() -> None:
    """docs/plugins.md has a section for each hook in seqforge.hookspecs describing each of its parameters (datasette
    style)"""
    assert undocumented_in_guide(hookspecs, GUIDE.read_text()) == []


def test_undocumented_hookspec_in_guide_is_detected() -> None:
    """The guide check catches a hook without a section and a section missing a parameter"""
    module = types.ModuleType("fake_hookspecs")

    def seqforge_register(registry: Any, device: Any) -> None:
        """:param registry: r. :param device: d."""

    def seqforge_new(registry: Any) -> None:
        """:param registry: r."""

    module.seqforge_register, module.seqforge_new = (
        hookspecs.hookspec(seqforge_register),
        hookspecs.hookspec(seqforge_new),
    )
    guide = "### `seqforge_register(registry, device)`\n\n| `registry` | the registry |\n\n## Next\n\n| `device` | elsewhere |\n"
    assert undocumented_in_guide(module, guide) == [
        "seqforge_register: parameter 'device' not described",
        "seqforge_new: no section '### `seqforge_new(registry)`'",
    ]


def test_guide_example_plugin_loads_and_keeps_the_cell_contracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guide's ~30-line example is real: it registers `indrnn` and the cell passes seqforge.testing's suite"""
    import importlib

    from seqforge.testing import check_cell, check_registrations

    code = re.search(r"## A complete example.*?```python\n(.*?)```", GUIDE.read_text(), re.S).group(1)
    assert 25 <= len(code.strip().splitlines()) <= 40
    (tmp_path / "guide_example.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    example = importlib.import_module("guide_example")
    try:
        loaded = load(extra=[("guide", example)], autoload=False)
        assert loaded.failures == [] and loaded.registry.names("cell") == ["indrnn"]
        check_registrations(example, name="guide")
        check_cell(example.IndRNNCell, {"max_recurrent_weight": 0.9})
    finally:
        del sys.modules["guide_example"]


def test_readme_links_the_guide() -> None:
    """README's plugin section points authors at docs/plugins.md"""
    assert "docs/plugins.md" in (GUIDE.parents[1] / "README.md").read_text()


# -- `seqforge plugins list` -------------------------------------------------------------------
SEQFORGE = str(Path(sys.executable).with_name("seqforge"))


def plugins_list(**env: str) -> subprocess.CompletedProcess:
    """Run the real console script as a user would (without the caller's SEQFORGE_* variables)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEQFORGE_")}
    return subprocess.run(
        [SEQFORGE, "plugins", "list"], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def row(plugin: str, dist: str, version: str, first_components: str) -> str:
    """A regex for one row of the plugins table (any box-drawing characters between cells)."""
    return rf"{re.escape(plugin)}\s*\S\s*{re.escape(dist)}\s*\S\s*{re.escape(version)}\s*\S\s*{re.escape(first_components)}"


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_plugins_list_shows_plugins_with_distribution_version_and_components_by_kind() -> None:
    """`seqforge plugins list` prints each plugin with its distribution and version, its components grouped by kind"""
    result = plugins_list()
    assert result.returncode == 0, result.stderr
    assert re.search(row("core", "seqforge", CORE.version, "encoder: recurrent"), result.stdout), result.stdout
    assert re.search(row("rnn", "seqforge-rnn", RNN.version, "cell: gru, lstm, rnn"), result.stdout), result.stdout
    # (a kind's names may wrap inside the cell once many are registered, so single names are looked up in the by-kind
    # table)
    assert re.search(r"task: \w", result.stdout) and re.search(r"task\s*\S\s*lm\s*\S\s*task=lm", result.stdout)
    assert re.search(r"data: \w", result.stdout) and re.search(r"data\s*\S\s*text\s*\S\s*data=text", result.stdout)
    # components by kind
    assert re.search(r"cell\s*\S\s*lstm\s*\S\s*model/cell=lstm\s*\S\s*seqforge-rnn", result.stdout)
    assert "skipped plugin 'core'" not in result.stderr and "skipped plugin 'rnn'" not in result.stderr


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_plugins_list_reports_broken_third_party_plugin_and_lists_the_rest(tmp_path: Path) -> None:
    """A third-party entry point that fails to import is named on stderr; every other plugin is still listed"""
    from fixtures.fake_dist import PLUGIN_SOURCES, write_fake_distribution

    site = write_fake_distribution(tmp_path, {name: PLUGIN_SOURCES[name] for name in ("fakebroken", "fakeok")})
    result = plugins_list(PYTHONPATH=str(site))
    assert result.returncode == 0, result.stderr
    assert (
        "seqforge: skipped plugin 'fakebroken' (seqforge-fake-plugins 0.3.0): import failed: ImportError"
        in result.stderr
    )
    assert re.search(row("fakeok", "seqforge-fake-plugins", "0.3.0", "cell: fake-ok"), result.stdout), result.stdout
    assert re.search(row("core", "seqforge", CORE.version, "encoder: recurrent"), result.stdout)
    assert re.search(row("rnn", "seqforge-rnn", RNN.version, "cell: gru, lstm, rnn"), result.stdout)


def test_plugins_list_prints_descriptions_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    """A description with square brackets (attention formulas) is printed as written"""
    import pluggy

    from seqforge.plugin_listing import print_plugins

    registry = Registry(store_configs=False)
    registry.attention("concat", "somewhere.Concat", _Config, description="tanh(W_a [h_t; h_s])")
    print_plugins(LoadedPlugins(registry, pluggy.PluginManager("seqforge"), [Provider("<direct>")]))
    assert "tanh(W_a [h_t; h_s])" in capsys.readouterr().out


# -- plugin objects passed as `extra` ---------------------------------------------------
@dataclass
class _Config:
    size: int = 1


class ValidPlugin:
    @seqforge.hookimpl
    def seqforge_register(self, registry: Registry) -> None:
        registry.cell("valid", "somewhere.Valid", _Config)


class NoArgPlugin:
    @seqforge.hookimpl
    def seqforge_register(self) -> None:
        pass


class TypoPlugin:
    @seqforge.hookimpl
    def seqforge_regster(self, registry: Registry) -> None:
        pass


class UndecoratedPlugin:
    def seqforge_register(self, registry: Registry) -> None:
        pass


class BadArgPlugin:
    @seqforge.hookimpl
    def seqforge_register(self, registry: Registry, device: str) -> None:
        pass


# -- plugin API versions ----------------------------------------------------------------------
def versioned_plugin(api: str) -> str:
    """A fake plugin module source declaring ``SEQFORGE_PLUGIN_API = api`` and registering one cell."""
    return f'''
        from dataclasses import dataclass
        from seqforge import hookimpl

        SEQFORGE_PLUGIN_API = {api!r}

        @dataclass
        class Config:
            size: int = 2

        @hookimpl
        def seqforge_register(registry):
            registry.cell("cell-" + __name__.rsplit("_", 1)[-1], __name__ + ".Cell", Config)
    '''


@pytest.fixture
def versioned_site(tmp_path: Path, plugin_env: Any) -> Any:
    """Installed fake plugins declaring plugin API versions 2.0, 1.9, 0.9, "1", "1.0" and "soon"."""
    from fixtures.fake_dist import write_fake_distribution

    from seqforge.plugin_manager import get_plugins

    get_plugins()
    apis = {"vmajor": "2.0", "vminor": "1.9", "vold": "0.9", "vbare": "1", "vsame": "1.0", "vjunk": "soon"}
    site = write_fake_distribution(tmp_path / "site", {name: versioned_plugin(api) for name, api in apis.items()})
    plugin_env.syspath_prepend(str(site))
    plugin_env.setenv("SEQFORGE_PLUGINS", ",".join(apis))
    yield site
    for name in [m for m in sys.modules if m.startswith("seqforge_fake_")]:
        del sys.modules[name]


def test_plugin_targeting_another_api_is_skipped_naming_it_and_both_versions(
    versioned_site: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin written for plugin API 2.0 is skipped on a seqforge implementing 1.x; the message names the plugin and
    both versions"""
    loaded = load()
    assert failure_for(loaded, "vmajor") == (
        f"targets seqforge plugin API 2.0 (SEQFORGE_PLUGIN_API), but seqforge {seqforge.__version__} implements plugin "
        f"API {seqforge.PLUGIN_API_VERSION}; upgrade seqforge, or install a release of the plugin made for API 1.x."
    )
    assert (
        "seqforge: skipped plugin 'vmajor' (seqforge-fake-plugins 0.3.0): targets seqforge plugin API 2.0"
        in capsys.readouterr().err
    )
    assert "cell-vmajor" not in loaded.registry.names("cell")


def test_newer_minor_and_older_major_are_incompatible_equal_major_older_minor_is_not(versioned_site: Any) -> None:
    """1.9 (needs features 1.0 lacks) and 0.9 (an older major) are skipped; "1" and "1.0" load"""
    loaded = load(report=False)
    assert "plugin API 1.9" in failure_for(loaded, "vminor") and "upgrade seqforge" in failure_for(loaded, "vminor")
    assert "plugin API 0.9" in failure_for(
        loaded, "vold"
    ) and "install a release of the plugin made for API 1.x" in failure_for(loaded, "vold")
    assert {"vbare", "vsame"} == {p.plugin for p in loaded.providers}
    assert loaded.registry.names("cell") == ["cell-vbare", "cell-vsame"]


def test_malformed_api_declaration_is_skipped_with_the_expected_format(versioned_site: Any) -> None:
    """SEQFORGE_PLUGIN_API = "soon" is not a version: skipped, showing how to write one"""
    reason = failure_for(load(report=False), "vjunk")
    assert (
        reason
        == 'declares SEQFORGE_PLUGIN_API = \'soon\', which is not a plugin API version; write it as "MAJOR.MINOR", '
           f'e.g. SEQFORGE_PLUGIN_API = "{seqforge.PLUGIN_API_VERSION}".'
    )


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("1.0", (1, 0)),
        ("1", (1, 0)),
        (2, (2, 0)),
        (" 1.12 ", (1, 12)),
        ("1.0.0", None),
        ("v1", None),
        (True, None),
        (1.0, None),
    ],
)
def test_parse_api_version(value: Any, parsed: Any) -> None:
    """Versions are MAJOR or MAJOR.MINOR (a float such as 1.10 would read as 1.1, so it is refused)"""
    from seqforge.plugin_manager import parse_api_version

    assert parse_api_version(value) == parsed


@pytest.mark.requires_plugins("rnn")
def test_installed_plugins_declare_the_api_version_they_target(plugin_env: Any) -> None:
    """The core declares the API it implements; rnn (1.0 names only) and attention (1.1's StepAttention) the oldest they
    can"""
    from seqforge.plugin_manager import API_ATTRIBUTE

    plugins = {ep.name: ep.load() for ep in discover_entry_points() if ep.name in ("core", "rnn", "attention")}
    assert {name: getattr(p, API_ATTRIBUTE, None) for name, p in plugins.items()} == {
        "core": seqforge.PLUGIN_API_VERSION, "rnn": "1.0", "attention": "1.1"}


class DeclaredPlugin(ValidPlugin):
    SEQFORGE_PLUGIN_API = "1.0"


def test_plugins_list_shows_the_plugin_api_each_plugin_declares(
    plugin_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seqforge plugins list` has a plugin API column: the declared version, or 'undeclared'"""
    from seqforge.plugin_listing import print_plugins

    print_plugins(load(extra=[("declared", DeclaredPlugin())], autoload=False))
    print_plugins(load(extra=[("silent", ValidPlugin())], autoload=False))
    out = capsys.readouterr().out
    assert re.search(r"declared\s*\S.*cell: valid\s*\S\s*1\.0\s*\S", out) and re.search(
        r"silent\s*\S.*cell: "
        r"valid\s*\S\s*undeclared\s*\S",
        out,
    ), out
