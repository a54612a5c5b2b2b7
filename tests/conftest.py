"""Shared fixtures: isolated Hydra state, plugin environment, a fake installed plugin distribution."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]  # tests/testing/test_testing.py runs seqforge.testing inside pytest sessions of its own


@pytest.fixture
def config_store() -> Iterator[Any]:
    """Hydra's ConfigStore, with the component groups (model/cell, task, ...) restored and GlobalHydra cleared after the
    test."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra

    from seqforge.plugin_manager import get_plugins
    from seqforge.registry import KIND_GROUPS

    get_plugins()  # the process-wide components are stored before the snapshot, so they survive it
    store = ConfigStore.instance()

    def subtree(group: str, create: bool = False) -> Any:
        node = store.repo
        for part in group.split("/"):
            if part not in node and not create:
                return None
            node = node.setdefault(part, {})
        return node

    saved = {group: dict(subtree(group) or {}) for group in KIND_GROUPS.values()}
    GlobalHydra.instance().clear()
    yield store
    GlobalHydra.instance().clear()
    for group, entries in saved.items():
        node = subtree(group, create=True)
        node.clear()
        node.update(entries)


@pytest.fixture
def plugin_env(seqforge_plugin_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No SEQFORGE_* plugin variables from the caller's environment (the fixture seqforge's pytest plugin gives
    authors)."""
    return seqforge_plugin_env


@pytest.fixture
def fake_site(tmp_path: Path, plugin_env: pytest.MonkeyPatch) -> Iterator[Path]:
    """``seqforge-fake-plugins`` (see fixtures/fake_dist.py) installed on ``sys.path`` for this test only."""
    from fixtures.fake_dist import write_fake_distribution

    from seqforge.plugin_manager import get_plugins

    get_plugins()  # the process-wide plugins are loaded (and cached) before the fake distribution appears
    site = write_fake_distribution(tmp_path / "site")
    plugin_env.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("seqforge_fake_")]:
        del sys.modules[name]


def pytest_runtest_setup(item: pytest.Item) -> None:
    from plugin_requirements import check_required_plugins

    check_required_plugins(item)
