"""Forecasting and signal regression: reading, scaling on training rows only, windows, baselines, bad input, the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from cli_helpers import run_seqforge_in_process

from seqforge.api import ConfigError, DataError, StreamBatches
from seqforge_forecast.series import SignalData, TimeSeriesData, make_signal_streams
from seqforge_forecast.tasks import ForecastTask


def write_csv(path: Path, values: list, *, header: str = "month,value", start_year: int = 2000) -> Path:
    lines = [header] + [f"{start_year + k // 12}-{k % 12 + 1:02d},{v}" for k, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def series_data(path: Path, **options) -> TimeSeriesData:
    defaults = {"path": str(path), "window": 4, "horizon": 2, "season": 4, "valid_size": 3, "test_size": 3}
    return TimeSeriesData(**{**defaults, **options}).prepare()


def test_scaling_uses_training_rows_only(tmp_path: Path) -> None:
    """Changing every validation and test value leaves the scaler and the training windows untouched"""
    values = [float(v) for v in range(1, 21)]
    changed = values[:14] + [1000.0 * v for v in values[14:]]  # valid/test are the last 6 rows
    a, b = series_data(write_csv(tmp_path / "a.csv", values)), series_data(write_csv(tmp_path / "b.csv", changed))
    train = torch.tensor(values[:14], dtype=torch.float64)
    assert a.scaler.mean == pytest.approx(float(train.mean())) and a.scaler.std == pytest.approx(float(train.std()))
    assert (a.scaler.mean, a.scaler.std) == (b.scaler.mean, b.scaler.std)
    for origin in a.origins("train"):
        for x, y in zip(a.example(origin)[:2], b.example(origin)[:2]):
            assert torch.equal(x, y)


def test_feature_columns_scaled_on_training_rows_and_restored_from_the_checkpoint_state(tmp_path: Path) -> None:
    lines = ["month,price,value"] + [f"2000-{k % 12 + 1:02d},{100 + k if k < 14 else 10_000},{k}" for k in range(20)]
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    data = series_data(tmp_path / "f.csv", features=["price"])
    assert data.input_size == 2 and data.feature_scalers[0].mean == pytest.approx(106.5)  # rows 0-13 only
    shifted = ["month,price,value"] + [f"2000-{k % 12 + 1:02d},{150 + k},{k + 5}" for k in range(20)]
    (tmp_path / "g.csv").write_text("\n".join(shifted) + "\n")  # other data, evaluated with the trained scalers
    restored = TimeSeriesData(
        scaler=data.state(),
        window=4, horizon=2, season=4, valid_size=3, test_size=3, path=str(tmp_path / "g.csv"), features=["price"],
    ).prepare()
    price, target = data.feature_scalers[0], data.scaler
    assert restored.series[0].tolist() == pytest.approx(
        [(5 - target.mean) / target.std, (150 - price.mean) / price.std]
    )


def test_windows_and_splits(tmp_path: Path) -> None:
    """Every scored target lies in its split; windows may read earlier rows as history; inputs hold the target's past"""
    data = series_data(write_csv(tmp_path / "s.csv", list(range(1, 21))), time_column="month", time_features=["month"])
    assert data.bounds("train") == (0, 14) and data.bounds("valid") == (14, 17) and data.bounds("test") == (17, 20)
    assert data.origins("train") == list(range(3, 12))  # targets up to row 13
    assert data.origins("valid") == [13, 14]  # targets rows 14-15 and 15-16
    assert data.origins("test") == [16, 17]
    inputs, targets, _anchor, truth, _origin = data.example(16)
    assert inputs.shape == (4, 3) and targets.shape == (2,) and truth.tolist() == [18.0, 19.0]
    assert data.scaler.unscale(inputs[:, 0].double()).tolist() == pytest.approx([14.0, 15.0, 16.0, 17.0])
    month = 16 % 12  # row 16 is May 2001: the (sin, cos) of its month
    assert inputs[-1, 1:].tolist() == pytest.approx(
        [math.sin(2 * math.pi * month / 12), math.cos(2 * math.pi * month / 12)], abs=1e-6
    )


def test_log_and_relative_round_trip(tmp_path: Path) -> None:
    """log + relative targets map back to the original units exactly"""
    data = series_data(
        write_csv(tmp_path / "s.csv", [float(2**k % 97 + 1) for k in range(30)]), transform="log", relative=True
    )
    inputs, targets, anchor, truth, _ = data.example(20)
    assert inputs[-1, 0] == 0.0  # relative to the window's last value
    restored = data.to_original(targets.unsqueeze(0), anchor.unsqueeze(0))
    torch.testing.assert_close(restored[0], truth, rtol=1e-5, atol=1e-4)


