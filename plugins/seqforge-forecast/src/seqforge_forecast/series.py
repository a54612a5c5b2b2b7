"""Time series: CSV reading and cleaning, training-split scaling, sliding windows, contiguous streams.

Two layouts over the same reading code:

* :class:`TimeSeriesData` (``data=timeseries``): sliding windows of ``window`` input steps
  and the next ``horizon`` target values, for multi-step forecasting.
* :class:`SignalData` (``data=signal``): one long signal cut into contiguous streams
  (like the language model's text), for step-by-step regression with truncated BPTT and
  the state carried across batches.

Statistics (scaling) come from the training split only, so nothing about the validation or
test rows leaks into training. Missing values are an error unless ``data.missing`` names a
fill, and every fill is counted and reported.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from seqforge.api import (
    ConfigError,
    DataError,
    ResumableLoader,
    StreamBatches,
    StreamLoaders,
    check_fractions,
    shuffle_seed,
    training_loader,
)
from seqforge_forecast.series_configs import SignalDataConfig, TimeSeriesDataConfig

MISSING_POLICIES = ("error", "ffill", "interpolate")
TRANSFORMS = ("none", "log")
TIME_FEATURES = {
    "month": (lambda d: d.month - 1, 12),
    "dayofweek": (lambda d: d.weekday(), 7),
    "hour": (lambda d: d.hour, 24),
}
AIRLINE_CSV = "airline_passengers.csv"


# -- reading ------------------------------------------------------------------
@dataclass
class Table:
    """A CSV as columns of strings; ``source`` names it in messages."""

    source: str
    header: list[str]
    rows: list[list[str]]

    def column(self, name: str, key: str) -> list[str]:
        if name not in self.header:
            raise ConfigError(f"{key}='{name}' is not a column of {self.source}; its columns are: "
                              f"{', '.join(self.header)}.")
        index = self.header.index(name)
        return [row[index] for row in self.rows]


def read_table(path: str | None, *, key: str = "data.path") -> Table:
    """The CSV at ``path`` (or the embedded airline series), every row checked for its field count."""
    if path is None:
        text = resources.files("seqforge_forecast").joinpath(AIRLINE_CSV).read_text(encoding="utf-8")
        source = f"the embedded {AIRLINE_CSV}"
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise DataError(f"{key}: no such file '{file}' (expected a CSV file with a header row).")
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{file} ({key}) is not UTF-8 text: byte offset {exc.start} cannot be decoded.") from None
        source = str(file)
    records = list(csv.reader(text.splitlines()))
    if not records or not any(cell.strip() for cell in records[0]):
        raise DataError(f"{source} ({key}) is empty; expected a header row and one row per time step.")
    header = [name.strip() for name in records[0]]
    rows = []
    for number, row in enumerate(records[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue  # blank lines (e.g. a trailing newline) are not time steps
        if len(row) != len(header):
            raise DataError(f"{source}, line {number}: expected {len(header)} comma-separated fields "
                            f"({', '.join(header)}), found {len(row)}.")
        rows.append([cell.strip() for cell in row])
    if not rows:
        raise DataError(f"{source} ({key}) has a header but no data rows.")
    return Table(source, header, rows)


def _is_missing(cell: str) -> bool:
    return cell == "" or cell.lower() in ("nan", "na", "null", "none", "?")


def numeric_column(table: Table, name: str, *, key: str, missing: str) -> tuple[Tensor, int]:
    """Column ``name`` as float64 ``(N,)``, missing cells handled by ``missing``; returns it and the number filled."""
    if missing not in MISSING_POLICIES:
        raise ConfigError(f"data.missing must be one of {', '.join(MISSING_POLICIES)}, got '{missing}'.")
    cells = table.column(name, key)
    values: list[float] = []
    for number, cell in enumerate(cells, start=2):
        if _is_missing(cell):
            if missing == "error":
                raise DataError(
                    f"{table.source}, line {number}, column '{name}': missing value ('{cell}'). Fill the gap in the "
                    "file, or set data.missing=ffill (repeat the previous value) or data.missing=interpolate (linear "
                    "between neighbours)."
                )
            values.append(math.nan)
            continue
        try:
            value = float(cell)
        except ValueError:
            raise DataError(
                f"{table.source}, line {number}, column '{name}' ({key}): '{cell}' is not a number."
            ) from None
        if math.isinf(value):
            raise DataError(f"{table.source}, line {number}, column '{name}' ({key}): '{cell}' is infinite.")
        values.append(value)
    column = torch.tensor(values, dtype=torch.float64)  # (N,)
    gaps = torch.isnan(column)
    if gaps.any():
        column = _fill(column, missing, table.source, name)
    return column, int(gaps.sum())


def _fill(column: Tensor, missing: str, source: str, name: str) -> Tensor:
    known = (~torch.isnan(column)).nonzero().flatten()  # (K,)
    if known.numel() == 0:
        raise DataError(f"{source}: column '{name}' has no values at all.")
    positions = torch.arange(column.numel())
    if missing == "ffill":
        if known[0] > 0:
            raise DataError(
                f"{source}, line 2, column '{name}': the series starts with a missing value, which data.missing=ffill "
                "cannot fill (there is no previous value); use data.missing=interpolate or fix the file."
            )
        last_known = torch.cummax(torch.where(torch.isnan(column), -1, positions), dim=0).values  # (N,)
        return column[last_known]
    # interpolate: linear between the neighbouring known values; the ends take the nearest known value
    right = torch.searchsorted(known, positions).clamp(max=known.numel() - 1)  # (N,)
    left = (right - 1).clamp(min=0)
    right = torch.where(known[right] < positions, left, right)
    x0, x1 = known[left].double(), known[right].double()
    y0, y1 = column[known[left]], column[known[right]]
    weight = torch.where(x1 > x0, (positions - x0) / (x1 - x0).clamp(min=1), torch.zeros_like(x0)).clamp(0, 1)
    filled = y0 + weight * (y1 - y0)
    return torch.where(torch.isnan(column), filled, column)


def _parse_time(cell: str) -> datetime:
    for candidate in (cell, f"{cell}-01"):  # "1949-01" is a month
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    raise ValueError(cell)


def time_feature_columns(table: Table, column: str | None, names: Sequence[str]) -> Tensor:
    """``(N, 2 * len(names))``: sin and cos of each calendar feature (cyclic, so December sits next to January)."""
    if not names:
        return torch.zeros(len(table.rows), 0, dtype=torch.float64)
    for name in names:
        if name not in TIME_FEATURES:
            raise ConfigError(f"data.time_features: unknown feature '{name}'; expected any of "
                              f"{', '.join(TIME_FEATURES)}.")
    if column is None:
        column = table.header[0]
    cells = table.column(column, "data.time_column")
    features = []
    for number, cell in enumerate(cells, start=2):
        try:
            stamp = _parse_time(cell)
        except ValueError:
            raise DataError(
                f"{table.source}, line {number}, column '{column}' (data.time_column): '{cell}' is not an ISO date or "
                "time (e.g. 1949-01, 2026-11-22, 2026-11-22T13:00)."
            ) from None
        row = []
        for name in names:
            value, period = TIME_FEATURES[name]
            angle = 2 * math.pi * value(stamp) / period
            row += [math.sin(angle), math.cos(angle)]
        features.append(row)
    return torch.tensor(features, dtype=torch.float64)


# -- scaling ------------------------------------------------------------------
@dataclass
class Scaler:
    """``(transform(y) - mean) / std`` with ``mean``/``std`` from the training rows only."""

    mean: float
    std: float
    log: bool = False

    @classmethod
    def fit(cls, values: Tensor, *, log: bool = False) -> Scaler:
        transformed = values.log() if log else values
        std = float(transformed.std()) if transformed.numel() > 1 else 1.0
        return cls(float(transformed.mean()), std if std > 1e-12 else 1.0, log)

    def scale(self, values: Tensor) -> Tensor:
        return ((values.log() if self.log else values) - self.mean) / self.std

    def unscale(self, values: Tensor) -> Tensor:
        restored = values * self.std + self.mean
        return restored.exp() if self.log else restored

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "log": self.log}


# -- forecasting windows --------------------------------------------------------
@dataclass
class ForecastBatch:
    """Windows ending at ``origin``; ``truth`` is in the data's original units.

    ``inputs`` ``(B, W, F)``, ``targets`` ``(B, h)`` scaled (relative to ``anchor`` when
    ``data.relative``), ``anchor`` ``(B,)`` the scaled value added back, ``truth`` ``(B, h)``,
    ``origin`` ``(B,)`` row index of each window's last input step.
    """

    inputs: Tensor
    targets: Tensor
    anchor: Tensor
    truth: Tensor
    origin: Tensor

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: torch.device) -> ForecastBatch:
        return ForecastBatch(*(t.to(device) for t in (self.inputs, self.targets, self.anchor, self.truth, self.origin)))


class Windows(Dataset):
    """Example ``k``: inputs at rows ``origin-W+1 .. origin``, targets at ``origin+1 .. origin+h``."""

    def __init__(self, data: TimeSeriesData, origins: list[int]) -> None:
        self.data, self.origins = data, origins

    def __len__(self) -> int:
        return len(self.origins)

    def __getitem__(self, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
        return self.data.example(self.origins[k])


def collate_windows(examples: list[tuple[Tensor, Tensor, Tensor, Tensor, int]]) -> ForecastBatch:
    inputs, targets, anchor, truth, origin = zip(*examples)
    return ForecastBatch(
        torch.stack(inputs), torch.stack(targets), torch.stack(anchor), torch.stack(truth), torch.tensor(origin)
    )


class TimeSeriesData(L.LightningDataModule):
    """Reads the CSV, fits the scaler on the training rows, and serves sliding windows per split.

    Args:
        scaler: the fitted scalers' state from a checkpoint (``{"target": ..., "features": [...]}``),
            so evaluation scales exactly as training did.
        **options: the fields of :class:`TimeSeriesDataConfig`.
    """

    def __init__(self, *, scaler: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = cfg = TimeSeriesDataConfig(**options)
        for key in ("window", "horizon", "season", "batch_size", "eval_batch_size", "valid_size", "test_size"):
            if getattr(cfg, key) < 1:
                raise ConfigError(f"data.{key} must be >= 1, got {getattr(cfg, key)}.")
        if cfg.transform not in TRANSFORMS:
            raise ConfigError(f"data.transform must be one of {', '.join(TRANSFORMS)}, got '{cfg.transform}'.")
        if cfg.horizon > min(cfg.valid_size, cfg.test_size):
            raise ConfigError(
                f"data.horizon={cfg.horizon} must fit inside the validation and test splits "
                f"(data.valid_size={cfg.valid_size}, data.test_size={cfg.test_size}): each scored forecast lies wholly "
                "in one split."
            )
        self.scaler = Scaler(**scaler["target"]) if scaler is not None else None
        self.feature_scalers = [Scaler(**state) for state in scaler["features"]] if scaler is not None else None
        self.series: Tensor | None = None

    # -- reading --------------------------------------------------------------------
    def prepare(self) -> TimeSeriesData:
        """Read, clean and scale the series (idempotent); the model's input size depends on the columns."""
        if self.series is not None:
            return self
        cfg = self.cfg
        table = read_table(cfg.path)
        self.source = table.source
        self.target_name = cfg.target or table.header[-1]
        target, filled = numeric_column(table, self.target_name, key="data.target", missing=cfg.missing)
        extras = [numeric_column(table, name, key="data.features", missing=cfg.missing) for name in cfg.features]
        self.filled = filled + sum(count for _, count in extras)
        time_column = cfg.time_column
        if time_column is None and cfg.time_features and table.header[0] == self.target_name:
            raise ConfigError("data.time_features needs data.time_column (the first column is the target).")
        calendar = time_feature_columns(table, time_column, cfg.time_features)  # (N, 2 * features)
        n = target.numel()
        needed = cfg.window + cfg.horizon
        self.train_end = n - cfg.valid_size - cfg.test_size
        if self.train_end < needed:
            raise DataError(
                f"{table.source} has {n} rows: after the validation ({cfg.valid_size}, data.valid_size) and test "
                f"({cfg.test_size}, data.test_size) rows, {max(self.train_end, 0)} remain for training, fewer than one "
                f"window of data.window={cfg.window} inputs plus data.horizon={cfg.horizon} targets ({needed} rows). "
                "Use a shorter window or horizon, smaller validation/test splits, or a longer series."
            )
        if cfg.transform == "log" and bool((target <= 0).any()):
            row = int((target <= 0).nonzero()[0]) + 2
            raise DataError(f"{table.source}, line {row}: data.transform=log needs positive '{self.target_name}' "
                            f"values, found {float(target[row - 2])}.")
        if self.scaler is None:
            self.scaler = Scaler.fit(target[: self.train_end], log=cfg.transform == "log")
        columns = [self.scaler.scale(target)]
        if self.feature_scalers is None:
            self.feature_scalers = [Scaler.fit(values[: self.train_end]) for values, _ in extras]
        columns += [s.scale(values) for s, (values, _) in zip(self.feature_scalers, extras)]
        self.raw = target  # (N,) original units
        self.series = torch.stack(columns, dim=1)  # (N, 1 + features), scaled with training statistics
        self.calendar = calendar
        return self

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    @property
    def input_size(self) -> int:
        return 1 + len(self.cfg.features) + 2 * len(self.cfg.time_features)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: the training-split scalers of the target and of the feature columns."""
        return {"target": self.scaler.state(), "features": [s.state() for s in self.feature_scalers]}

    def describe(self) -> str:
        return (
            f"{self.source}: {self.raw.numel()} rows, target '{self.target_name}' | window {self.cfg.window}, horizon "
            f"{self.cfg.horizon} | train/valid/test windows {len(self.origins('train'))}/{len(self.origins('valid'))}/"
            f"{len(self.origins('test'))} | missing values filled: {self.filled}"
        )

    # -- windows --------------------------------------------------------------------
    def bounds(self, split: str) -> tuple[int, int]:
        """Rows ``[start, end)`` whose values a split's forecasts are scored on."""
        n, cfg = self.raw.numel(), self.cfg
        return {
            "train": (0, self.train_end),
            "valid": (self.train_end, n - cfg.test_size),
            "test": (n - cfg.test_size, n),
        }[split]

    def origins(self, split: str) -> list[int]:
        """Every forecast origin whose ``horizon`` targets lie inside the split and whose window has full history."""
        start, end = self.bounds(split)
        first = max(start - 1, self.cfg.window - 1)
        return list(range(first, end - self.cfg.horizon))

    def example(self, origin: int) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
        cfg = self.cfg
        rows = slice(origin - cfg.window + 1, origin + 1)
        inputs = torch.cat([self.series[rows], self.calendar[rows]], dim=1).clone()  # (W, F)
        future = slice(origin + 1, origin + 1 + cfg.horizon)
        targets = self.series[future, 0].clone()  # (h,)
        anchor = self.series[origin, 0].clone() if cfg.relative else torch.zeros((), dtype=torch.float64)
        if cfg.relative:
            inputs[:, 0] -= anchor
            targets -= anchor
        return inputs.float(), targets.float(), anchor.float(), self.raw[future].float(), origin

    def to_original(self, scaled: Tensor, anchor: Tensor) -> Tensor:
        """Model outputs ``(B, h)`` -> the data's original units."""
        return self.scaler.unscale(scaled.double() + anchor.double().unsqueeze(-1)).float()

    def train_dataloader(self) -> ResumableLoader:
        return training_loader(
            Windows(self, self.origins("train")),
            batch_size=self.cfg.batch_size,
            collate_fn=collate_windows,
            seed=shuffle_seed(),
            shuffle=self.cfg.shuffle,
            trainer=getattr(self, "trainer", None),
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            Windows(self, self.origins("valid")), batch_size=self.cfg.eval_batch_size, collate_fn=collate_windows
        )

    def test_dataloader(self) -> DataLoader:
        return DataLoader(
            Windows(self, self.origins("test")), batch_size=self.cfg.eval_batch_size, collate_fn=collate_windows
        )

    def transfer_batch_to_device(
        self, batch: ForecastBatch, device: torch.device, dataloader_idx: int
    ) -> ForecastBatch:
        return batch.to(device)


