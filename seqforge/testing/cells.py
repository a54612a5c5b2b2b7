"""The cell contracts (:class:`seqforge.interfaces.Cell`) and :func:`check_cell`.

Every check runs in float64 and eval mode, so "equal" can mean equal to 1e-9
and a failure is the cell's, not rounding's. Sizes are deliberately all
different (``B=4, T=5, I=3, H=6``) so that a transposed or swapped dimension
cannot pass by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from seqforge.recurrent.loop import run_cell
from seqforge.recurrent.state import map_state
from seqforge.testing._contracts import (
    Broken,
    Contract,
    ContractResult,
    Subject,
    contract,
    raise_for,
    resolve,
    run_contracts,
)
from seqforge.testing._shared_contracts import picklable_contract
from seqforge.testing._tensors import (
    leaves,
    max_difference,
    mixed_lengths,
    require_useful_gradients,
    shape,
    structure,
    through_checkpoint,
)

CPU = torch.device("cpu")
B, T = 4, 5
TOL = 1e-9


def _sizes(subject: Subject) -> tuple[int, int]:
    return subject.wiring["input_size"], subject.wiring["hidden_size"]


def _state(cell: Any, batch: int, *, random: bool = False, seed: int = 1) -> Any:
    """The cell's initial state.

    ``random``: the same structure with random values (a zero state hides the recurrent weights).
    """
    zero = cell.initial_state(batch, device=CPU, dtype=torch.float64)
    if not random:
        return zero
    generator = torch.Generator().manual_seed(seed)
    return map_state(
        lambda t: torch.randn(t.shape, generator=generator, dtype=t.dtype) * 0.5 if t.is_floating_point() else t, zero
    )


def _inputs(batch: int, steps: int, size: int, seed: int = 2) -> torch.Tensor:
    # (B, T, I)
    return torch.randn(batch, steps, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _run(
    cell: Any, x: torch.Tensor, lengths: torch.Tensor | None = None, state: Any = None, *, fused: bool = True
) -> tuple[torch.Tensor, Any]:
    return run_cell(cell, x, lengths, state, allow_fused=fused)


def _outputs(subject: Subject, cell: Any) -> torch.Tensor:
    """The outputs ``(B, T, H)`` on the standard full-length inputs: what two cells that must agree are compared on."""
    return _run(cell, _inputs(B, T, _sizes(subject)[0]))[0]


# -- the contracts ----------------------------------------------------------------------
@contract("builds", fix="accept input_size= and hidden_size= keyword arguments (plus your config's fields) and store "
                        "them as attributes", gate=True)
def builds(subject: Subject) -> None:
    cell = subject.make()
    I, H = _sizes(subject)
    missing = [name for name in ("input_size", "hidden_size", "initial_state") if not hasattr(cell, name)]
    if missing or not callable(cell):
        raise Broken(
            f"the built object ({type(cell).__name__}) lacks {', '.join(missing) or '__call__'}",
            "a cell is an nn.Module with attributes input_size and hidden_size and methods initial_state and forward",
        )
    if (cell.input_size, cell.hidden_size) != (I, H):
        raise Broken(
            f"built with input_size={I}, hidden_size={H}, it reports input_size={cell.input_size}, "
            f"hidden_size={cell.hidden_size}",
            "store the input_size and hidden_size the core passes (the generic loop and the bridges size tensors from "
            "them)",
        )


@contract("state structure", fix="initial_state(batch_size, *, device, dtype) must return a (B, *) tensor or a tuple "
                                 "of them")
def state_structure(subject: Subject) -> None:
    cell = subject.make()
    I, _ = _sizes(subject)
    for batch in (1, B):
        state = cell.initial_state(batch, device=CPU, dtype=torch.float64)
        for leaf in leaves(state):
            if leaf.dim() < 1 or leaf.shape[0] != batch:
                raise Broken(
                    f"initial_state({batch}) has a tensor of shape {shape(leaf)}; "
                    "the batch must be its first dimension",
                    "give every state tensor the shape (batch_size, ...): beam search and masking select rows of it",
                )
            if leaf.is_floating_point() and leaf.dtype != torch.float64:
                raise Broken(
                    f"initial_state(..., dtype=torch.float64) returned a {leaf.dtype} tensor",
                    "create the state with the dtype= (and device=) you are given, e.g. torch.zeros(B, H, "
                    "device=device, dtype=dtype)",
                )
        _, new_state = cell(torch.zeros(batch, I, dtype=torch.float64), state)
        if structure(new_state) != structure(state):
            raise Broken(
                f"forward returned a state shaped {structure(new_state)}, but initial_state gave {structure(state)}",
                "return the new state in exactly the structure and shapes of initial_state (the loop mixes old and new "
                "states row by row)",
            )


@contract("shapes", fix="forward(x_t (B, I), state) must return (h_t (B, H), new_state)")
def shapes(subject: Subject) -> None:
    cell = subject.make()
    I, H = _sizes(subject)
    for batch in (1, B):
        result = cell(_inputs(batch, 1, I)[:, 0], _state(cell, batch, random=True))
        if not isinstance(result, tuple) or len(result) != 2:
            raise Broken(f"forward returned {type(result).__name__}, not a pair (h_t, state)", "return `h_t, state` "
                                                                                               "from forward")
        h_t, _ = result
        if not isinstance(h_t, torch.Tensor) or tuple(h_t.shape) != (batch, H):
            raise Broken(
                f"with batch {batch}, forward(x_t {(batch, I)}, state) returned h_t of shape {shape(h_t)}; expected "
                f"{(batch, H)} = (B, hidden_size)",
                "return the layer's output for this step as a (B, hidden_size) tensor; it is what the next layer and "
                "the output head read",
            )
    if hasattr(cell, "project_input") and hasattr(cell, "step"):
        x = _inputs(B, T, I).transpose(0, 1)  # (T, B, I)
        projected = cell.project_input(x)
        if projected.shape[:2] != (T, B):
            raise Broken(
                f"project_input(x (T, B, I) = {tuple(x.shape)}) returned {shape(projected)}; expected (T, B, G)",
                "project_input maps the last dimension only (e.g. a Linear), keeping (T, B)",
            )
        state = _state(cell, B, random=True)
        difference = max_difference(cell.step(projected[0], state), cell(x[0], state))
        if difference > TOL:
            raise Broken(
                f"step(project_input(x)[t], state) differs from forward(x[t], state) by {difference:.3g}",
                "forward(x_t, state) must equal step(project_input(x_t), state): the loop uses the latter when both "
                "exist",
            )


@contract("batch independence", fix="compute each sequence from its own row only (no batch statistics such as "
                                    "BatchNorm over the batch)")
def batch_independence(subject: Subject) -> None:
    cell = subject.make()
    I, _ = _sizes(subject)
    x, state = _inputs(B, T, I), _state(cell, B, random=True)
    together, _ = _run(cell, x, state=state)
    for row in range(B):
        alone, _ = _run(cell, x[row : row + 1], state=_select(state, row))
        difference = max_difference(alone, together[row : row + 1])
        if difference > TOL:
            raise Broken(
                f"sequence {row} run alone (batch 1) differs by {difference:.3g} from the same sequence inside a batch "
                f"of {B}",
                "a sequence's outputs must not depend on the other sequences of its batch (or on the batch size)",
            )


@contract("gradients", fix="make every parameter take part in the output or the state (and do not detach inside "
                           "forward)")
def gradients(subject: Subject) -> None:
    cell = subject.make()
    I, _ = _sizes(subject)
    x = _inputs(B, T, I).requires_grad_()
    state = _state(cell, B, random=True)
    state = map_state(lambda t: t.detach().requires_grad_() if t.is_floating_point() else t, state)
    outputs, final = _run(cell, x, mixed_lengths(B, T), state)
    weights = torch.Generator().manual_seed(3)
    loss = (outputs * torch.randn(outputs.shape, generator=weights, dtype=outputs.dtype)).sum()
    loss = loss + sum(
        (leaf * torch.randn(leaf.shape, generator=weights, dtype=leaf.dtype)).sum()
        for leaf in leaves(final)
        if leaf.is_floating_point()
    )
    loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
    require_useful_gradients(cell, f"after backward through {T} steps, ")
    if x.grad is None or not x.grad.abs().sum() > 0:
        raise Broken("no gradient reached the inputs x_t", "compute h_t from x_t with differentiable operations")
    if not any(
        leaf.grad is not None and leaf.grad.abs().sum() > 0 for leaf in leaves(state) if leaf.is_floating_point()
    ):
        raise Broken("no gradient reached the initial state", "compute the new state from the previous one (truncated "
                                                              "BPTT and the bridges need it)")


@contract("masking", fix="outputs at padded steps must be 0 and the final state the state after each sequence's last "
                         "real step")
def masking(subject: Subject) -> None:
    cell = subject.make()
    I, _ = _sizes(subject)
    lengths = mixed_lengths(B, T)
    x, state = _inputs(B, T, I), _state(cell, B, random=True)
    outputs, final = _run(cell, x, lengths, state)
    noisy = x.clone()
    for row, length in enumerate(lengths.tolist()):
        noisy[row, length:] = 1e3 * torch.randn_like(noisy[row, length:])
        if outputs[row, length:].abs().sum() != 0:
            raise Broken(
                f"sequence {row} has length {length} of {T}, but its outputs after step {length} are not exactly 0",
                "in forward_sequence, zero the outputs at padded steps (torch.where(mask, h, 0)) as the generic loop "
                "does",
            )
        alone, alone_final = _run(cell, x[row : row + 1, :length], state=_select(state, row))
        difference = max(
            max_difference(alone, outputs[row : row + 1, :length]), max_difference(alone_final, _select(final, row))
        )
        if difference > TOL:
            raise Broken(
                f"sequence {row} (length {length}, padded to {T}) differs by {difference:.3g} from the same sequence "
                "run unpadded: padded steps changed its outputs or final state",
                "in forward_sequence, keep the state of sequences that have ended (torch.where(mask, new, old)); "
                "or drop forward_sequence and let the generic loop mask",
            )
    noisy_outputs, noisy_final = _run(cell, noisy, lengths, state)
    if max(max_difference(noisy_outputs, outputs), max_difference(noisy_final, final)) > TOL:
        raise Broken(
            "changing the inputs at padded steps changed the outputs or the final state",
            "padded steps must be inert: read only x[:, :length] of each sequence",
        )


@contract("fused path", fix="forward_sequence(x, state, lengths) must compute exactly what the step loop computes")
def fused_path(subject: Subject) -> None:
    cell = subject.make()
    if getattr(cell, "forward_sequence", None) is None:
        return
    I, _ = _sizes(subject)
    x, state = _inputs(B, T, I), _state(cell, B, random=True)
    for lengths in (None, mixed_lengths(B, T)):
        fused, fused_final = _run(cell, x, lengths, state, fused=True)
        loop, loop_final = _run(cell, x, lengths, state, fused=False)
        difference = max(max_difference(fused, loop), max_difference(fused_final, loop_final))
        if difference > 1e-6:
            raise Broken(
                f"forward_sequence differs from the generic step loop by {difference:.3g} "
                f"({'padded' if lengths is not None else 'full-length'} batch)",
            )


@contract("determinism", fix="draw randomness only from torch's global generator (seeded by seqforge), never from time "
                             "or os.urandom")
def determinism(subject: Subject) -> None:
    first, second = subject.make(seed=11), subject.make(seed=11)
    a, b = first.state_dict(), second.state_dict()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    if different:
        raise Broken(f"two cells built under the same seed differ in {', '.join(different)}")
    runs = []
    for cell in (first, second):
        cell.train()  # dropout-like randomness, if any, must follow the seed too
        torch.manual_seed(5)
        runs.append(_outputs(subject, cell))
    if max_difference(*runs) > 0:
        raise Broken("two training-mode runs under the same seed gave different outputs")


@contract("state_dict", fix="keep all weights in parameters or buffers (torch tensors), so state_dict captures the "
                            "whole cell")
def state_dict_round_trip(subject: Subject) -> None:
    original, other = subject.make(seed=0), subject.make(seed=1)
    other.load_state_dict(through_checkpoint(original.state_dict()))
    difference = max_difference(_outputs(subject, original), _outputs(subject, other))
    if difference > 0:
        raise Broken(
            "a cell loaded with another cell's state_dict (saved with torch.save, loaded with weights_only=True) "
            f"differs by {difference:.3g}: part of its weights live outside state_dict",
        )


picklable = picklable_contract(
    "cell", _outputs, fix="do not keep lambdas, local functions or classes, open files or generators on the cell; "
                          "ddp_spawn pickles the model",
)


@contract("stacked bidirectional", fix="the cell must work as any layer of seqforge's RecurrentStack (input_size "
                                       "differs per layer)")
def stacked_bidirectional(subject: Subject) -> None:
    from seqforge.encoders import RecurrentEncoder

    I, H = _sizes(subject)
    torch.manual_seed(0)
    encoder = RecurrentEncoder(
        cell=subject.build, input_size=I, hidden_size=H, num_layers=2, bidirectional=True
    ).double()
    lengths = mixed_lengths(B, T)
    x = _inputs(B, T, I).requires_grad_()
    out = encoder(x, lengths)
    if tuple(out.outputs.shape) != (B, T, 2 * H):
        raise Broken(f"a 2-layer bidirectional encoder gave outputs {shape(out.outputs)}; expected {(B, T, 2 * H)}")
    padded = ~out.mask
    if out.outputs[padded].abs().sum() != 0:
        raise Broken("a 2-layer bidirectional encoder has non-zero outputs at padded steps")
    (out.outputs * torch.randn_like(out.outputs)).sum().backward()
    require_useful_gradients(encoder, "in a 2-layer bidirectional encoder ")


@contract("trains", fix="check the cell's initialisation and that its output depends on its parameters; the loss must "
                        "fall on an easy task")
def trains(subject: Subject) -> None:
    from seqforge.testing.training import tiny_training_run

    first, last = tiny_training_run(subject.build, **subject.options.get("training", {}))
    if not last < 0.9 * first:
        raise Broken(
            "a tiny language model with this cell, trained by Lightning for "
            f"{subject.options.get('training', {}).get('steps', 40)} steps, went from loss {first:.4f} to {last:.4f} "
            "(expected a drop of at least 10%)",
        )


def _select(state: Any, row: int) -> Any:
    return map_state(lambda t: t[row : row + 1], state)


CELL_CONTRACTS: list[Contract] = [
    builds, state_structure, shapes, batch_independence, gradients, masking, fused_path,
    determinism, state_dict_round_trip, picklable, stacked_bidirectional, trains,
]


def cell_results(
    cell: Any,
    config: Any = None,
    *,
    input_size: int = 3,
    hidden_size: int = 6,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    training: dict[str, Any] | None = None,
    registry: Any = None,
) -> list[ContractResult]:
    """Every cell contract's result (see :func:`check_cell`), without raising."""
    build, label = resolve("cell", cell, config, registry)
    subject = Subject(
        "cell", label, build, {"input_size": input_size, "hidden_size": hidden_size}, {"training": training or {}}
    )
    return run_contracts(subject, CELL_CONTRACTS, only=only, skip=skip)