def test_naive_and_seasonal_naive_baselines(tmp_path: Path) -> None:
    """Hand-computed: naive repeats the origin's value; seasonal naive the same phase of the last cycle known at the
    origin"""
    values = [10, 20, 30, 40, 11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43, 14, 24, 34, 44]
    data = series_data(write_csv(tmp_path / "s.csv", values), horizon=3, valid_size=3, test_size=3, season=4)
    naive, seasonal = ForecastTask.baselines(data, torch.tensor([16, 5]))
    assert naive.tolist() == [[14.0] * 3, [21.0] * 3]
    # target row r -> row r - 4 (known at the origin)
    assert seasonal.tolist() == [[23.0, 33.0, 43.0], [30.0, 40.0, 11.0]]
    short = series_data(write_csv(tmp_path / "t.csv", values), horizon=3, valid_size=3, test_size=3, season=8, window=2)
    assert math.isnan(ForecastTask.baselines(short, torch.tensor([1]))[1][0, 0])  # no earlier cycle yet


def test_metrics_in_original_units_beside_the_baselines() -> None:
    task = ForecastTask()
    sums = {"loss_sum": 2.0, "points": 4.0, "se": 16.0, "ae": 8.0, "naive_se": 64.0, "naive_ae": 16.0,
            "snaive_se": 36.0, "snaive_ae": 12.0, "snaive_points": 4.0}
    metrics = task.compute_metrics(sums, data=None)
    assert metrics["rmse"] == 2.0 and metrics["mae"] == 2.0 and metrics["mse"] == 4.0 and metrics["loss"] == 0.5
    assert (
        metrics["naive_rmse"] == 4.0
        and metrics["snaive_rmse"] == 3.0
        and metrics["rmse_vs_snaive"] == pytest.approx(2 / 3)
    )


# -- bad input -------------------------------------------------------------------
def test_missing_value_is_an_error_naming_file_line_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [1, 2, "", 4, *range(5, 21)])
    with pytest.raises(DataError, match=rf"{path}, line 4, column 'value': missing value .*data.missing=ffill"):
        series_data(path)
    nan = write_csv(tmp_path / "n.csv", [1, 2, 3, "NaN", *range(5, 21)])
    with pytest.raises(DataError, match=r"line 5, column 'value': missing value \('NaN'\)"):
        series_data(nan)


def test_missing_values_filled_when_configured_and_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [1, 2, "", "", 8, *range(6, 21)])
    ffill = series_data(path, missing="ffill")
    assert (
        ffill.raw[:5].tolist() == [1, 2, 2, 2, 8]
        and ffill.filled == 2
        and "missing values filled: 2" in ffill.describe()
    )
    assert series_data(path, missing="interpolate").raw[:5].tolist() == [1, 2, 4, 6, 8]
    leading = write_csv(tmp_path / "l.csv", ["", *range(2, 21)])
    with pytest.raises(DataError, match=r"starts with a missing value, which data\.missing=ffill cannot fill"):
        series_data(leading, missing="ffill")
    with pytest.raises(ConfigError, match=r"data\.missing must be one of error, ffill, interpolate"):
        series_data(path, missing="zero")


def test_non_numeric_cell_and_wrong_field_count(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [1, 2, "abc", *range(4, 21)])
    with pytest.raises(DataError, match=rf"{path}, line 4, column 'value' \(data.target\): 'abc' is not a number"):
        series_data(path)
    ragged = tmp_path / "r.csv"
    ragged.write_text("month,value\n2000-01,1\n2000-02,2,3\n")
    with pytest.raises(DataError, match=r"r.csv, line 3: expected 2 comma-separated fields \(month, value\), found 3"):
        series_data(ragged)
    with pytest.raises(ConfigError, match=r"data.target='sales' is not a column of .*: month, value"):
        series_data(write_csv(tmp_path / "ok.csv", list(range(20))), target="sales")


