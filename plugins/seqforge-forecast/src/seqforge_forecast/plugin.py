"""Registers forecasting with seqforge (entry point ``seqforge: forecast``).

* ``task=forecast`` + ``data=timeseries``: direct multi-step forecasts from sliding windows, scored beside the
  naive and seasonal-naive baselines, with a plot;
* ``task=regression`` + ``data=signal``: one output per input step over long signals (truncated BPTT, carried state);
* the ``experiment=airline_demo`` and ``experiment=sine_demo`` presets, shipped in this package.

Factories are import paths, so loading the plugin imports neither torch nor lightning. ``formerly=`` names
where each class lived in the seqforge core before this plugin existed, so checkpoints written then still load.
"""

from __future__ import annotations

from pathlib import Path

from seqforge.api import Registry, hookimpl
from seqforge_forecast.series_configs import SignalDataConfig, TimeSeriesDataConfig
from seqforge_forecast.task_configs import ForecastTaskConfig, RegressionTaskConfig

#: The seqforge plugin API this plugin is written against (checked when plugins load).
SEQFORGE_PLUGIN_API = "1.1"

PRESETS = Path(__file__).parent / "presets"


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.task(
        "forecast",
        "seqforge_forecast.tasks.ForecastTask",
        ForecastTaskConfig,
        formerly=["seqforge.tasks.forecast.ForecastTask"],
        description="multi-step forecasting: MSE/MAE/RMSE in data units beside naive and seasonal-naive baselines; "
        "plot",
    )
    registry.data(
        "timeseries",
        "seqforge_forecast.series.TimeSeriesData",
        TimeSeriesDataConfig,
        formerly=["seqforge.data.series.TimeSeriesData"],
        description="a CSV time series in sliding windows; training-split scaling (default: airline passengers "
        "1949-1960)",
    )
    registry.task(
        "regression",
        "seqforge_forecast.tasks.RegressionTask",
        RegressionTaskConfig,
        formerly=["seqforge.tasks.forecast.RegressionTask"],
        description="step-by-step sequence regression over long signals; truncated BPTT with carried state",
    )
    registry.data(
        "signal", "seqforge_forecast.series.SignalData", SignalDataConfig, formerly=["seqforge.data.series.SignalData"],
        description="one long signal (CSV, or generated sin->cos) in contiguous streams per rank",
    )
    registry.preset(
        "airline_demo", PRESETS / "airline_demo.yaml",
        description="airline passengers 12 months ahead from 24, log + relative, beside seasonal naive",
    )
    registry.preset(
        "sine_demo", PRESETS / "sine_demo.yaml",
        description="sin(t) -> cos(t) over a 40,000-step signal; truncated BPTT in chunks of 50, state carried",
    )
