"""The `plugin API version` contract: a plugin must declare at least the API of every seqforge.api name it imports."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from seqforge import PLUGIN_API_VERSION
from seqforge.api import __all__ as public_names
from seqforge.api_versions import ADDED_IN
from seqforge.plugin_manager import parse_api_version
from seqforge.testing import registration_results

PLUGIN = '''
from dataclasses import dataclass

from seqforge.api import hookimpl

SEQFORGE_PLUGIN_API = "{declared}"


@dataclass
class Config:
    size: int = 2


@hookimpl
def seqforge_register(registry):
    registry.cell("{name}_cell", "{name}.cells.Cell", Config, description="a cell")
'''


def plugin_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, declared: str, imports: str) -> object:
    """A package `name` whose plugin module declares `declared` and whose submodule `cells` imports `imports`."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(PLUGIN.format(declared=declared, name=name))
    (package / "cells.py").write_text(textwrap.dedent(f"""
        from seqforge.api import {imports}

        class Cell:
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(f"{name}.plugin")


def api_version_result(plugin: object):
    results, _ = registration_results(plugin)
    return next(r for r in results if r.contract == "plugin API version")


def test_a_plugin_importing_a_name_newer_than_its_declared_api_is_refused_with_the_version_it_needs(
    tmp_path, monkeypatch
) -> None:
    """Declaring 1.0 while a submodule imports build_encoder (added in 1.1) would break on a 1.0 seqforge"""
    plugin = plugin_package(tmp_path, monkeypatch, "old_api_plugin", "1.0", "Registry, build_encoder")
    result = api_version_result(plugin)
    assert not result.passed
    assert "imports build_encoder from seqforge.api, added in plugin API 1.1" in result.message
    assert 'SEQFORGE_PLUGIN_API = "1.1"' in result.fix


def test_a_plugin_declaring_the_version_of_what_it_imports_passes(tmp_path, monkeypatch) -> None:
    plugin = plugin_package(tmp_path, monkeypatch, "new_api_plugin", "1.1", "Registry, build_encoder")
    assert api_version_result(plugin).passed


def test_a_plugin_using_only_1_0_names_may_keep_declaring_1_0(tmp_path, monkeypatch) -> None:
    plugin = plugin_package(tmp_path, monkeypatch, "v10_plugin", "1.0", "Registry, run_cell")
    assert api_version_result(plugin).passed


def test_the_version_history_names_only_public_names_and_versions_this_seqforge_implements() -> None:
    """ADDED_IN cannot drift from __all__ nor name a version newer than PLUGIN_API_VERSION"""
    assert set(ADDED_IN) <= set(public_names)
    assert all(parse_api_version(v) <= parse_api_version(PLUGIN_API_VERSION) for v in ADDED_IN.values())
