"""The RNN family's cells compute the textbook equations from their own parameters."""

from __future__ import annotations

import io
import pickle

import pytest
import torch

from seqforge.api import run_cell
from seqforge_rnn.cells import GRUCell, LSTMCell, RNNCell

B, I, H = 3, 4, 5


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def double(cell: torch.nn.Module) -> torch.nn.Module:
    return cell.double().eval()


def random_state(cell, batch: int = B):
    """A non-zero state (a zero state would hide the recurrent weights)."""
    zero = cell.initial_state(batch, device=torch.device("cpu"), dtype=torch.float64)
    if isinstance(zero, tuple):
        return tuple(torch.randn_like(z) for z in zero)
    return torch.randn_like(zero)


def parameters(cell):
    rnn = cell.rnn
    return rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0


CELLS = {
    "rnn-tanh": lambda i=I, h=H, **kw: RNNCell(i, h, nonlinearity="tanh", **kw),
    "rnn-relu": lambda i=I, h=H, **kw: RNNCell(i, h, nonlinearity="relu", **kw),
    "lstm": lambda i=I, h=H, **kw: LSTMCell(i, h, **kw),
    "gru": lambda i=I, h=H, **kw: GRUCell(i, h, **kw),
}


# --- one step equals the equations -------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity, act", [("tanh", torch.tanh), ("relu", torch.relu)])
def test_rnn_step_is_elman_equation(nonlinearity, act) -> None:
    """RNN: h_t = act(W x + b_ih + U h + b_hh)"""
    cell = double(RNNCell(I, H, nonlinearity=nonlinearity))
    x, h = torch.randn(B, I, dtype=torch.float64), random_state(cell)
    W, b_ih, U, b_hh = parameters(cell)
    expected = act(x @ W.T + b_ih + h @ U.T + b_hh)
    out, state = cell(x, h)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(state, expected, rtol=0, atol=1e-12)


