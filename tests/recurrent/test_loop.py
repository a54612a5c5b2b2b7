"""run_cell and RecurrentStack: the fused kernel and the generic loop agree, and padding is inert.

The cells are seqforge.testing's reference cells (no plugin needed); seqforge-rnn checks its own cells against run_cell.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from seqforge.recurrent import RecurrentStack, length_mask, reverse_padded, run_cell
from seqforge.testing.reference import ReferenceGRUCell, ReferenceLSTMCell, ReferenceRNNCell

B, T, I, H = 5, 7, 3, 4
LENGTHS = [4, 7, 1, 6, 2]  # unsorted, includes 1 and T
TOL = {"rtol": 1e-5, "atol": 1e-5}

FACTORIES = {
    "rnn-tanh": lambda **kw: ReferenceRNNCell(nonlinearity="tanh", **kw),
    "rnn-relu": lambda **kw: ReferenceRNNCell(nonlinearity="relu", **kw),
    "lstm": ReferenceLSTMCell,
    "gru": ReferenceGRUCell,
}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def make(name: str, input_size: int = I, hidden_size: int = H, fused: bool = True) -> nn.Module:
    return FACTORIES[name](input_size=input_size, hidden_size=hidden_size, fused=fused)


def leaves(state) -> list[Tensor]:
    if isinstance(state, Tensor):
        return [state]
    return [leaf for s in state for leaf in leaves(s)]


def random_state(cell, batch: int = B):
    zero = cell.initial_state(batch, device=torch.device("cpu"), dtype=torch.float32)
    return tuple(torch.randn_like(z) for z in zero) if isinstance(zero, tuple) else torch.randn_like(zero)


def assert_states_close(a, b, **tol) -> None:
    for left, right in zip(leaves(a), leaves(b), strict=True):
        torch.testing.assert_close(left, right, **(tol or TOL))


def run_with_grads(module: nn.Module, fn, x: Tensor, *extra: Tensor):
    """Run ``fn(x)``, backprop a loss that touches every output and final-state leaf; return values and grads."""
    module.zero_grad()
    x = x.detach().clone().requires_grad_()
    extra = [e.detach().clone().requires_grad_() for e in extra]
    out, state = fn(x, *extra)
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)
    loss = (out * weights).sum() + sum((leaf * 0.5).sum() + leaf.pow(2).sum() for leaf in leaves(state))
    loss.backward()
    # CompiledLoop adds "cell."
    grads = {name.replace("cell.", ""): p.grad.clone() for name, p in module.named_parameters()}
    return out.detach(), state, grads, x.grad, [e.grad for e in extra]


def assert_runs_agree(a, b) -> None:
    out_a, state_a, grads_a, gx_a, extra_a = a
    out_b, state_b, grads_b, gx_b, extra_b = b
    torch.testing.assert_close(out_a, out_b, **TOL)
    assert_states_close(state_a, state_b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], **TOL, msg=lambda m, name=name: f"grad of {name}: {m}")
    torch.testing.assert_close(gx_a, gx_b, **TOL)
    for ga, gb in zip(extra_a, extra_b, strict=True):
        torch.testing.assert_close(ga, gb, **TOL)


# --- fused kernel == generic loop --------------------------------------------------------------


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("name", FACTORIES)
def test_fused_and_loop_agree_on_outputs_states_and_gradients(name, lengths) -> None:
    """One cell, allow_fused=True vs False: same outputs, final state, and grads wrt params and inputs"""
    cell = make(name)
    x = torch.randn(B, T, I)
    lengths = None if lengths is None else torch.tensor(lengths)
    runs = [run_with_grads(cell, lambda x, f=f: run_cell(cell, x, lengths, allow_fused=f), x) for f in (True, False)]
    assert_runs_agree(*runs)


@pytest.mark.parametrize("name", FACTORIES)
def test_fused_and_loop_agree_from_a_given_initial_state(name) -> None:
    """With a non-zero initial state, both paths agree, including the gradient wrt that state"""
    cell = make(name)
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    state = leaves(random_state(cell))
    pack = (lambda s: tuple(s)) if name == "lstm" else (lambda s: s[0])

    def run(allow_fused):
        return lambda x, *s: run_cell(cell, x, lengths, pack(s), allow_fused=allow_fused)

    assert_runs_agree(run_with_grads(cell, run(True), x, *state), run_with_grads(cell, run(False), x, *state))


def twin_stacks(name: str, **kwargs) -> tuple[RecurrentStack, RecurrentStack]:
    """Two stacks with identical weights, one of fused cells and one of step-only cells."""
    fused = RecurrentStack(lambda **kw: make(name, fused=True, **kw), input_size=I, hidden_size=H, **kwargs)
    looped = RecurrentStack(lambda **kw: make(name, fused=False, **kw), input_size=I, hidden_size=H, **kwargs)
    looped.load_state_dict(fused.state_dict())
    return fused, looped


STACKS = {
    "bi-concat": {"bidirectional": True, "merge": "concat"},
    "bi-sum": {"bidirectional": True, "merge": "sum"},
    "bi-mean": {"bidirectional": True, "merge": "mean"},
    "two-layers": {"num_layers": 2},
    "two-layers-bi": {"num_layers": 2, "bidirectional": True},
}


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("layout", STACKS)
@pytest.mark.parametrize("name", FACTORIES)
def test_fused_and_loop_stacks_agree(name, layout, lengths) -> None:
    """Bidirectional (concat/sum/mean) and 2-layer stacks: fused cells == step-only cells, with grads"""
    fused, looped = twin_stacks(name, **STACKS[layout])
    x = torch.randn(B, T, I)
    lengths = None if lengths is None else torch.tensor(lengths)
    run_fused = run_with_grads(fused, lambda x: fused(x, lengths), x)
    run_looped = run_with_grads(looped, lambda x: looped(x, lengths), x)
    assert_runs_agree(run_fused, run_looped)
    assert run_fused[0].shape == (B, T, fused.output_size)


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
def test_bidirectional_lstm_stack_equals_torch_bidirectional_lstm(lengths) -> None:
    """A 2-layer bidirectional concat LSTM stack computes what nn.LSTM(bidirectional=True) computes"""
    stack = RecurrentStack(
        lambda **kw: make("lstm", **kw), input_size=I, hidden_size=H, num_layers=2, bidirectional=True
    )
    reference = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True)
    with torch.no_grad():
        for layer, pair in enumerate(stack.layers):
            for direction, cell in enumerate(pair):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(reference, kind + suffix).copy_(getattr(cell.rnn, kind + "_l0"))
    x = torch.randn(B, T, I)
    out, states = stack(x, None if lengths is None else torch.tensor(lengths))
    if lengths is None:
        expected, (h_n, c_n) = reference(x)
    else:
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        expected, (h_n, c_n) = reference(packed)
        expected, _ = nn.utils.rnn.pad_packed_sequence(expected, batch_first=True, total_length=T)
    torch.testing.assert_close(out, expected, **TOL)
    for layer in range(2):
        for direction in range(2):
            h, c = states[layer][direction]
            torch.testing.assert_close(h, h_n[2 * layer + direction], **TOL)
            torch.testing.assert_close(c, c_n[2 * layer + direction], **TOL)


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize("allow_fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", FACTORIES)
def test_outputs_at_padded_steps_are_exactly_zero(name, allow_fused) -> None:
    """Every output after a sequence's length is exactly 0.0"""
    cell = make(name)
    lengths = torch.tensor(LENGTHS)
    out, _ = run_cell(cell, torch.randn(B, T, I), lengths, random_state(cell), allow_fused=allow_fused)
    padded = ~length_mask(lengths, T)  # (B, T)
    assert padded.any()
    assert torch.equal(out[padded], torch.zeros_like(out[padded]))
    assert (out[~padded] != 0).any()


