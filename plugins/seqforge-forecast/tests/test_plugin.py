"""The plugin registers the forecasting family and its presets, torch-free, and is found through its entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points

from seqforge.api import Registry
from seqforge.plugin_manager import load_plugins  # the loader itself is core, not plugin API
from seqforge_forecast import plugin


def test_registers_the_two_tasks_the_two_data_modules_and_the_two_presets() -> None:
    loaded = load_plugins(
        autoload=False, extra=[("forecast", plugin)], registry=Registry(store_configs=False), report=False
    )
    assert loaded.failures == []
    registry = loaded.registry
    assert registry.names("task") == ["forecast", "regression"] and registry.names("data") == ["signal", "timeseries"]
    assert len(registry) == 4
    assert [p.name for p in registry.presets()] == ["airline_demo", "sine_demo"]
    assert {c.target.rpartition(".")[0] for c in registry} == {"seqforge_forecast.tasks", "seqforge_forecast.series"}


def test_found_through_the_seqforge_entry_point() -> None:
    (ep,) = [ep for ep in entry_points(group="seqforge") if ep.name == "forecast"]
    assert ep.value == "seqforge_forecast.plugin" and ep.load() is plugin


def test_loading_the_plugin_imports_neither_torch_nor_lightning() -> None:
    code = ("import sys; from seqforge.plugin_manager import get_plugins; get_plugins(); "
            "print(sorted(m for m in ('torch', 'lightning', 'matplotlib') if m in sys.modules))")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SEQFORGE_")}, "SEQFORGE_PLUGINS": "forecast"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_bundled_airline_series_ships_as_package_data() -> None:
    from importlib import resources

    files = resources.files("seqforge_forecast")
    assert files.joinpath("airline_passengers.csv").read_text().splitlines()[:2] == [
        '"Month","Passengers"',
        '"1949-01",112',
    ]
    assert "Box, G. E. P. and Jenkins" in files.joinpath("airline_passengers.SOURCE.txt").read_text()
