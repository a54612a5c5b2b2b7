"""Forecasting and step-by-step regression over time series: MSE/MAE/RMSE in the data's units.

``task=forecast`` reads a window of the past and predicts the next ``horizon`` values at
once (direct multi-step); the naive (last value) and seasonal-naive (same season, last
cycle) baselines are scored on exactly the same forecast origins and reported beside the
model, and a plot of forecast vs. truth is written to the run directory.

``task=regression`` maps an input signal to a target signal step by step (many-to-many),
over long contiguous streams: it supports truncated BPTT (``split_time``) and carries
its state from batch to batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.api import ConfigError, StreamBatch, build_encoder, detach_state, instantiate
from seqforge_forecast.series import ForecastBatch, SignalData, TimeSeriesData, collate_windows


class Forecaster(nn.Module):
    """Encoder over the input window -> linear map of the last step's features to ``horizon`` values.

    Args:
        encoder: any encoder; reads ``(B, W, F)``.
        horizon: ``h``, the number of future values predicted from each window.
        dropout: on the encoder features before the output layer.
    """

    def __init__(self, *, encoder: nn.Module, horizon: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, horizon)

    def forward(self, inputs: Tensor) -> Tensor:
        """``inputs`` ``(B, W, F)`` -> ``(B, h)`` forecasts (in the data's scaled units)."""
        features = self.encoder(inputs).outputs[:, -1]  # (B, H_out): the window's last step
        return self.head(self.dropout(features))  # (B, h)


class StepRegressor(nn.Module):
    """Causal encoder -> one value per time step; the state can continue from a previous chunk."""

    def __init__(self, *, encoder: nn.Module, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, 1)

    def forward(self, inputs: Tensor, state: list[Any] | None = None) -> tuple[Tensor, list[Any]]:
        """``inputs`` ``(B, T, F)`` -> predictions ``(B, T)`` and the encoder state after the last step."""
        encoded = self.encoder(inputs, None, state)
        return self.head(self.dropout(encoded.outputs)).squeeze(-1), encoded.state  # (B, T)


def _errors(prediction: Tensor, truth: Tensor) -> tuple[Tensor, Tensor]:
    """Summed squared and absolute errors (float64, so long test sets sum exactly enough)."""
    diff = (prediction.double() - truth.double())
    return (diff**2).sum(), diff.abs().sum()


def _error_metrics(sums: dict[str, float], prefix: str = "") -> dict[str, float]:
    count = max(sums["points"], 1.0)
    mse = sums[f"{prefix}se"] / count
    name = f"{prefix}" if prefix else ""
    return {f"{name}mse": mse, f"{name}rmse": math.sqrt(mse), f"{name}mae": sums[f"{prefix}ae"] / count}


class ForecastTask:
    """Direct multi-step forecasting from sliding windows, with naive and seasonal-naive baselines."""

    metric_sums = ("loss_sum", "points", "se", "ae", "naive_se", "naive_ae", "snaive_se", "snaive_ae", "snaive_points")

    def __init__(self, plot: bool = True) -> None:
        self.plot = plot
        self._split = "valid"

    # -- building -------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> TimeSeriesData:
        return instantiate(cfg.data, "data", scaler=state)

    def build_model(self, cfg: Any, data: TimeSeriesData) -> Forecaster:
        if not isinstance(data, TimeSeriesData):
            raise ConfigError(f"task=forecast reads sliding windows: use data=timeseries (got {type(data).__name__}).")
        encoder = build_encoder(cfg.model, input_size=data.input_size)
        return Forecaster(encoder=encoder, horizon=data.cfg.horizon, dropout=cfg.model.dropout)

    # -- steps ----------------------------------------------------------------------
    def training_step(
        self, model: Forecaster, batch: ForecastBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """Mean squared error in the scaled space (every window and horizon step weighs the same)."""
        loss = F.mse_loss(model(batch.inputs), batch.targets)
        return loss, {"loss": loss.detach()}, None

    def begin_evaluation(self, data: TimeSeriesData, split: str) -> None:
        self._data, self._split = data, split

    @torch.no_grad()
    def evaluation_step(
        self, model: Forecaster, batch: ForecastBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Tensor], Any]:
        """Model and baseline errors, in original units, on the same forecast origins."""
        data = self._data
        scaled = model(batch.inputs)  # (B, h)
        forecast = data.to_original(scaled, batch.anchor)  # (B, h)
        naive, seasonal = self.baselines(data, batch.origin.cpu())
        naive, seasonal = naive.to(forecast.device), seasonal.to(forecast.device)
        se, ae = _errors(forecast, batch.truth)
        naive_se, naive_ae = _errors(naive, batch.truth)
        has_season = ~torch.isnan(seasonal)  # (B, h): False where the series has no earlier cycle
        snaive_se, snaive_ae = _errors(seasonal[has_season], batch.truth[has_season])
        sums = {
            "loss_sum": F.mse_loss(scaled, batch.targets, reduction="sum").double(),
            "points": torch.tensor(float(batch.truth.numel()), device=forecast.device),
            "se": se,
            "ae": ae,
            "naive_se": naive_se,
            "naive_ae": naive_ae,
            "snaive_se": snaive_se,
            "snaive_ae": snaive_ae,
            "snaive_points": has_season.sum().double(),
        }
        return sums, None

    @staticmethod
    def baselines(data: TimeSeriesData, origins: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, h)`` naive (the origin's value) and seasonal-naive (the same season's last observed value) forecasts.

        Seasonal naive for step ``j`` is ``y[t + j - m * ceil(j / m)]`` (m = ``data.season``): the
        latest value of the same phase known at the origin ``t``; NaN before the first cycle.
        """
        horizon, season = data.cfg.horizon, data.cfg.season
        steps = torch.arange(1, horizon + 1)  # (h,)
        naive = data.raw[origins].unsqueeze(1).expand(-1, horizon)  # (B, h)
        index = origins.unsqueeze(1) + steps - season * torch.ceil(steps / season).long()  # (B, h)
        seasonal = torch.where(index >= 0, data.raw[index.clamp(min=0)], torch.full_like(naive, math.nan))
        return naive.float(), seasonal.float()

    def compute_metrics(self, sums: dict[str, float], data: TimeSeriesData, texts: Any = ()) -> dict[str, float]:
        """loss (scaled MSE, picks the best checkpoint); model and baseline MSE/RMSE/MAE in original units."""
        metrics = {"loss": sums["loss_sum"] / max(sums["points"], 1.0)}
        metrics.update(_error_metrics(sums))
        metrics.update(_error_metrics(sums, "naive_"))
        if sums["snaive_points"] > 0:
            metrics.update(_error_metrics({**sums, "points": sums["snaive_points"]}, "snaive_"))
            metrics["rmse_vs_snaive"] = metrics["rmse"] / max(metrics["snaive_rmse"], 1e-12)  # < 1: the model wins
        return metrics

    # -- after training -------------------------------------------------------------
    @torch.no_grad()
    def forecast_paths(
        self, model: Forecaster, data: TimeSeriesData, split: str = "test"
    ) -> tuple[list[int], Tensor, Tensor]:
        """Forecasts from origins ``horizon`` apart across ``split`` (non-overlapping paths that cover it).

        Returns the origins, the model's ``(K, h)`` and the seasonal-naive ``(K, h)`` forecasts in original units.
        """
        model.eval()
        origins = data.origins(split)[:: data.cfg.horizon]
        batch = ForecastBatch(*[t.to(next(model.parameters()).device) for t in _stack(data, origins)])
        forecast = data.to_original(model(batch.inputs), batch.anchor).cpu()
        return origins, forecast, self.baselines(data, torch.tensor(origins))[1]

    def report(self, module: Any) -> None:
        """Print the model against the baselines and write ``forecast.png`` (truth, model, seasonal naive)."""
        test = module.last_metrics.get("test")
        if test:
            print(
                f"\nTest RMSE {test['rmse']:.3f} (MAE {test['mae']:.3f}) | naive RMSE {test['naive_rmse']:.3f} | "
                f"seasonal-naive RMSE {test.get('snaive_rmse', float('nan')):.3f} (season {module.data.cfg.season})"
            )
        if self.plot:
            path = self.plot_forecast(module.model, module.data, Path(module.trainer.default_root_dir) / "forecast.png")
            print(f"Forecast plot: {path}")

    def plot_forecast(self, model: Forecaster, data: TimeSeriesData, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        origins, forecast, seasonal = self.forecast_paths(model, data)
        horizon = data.cfg.horizon
        figure, axes = plt.subplots(figsize=(10, 4))
        axes.plot(
            range(data.raw.numel()), data.raw.numpy(), color="black", linewidth=1, label=f"truth ({data.target_name})"
        )
        for k, origin in enumerate(origins):
            steps = list(range(origin + 1, origin + 1 + horizon))
            axes.plot(steps, forecast[k].numpy(), color="tab:blue", label="model" if k == 0 else None)
            axes.plot(
                steps,
                seasonal[k].numpy(),
                color="tab:orange",
                linestyle="--",
                label="seasonal naive" if k == 0 else None,
            )
        start, _ = data.bounds("test")
        axes.axvline(start - 0.5, color="grey", linestyle=":", label="test split")
        axes.set_xlabel("time step (row)")
        axes.set_ylabel(data.target_name)
        axes.set_title(f"{horizon}-step forecasts from origins {horizon} steps apart")
        axes.legend(loc="upper left")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return path


def _stack(data: TimeSeriesData, origins: list[int]) -> tuple[Tensor, ...]:
    batch = collate_windows([data.example(origin) for origin in origins])
    return batch.inputs, batch.targets, batch.anchor, batch.truth, batch.origin


class RegressionTask:
    """Step-by-step regression over long signals: truncated BPTT, state carried across batches."""

    metric_sums = ("loss_sum", "points", "se", "ae", "y_sum", "y_sq_sum")

    def __init__(self, plot_steps: int = 400) -> None:
        self.plot_steps = plot_steps

    # -- building -------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> SignalData:
        return instantiate(cfg.data, "data", scaler=state)

    def build_model(self, cfg: Any, data: SignalData) -> StepRegressor:
        if not isinstance(data, SignalData):
            raise ConfigError("task=regression maps a signal step by step: use data=signal (got "
                              f"{type(data).__name__}).")
        if cfg.model.bidirectional:
            raise ConfigError(
                "task=regression carries its state forward through time, so the encoder must be causal: set "
                "model.bidirectional=false (it is true in the composed config)."
            )
        return StepRegressor(encoder=build_encoder(cfg.model, input_size=data.input_size), dropout=cfg.model.dropout)

    # -- steps ----------------------------------------------------------------------
    def training_step(
        self, model: StepRegressor, batch: StreamBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """Mean squared error over every step (scaled units); the detached state is the carry."""
        prediction, state = model(batch.inputs, carry)  # (B, T)
        loss = F.mse_loss(prediction, batch.targets)
        return loss, {"loss": loss.detach()}, detach_state(state) if stateful else None

    def split_time(self, batch: StreamBatch, steps: int) -> list[StreamBatch]:
        """Truncated BPTT: consecutive chunks of ``steps`` time steps (the last may be shorter)."""
        return batch.split_time(steps)

    def begin_evaluation(self, data: SignalData, split: str) -> None:
        self._data = data

    @torch.no_grad()
    def evaluation_step(
        self, model: StepRegressor, batch: StreamBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Tensor], Any]:
        prediction, state = model(batch.inputs, carry)  # (B, T)
        truth = self._data.target_to_original(batch.targets)
        se, ae = _errors(self._data.target_to_original(prediction), truth)
        sums = {
            "loss_sum": F.mse_loss(prediction, batch.targets, reduction="sum").double(),
            "points": torch.tensor(float(truth.numel()), device=truth.device),
            "se": se, "ae": ae, "y_sum": truth.double().sum(), "y_sq_sum": (truth.double() ** 2).sum(),
        }
        return sums, state

    def compute_metrics(self, sums: dict[str, float], data: SignalData, texts: Any = ()) -> dict[str, float]:
        """loss (scaled MSE); MSE/RMSE/MAE in original units; R² against predicting the split's mean."""
        count = max(sums["points"], 1.0)
        metrics = {"loss": sums["loss_sum"] / count, **_error_metrics(sums)}
        variance = sums["y_sq_sum"] / count - (sums["y_sum"] / count) ** 2
        metrics["r2"] = 1.0 - metrics["mse"] / variance if variance > 0 else float("nan")
        return metrics

    # -- after training -------------------------------------------------------------
    @torch.no_grad()
    def report(self, module: Any) -> None:
        """Write ``regression.png``: the first test stream's prediction vs. truth."""
        if self.plot_steps <= 0:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        data, model = module.data, module.model
        model.eval()
        part = data.parts["test"][: self.plot_steps]  # (T, F + 1): one contiguous stretch
        prediction, _ = model(part[None, :, :-1].to(next(model.parameters()).device))  # (1, T)
        figure, axes = plt.subplots(figsize=(10, 3.5))
        axes.plot(data.target_to_original(part[:, -1]).numpy(), color="black", label=f"truth ({data.cfg.target})")
        axes.plot(data.target_to_original(prediction[0].cpu()).numpy(), color="tab:blue", linestyle="--", label="model")
        axes.set_xlabel("test step")
        axes.legend(loc="upper right")
        figure.tight_layout()
        path = Path(module.trainer.default_root_dir) / "regression.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        print(f"Regression plot: {path}")
