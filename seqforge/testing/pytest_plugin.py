"""seqforge's pytest plugin (entry point ``pytest11: seqforge``): fixtures for plugin authors.

Loaded by pytest in every environment where seqforge is installed, so it
imports nothing heavy at start-up; the fixtures import what they need.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def seqforge_plugin_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A monkeypatch with no ``SEQFORGE_*`` plugin variables from the caller's environment (every installed plugin
    loads)."""
    monkeypatch.delenv("SEQFORGE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("SEQFORGE_PLUGINS", raising=False)
    return monkeypatch


@pytest.fixture
def seqforge_registry() -> Any:
    """The registry of every installed plugin, loaded afresh (and kept out of Hydra's ConfigStore)."""
    from seqforge.plugin_manager import load_plugins
    from seqforge.registry import Registry

    return load_plugins(registry=Registry(store_configs=False), report=False).registry


#: ``seqforge train`` overrides that make a run take seconds.
TINY_TRAIN = [
    "model.hidden_size=16",
    "model.embedding_dim=8",
    "data.seq_len=8",
    "data.batch_size=4",
    "data.eval_batch_size=2",
    "trainer.max_steps=5",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "trainer.enable_progress_bar=false",
    "task.sample_length=10",
    "trainer.log_every_n_steps=1",
]


@pytest.fixture
def seqforge_run(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``seqforge_run("train", "model/cell=mine", tiny=True)``: the ``seqforge`` command in a subprocess, in
    ``tmp_path``.

    ``tiny=True`` puts overrides that make a training run take seconds before
    yours (so yours win). The result's ``returncode``, ``stdout`` and ``stderr``
    are for the test to assert on.
    """

    def run(
        command: str, *args: str, tiny: bool = False, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        words = [sys.executable, "-m", "seqforge", command, *(TINY_TRAIN if tiny else []), *args]
        full_env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), **(env or {})}
        full_env.pop("SEQFORGE_DISABLE_PLUGIN_AUTOLOAD", None)
        return subprocess.run(words, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=timeout)

    return run
