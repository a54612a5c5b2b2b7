"""Encoder, decoder and task contracts: :func:`check_encoder`, :func:`check_decoder`, :func:`check_task`.

Encoders and decoders are built with the core's wiring (``seqforge.builders``,
``TranslationTask.build_model``) around the reference cell and attention of
:mod:`seqforge.testing.reference`. A task is composed into a whole run config
by Hydra (``task=<name>`` plus your overrides) and built by the same
``build_run`` that ``seqforge train`` uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, cast

import torch

from seqforge.interfaces import BeginsEvaluation, DataModule
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
from seqforge.testing._shared_contracts import module_contracts
from seqforge.testing._tensors import max_difference, mixed_lengths, require_useful_gradients, shape
from seqforge.testing.reference import ElmanCell, GeneralAttention

B, S, I, H = 4, 6, 3, 5
TOL = 1e-9


def _x(batch: int = B, steps: int = S, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, steps, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)  # (B, S, I)


# -- encoders ---------------------------------------------------------------------------------
def _encode(encoder: Any, x: torch.Tensor, lengths: torch.Tensor | None = None, state: Any = None) -> Any:
    out = encoder(x, lengths, state) if state is not None else encoder(x, lengths)
    for name in ("outputs", "mask"):
        if not hasattr(out, name):
            raise Broken(
                f"forward returned {type(out).__name__} without `{name}`",
                "return seqforge.interfaces.EncoderOutput(outputs=(B, S, output_size), mask=(B, S) bool, state=...)",
            )
    return out


@contract("builds", fix="accept the core's wiring: cell=, input_size=, hidden_size=, num_layers=, bidirectional=, "
                        "dropout= (plus your config's fields)", gate=True)
def encoder_builds(subject: Subject) -> None:
    encoder = subject.make()
    if not isinstance(getattr(encoder, "output_size", None), int):
        raise Broken(
            f"the built encoder ({type(encoder).__name__}) has no integer `output_size`",
            "set self.output_size (H_out) in __init__",
        )


@contract("shapes", fix="forward(x (B, S, I), lengths (B,) | None, state=None) -> EncoderOutput(outputs (B, S, "
                        "output_size), mask (B, S) bool)")
def encoder_shapes(subject: Subject) -> None:
    for bidirectional in (False, True):
        encoder = subject.make(bidirectional=bidirectional)
        for batch in (1, B):
            lengths = mixed_lengths(batch, S)
            out = _encode(encoder, _x(batch), lengths)
            if tuple(out.outputs.shape) != (batch, S, encoder.output_size):
                raise Broken(f"bidirectional={bidirectional}, batch {batch}: outputs {shape(out.outputs)}; expected "
                             f"{(batch, S, encoder.output_size)}")
            expected = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)
            if out.mask.dtype != torch.bool or not torch.equal(out.mask, expected):
                raise Broken("the mask must be (B, S) bool, True exactly at the first `length` positions of each row; "
                             f"got {out.mask}")
        full = _encode(encoder, _x(), None)
        if not bool(full.mask.all()):
            raise Broken("with lengths=None every position is real, but the mask has False entries")


@contract("padding", fix="outputs at padded positions must be 0 and padded inputs must not change anything (mask every "
                         "step)")
def encoder_padding(subject: Subject) -> None:
    for bidirectional in (False, True):
        encoder = subject.make(bidirectional=bidirectional)
        lengths, x = mixed_lengths(B, S), _x()
        out = _encode(encoder, x, lengths)
        if out.outputs[~out.mask].abs().sum() != 0:
            raise Broken(f"bidirectional={bidirectional}: outputs at padded positions are not exactly 0")
        noisy = x.clone()
        noisy[~out.mask] = 1e3
        if max_difference(_encode(encoder, noisy, lengths).outputs, out.outputs) > TOL:
            raise Broken(f"bidirectional={bidirectional}: changing the inputs at padded positions changed the outputs")
        for row in range(B):
            length = int(lengths[row])
            alone = _encode(encoder, x[row : row + 1, :length], None).outputs
            if max_difference(alone, out.outputs[row : row + 1, :length]) > TOL:
                raise Broken(
                    f"bidirectional={bidirectional}: sequence {row} (length {length}) encoded alone and unpadded "
                    "differs from the same sequence inside a padded batch",
                    "a sequence's features must depend on its own real positions only (reverse within each length for "
                    "the backward direction)",
                )


@contract("gradients", fix="make every parameter take part in the outputs, without detaching")
def encoder_gradients(subject: Subject) -> None:
    encoder = subject.make(bidirectional=True)
    out = _encode(encoder, _x(), mixed_lengths(B, S))
    (out.outputs * torch.randn_like(out.outputs)).sum().backward()
    require_useful_gradients(encoder)


@contract("state carry-over", fix="accept the `state` of a previous call and continue from it (truncated BPTT over "
                                  "contiguous text relies on it)")
def encoder_state(subject: Subject) -> None:
    encoder = subject.make(bidirectional=False)
    x = _x()
    whole = _encode(encoder, x, None)
    first = _encode(encoder, x[:, :2], None)
    if getattr(first, "state", None) is None:
        return  # an encoder without a recurrent state (e.g. convolutional) has nothing to carry
    second = _encode(encoder, x[:, 2:], None, first.state)
    difference = max_difference(torch.cat([first.outputs, second.outputs], dim=1), whole.outputs)
    if difference > TOL:
        raise Broken(f"encoding a sequence in two chunks (carrying `state`) differs by {difference:.3g} from encoding "
                     "it at once")


ENCODER_CONTRACTS: list[Contract] = [
    encoder_builds,
    encoder_shapes,
    encoder_padding,
    encoder_gradients,
    encoder_state,
    *module_contracts("encoder", lambda _, encoder: _encode(encoder, _x(), mixed_lengths(B, S)).outputs),
]


def encoder_results(
    encoder: Any,
    config: Any = None,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Every encoder contract's result (see :func:`check_encoder`), without raising."""
    build, label = resolve("encoder", encoder, config, registry)
    wiring = {
        "cell": ElmanCell,
        "input_size": I,
        "hidden_size": H,
        "num_layers": 2,
        "bidirectional": False,
        "dropout": 0.0,
    }
    return run_contracts(Subject("encoder", label, build, wiring), ENCODER_CONTRACTS, only=only, skip=skip)