def test_lstm_step_is_lstm_equations_in_pytorch_gate_order() -> None:
    """LSTM: gates i, f, g, o; c_t = f*c + i*g; h_t = o*tanh(c_t)"""
    cell = double(LSTMCell(I, H))
    x, (h, c) = torch.randn(B, I, dtype=torch.float64), random_state(cell)
    W, b_ih, U, b_hh = parameters(cell)

    def gate(k: int) -> torch.Tensor:
        rows = slice(k * H, (k + 1) * H)
        return x @ W[rows].T + b_ih[rows] + h @ U[rows].T + b_hh[rows]

    i, f, g, o = torch.sigmoid(gate(0)), torch.sigmoid(gate(1)), torch.tanh(gate(2)), torch.sigmoid(gate(3))
    c_expected = f * c + i * g
    h_expected = o * torch.tanh(c_expected)
    out, (h_new, c_new) = cell(x, (h, c))
    torch.testing.assert_close(out, h_expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_new, h_expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(c_new, c_expected, rtol=0, atol=1e-12)


def test_gru_step_is_pytorch_form_gru_equations() -> None:
    """GRU: r, z gates; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)); h = (1-z)*n + z*h"""
    cell = double(GRUCell(I, H))
    x, h = torch.randn(B, I, dtype=torch.float64), random_state(cell)
    W, b_ih, U, b_hh = parameters(cell)

    def rows(k: int) -> slice:
        return slice(k * H, (k + 1) * H)

    r = torch.sigmoid(x @ W[rows(0)].T + b_ih[rows(0)] + h @ U[rows(0)].T + b_hh[rows(0)])
    z = torch.sigmoid(x @ W[rows(1)].T + b_ih[rows(1)] + h @ U[rows(1)].T + b_hh[rows(1)])
    n = torch.tanh(x @ W[rows(2)].T + b_ih[rows(2)] + r * (h @ U[rows(2)].T + b_hh[rows(2)]))
    expected = (1 - z) * n + z * h
    out, state = cell(x, h)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(state, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_step_on_projected_input_equals_forward(name) -> None:
    """step(project_input(x), s) is the same step as cell(x, s)"""
    cell = double(CELLS[name]())
    x, state = torch.randn(B, I, dtype=torch.float64), random_state(cell)
    torch.testing.assert_close(cell.step(cell.project_input(x), state), cell(x, state), rtol=0, atol=0)


@pytest.mark.parametrize("name", CELLS)
def test_initial_state_is_zero_with_batch_dtype_and_device(name) -> None:
    """initial_state is zeros (B, H), one tensor or an (h, c) tuple, in the asked dtype"""
    cell = CELLS[name]()
    state = cell.initial_state(B, device=torch.device("cpu"), dtype=torch.float64)
    leaves = state if isinstance(state, tuple) else (state,)
    assert len(leaves) == (2 if name == "lstm" else 1)
    for leaf in leaves:
        assert leaf.shape == (B, H) and leaf.dtype == torch.float64 and not leaf.any()
    if name == "lstm":
        assert leaves[0].data_ptr() != leaves[1].data_ptr()


# --- gradients ---------------------------------------------------------------------------------

PARAMETER_NAMES = ("rnn.weight_ih_l0", "rnn.bias_ih_l0", "rnn.weight_hh_l0", "rnn.bias_hh_l0")


def leaves_of(state) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def as_state(cell, leaves):
    return tuple(leaves) if isinstance(cell, LSTMCell) else leaves[0]


def leaf_copies(tensors):
    return tuple(t.detach().clone().requires_grad_() for t in tensors)


@pytest.mark.parametrize("name", CELLS)
def test_step_passes_gradcheck(name) -> None:
    """gradcheck on one step, wrt input, state and every parameter"""
    cell = double(CELLS[name](2, 3))  # small: gradcheck perturbs every input and weight entry
    x = torch.randn(B, 2, dtype=torch.float64)
    state = leaves_of(random_state(cell))
    n_state = len(state)

    def step(x, *rest):
        state, weights = rest[:n_state], rest[n_state:]
        out, new = torch.func.functional_call(cell, dict(zip(PARAMETER_NAMES, weights)), (x, as_state(cell, state)))
        return (out, *leaves_of(new))

    assert torch.autograd.gradcheck(step, leaf_copies((x, *state, *parameters(cell))))


@pytest.mark.parametrize("allow_fused", [False, True], ids=["loop", "fused"])
@pytest.mark.parametrize("name", CELLS)
def test_run_cell_over_padded_batch_passes_gradcheck(name, allow_fused) -> None:
    """gradcheck through run_cell over a short padded batch with lengths, both paths"""
    cell = double(CELLS[name](2, 3))  # small: gradcheck perturbs every input and weight entry
    x = torch.randn(3, 4, 2, dtype=torch.float64)
    lengths = torch.tensor([2, 4, 1])
    state = leaves_of(random_state(cell))
    n_state = len(state)

    class RunCell(torch.nn.Module):  # so functional_call can substitute the cell's weights
        def __init__(self) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, x, state):
            return run_cell(self.cell, x, lengths, state, allow_fused=allow_fused)

    names = tuple(f"cell.{name}" for name in PARAMETER_NAMES)

    def run(x, *rest):
        state, weights = rest[:n_state], rest[n_state:]
        out, final = torch.func.functional_call(RunCell(), dict(zip(names, weights)), (x, as_state(cell, state)))
        return (out, *leaves_of(final))

    assert torch.autograd.gradcheck(run, leaf_copies((x, *state, *parameters(cell))))


# --- initialisation ----------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_identity_init_sets_recurrent_weight_to_scaled_identity_and_biases_to_zero(nonlinearity, scale) -> None:
    """init=identity (IRNN): W_hh == scale * I, b_ih == b_hh == 0, W_ih small"""
    cell = RNNCell(I, H, nonlinearity=nonlinearity, init="identity", identity_scale=scale)
    W, b_ih, U, b_hh = parameters(cell)
    assert torch.equal(U, torch.eye(H) * scale)
    assert not b_ih.any() and not b_hh.any()
    assert W.abs().max() < 0.01


def test_default_init_is_not_identity() -> None:
    """init=default leaves PyTorch's uniform init (W_hh is not the identity)"""
    cell = RNNCell(I, H)
    assert not torch.equal(cell.rnn.weight_hh_l0, torch.eye(H))
    assert cell.rnn.bias_ih_l0.any()


@pytest.mark.parametrize("kwargs, expected", [({}, 1.0), ({"forget_bias": 2.5}, 2.5), ({"forget_bias": 0.0}, 0.0)])
def test_lstm_forget_bias_is_in_b_ih_and_b_hh_forget_slice_is_zero(kwargs, expected) -> None:
    """LSTM forget slice: b_ih == forget_bias (default 1.0), b_hh == 0; other slices untouched"""
    cell = LSTMCell(I, H, **kwargs)
    forget = slice(H, 2 * H)
    assert torch.equal(cell.rnn.bias_ih_l0[forget], torch.full((H,), expected))
    assert torch.equal(cell.rnn.bias_hh_l0[forget], torch.zeros(H))
    others = torch.cat([cell.rnn.bias_hh_l0[:H], cell.rnn.bias_hh_l0[2 * H :]])
    assert others.any()


def test_invalid_nonlinearity_raises_value_error() -> None:
    """An unknown nonlinearity is refused, naming the config key"""
    with pytest.raises(ValueError, match=r"model\.cell\.nonlinearity"):
        RNNCell(I, H, nonlinearity="sigmoid")


def test_invalid_init_raises_value_error() -> None:
    """An unknown init is refused, naming the config key"""
    with pytest.raises(ValueError, match=r"model\.cell\.init"):
        RNNCell(I, H, init="orthogonal")


# --- fused flag --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CELLS)
def test_fused_flag_controls_the_fused_path(name) -> None:
    """fused=True offers forward_sequence; fused=False leaves only the step path"""
    assert callable(getattr(CELLS[name](fused=True), "forward_sequence", None))
    cell = CELLS[name](fused=False)
    assert not hasattr(cell, "forward_sequence")
    assert hasattr(cell, "step") and hasattr(cell, "project_input")


# --- serialisation -----------------------------------------------------------------------------


def same_outputs(a, b) -> None:
    x = torch.randn(B, 3, I)
    lengths = torch.tensor([3, 1, 2])
    for allow_fused in (False, True):
        out_a, state_a = run_cell(a, x, lengths, allow_fused=allow_fused)
        out_b, state_b = run_cell(b, x, lengths, allow_fused=allow_fused)
        torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
        torch.testing.assert_close(state_a, state_b, rtol=0, atol=0)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", CELLS)
def test_cell_is_picklable(name, fused) -> None:
    """pickle and torch.save round-trip a cell (the fused path stays bound to the copy)"""
    cell = CELLS[name](fused=fused)
    copy = pickle.loads(pickle.dumps(cell))
    same_outputs(cell, copy)
    if fused:
        assert copy.forward_sequence.__self__ is copy
    buffer = io.BytesIO()
    torch.save(cell, buffer)
    buffer.seek(0)
    same_outputs(cell, torch.load(buffer, weights_only=False))


@pytest.mark.parametrize("name", CELLS)
def test_state_dict_round_trips_into_a_fresh_cell(name) -> None:
    """load_state_dict(state_dict()) reproduces the parameters and the outputs"""
    cell = CELLS[name]()
    torch.manual_seed(1)
    fresh = CELLS[name]()
    assert not torch.equal(fresh.rnn.weight_hh_l0, cell.rnn.weight_hh_l0)
    fresh.load_state_dict(cell.state_dict())
    assert cell.state_dict().keys() == fresh.state_dict().keys()
    for key, value in cell.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key]), key
    same_outputs(cell, fresh)


def test_state_dict_is_shared_between_fused_and_unfused_cells() -> None:
    """fused=False and fused=True cells have the same state_dict keys (checkpoints are interchangeable)"""
    for make in CELLS.values():
        assert make(fused=True).state_dict().keys() == make(fused=False).state_dict().keys()


# --- seqforge's contract suite ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_registered_cells_keep_every_cell_contract(name) -> None:
    """seqforge.testing.check_cell: each registered cell, built from its config as `seqforge train` does, keeps every
    contract"""
    from seqforge.testing import check_cell

    results = check_cell(name)
    assert "fused path" in {r.contract for r in results}  # the fused kernels are compared with the step loop


@pytest.mark.parametrize("options", [{"fused": False}, {"nonlinearity": "relu", "init": "identity"}])
def test_rnn_keeps_the_contracts_with_other_options(options) -> None:
    """The step-only path (fused=false) and the IRNN keep the contracts too"""
    from seqforge.testing import check_cell

    check_cell("rnn", options, skip=["trains"])


def test_plugin_registrations_are_valid() -> None:
    """seqforge.testing.check_registrations: API version declared, valid described names, no collisions"""
    from seqforge.testing import check_registrations
    from seqforge_rnn import plugin

    check_registrations(plugin, name="rnn")