@pytest.mark.parametrize("allow_fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", FACTORIES)
def test_padded_input_values_change_nothing(name, allow_fused) -> None:
    """Changing inputs at padded steps leaves outputs, final state and parameter grads unchanged"""
    cell = make(name)
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(B, T, I)
    noisy = torch.where(length_mask(lengths, T).unsqueeze(-1), x, 100 * torch.randn(B, T, I))
    assert not torch.equal(x, noisy)
    fn = lambda x: run_cell(cell, x, lengths, allow_fused=allow_fused)  # noqa: E731
    clean_run, noisy_run = run_with_grads(cell, fn, x), run_with_grads(cell, fn, noisy)
    assert_runs_agree(clean_run, noisy_run)
    gx = noisy_run[3]
    assert torch.equal(gx[~length_mask(lengths, T)], torch.zeros_like(gx[~length_mask(lengths, T)]))


@pytest.mark.parametrize("allow_fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", FACTORIES)
def test_padded_batch_equals_each_sequence_run_alone(name, allow_fused) -> None:
    """Each row's outputs and final state equal running that sequence alone, unpadded"""
    cell = make(name)
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    state = random_state(cell)
    out, final = run_cell(cell, x, lengths, state, allow_fused=allow_fused)
    for b, n in enumerate(LENGTHS):
        row_state = tuple(s[b : b + 1] for s in state) if isinstance(state, tuple) else state[b : b + 1]
        alone, alone_final = run_cell(cell, x[b : b + 1, :n], None, row_state, allow_fused=allow_fused)
        torch.testing.assert_close(out[b : b + 1, :n], alone, **TOL)
        row_final = tuple(s[b : b + 1] for s in final) if isinstance(final, tuple) else final[b : b + 1]
        assert_states_close(row_final, alone_final)


