"""Every cell trains under each `trainer.precision` seqforge accepts on CPU, through Lightning's own precision plugins."""

from __future__ import annotations

import pytest
import torch

from seqforge.api import run_cell
from seqforge_rnn.cells import GRUCell, LSTMCell, RNNCell

CELLS = {"lstm": LSTMCell, "gru": GRUCell, "rnn": RNNCell}


def precision_plugin(precision: str):
    """The plugin Lightning's Trainer uses for ``precision`` on a CPU (accelerator connector:
    ``_check_and_init_precision``)."""
    from lightning.pytorch.plugins.precision import DoublePrecision, HalfPrecision, MixedPrecision, Precision

    return {
        "32-true": Precision,
        "64-true": DoublePrecision,
        "bf16-mixed": lambda: MixedPrecision("bf16-mixed", "cpu"),
        "bf16-true": lambda: HalfPrecision("bf16-true"),
    }[precision]()


#: precision -> dtype of the weights after Lightning converted the module.
WEIGHT_DTYPES = {
    "32-true": torch.float32,
    "64-true": torch.float64,
    "bf16-mixed": torch.float32,
    "bf16-true": torch.bfloat16,
}


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("precision", list(WEIGHT_DTYPES))
def test_cell_runs_forward_and_backward_under_each_cpu_precision(precision: str, name: str, fused: bool) -> None:
    """Forward and backward over a padded batch give finite outputs and gradients (bf16-mixed used to fail in oneDNN's
    LSTM)"""
    torch.manual_seed(0)
    plugin = precision_plugin(precision)
    cell = plugin.convert_module(CELLS[name](4, 6, fused=fused))
    assert next(cell.parameters()).dtype == WEIGHT_DTYPES[precision]
    x = plugin.convert_input(torch.randn(3, 5, 4))  # (B, T, I)
    with plugin.forward_context():
        full, _ = run_cell(cell, x)  # all sequences full length: the unpacked kernel (the one oneDNN refused in bf16)
        padded, _ = run_cell(cell, x, torch.tensor([5, 3, 1]))  # packed
        loss = full.float().pow(2).sum() + padded.float().pow(2).sum()
    loss.backward()
    for outputs in (full, padded):
        assert outputs.shape == (3, 5, 6) and torch.isfinite(outputs.float()).all()
    assert all(p.grad is not None and torch.isfinite(p.grad.float()).all() for p in cell.parameters())
    assert padded[2, 1:].abs().sum() == 0  # padding stays zero under every precision


def test_fused_kernel_under_bf16_autocast_runs_in_float32_and_matches_float32() -> None:
    """Under CPU autocast the fused LSTM runs in float32: same outputs as without autocast"""
    torch.manual_seed(0)
    cell = LSTMCell(4, 6)
    x = torch.randn(2, 5, 4)
    expected, _ = run_cell(cell, x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs, (h, _c) = run_cell(cell, x)
    assert outputs.dtype == torch.float32 and h.dtype == torch.float32
    torch.testing.assert_close(outputs, expected)
