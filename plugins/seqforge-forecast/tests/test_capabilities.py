"""Which optional Task capabilities (seqforge.api Protocols) the forecast plugin's tasks have, as the core sees them."""

from seqforge.testing import task_capabilities


def test_forecast_evaluates_against_baselines_and_reports() -> None:
    assert task_capabilities("forecast") == ["BeginsEvaluation", "Reports"]


def test_regression_also_splits_time_for_truncated_bptt() -> None:
    assert task_capabilities("regression") == ["BeginsEvaluation", "Reports", "TimeSplits"]