@pytest.mark.parametrize("allow_fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_lengths_all_equal_to_t_is_the_same_as_no_lengths(name, allow_fused) -> None:
    """lengths == T everywhere gives exactly what lengths=None gives"""
    cell = make(name)
    x = torch.randn(B, T, I)
    out, state = run_cell(cell, x, None, allow_fused=allow_fused)
    out_l, state_l = run_cell(cell, x, torch.full((B,), T), allow_fused=allow_fused)
    assert torch.equal(out, out_l)
    assert_states_close(state, state_l, rtol=0, atol=0)


@pytest.mark.parametrize("allow_fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_chunks_with_carried_state_equal_one_run(name, allow_fused) -> None:
    """Running [0, k) then [k, T) from the carried state equals one run over [0, T) (truncated BPTT)"""
    cell = make(name)
    x = torch.randn(B, T, I)
    out, state = run_cell(cell, x, allow_fused=allow_fused)
    first, carried = run_cell(cell, x[:, :3], allow_fused=allow_fused)
    second, final = run_cell(cell, x[:, 3:], None, carried, allow_fused=allow_fused)
    torch.testing.assert_close(torch.cat([first, second], dim=1), out, **TOL)
    assert_states_close(final, state)


# --- reverse_padded / length_mask ---------------------------------------------------------------


def test_length_mask_is_true_before_each_length() -> None:
    """length_mask marks the first lengths[b] steps of row b"""
    mask = length_mask(torch.tensor([2, 0, 3]), 3)
    assert mask.tolist() == [[True, True, False], [False, False, False], [True, True, True]]


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("shape", [(B, T), (B, T, 2), (B, T, 2, 3)])
def test_reverse_padded_is_its_own_inverse(shape, lengths) -> None:
    """reverse_padded(reverse_padded(x)) == x, for any trailing shape"""
    x = torch.randn(shape)
    lengths = None if lengths is None else torch.tensor(lengths)
    assert torch.equal(reverse_padded(reverse_padded(x, lengths), lengths), x)


def test_reverse_padded_reverses_only_within_length() -> None:
    """Each row is reversed over its first lengths[b] steps; padding stays in place"""
    x = torch.arange(B * T).view(B, T, 1).float()
    reversed_ = reverse_padded(x, torch.tensor(LENGTHS))
    for b, n in enumerate(LENGTHS):
        assert torch.equal(reversed_[b, :n], x[b, :n].flip(0))
        assert torch.equal(reversed_[b, n:], x[b, n:])


def test_reverse_padded_without_lengths_flips_time() -> None:
    """lengths=None reverses the whole time axis"""
    x = torch.randn(B, T, I)
    assert torch.equal(reverse_padded(x, None), x.flip(1))


# --- a third-party cell: only input_size, hidden_size, initial_state, forward -----------------------


class MinimalCell(nn.Module):
    """What a third-party author writes: no project_input/step, no forward_sequence."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size + hidden_size, hidden_size)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)

    def forward(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.tanh(self.linear(torch.cat([x_t, h], dim=-1)))  # (B, H)
        return h + 1.0, h  # output differs from the state, and is non-zero for any input


def manual_loop(cell, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
    """The obvious loop over one unpadded sequence batch."""
    outputs = []
    for t in range(x.shape[1]):
        out, state = cell(x[:, t], state)
        outputs.append(out)
    return torch.stack(outputs, dim=1), state


def test_minimal_cell_satisfies_the_protocol_and_has_no_fast_paths() -> None:
    """The third-party cell is a Cell and offers neither project_input nor forward_sequence"""
    from seqforge.interfaces import Cell

    cell = MinimalCell(I, H)
    assert isinstance(cell, Cell)
    assert not any(hasattr(cell, name) for name in ("project_input", "step", "forward_sequence"))


def test_minimal_cell_runs_in_run_cell_with_masking() -> None:
    """A minimal cell: run_cell equals a hand loop per sequence; padded outputs are 0; padding is inert"""
    cell = MinimalCell(I, H)
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    out, final = run_cell(cell, x, lengths)
    for b, n in enumerate(LENGTHS):
        expected, expected_final = manual_loop(
            cell, x[b : b + 1, :n], cell.initial_state(1, device=x.device, dtype=x.dtype)
        )
        torch.testing.assert_close(out[b : b + 1, :n], expected, **TOL)
        torch.testing.assert_close(final[b : b + 1], expected_final, **TOL)
        assert torch.equal(out[b, n:], torch.zeros_like(out[b, n:]))
    noisy = torch.where(length_mask(lengths, T).unsqueeze(-1), x, torch.randn(B, T, I))
    fn = lambda x: run_cell(cell, x, lengths)  # noqa: E731
    assert_runs_agree(run_with_grads(cell, fn, x), run_with_grads(cell, fn, noisy))


@pytest.mark.parametrize("merge", ["concat", "sum", "mean"])
def test_minimal_cell_runs_in_a_bidirectional_stack(merge) -> None:
    """Bidirectional stack of a minimal cell: each direction equals a hand loop over the (reversed) sequence alone"""
    stack = RecurrentStack(MinimalCell, input_size=I, hidden_size=H, bidirectional=True, merge=merge)
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    out, states = stack(x, lengths)
    forward_cell, backward_cell = stack.layers[0]
    assert out.shape == (B, T, 2 * H if merge == "concat" else H)
    for b, n in enumerate(LENGTHS):
        zero = forward_cell.initial_state(1, device=x.device, dtype=x.dtype)
        fwd, fwd_final = manual_loop(forward_cell, x[b : b + 1, :n], zero)
        bwd, bwd_final = manual_loop(backward_cell, x[b : b + 1, :n].flip(1), zero)
        bwd = bwd.flip(1)  # back in time order
        expected = torch.cat([fwd, bwd], dim=-1) if merge == "concat" else (fwd + bwd) / (2 if merge == "mean" else 1)
        torch.testing.assert_close(out[b : b + 1, :n], expected, **TOL)
        assert torch.equal(out[b, n:], torch.zeros_like(out[b, n:]))
        torch.testing.assert_close(states[0][0][b : b + 1], fwd_final, **TOL)
        torch.testing.assert_close(states[0][1][b : b + 1], bwd_final, **TOL)


def test_minimal_cell_with_nested_tuple_state_is_masked_leafwise() -> None:
    """A state of nested tuples is frozen leaf by leaf after each sequence ends"""

    class CountingCell(MinimalCell):
        def initial_state(self, batch_size, *, device, dtype):
            h = super().initial_state(batch_size, device=device, dtype=dtype)
            return (h, (torch.zeros(batch_size, 1, device=device, dtype=dtype),))

        def forward(self, x_t, state):
            h, (count,) = state
            out, h = super().forward(x_t, h)
            return out, (h, (count + 1,))

    cell = CountingCell(I, H)
    _, (_h, (count,)) = run_cell(cell, torch.randn(B, T, I), torch.tensor(LENGTHS))
    assert count.squeeze(1).tolist() == [float(n) for n in LENGTHS]


# --- CompiledLoop (opt-in): the same numbers as the eager loop ------------------------------------
# The "aot_eager" backend traces and partitions like the real compiler but generates no code,
# so these tests check the chunking, masking and state plumbing in seconds.


def compiled(cell: nn.Module, chunk: int = 3):
    from seqforge.recurrent import CompiledLoop

    return CompiledLoop(cell, chunk=chunk, backend="aot_eager")


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "padded"])
@pytest.mark.parametrize("name", ["lstm", "third-party"])
def test_compiled_loop_equals_eager_loop(name, lengths) -> None:
    """CompiledLoop (T=7 in chunks of 3, eager tail): same outputs, final state and grads as the eager loop"""
    cell = MinimalCell(I, H) if name == "third-party" else make(name, fused=False)
    wrapped = compiled(cell)
    x = torch.randn(B, T, I)
    lengths = None if lengths is None else torch.tensor(lengths)
    eager = run_with_grads(cell, lambda x: run_cell(cell, x, lengths), x)
    fast = run_with_grads(cell, lambda x: run_cell(wrapped, x, lengths), x)
    assert_runs_agree(eager, fast)
    if lengths is not None:
        assert torch.equal(fast[0][~length_mask(lengths, T)], torch.zeros_like(fast[0][~length_mask(lengths, T)]))


def test_compiled_loop_in_a_bidirectional_stack_equals_eager_stack() -> None:
    """RecurrentStack of CompiledLoop cells == the same stack of plain cells, padded, with grads"""
    eager = RecurrentStack(MinimalCell, input_size=I, hidden_size=H, num_layers=2, bidirectional=True)
    fast = RecurrentStack(
        lambda **kw: compiled(MinimalCell(**kw)), input_size=I, hidden_size=H, num_layers=2, bidirectional=True
    )
    for plain_pair, wrapped_pair in zip(eager.layers, fast.layers):
        for plain, wrapper in zip(plain_pair, wrapped_pair):
            wrapper.cell.load_state_dict(plain.state_dict())
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    assert_runs_agree(
        run_with_grads(eager, lambda x: eager(x, lengths), x), run_with_grads(fast, lambda x: fast(x, lengths), x)
    )


def test_compiled_loop_carries_a_given_state_and_its_gradient() -> None:
    """A given initial state (truncated BPTT carry) flows through the chunks, gradient included"""
    cell = make("gru", fused=False)
    wrapped = compiled(cell)
    x, state = torch.randn(B, T, I), random_state(cell)
    eager = run_with_grads(cell, lambda x, s: run_cell(cell, x, None, s), x, state)
    fast = run_with_grads(cell, lambda x, s: run_cell(wrapped, x, None, s), x, state)
    assert_runs_agree(eager, fast)


def test_compiled_loop_without_gradients_runs_the_eager_loop() -> None:
    """Under no_grad (evaluation) nothing is compiled and the numbers are the eager loop's"""
    cell = MinimalCell(I, H)
    x, lengths = torch.randn(B, T, I), torch.tensor(LENGTHS)
    with torch.no_grad():
        out, state = run_cell(compiled(cell, chunk=2), x, lengths)
        expected, expected_state = run_cell(cell, x, lengths)
    assert torch.equal(out, expected) and torch.equal(state, expected_state)


def test_compiled_loop_rejects_a_chunk_below_one() -> None:
    """chunk must be a positive number of steps"""
    with pytest.raises(ValueError, match="chunk"):
        compiled(MinimalCell(I, H), chunk=0)
