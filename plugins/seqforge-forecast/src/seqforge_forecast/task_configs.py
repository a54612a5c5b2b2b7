"""Config dataclasses of the forecasting and regression tasks (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ForecastTaskConfig:
    """``task=forecast``: direct multi-step forecasts from sliding windows (``data=timeseries``)."""

    plot: bool = True  # write <run dir>/forecast.png (truth, model, seasonal naive) after training


@dataclass
class RegressionTaskConfig:
    """``task=regression``: one output per input step over long signals (``data=signal``); truncated BPTT."""

    plot_steps: int = 400  # test steps drawn in <run dir>/regression.png after training (0: no plot)