# -- contiguous signal streams ----------------------------------------------------
def make_signal_streams(
    values: Tensor, batch_size: int, rank: int = 0, world_size: int = 1, *, key: str = "data.batch_size"
) -> Tensor:
    """``(N, C)`` -> this rank's ``(B, N // (world * B), C)`` contiguous streams.

    Stream ``rank * B + i`` is row ``i`` on rank ``rank``: the same contiguous, deterministic
    slicing as the language model's text, so every rank gets streams of one length and
    therefore the same number of batches (and truncated-BPTT chunks).
    """
    total = batch_size * world_size
    length = values.shape[0] // total
    if length < 1:
        raise DataError(f"A signal of {values.shape[0]} steps is too short for {key}={batch_size} on {world_size} "
                        "device(s).")
    streams = values[: length * total].reshape(total, length, values.shape[1])  # (world*B, N', C)
    return streams[rank * batch_size : (rank + 1) * batch_size]  # (B, N', C)


def sine_columns(length: int, step: float) -> dict[str, Tensor]:
    """The generated demo signal, built as tensors (a 10^6-step signal needs no text): ``t``, ``sin``, ``cos``."""
    t = torch.arange(length, dtype=torch.float64) * step  # (N,)
    return {"t": t, "sin": torch.sin(t), "cos": torch.cos(t)}


