"""The machinery every contract check shares: subjects, results, and the error authors see.

A *contract* is a small function ``(subject) -> None`` that raises :class:`Broken`
with what went wrong and how to fix it. The runner calls each one, turns any
other exception into a broken contract (a contract that crashes the component
is broken too), and returns one :class:`ContractResult` per contract, so
``seqforge plugins check`` can print them all and ``check_cell`` can raise one
:class:`ContractError` listing every failure.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seqforge.errors import SeqforgeError


class Broken(Exception):
    """Raised by a contract: ``message`` says what happened, ``fix`` how to make it hold."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass
class ContractResult:
    """The outcome of one contract for one component."""

    kind: str
    component: str
    contract: str
    passed: bool
    message: str = ""
    fix: str = ""

    def line(self) -> str:
        if self.passed:
            return f"{self.contract}: ok"
        return f"{self.contract}: {self.message}" + (f"\n      How to fix: {self.fix}" if self.fix else "")


class ContractError(SeqforgeError, AssertionError):
    """One or more contracts broke. An ``AssertionError`` so pytest reports it as a test failure."""

    def __init__(self, results: Sequence[ContractResult]) -> None:
        self.results = list(results)
        failed = [r for r in self.results if not r.passed]
        subjects = list(dict.fromkeys(f"{r.kind} {r.component}" for r in failed))
        plural = "s" if len(failed) > 1 else ""
        if len(subjects) == 1:
            lines = [f"{subjects[0]} broke {len(failed)} seqforge contract{plural}:"] + [
                f"  - {r.line()}" for r in failed
            ]
        else:
            lines = [f"{len(failed)} seqforge contract{plural} broke:"] + [
                f"  - {r.kind} {r.component} · {r.line()}" for r in failed
            ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Contract:
    """A named check with the advice shown when it fails in an unforeseen way."""

    name: str
    run: Callable[[Any], None]
    fix: str
    gate: bool = False  # when it breaks, the later contracts are not run (they would all fail the same way)


def contract(name: str, fix: str, *, gate: bool = False) -> Callable[[Callable[[Any], None]], Contract]:
    """Decorator: ``@contract("shapes", fix="...")`` turns a check function into a :class:`Contract`."""
    return lambda function: Contract(name, function, fix, gate)


@dataclass
class Subject:
    """What a contract checks: how to build the component, and what to call it in messages.

    Attributes:
        kind: ``cell``, ``attention``, ...
        label: e.g. ``'minimal_rnn' (plugin 'mycells')`` or ``MinimalRNNCell``.
        build: ``build(seed=0, **wiring)`` -> a new component (wiring overrides the defaults in ``wiring``).
        wiring: the sizes the core would pass (``input_size``, ``hidden_size``, ...).
        options: free-form knobs of the checks (tolerances, sequence length).
    """

    kind: str
    label: str
    build: Callable[..., Any]
    wiring: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def make(self, seed: int = 0, **wiring: Any) -> Any:
        """A fresh component built under ``torch.manual_seed(seed)``, in float64 and eval mode (exact comparisons)."""
        import torch

        torch.manual_seed(seed)
        module = self.build(**{**self.wiring, **wiring})
        if isinstance(module, torch.nn.Module):
            module = module.double().eval()
        return module


def run_contracts(
    subject: Subject,
    contracts: Sequence[Contract],
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> list[ContractResult]:
    """Run ``contracts`` on ``subject`` (all, or ``only`` those named, minus ``skip``).

    Gate contracts (``builds``) always run, first: when the component cannot
    even be built, the others are not run (each would fail the same way).
    """
    import torch

    names = [c.name for c in contracts]
    unknown = sorted((set(only or ()) | set(skip)) - set(names))
    if unknown:
        raise ValueError(f"unknown {subject.kind} contract(s) {', '.join(unknown)}; the contracts are: "
                         f"{', '.join(names)}")
    selected = [c for c in contracts if c.gate or ((only is None or c.name in set(only)) and c.name not in set(skip))]
    results = []
    rng_state = torch.get_rng_state()
    try:
        for item in selected:
            try:
                item.run(subject)
            except Broken as broken:
                results.append(
                    ContractResult(
                        subject.kind, subject.label, item.name, False, broken.message, broken.fix or item.fix
                    )
                )
            except Exception as exc:  # noqa: BLE001 - a crash inside the component breaks the contract
                where = _innermost_frame(exc)
                results.append(
                    ContractResult(
                        subject.kind,
                        subject.label,
                        item.name,
                        False,
                        f"raised {type(exc).__name__}: "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}{where}",
                        item.fix,
                    )
                )
            else:
                results.append(ContractResult(subject.kind, subject.label, item.name, True))
            if item.gate and not results[-1].passed:
                break
    finally:
        torch.set_rng_state(rng_state)  # checks must not change the caller's random stream
    return results


def _innermost_frame(exc: BaseException) -> str:
    """`` (at file.py:12 in forward)`` for the deepest frame outside torch and this package, to point at the author's
    line."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "/torch/" not in f.filename and "/seqforge/testing/" not in f.filename
    ]
    return f" (at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""


def raise_for(results: Sequence[ContractResult]) -> list[ContractResult]:
    """Raise :class:`ContractError` if any result failed; else return the results."""
    if any(not r.passed for r in results):
        raise ContractError(results)
    return list(results)


# -- resolving what to check ------------------------------------------------------------
def config_fields(config: Any) -> dict[str, Any]:
    """A config given as a dataclass type or instance, a mapping, or None -> its fields as a dict."""
    if config is None:
        return {}
    if isinstance(config, type) and dataclasses.is_dataclass(config):
        config = config()
    if dataclasses.is_dataclass(config):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if hasattr(config, "items"):
        return dict(config.items())
    raise TypeError(f"config must be a dataclass, a mapping or None, got {type(config).__name__}")


def resolve(kind: str, component: Any, config: Any, registry: Any = None) -> tuple[Callable[..., Any], str]:
    """``(build(**wiring), label)`` for a registered name or a factory.

    A registered name is built exactly as ``seqforge train`` builds it: its
    config dataclass (the registered defaults, with ``config`` merged over them)
    composed by OmegaConf and instantiated by Hydra through its ``_target_``, so
    the check also proves "composes from config and instantiates".
    """
    if isinstance(component, str):
        from omegaconf import OmegaConf

        from seqforge.builders import instantiate
        from seqforge.registry import KIND_GROUPS

        if registry is None:
            from seqforge.plugin_manager import get_registry

            registry = get_registry()
        registered = registry.get(kind, component)  # unknown names list the available ones
        node = OmegaConf.merge(OmegaConf.structured(registered.node), config_fields(config))
        key = KIND_GROUPS[kind].replace("/", ".")

        def build_registered(**wiring: Any) -> Any:
            return instantiate(node, key, **wiring)

        return build_registered, f"'{component}' ({registered.provider})"
    if not callable(component):
        raise TypeError(f"expected a registered {kind} name or a factory (class or function), got {component!r}")
    fields = config_fields(config)

    def build_factory(**wiring: Any) -> Any:
        return component(**fields, **wiring)

    return build_factory, getattr(component, "__qualname__", repr(component))
