"""How fast is a training step through seqforge's recurrent paths? Measured side by side.

One "step" is forward + backward of ``outputs.sum()`` over a ``(B, T, I)`` batch.
Every variant is timed in the same process, interleaved round-robin (variant 1,
2, ..., 1, 2, ...), so a noisy neighbour slows all of them alike; the table
shows medians over the repetitions and speed ratios against a reference
(``ratio = reference_ms / variant_ms``: 1.0 is as fast, 0.5 is twice as slow), from
the medians and, as a check on a busy machine, from the fastest runs.

Groups:
  fused     seqforge LSTM/GRU through ``run_cell`` (fused path) vs raw ``nn.LSTM``/``nn.GRU``
            holding the same weights. Target >= 0.95x.
  loop      the generic loop (``allow_fused=False``) vs the fused path: the seqforge
            cells (hoisted input projection + ``step``) and a third-party LSTM that only
            has ``forward`` (no projection, no fused path). Target >= 0.6x at T=64.
  compiled  the generic loop sped up without a fused kernel, vs fused:
            - "compiled step": ``torch.compile`` of the step function only (the loop stays Python);
            - "scripted step": ``torch.jit.script`` of the third-party cell;
            - ``CompiledLoop(chunk=k)`` (seqforge.recurrent): k steps compiled as one graph.
            "setup s" is the one-off cost: compilation plus the two first runs. By default
            compilation starts from an empty on-disk cache (cold); later sequence lengths in
            the same run reuse the compiled graphs, as CompiledLoop does in training.

Usage::

    python bench/cells.py                       # T=64, all groups
    python bench/cells.py --seq 64 256 --reps 9
    python bench/cells.py --groups fused loop   # skip compilation (a minute instead of several)
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from seqforge.recurrent import run_cell
from seqforge.recurrent.loop import CompiledLoop
from seqforge_rnn.cells import GRUCell, LSTMCell


class PlainLSTM(nn.Module):
    """A third-party LSTM as an author would first write it: ``forward`` only.

    No ``project_input``/``step`` (so nothing is hoisted) and no ``forward_sequence``.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, 4 * hidden_size)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        zeros = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)  # (B, H)
        return zeros, zeros.clone()

    def forward(self, x_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        i, f, g, o = (self.ih(x_t) + self.hh(h)).chunk(4, dim=-1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


@dataclass
class Variant:
    """One timed training step and what it is compared with."""

    name: str
    group: str
    run: Callable[[], Tensor]  # returns outputs (B, T, H); the harness backprops their sum
    reference: str | None = None  # name of the variant it is compared with
    setup_seconds: float = 0.0  # compile/script time, paid once
    times: list[float] = field(default_factory=list)

    def step(self) -> float:
        start = time.perf_counter()
        self.run().sum().backward()
        return (time.perf_counter() - start) * 1e3


def training_step(module: nn.Module, fn: Callable[[], tuple[Tensor, object]]) -> Callable[[], Tensor]:
    def run() -> Tensor:
        module.zero_grad(set_to_none=True)
        return fn()[0]

    return run


def timed(build: Callable[[], Callable[[], Tensor]]) -> tuple[Callable[[], Tensor], float]:
    """Build a variant and run it twice (compilation happens on the first call); time both."""
    start = time.perf_counter()
    run = build()
    for _ in range(2):
        run().sum().backward()
    return run, time.perf_counter() - start


class CompiledStep:
    """``cell`` with only its step function compiled (or scripted); the loop stays eager Python."""

    def __init__(self, cell: nn.Module, compile_fn: Callable) -> None:
        self.cell = cell
        self.input_size, self.hidden_size = cell.input_size, cell.hidden_size
        has_step = hasattr(cell, "step") and hasattr(cell, "project_input")
        self.project_input = cell.project_input if has_step else (lambda x: x)
        self._step = compile_fn(cell.step if has_step else cell)

    def initial_state(self, batch_size: int, *, device: torch.device, dtype: torch.dtype):
        return self.cell.initial_state(batch_size, device=device, dtype=dtype)

    def step(self, x_t: Tensor, state):
        with torch._dynamo.config.patch(allow_rnn=True):  # seqforge cells keep weights in nn.LSTM/nn.GRU
            return self._step(x_t, state)


def compiled_step(cell: nn.Module) -> CompiledStep:
    return CompiledStep(cell, lambda fn: torch.compile(fn, dynamic=False, fullgraph=True))


def make_variants(groups: list[str], B: int, T: int, I: int, H: int, chunk: int) -> list[Variant]:
    torch.manual_seed(0)
    x = torch.randn(B, T, I)
    variants: list[Variant] = []
    cells = {"lstm": LSTMCell(I, H), "gru": GRUCell(I, H), "third-party lstm": PlainLSTM(I, H)}
    for kind, torch_cls in (("lstm", nn.LSTM), ("gru", nn.GRU)):
        cell = cells[kind]
        variants.append(
            Variant(f"{kind} fused", "fused", training_step(cell, lambda c=cell: run_cell(c, x, allow_fused=True)))
        )
        if "fused" in groups:
            raw = torch_cls(I, H, batch_first=True)
            raw.load_state_dict(cell.rnn.state_dict())
            variants.append(Variant(f"torch nn.{kind.upper()}", "fused", training_step(raw, lambda r=raw: r(x))))
            variants[-2].reference = variants[-1].name
    for kind, cell in cells.items():
        reference = "gru fused" if kind == "gru" else "lstm fused"
        if "loop" in groups:
            run = training_step(cell, lambda c=cell: run_cell(c, x, allow_fused=False))
            variants.append(Variant(f"{kind} loop eager", "loop", run, reference))
        if "compiled" in groups:
            run, seconds = timed(lambda c=cell: training_step(c, functools.partial(run_cell, compiled_step(c), x)))
            variants.append(Variant(f"{kind} loop, compiled step", "compiled", run, reference, seconds))
            if kind == "third-party lstm":
                scripted = CompiledStep(cell, torch.jit.script)
                run, seconds = timed(lambda c=cell, s=scripted: training_step(c, lambda: run_cell(s, x)))
                variants.append(Variant(f"{kind} loop, scripted step", "compiled", run, reference, seconds))
            looped = CompiledLoop(cell, chunk=chunk)
            run, seconds = timed(lambda c=cell, lp=looped: training_step(c, lambda: run_cell(lp, x)))
            variants.append(Variant(f"{kind} CompiledLoop(chunk={chunk})", "compiled", run, reference, seconds))
    return variants


def measure(variants: list[Variant], reps: int, warmup: int) -> None:
    for variant in variants:
        for _ in range(warmup):
            variant.step()
    for _ in range(reps):
        for variant in variants:  # interleaved: all variants see the same machine state
            variant.times.append(variant.step())


def report(variants: list[Variant], T: int) -> None:
    by_name = {v.name: v for v in variants}
    print(f"\nT={T}")
    print(f"{'variant':42s} {'median ms':>10s} {'min ms':>8s} {'ratio':>7s} {'(mins)':>7s}  {'vs':20s} {'setup s':>8s}")
    for v in variants:
        median = statistics.median(v.times)
        ratio, ratio_of_mins, versus = "", "", ""
        if v.reference in by_name:
            reference = by_name[v.reference].times
            ratio = f"{statistics.median(reference) / median:.2f}x"
            ratio_of_mins = f"{min(reference) / min(v.times):.2f}x"  # the least disturbed runs
            versus = v.reference
        setup = f"{v.setup_seconds:.1f}" if v.setup_seconds else ""
        print(f"{v.name:42s} {median:10.1f} {min(v.times):8.1f} {ratio:>7s} {ratio_of_mins:>7s}  {versus:20s} "
              f"{setup:>8s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq", type=int, nargs="+", default=[64], help="sequence lengths T to measure")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--input", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions per variant (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=16, help="steps per compiled call for CompiledLoop")
    parser.add_argument("--warm-cache", action="store_true", help="reuse torch's on-disk compile cache (default: a "
                                                                  "fresh one, so compile times are cold)")
    parser.add_argument(
        "--groups", nargs="+", default=["fused", "loop", "compiled"], choices=["fused", "loop", "compiled"]
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.warm_cache:
        cold_cache = tempfile.TemporaryDirectory(prefix="seqforge-bench-inductor-")  # removed at exit
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold_cache.name
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, B={args.batch} I={args.input} H={args.hidden}"
    )
    for T in args.seq:
        variants = make_variants(args.groups, args.batch, T, args.input, args.hidden, args.chunk)
        measure(variants, args.reps, args.warmup)
        report(variants, T)


if __name__ == "__main__":
    main()