def check_encoder(
    encoder: Any,
    config: Any = None,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Check an encoder against :class:`seqforge.interfaces.Encoder`; raise :class:`ContractError` if a contract breaks.

    ``encoder`` is a registered name (composed and instantiated through Hydra) or a
    factory called with the core's wiring: ``cell`` (a cell factory), ``input_size``,
    ``hidden_size``, ``num_layers``, ``bidirectional``, ``dropout``.

    Contracts: ``builds``, ``shapes`` (both directions, batch 1 and 4, the mask),
    ``padding`` (zero and inert; a row alone equals the row in a batch),
    ``gradients``, ``state carry-over`` (two chunks equal one), ``determinism``,
    ``state_dict``, ``picklable``.
    """
    return raise_for(encoder_results(encoder, config, only=only, skip=skip, registry=registry))


# -- decoders ---------------------------------------------------------------------------------
V, E, M = 7, 4, 6


def _memory(batch: int = B) -> tuple[torch.Tensor, torch.Tensor]:
    memory = torch.randn(batch, S, M, generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # (B, S, M)
    return memory, torch.arange(S).unsqueeze(0) < mixed_lengths(batch, S).unsqueeze(1)  # (B, S)


def _decode(
    decoder: Any, memory: torch.Tensor, mask: torch.Tensor, steps: int = 3, rows: slice = slice(None)
) -> tuple[list[torch.Tensor], list[Any]]:
    """Logits and weights of ``steps`` greedy decoding steps from the decoder's zero layer states (``rows`` of the full
    batch)."""
    batch = memory.shape[0]
    cells = getattr(decoder, "cells", None)
    if cells is None:
        raise Broken("the decoder has no `cells` (one cell per layer; the bridge and beam search read them)")
    layers = [cell.initial_state(batch, device=memory.device, dtype=memory.dtype) for cell in cells]
    state = decoder.initial_state(layers, memory, mask)
    tokens = (torch.arange(B) % V)[rows]  # (B,) first tokens: row r always starts from token r
    logits, weights = [], []
    for _ in range(steps):
        result = decoder.step(tokens, state)
        if not isinstance(result, tuple) or len(result) != 3:
            raise Broken("step must return (logits (B, V), state, weights (B, S) or None)")
        step_logits, state, step_weights = result
        logits.append(step_logits)
        weights.append(step_weights)
        tokens = step_logits.argmax(dim=-1)
    return logits, weights


@contract("builds", fix="accept the core's wiring: cell=, attention=, vocab_size=, embedding_dim=, hidden_size=, "
                        "num_layers=, dropout=, memory_size=", gate=True)
def decoder_builds(subject: Subject) -> None:
    decoder = subject.make()
    missing = [name for name in ("initial_state", "step", "cells") if not hasattr(decoder, name)]
    if missing:
        raise Broken(f"the built decoder ({type(decoder).__name__}) lacks {', '.join(missing)}")
    subject.make(attention=None)  # "no attention" must build too


@contract("shapes", fix="step(y_prev (B,), state) must return (logits (B, vocab_size), state, weights (B, S) or None)")
def decoder_shapes(subject: Subject) -> None:
    for attention in (subject.wiring["attention"], None):
        decoder = subject.make(attention=attention)
        for batch in (1, B):
            logits, weights = _decode(decoder, *_memory(batch), rows=slice(0, batch))
            for step_logits, step_weights in zip(logits, weights):
                if tuple(step_logits.shape) != (batch, V):
                    raise Broken(f"batch {batch}: logits {shape(step_logits)}; expected {(batch, V)}")
                if step_weights is not None and tuple(step_weights.shape) != (batch, S):
                    raise Broken(f"batch {batch}: attention weights {shape(step_weights)}; expected {(batch, S)}")


@contract("masked memory", fix="padded memory positions must get weight 0 and must not change the logits")
def decoder_masking(subject: Subject) -> None:
    decoder = subject.make()
    memory, mask = _memory()
    logits, weights = _decode(decoder, memory, mask)
    for step_weights in weights:
        if step_weights is not None and (
            (step_weights[~mask] != 0).any() or (step_weights.sum(-1) - 1).abs().max() > 1e-6
        ):
            raise Broken("attention weights are not exactly 0 at padded memory positions or do not sum to 1")
    noisy = memory.clone()
    noisy[~mask] = 1e3
    if max(max_difference(a, b) for a, b in zip(_decode(decoder, noisy, mask)[0], logits)) > TOL:
        raise Broken("changing the memory at padded positions changed the logits")


@contract("batch independence", fix="decode each row from its own memory only")
def decoder_batch_independence(subject: Subject) -> None:
    decoder = subject.make()
    memory, mask = _memory()
    together = _decode(decoder, memory, mask)[0]
    for row in range(B):
        alone = _decode(decoder, memory[row : row + 1], mask[row : row + 1], rows=slice(row, row + 1))[0]
        if max(max_difference(a, t[row : row + 1]) for a, t in zip(alone, together)) > TOL:
            raise Broken(f"row {row} decoded alone differs from the same row inside a batch of {B}")


@contract("gradients", fix="make every parameter take part in the logits, without detaching")
def decoder_gradients(subject: Subject) -> None:
    decoder = subject.make()
    memory, mask = _memory()
    memory.requires_grad_()
    logits, _ = _decode(decoder, memory, mask)
    loss = cast(torch.Tensor, sum((step * torch.randn_like(step)).sum() for step in logits))  # 3 steps: never 0
    loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
    require_useful_gradients(decoder, "after 3 steps ")
    if memory.grad is None or not memory.grad.abs().sum() > 0:
        raise Broken("no gradient reached the encoder memory")


DECODER_CONTRACTS: list[Contract] = [
    decoder_builds,
    decoder_shapes,
    decoder_masking,
    decoder_batch_independence,
    decoder_gradients,
    *module_contracts("decoder", lambda _, decoder: torch.stack(_decode(decoder, *_memory())[0])),
]


def decoder_results(
    decoder: Any,
    config: Any = None,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Every decoder contract's result (see :func:`check_decoder`), without raising."""
    build, label = resolve("decoder", decoder, config, registry)
    wiring = {
        "cell": ElmanCell, "attention": GeneralAttention, "vocab_size": V, "embedding_dim": E, "hidden_size": H,
        "num_layers": 2, "dropout": 0.0, "memory_size": M,
    }
    return run_contracts(Subject("decoder", label, build, wiring), DECODER_CONTRACTS, only=only, skip=skip)


