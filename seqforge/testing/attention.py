"""The attention contracts (:class:`seqforge.interfaces.Attention`) and :func:`check_attention`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from seqforge.interfaces import StepAttention
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
from seqforge.testing._shared_contracts import determinism_contract, picklable_contract
from seqforge.testing._tensors import max_difference, mixed_lengths, require_useful_gradients, shape, through_checkpoint

B, S = 4, 7
TOL = 1e-9


def _inputs(subject: Subject, batch: int = B, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A query ``(B, Hq)``, a memory ``(B, S, Hm)`` and a mask ``(B, S)`` with every kind of row (full, short, length
    1)."""
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, subject.wiring["query_size"], generator=generator, dtype=torch.float64)  # (B, Hq)
    # (B, S, Hm)
    memory = torch.randn(batch, S, subject.wiring["memory_size"], generator=generator, dtype=torch.float64)
    mask = torch.arange(S).unsqueeze(0) < mixed_lengths(batch, S).unsqueeze(1)  # (B, S)
    return query, memory, mask


#: The target position a :class:`~seqforge.interfaces.StepAttention` is called at: inside every row's source,
#: past the short rows' ends (a window must still find their last real position).
STEP = S // 2


def _call(
    attention: Any, query: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor, **kwargs: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(attention, StepAttention) and "step" not in kwargs:
        kwargs["step"] = torch.full((query.shape[0],), STEP, dtype=torch.long)  # (B,)
    result = attention(query, memory, mask, **kwargs)
    if not isinstance(result, tuple) or len(result) != 2:
        raise Broken(
            f"forward returned {type(result).__name__}, not a pair (context, weights)",
            "return `context, weights` from forward",
        )
    return result


def _outputs(subject: Subject, attention: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(context, weights)`` on the standard inputs: what two attentions that must agree are compared on."""
    return _call(attention, *_inputs(subject))


@contract("builds", fix="accept query_size= and memory_size= keyword arguments (plus your config's fields)", gate=True)
def builds(subject: Subject) -> None:
    attention = subject.make()
    if not callable(attention):
        raise Broken(f"the factory returned {type(attention).__name__}, which is not callable", "return an nn.Module")


@contract("shapes", fix="forward(query (B, Hq), memory (B, S, Hm), mask (B, S), keys=None) must return (context (B, "
                        "Hm), weights (B, S))")
def shapes(subject: Subject) -> None:
    attention = subject.make()
    Hm = subject.wiring["memory_size"]
    for batch in (1, B):
        query, memory, mask = _inputs(subject, batch)
        context, weights = _call(attention, query, memory, mask)
        if tuple(weights.shape) != (batch, S):
            raise Broken(f"with batch {batch} and {S} memory positions, weights have shape {shape(weights)}; expected "
                         f"{(batch, S)}")
        if tuple(context.shape) != (batch, Hm):
            raise Broken(f"with batch {batch}, the context has shape {shape(context)}; expected {(batch, Hm)} = (B, "
                         "memory_size)")


@contract("weights sum to 1", fix="normalise the scores with a softmax over the real positions (e.g. "
                                  "seqforge_attention.attention.masked_softmax)")
def normalised(subject: Subject) -> None:
    attention = subject.make()
    query, memory, mask = _inputs(subject)
    _, weights = _call(attention, query, memory, mask)
    sums = weights.sum(dim=-1)  # (B,)
    if getattr(attention, "weights_sum_to_one", True) is False:  # e.g. local-p: the paper damps them by a Gaussian
        if (weights < 0).any() or (sums > 1 + 1e-6).any() or not (sums > 0).all():
            raise Broken("weights_sum_to_one=False: weights must be non-negative with row sums in (0, 1]; they are "
                         f"{[round(v, 4) for v in sums.tolist()]}")
        return
    worst = (sums - 1).abs().max().item()
    if worst > 1e-6 or (weights < 0).any():
        raise Broken("attention weights must be non-negative and sum to 1 over each row; row sums are "
                     f"{[round(v, 4) for v in sums.tolist()]}")


@contract("masked positions get 0", fix="set the scores of masked positions to -inf before the softmax "
                                        "(scores.masked_fill(~mask, float('-inf')))")
def masked_zero(subject: Subject) -> None:
    attention = subject.make()
    query, memory, mask = _inputs(subject)
    _, weights = _call(attention, query, memory, mask)
    leaked = weights[~mask]
    if (leaked != 0).any():
        raise Broken("weights at masked (padded) positions must be exactly 0; the largest is "
                     f"{leaked.abs().max().item():.3g}")


@contract("masked memory is inert", fix="padded memory must not reach the context or the gradients: mask before the "
                                        "softmax, weight the memory after it")
def masked_inert(subject: Subject) -> None:
    attention = subject.make()
    query, memory, mask = _inputs(subject)
    memory = memory.clone().requires_grad_()
    context, _ = _call(attention, query, memory, mask)
    noisy = memory.detach().clone()
    noisy[~mask] = 1e3 * torch.randn_like(noisy[~mask])
    noisy_context, _ = _call(attention, query, noisy, mask)
    if max_difference(context, noisy_context) > TOL:
        raise Broken("changing the memory at masked (padded) positions changed the context")
    (context * torch.randn_like(context)).sum().backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
    if memory.grad is not None and memory.grad[~mask].abs().sum() != 0:
        raise Broken("the gradient reaches the memory at masked (padded) positions")


@contract("keys", fix="forward(..., keys=project_memory(memory)) must equal forward(...) without keys")
def keys_path(subject: Subject) -> None:
    attention = subject.make()
    if not hasattr(attention, "project_memory"):
        return
    query, memory, mask = _inputs(subject)
    keys = attention.project_memory(memory)
    if keys.shape[:2] != memory.shape[:2]:
        raise Broken(f"project_memory(memory {tuple(memory.shape)}) returned {shape(keys)}; expected (B, S, K)")
    difference = max(
        max_difference(a, b)
        for a, b in zip(_call(attention, query, memory, mask, keys=keys), _call(attention, query, memory, mask))
    )
    if difference > TOL:
        raise Broken(f"with keys=project_memory(memory) the result differs by {difference:.3g} from computing the keys "
                     "itself")


@contract("batch independence", fix="attend within each row only (no statistics over the batch)")
def batch_independence(subject: Subject) -> None:
    attention = subject.make()
    query, memory, mask = _inputs(subject)
    together = _call(attention, query, memory, mask)
    for row in range(B):
        alone = _call(attention, query[row : row + 1], memory[row : row + 1], mask[row : row + 1])
        if max(max_difference(a, t[row : row + 1]) for a, t in zip(alone, together)) > TOL:
            raise Broken(f"row {row} attended alone differs from the same row inside a batch of {B}")


@contract("gradients", fix="make every parameter take part in the scores or the context, without detaching")
def gradients(subject: Subject) -> None:
    attention = subject.make()
    query, memory, mask = _inputs(subject)
    query, memory = query.requires_grad_(), memory.requires_grad_()
    context, weights = _call(attention, query, memory, mask)
    generator = torch.Generator().manual_seed(3)
    loss = (context * torch.randn(context.shape, generator=generator, dtype=context.dtype)).sum()
    loss = loss + (weights * torch.randn(weights.shape, generator=generator, dtype=weights.dtype)).sum()
    loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
    require_useful_gradients(attention)
    if memory.grad is None or not memory.grad.abs().sum() > 0:
        raise Broken("no gradient reached the memory")


@contract("state_dict", fix="keep all weights in parameters or buffers, so state_dict captures the whole attention")
def state_dict_round_trip(subject: Subject) -> None:
    original, other = subject.make(seed=0), subject.make(seed=1)
    if not isinstance(original, torch.nn.Module):
        return
    other.load_state_dict(through_checkpoint(original.state_dict()))
    if max_difference(_outputs(subject, original), _outputs(subject, other)) > 0:
        raise Broken("an attention loaded with another's state_dict computes something else: part of its weights live "
                     "outside state_dict")


ATTENTION_CONTRACTS: list[Contract] = [
    builds, shapes, normalised, masked_zero, masked_inert, keys_path, batch_independence, gradients,
    determinism_contract("attention", _outputs), state_dict_round_trip, picklable_contract("attention", _outputs),
]


def attention_results(
    attention: Any,
    config: Any = None,
    *,
    query_size: int = 6,
    memory_size: int = 6,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Every attention contract's result (see :func:`check_attention`), without raising."""
    build, label = resolve("attention", attention, config, registry)
    subject = Subject("attention", label, build, {"query_size": query_size, "memory_size": memory_size})
    try:
        nothing = subject.make() is None
    except Exception:  # noqa: BLE001 - the `builds` contract reports it
        nothing = False
    if nothing:  # a factory returning None is "no attention" (model/attention=none): the decoder attends to nothing
        return [ContractResult("attention", label, "builds", True, "None: no attention, so no other contract applies")]
    return run_contracts(subject, ATTENTION_CONTRACTS, only=only, skip=skip)


def check_attention(
    attention: Any,
    config: Any = None,
    *,
    query_size: int = 6,
    memory_size: int = 6,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Check an attention against :class:`seqforge.interfaces.Attention`; raise :class:`ContractError` if a contract
    breaks.

    Args:
        attention: a registered name (built from its config through Hydra, as the
            decoder builds it) or a factory called as
            ``factory(**config, query_size=..., memory_size=...)``.
        config: field values over the registered defaults.
        query_size, memory_size: ``Hq`` and ``Hm``; pass different values when the
            attention supports them (``luong_dot`` needs them equal).
        only, skip: contract names to run or leave out.
        registry: where names are looked up; default: the installed plugins'.

    Contracts: ``builds``, ``shapes`` (batch 1 and 4), ``weights sum to 1``,
    ``masked positions get 0`` (exactly), ``masked memory is inert`` (neither
    context nor gradient), ``keys`` (``project_memory`` agrees), ``batch
    independence``, ``gradients``, ``determinism``, ``state_dict``, ``picklable``.
    """
    return raise_for(attention_results(
        attention, config, query_size=query_size, memory_size=memory_size, only=only, skip=skip, registry=registry,
    ))
