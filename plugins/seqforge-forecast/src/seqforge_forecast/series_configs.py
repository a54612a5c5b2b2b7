"""Config dataclasses of the time-series data components (import-light: no torch, no lightning)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TimeSeriesDataConfig:
    """``data=timeseries``: a CSV time series cut into sliding windows for multi-step forecasting.

    The last ``test_size`` rows are the test split, the ``valid_size`` rows before them the
    validation split, the rest the training split. Scaling (and every other statistic) is
    fitted on the training split only; windows of the later splits may read earlier rows as
    history (they are known at forecast time) but are scored only on their own rows.
    """

    path: str | None = None  # a CSV file with a header row; None: the embedded airline passengers series (1949-1960)
    target: str | None = None  # the column to forecast; None: the last column
    # other numeric columns fed as inputs alongside the target's history
    features: list[str] = field(default_factory=list)
    # an ISO date/time column (e.g. 1949-01) for `time_features`; None: the first column if it is not numeric
    time_column: str | None = None
    time_features: list[str] = field(default_factory=list)  # month|dayofweek|hour: each fed as a (sin, cos) pair
    missing: str = "error"  # empty/NaN cells: error|ffill (previous value)|interpolate (linear between neighbours)
    transform: str = "none"  # none|log: forecast log(y) (multiplicative growth becomes additive; needs y > 0)
    # inputs and targets relative to the window's last value: the model learns changes, not levels
    relative: bool = False
    window: int = 24  # input time steps per example
    horizon: int = 1  # future steps forecast from each origin
    season: int = 12  # period of the seasonal-naive baseline (12 for monthly data)
    valid_size: int = 12  # rows
    test_size: int = 24  # rows
    batch_size: int = 16
    eval_batch_size: int = 64
    shuffle: bool = True  # training windows in a seeded random order


@dataclass
class SignalDataConfig:
    """``data=signal``: one long multivariate signal mapped step by step (sequence regression).

    The signal is split by ``split`` into contiguous train/valid/test parts; each part is cut
    into ``batch_size`` contiguous streams (per DDP rank), so row i of batch n+1 continues
    row i of batch n and the state can be carried across batches (``stateful``).
    """

    path: str | None = None  # a CSV file with a header row; None: a generated sine/cosine signal
    inputs: list[str] = field(default_factory=lambda: ["sin"])  # input columns
    target: str = "cos"  # the column predicted at every step
    missing: str = "error"  # error|ffill|interpolate (as data=timeseries)
    length: int = 40000  # generated signal only: samples
    step: float = 0.1  # generated signal only: radians between samples (a period is about 63 samples)
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])  # train/valid/test fractions, in time order
    seq_len: int = 200  # time steps per row of a batch
    batch_size: int = 16  # rows (streams) per batch and per device
    eval_batch_size: int = 8
    stateful: bool = True  # carry the state from batch n to batch n+1 (rows are contiguous)