def check_decoder(
    decoder: Any,
    config: Any = None,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    registry: Any = None,
) -> list[ContractResult]:
    """Check a decoder against :class:`seqforge.interfaces.Decoder`; raise :class:`ContractError` if a contract breaks.

    ``decoder`` is a registered name or a factory called with the core's wiring
    (``cell``, ``attention`` factory or None, ``vocab_size``, ``embedding_dim``,
    ``hidden_size``, ``num_layers``, ``dropout``, ``memory_size``).

    Contracts: ``builds`` (with and without attention), ``shapes``, ``masked
    memory``, ``batch independence``, ``gradients``, ``determinism``,
    ``state_dict``, ``picklable``.
    """
    return raise_for(decoder_results(decoder, config, only=only, skip=skip, registry=registry))


# -- tasks --------------------------------------------------------------------------------------
#: Overrides that make any composed run tiny.
TINY_RUN = ["model.hidden_size=8", "model.embedding_dim=8", "model.num_layers=1", "trainer.max_steps=2"]


def compose_run(overrides: Sequence[str]) -> Any:
    """The run config ``seqforge train <overrides>`` would compose (packaged configs, installed plugins)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from seqforge.config import register_schema
    from seqforge.plugin_manager import get_plugins

    get_plugins()
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="seqforge.conf", version_base=None):
        return compose(config_name="config", overrides=list(overrides))


@contract("composes", fix="the task's config dataclass must compose with the overrides given and its factory must "
                          "build the run (task, data, model)", gate=True)
def task_composes(subject: Subject) -> None:
    from seqforge.train import build_run

    cfg = compose_run(subject.options["overrides"])
    subject.options["run"] = build_run(cfg)  # kept for the other contracts: preparing data is the slow part


def _run(subject: Subject) -> Any:
    run = subject.options.get("run")
    if run is None:
        raise Broken("the run could not be built (see `composes`)")
    return run


@contract("protocol", fix="implement seqforge.interfaces.Task: metric_sums, build_data, build_model, training_step, "
                          "evaluation_step, "
                      "compute_metrics; build_data must return a seqforge.interfaces.DataModule (cfg, prepare, state, "
                      "describe, loader hooks)")
def task_protocol(subject: Subject) -> None:
    run = _run(subject)
    task = run.task
    missing = [
        m
        for m in ("build_data", "build_model", "training_step", "evaluation_step", "compute_metrics")
        if not callable(getattr(task, m, None))
    ]
    sums = getattr(task, "metric_sums", None)
    if missing:
        raise Broken(f"{type(task).__name__} lacks {', '.join(missing)}")
    if not isinstance(sums, tuple) or not sums or not all(isinstance(s, str) for s in sums):
        raise Broken(f"metric_sums must be a non-empty tuple of names, got {sums!r}")
    if not isinstance(run.data, DataModule):  # the core calls every one of these (checkpoints keep state())
        absent = [
            m
            for m in ("cfg", "prepare", "state", "describe", "train_dataloader", "val_dataloader", "test_dataloader")
            if not hasattr(run.data, m)
        ]
        raise Broken(f"build_data returned a {type(run.data).__name__} without {', '.join(absent)} (the DataModule "
                     "contract)")


def _first_batch(data: Any, split: str) -> Any:
    stage = "fit" if split == "train" else "validate"
    data.setup(stage)
    return next(iter(getattr(data, f"{split}_dataloader")()))


@contract("training step", fix="training_step(model, batch, carry, stateful=...) must return (a finite scalar loss "
                               "with a graph, logs, carry); every parameter must be used (DDP fails on unused ones)")
def task_training_step(subject: Subject) -> None:
    run = _run(subject)
    run.model.train()
    loss, logs, _ = run.task.training_step(run.model, _first_batch(run.data, "train"), None, stateful=run.stateful)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.requires_grad or not torch.isfinite(loss):
        raise Broken(f"the loss must be a finite scalar tensor that requires grad; got {loss!r}")
    if not isinstance(logs, dict):
        raise Broken(f"logs must be a dict of name -> tensor, got {type(logs).__name__}")
    loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is unannotated
    unused = [name for name, p in run.model.named_parameters() if p.requires_grad and p.grad is None]
    if unused:
        raise Broken(f"these model parameters got no gradient from the loss: {', '.join(unused)}")


@contract("evaluation step", fix="evaluation_step must return ({name: tensor for every name in metric_sums}, carry) "
                                 "and compute_metrics finite floats")
def task_evaluation_step(subject: Subject) -> None:
    run = _run(subject)
    run.model.eval()
    if isinstance(run.task, BeginsEvaluation):
        run.task.begin_evaluation(run.data, "valid")
    sums, _ = run.task.evaluation_step(run.model, _first_batch(run.data, "val"), None, stateful=run.stateful)
    texts = sums.pop("texts", ())
    if set(sums) != set(run.task.metric_sums):
        raise Broken(f"evaluation_step returned sums {sorted(sums)}; metric_sums declares "
                     f"{sorted(run.task.metric_sums)}")
    metrics = run.task.compute_metrics({k: float(v) for k, v in sums.items()}, run.data, list(texts))
    bad = {k: v for k, v in metrics.items() if not isinstance(v, (int, float)) or not math.isfinite(v)}
    if not metrics or bad:
        raise Broken(f"compute_metrics must return finite numbers; got {metrics}")


TASK_CONTRACTS: list[Contract] = [task_composes, task_protocol, task_training_step, task_evaluation_step]


def task_results(
    name: str, overrides: Sequence[str] = (), *, only: Iterable[str] | None = None, skip: Iterable[str] = ()
) -> list[ContractResult]:
    """Every task contract's result (see :func:`check_task`), without raising."""
    composed = [f"task={name}", *TINY_RUN, *overrides]
    subject = Subject("task", f"'{name}'", lambda **_: None, options={"overrides": composed})
    return run_contracts(subject, TASK_CONTRACTS, only=only, skip=skip)


def check_task(
    name: str, overrides: Sequence[str] = (), *, only: Iterable[str] | None = None, skip: Iterable[str] = ()
) -> list[ContractResult]:
    """Check a registered task: it composes into a run, builds, trains a step and evaluates.

    Args:
        name: the registered task name (``task=<name>``).
        overrides: more ``seqforge train`` overrides the task needs, e.g.
            ``["data=dates", "model/decoder=recurrent"]``; the run is made tiny.

    Contracts: ``builds`` (composes from config and instantiates task, data and
    model through ``build_run``), ``protocol``, ``training step`` (finite scalar
    loss; every parameter used), ``evaluation step`` (sums match
    ``metric_sums``; ``compute_metrics`` finite).
    """
    return raise_for(task_results(name, overrides, only=only, skip=skip))



def task_capabilities(name: str) -> list[str]:
    """The optional capabilities of the task registered as ``name`` (built with its config's defaults).

    Names of the ``seqforge.api`` Protocols it satisfies (``["Generates", "Reports", "TimeSplits"]``),
    as the core will see them: assert them in a plugin's tests so a renamed method does not
    silently turn a command or truncated BPTT off for the task.
    """
    from seqforge.builders import instantiate
    from seqforge.interfaces import capabilities
    from seqforge.plugin_manager import get_registry

    node = cast(type, get_registry().get("task", name).node)  # set for every component Registry.register stored
    return capabilities(instantiate(node(), "task"))