class SignalData(StreamLoaders, L.LightningDataModule):
    """A long signal split in time into train/valid/test, each cut into contiguous streams.

    Args:
        scaler: per-column scaler states from a checkpoint.
        **options: the fields of :class:`SignalDataConfig`.
    """

    sequence_length_key = "data.seq_len"  # named when train.tbptt_steps exceeds it
    next_token = False  # the last channel is the target

    def __init__(self, *, scaler: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.cfg = cfg = SignalDataConfig(**options)
        for key in ("seq_len", "batch_size", "eval_batch_size", "length"):
            if getattr(cfg, key) < 1:
                raise ConfigError(f"data.{key} must be >= 1, got {getattr(cfg, key)}.")
        if not cfg.inputs:
            raise ConfigError("data.inputs must name at least one input column.")
        check_fractions(cfg.split)
        self._scaler_state = scaler
        self.parts: dict[str, Tensor] = {}
        self._loaders: dict[str, StreamBatches] = {}

    @property
    def sequence_length(self) -> int:
        """Time steps of a training batch (what ``train.tbptt_steps`` cuts into chunks)."""
        return self.cfg.seq_len

    @property
    def input_size(self) -> int:
        return len(self.cfg.inputs)

    def prepare(self) -> SignalData:
        if self.parts:
            return self
        cfg = self.cfg
        names = [*cfg.inputs, cfg.target]
        keys = ["data.inputs"] * len(cfg.inputs) + ["data.target"]
        if cfg.path is None:
            generated = sine_columns(cfg.length, cfg.step)
            self.source, self.filled = f"the generated sine signal ({cfg.length} steps of {cfg.step} rad)", 0
            for name, key in zip(names, keys):
                if name not in generated:
                    raise ConfigError(f"{key}: the generated signal has columns {', '.join(generated)}, not '{name}' "
                                      "(or set data.path to a CSV).")
            values = torch.stack([generated[name] for name in names], dim=1)  # (N, F + 1)
        else:
            table = read_table(cfg.path)
            self.source = table.source
            columns = [numeric_column(table, name, key=key, missing=cfg.missing) for name, key in zip(names, keys)]
            self.filled = sum(count for _, count in columns)
            values = torch.stack([c for c, _ in columns], dim=1)  # (N, F + 1)
        n = values.shape[0]
        cut1, cut2 = int(n * cfg.split[0]), int(n * (cfg.split[0] + cfg.split[1]))
        bounds = {"train": (0, cut1), "valid": (cut1, cut2), "test": (cut2, n)}
        if self._scaler_state is None:
            self.scalers = [Scaler.fit(values[:cut1, k]) for k in range(values.shape[1])]  # training rows only
        else:
            self.scalers = [Scaler(**state) for state in self._scaler_state]
        scaled = torch.stack([s.scale(values[:, k]) for k, s in enumerate(self.scalers)], dim=1).float()  # (N, F + 1)
        for split, (start, end) in bounds.items():
            batch = cfg.batch_size if split == "train" else cfg.eval_batch_size
            if end - start < batch:
                raise DataError(
                    f"{self.source} has {n} rows; data.split={list(cfg.split)} leaves {end - start} for the {split} "
                    "split, fewer than one step per stream "
                    f"(data.{'batch_size' if split == 'train' else 'eval_batch_size'}={batch})."
                )
            self.parts[split] = scaled[start:end]
        return self

    def setup(self, stage: str | None = None) -> None:
        self.prepare()

    def state(self) -> list[dict[str, Any]]:
        return [s.state() for s in self.scalers]

    def describe(self) -> str:
        rows = {split: part.shape[0] for split, part in self.parts.items()}
        return (
            f"{self.source}: inputs {', '.join(self.cfg.inputs)} -> {self.cfg.target} | rows train/valid/test "
            f"{rows['train']}/{rows['valid']}/{rows['test']} | missing values filled: {self.filled}"
        )

    def target_to_original(self, scaled: Tensor) -> Tensor:
        return self.scalers[-1].unscale(scaled.double()).float()

    def split_streams(self, split: str, batch_size: int, rank: int, world_size: int) -> Tensor:
        key = "data.batch_size" if split == "train" else "data.eval_batch_size"
        return make_signal_streams(self.parts[split], batch_size, rank, world_size, key=key)