def test_series_shorter_than_window_plus_horizon(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", list(range(1, 12)))
    with pytest.raises(DataError, match=r"has 11 rows: .* 5 remain for training, fewer than one window of "
                                        r"data.window=4 inputs plus data.horizon=2 targets \(6 rows\)"):
        series_data(path)


def test_horizon_longer_than_a_scored_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.horizon=5 must fit inside the validation and test splits"):
        series_data(write_csv(tmp_path / "s.csv", list(range(40))), horizon=5)


def test_log_transform_needs_positive_values(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"line 3: data.transform=log needs positive 'value' values, found 0.0"):
        series_data(write_csv(tmp_path / "s.csv", [1, 0, *range(3, 21)]), transform="log")


# -- signal streams --------------------------------------------------------------------
def test_stateful_batching_order_and_per_rank_sharding() -> None:
    """Row i of batch n+1 continues row i of batch n; rank r holds streams r*B..r*B+B-1 of one contiguous cut;
    every rank gets the same number of batches"""
    signal = torch.arange(100, dtype=torch.float32).unsqueeze(1).repeat(1, 2)  # (N, 2): input = target = time index
    per_rank = [
        StreamBatches(make_signal_streams(signal, 2, rank, 2), seq_len=4, next_token=False) for rank in range(2)
    ]
    assert len(per_rank[0]) == len(per_rank[1]) == 7  # 4 streams of 25 steps: 6 batches of 4 and one of 1
    for rank, loader in enumerate(per_rank):
        batches = list(loader)
        rows = torch.cat([b.inputs[..., 0] for b in batches], dim=1)  # (B, 25)
        for i in range(2):
            start = (rank * 2 + i) * 25
            assert rows[i].tolist() == list(range(start, start + 25))
        assert [b.index for b in batches] == list(range(7))
        assert torch.equal(batches[1].inputs[:, 0, 0], batches[0].inputs[:, -1, 0] + 1)


def test_signal_batches_resume_mid_epoch() -> None:
    loader = StreamBatches(make_signal_streams(torch.arange(40.0).view(20, 2), 2), seq_len=3, next_token=False)
    loader.load_state_dict({"consumed": 2})
    assert [b.index for b in loader] == [2, 3]
    assert [b.index for b in loader] == [0, 1, 2, 3]  # the next epoch starts at the beginning


def test_signal_scaling_on_training_rows_and_generated_sine() -> None:
    data = SignalData(length=1000, split=[0.8, 0.1, 0.1], seq_len=10, batch_size=4).prepare()
    assert set(data.parts) == {"train", "valid", "test"} and data.parts["train"].shape == (800, 2)
    torch.testing.assert_close(data.parts["train"].mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    t = torch.arange(1000, dtype=torch.float64) * 0.1
    torch.testing.assert_close(
        data.target_to_original(data.parts["test"][:, 1]).double(), torch.cos(t[900:]), atol=1e-5, rtol=0
    )


def test_signal_too_short_for_the_batch() -> None:
    with pytest.raises(DataError, match=r"leaves 2 for the valid split, fewer than one step per stream "
                                        r"\(data.eval_batch_size=8\)"):
        SignalData(length=20, split=[0.8, 0.1, 0.1]).prepare()


# -- end to end --------------------------------------------------------------------------
@pytest.mark.slow
def test_airline_demo_beats_seasonal_naive_and_writes_the_plot(tmp_path: Path) -> None:
    """The demo as shipped: 1959-1960 forecast better than seasonal naive, both baselines printed beside
    the model on the same points, metrics logged, forecast.png written"""
    run_dir = tmp_path / "run"
    result = run_seqforge_in_process(
        "train",
        "experiment=airline_demo",
        "trainer.enable_progress_bar=false",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Box & Jenkins series G, 1959-1960, 12 steps ahead from 13 origins
    assert "seasonal-naive RMSE 53.366" in result.stdout
    assert "naive RMSE 99.226" in result.stdout
    assert (run_dir / "forecast.png").stat().st_size > 10_000
    rows = [line.split(",") for line in (run_dir / "csv" / "metrics.csv").read_text().splitlines()]
    header, last = rows[0], rows[-1]
    assert all(
        f"test/{name}" in header for name in ("rmse", "mae", "mse", "naive_rmse", "snaive_rmse", "rmse_vs_snaive")
    )
    assert float(last[header.index("test/rmse_vs_snaive")]) < 0.8


@pytest.mark.slow
def test_own_csv_and_sine_regression_from_the_cli(tmp_path: Path) -> None:
    """task=regression on a user CSV with truncated BPTT; missing cells filled as configured"""
    rows = ["t,x,y"] + [f"{k},{math.sin(k / 5):.5f},{'' if k == 7 else f'{math.cos(k / 5):.5f}'}" for k in range(800)]
    (tmp_path / "sig.csv").write_text("\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    common = [
        "task=regression",
        "data=signal",
        f"data.path={tmp_path / 'sig.csv'}",
        "data.inputs=[x]",
        "data.target=y",
        "data.seq_len=20",
        "data.batch_size=4",
        "data.eval_batch_size=2",
        "train.tbptt_steps=5",
        "trainer.max_steps=12",
        "model.hidden_size=8",
        "trainer.enable_progress_bar=false",
        "task.plot_steps=50",
        f"hydra.run.dir={run_dir}",
    ]
    refused = run_seqforge_in_process("train", *common, cwd=tmp_path)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "sig.csv, line 9, column 'y': missing value ('')" in refused.stderr
    result = run_seqforge_in_process("train", *common, "data.missing=interpolate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "missing values filled: 1" in result.stdout and (run_dir / "regression.png").exists()
    assert "test/r2" in (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