def check_cell(
    cell: Any,
    config: Any = None,
    *,
    input_size: int = 3,
    hidden_size: int = 6,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    training: dict[str, Any] | None = None,
    registry: Any = None,
) -> list[ContractResult]:
    """Check a cell against every contract of :class:`seqforge.interfaces.Cell`; raise :class:`ContractError` if one
    breaks.

    Args:
        cell: a registered name (``"lstm"``: built from its config through Hydra,
            exactly as ``seqforge train`` builds it) or a factory (class or function)
            called as ``factory(**config, input_size=..., hidden_size=...)``.
        config: field values (dataclass or mapping) over the registered defaults.
        input_size, hidden_size: the sizes to build with (keep them different).
        only, skip: contract names to run or leave out (``builds`` always runs).
        training: options of the ``trains`` contract (``steps``, ``lr``).
        registry: where names are looked up; default: the installed plugins'.

    Returns:
        The (all passing) results, one per contract.

    Contracts: ``builds``, ``state structure``, ``shapes`` (batch 1 and 4),
    ``batch independence``, ``gradients`` (every parameter, inputs, initial
    state), ``masking`` (padded steps inert), ``fused path`` (``forward_sequence``
    equals the loop), ``determinism``, ``state_dict`` (round trip through
    ``torch.save``/``weights_only`` load), ``picklable``, ``stacked bidirectional``
    (inside seqforge's encoder) and ``trains`` (a Lightning run lowers the loss).
    """
    return raise_for(
        cell_results(
            cell,
            config,
            input_size=input_size,
            hidden_size=hidden_size,
            only=only,
            skip=skip,
            training=training,
            registry=registry,
        )
    )
