"""``trainer.precision``: every value Lightning accepts either runs or is refused before training, with the reason.

What runs on CPU (tested for the LSTM, GRU and RNN cells, fused kernel and generic loop):
``32-true``/``32``, ``64-true``/``64``, ``bf16-mixed``/``bf16`` (the fused kernels run in
float32 under autocast, see ``seqforge_rnn.cells``), ``16-mixed``/``16`` (Lightning runs it as
``bf16-mixed`` on CPU, with a warning), ``bf16-true``, and ``16-true`` with SGD. Refused:
``16-true`` with an adaptive optimiser (Adam's ``eps`` = 1e-8 is 0 in float16, so the first
step divides by zero: NaN weights), ``transformer-engine*`` without NVIDIA's Transformer Engine
and a CUDA device, and anything Lightning does not know.

``train.flush_denormal``: float values below ~1.2e-38 (denormals) count as 0 during training
(:func:`flushing_denormals`).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from typing import Any

from seqforge.config import OPTIMISERS
from seqforge.errors import ConfigError

#: Lightning's precision values (``lightning.fabric.plugins.precision.precision._PRECISION_INPUT_STR``).
PRECISIONS = (
    "16-true",
    "16-mixed",
    "bf16-true",
    "bf16-mixed",
    "32-true",
    "64-true",
    "transformer-engine",
    "transformer-engine-float16",
)
#: Lightning's older spellings and what it reads them as (``_PRECISION_INPUT_STR_ALIAS_CONVERSION``; ints too).
ALIASES = {"64": "64-true", "32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed"}
#: Optimisers that divide by a running gradient magnitude plus ``eps`` (``optim.name``), from the optimiser table.
ADAPTIVE_OPTIMISERS = frozenset(name for name, row in OPTIMISERS.items() if row.adaptive)


def canonical_precision(value: Any) -> str | None:
    """``bf16`` -> ``bf16-mixed``, ``64`` -> ``64-true``, ...; None if Lightning would not accept ``value``."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    text = ALIASES.get(text, text)
    return text if text in PRECISIONS else None


def precision_problem(cfg: Any) -> str | None:
    """Why ``cfg.trainer.precision`` cannot train here (one paragraph naming the key), or None."""
    value = cfg.trainer.precision
    precision = canonical_precision(value)
    if precision is None:
        return (
            f"`trainer.precision={value}` is not a precision Lightning accepts. Use one of {', '.join(PRECISIONS)} "
            f"(or the older spellings {', '.join(ALIASES)}); on CPU, `bf16-mixed` is the reduced-precision choice."
        )
    if precision.startswith("transformer-engine"):
        missing = [what for what, ok in (
            ("NVIDIA's transformer_engine package", importlib.util.find_spec("transformer_engine") is not None),
            ("a CUDA device", _cuda_selected(cfg)),
        ) if not ok]
        if missing:
            return (
                f"`trainer.precision={value}` runs FP8 layers from NVIDIA's Transformer Engine on a CUDA GPU, but "
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not available here. Use "
                "`trainer.precision=bf16-mixed` (or `32-true`)."
            )
    optimiser = str(cfg.optim.name).lower() if "optim" in cfg else ""
    if precision == "16-true" and optimiser in ADAPTIVE_OPTIMISERS:
        return (
            f"`trainer.precision={value}` keeps the weights and the optimiser state in float16 with no loss scaling; "
            f"with `optim.name={optimiser}` the first step makes weights NaN (its eps of 1e-8 is 0 in float16, so a "
            "zero gradient divides 0 by 0). Use `trainer.precision=bf16-mixed` or `16-mixed` (float32 weights, loss "
            "scaling on GPU), `bf16-true`, or `optim=sgd` with `16-true`."
        )
    return None


def check_precision(cfg: Any) -> None:
    """Raise :class:`ConfigError` before anything is built if ``trainer.precision`` cannot train here."""
    problem = precision_problem(cfg)
    if problem is not None:
        raise ConfigError(problem)


def _cuda_selected(cfg: Any) -> bool:
    if str(cfg.trainer.accelerator) not in ("auto", "gpu", "cuda"):
        return False
    import torch

    return torch.cuda.is_available()


@contextlib.contextmanager
def flushing_denormals(enabled: bool) -> Iterator[None]:
    """With ``enabled``, the CPU treats denormal floats (below ~1.2e-38) as 0 inside the block.

    x86 CPUs compute with denormals up to ~100x slower, and long runs produce them: Adam's first
    moment of an embedding row unseen for ~800 steps decays below 1e-38 (0.9 per step), and so do
    some activations and gradients. Flushing them changes no result that matters and made the
    Multi30k recipe's training step ~15% faster after 600 steps (``bench/packed_decoder.py``). The
    setting is per process (each DDP process applies its own) and is restored on leaving.
    """
    if not enabled:
        yield
        return
    import torch

    if not torch.set_flush_denormal(True):
        print("seqforge: train.flush_denormal=true has no effect on this CPU (no flush-to-zero support).")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
