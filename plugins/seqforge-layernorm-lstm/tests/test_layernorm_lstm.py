"""The layer-normalised LSTM: its equations, seqforge's contracts, and a training run through the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from seqforge.testing import check_cell, check_registrations
from seqforge_layernorm_lstm import plugin
from seqforge_layernorm_lstm.cell import LayerNormLSTMCell

B, I, H = 3, 4, 5


def layer_norm(z: torch.Tensor, ln: torch.nn.LayerNorm) -> torch.Tensor:
    """LN(z; α, β) written out: α ⊙ (z - mean) / sqrt(var + eps) + β over the last dimension."""
    mean = z.mean(dim=-1, keepdim=True)
    var = z.var(dim=-1, unbiased=False, keepdim=True)
    return ln.weight * (z - mean) / torch.sqrt(var + ln.eps) + ln.bias


def test_step_is_ba_et_al_equations() -> None:
    """[f;i;o;g] = LN(W_h h) + LN(W_x x) + b; c' = σ(f)c + σ(i)tanh(g); h' = σ(o) tanh(LN(c'))"""
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(I, H).double()
    with torch.no_grad():  # non-trivial gains and shifts, so a missing α or β would show
        for ln in (cell.ln_x, cell.ln_h, cell.ln_c):
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.uniform_(-0.5, 0.5)
    x, h, c = (torch.randn(B, n, dtype=torch.float64) for n in (I, H, H))
    gates = layer_norm(h @ cell.w_h.weight.T, cell.ln_h) + layer_norm(x @ cell.w_x.weight.T, cell.ln_x) + cell.bias
    f, i, o, g = gates.chunk(4, dim=-1)
    c_expected = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_expected = torch.sigmoid(o) * layer_norm(c_expected, cell.ln_c).tanh()
    out, (h_new, c_new) = cell(x, (h, c))
    torch.testing.assert_close(out, h_expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_new, h_expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(c_new, c_expected, rtol=0, atol=1e-12)


def test_forget_bias_initialises_the_forget_gate_only() -> None:
    """forget_bias fills b's forget-gate block; the other gates start at 0"""
    cell = LayerNormLSTMCell(I, H, forget_bias=2.0)
    assert torch.equal(cell.bias[:H], torch.full((H,), 2.0)) and torch.equal(cell.bias[H:], torch.zeros(3 * H))


def test_gradcheck_through_three_steps() -> None:
    """Analytic gradients match finite differences through the normalisations"""
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(2, 3).double()
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)

    def run(x: torch.Tensor) -> torch.Tensor:
        state = cell.initial_state(2, device=x.device, dtype=x.dtype)
        outputs = []
        for t in range(x.shape[1]):
            h, state = cell(x[:, t], state)
            outputs.append(h)
        return torch.stack(outputs, dim=1)

    assert torch.autograd.gradcheck(run, (x,))


def test_registered_cell_keeps_every_cell_contract() -> None:
    """`model/cell=layernorm_lstm`, built from its config as seqforge builds it, passes seqforge.testing's cell
    contracts"""
    results = check_cell("layernorm_lstm")
    assert {r.contract for r in results} >= {"masking", "picklable", "stacked bidirectional", "trains"}


def test_cell_keeps_the_contracts_with_other_options() -> None:
    """The contracts also hold for non-default options and sizes (factory given directly)"""
    check_cell(LayerNormLSTMCell, {"forget_bias": 0.0, "eps": 1e-3}, input_size=7, hidden_size=2, skip=["trains"])


def test_plugin_registrations_are_valid() -> None:
    """Declares the plugin API, registers a described cell whose name no other installed plugin takes"""
    results = check_registrations(plugin, name="layernorm_lstm")
    assert all(r.passed for r in results)


@pytest.mark.slow
def test_trains_end_to_end_through_the_cli(seqforge_run, tmp_path: Path) -> None:
    """`seqforge train model/cell=layernorm_lstm model.cell.forget_bias=0.5` trains a character LM: the loss falls"""
    result = seqforge_run(
        "train", "model/cell=layernorm_lstm", "model.cell.forget_bias=0.5", "hydra.run.dir=out", "optim.lr=0.01",
        "trainer.max_steps=30", tiny=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "forget_bias: 0.5" in (tmp_path / "out" / "config.yaml").read_text()
    assert "layernorm_lstm" not in result.stderr  # loaded without complaint
    losses = [
        float(row["train/loss"])
        for row in csv.DictReader((tmp_path / "out" / "csv" / "metrics.csv").open())
        if row.get("train/loss")
    ]
    assert len(losses) >= 20
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses
