"""Contracts any ``nn.Module`` component shares: determinism, ``state_dict`` round trip, picklable.

Each factory takes the component's ``kind`` (named in the messages) and
``outputs(subject, module)``: what the module computes on fixed inputs, a
tensor or a tuple of tensors, compared exactly between two modules that must
agree.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from seqforge.testing._contracts import Broken, Contract, Subject, contract
from seqforge.testing._tensors import max_difference, pickled, through_checkpoint

Outputs = Callable[[Subject, Any], Any]

PICKLABLE_FIX = (
    "do not keep lambdas, local functions or classes, open files or generators on the module; "
    "ddp_spawn pickles the model"
)


def _outputs_differ(subject: Subject, a: Any, b: Any, outputs: Outputs) -> bool:
    return max_difference(outputs(subject, a), outputs(subject, b)) > 0


def determinism_contract(kind: str, outputs: Outputs) -> Contract:
    @contract("determinism", fix="draw randomness only from torch's global generator, never from time or os.urandom")
    def determinism(subject: Subject) -> None:
        if _outputs_differ(subject, subject.make(seed=11), subject.make(seed=11), outputs):
            raise Broken(f"two {kind}s built under the same seed compute different results")

    return determinism


def state_dict_contract(kind: str, outputs: Outputs) -> Contract:
    @contract("state_dict", fix="keep all weights in parameters or buffers, so state_dict captures the whole module")
    def state_dict_round_trip(subject: Subject) -> None:
        original, other = subject.make(seed=0), subject.make(seed=1)
        other.load_state_dict(through_checkpoint(original.state_dict()))
        if _outputs_differ(subject, original, other, outputs):
            raise Broken(f"a {kind} loaded with another's state_dict (weights_only load) computes something else")

    return state_dict_round_trip


def picklable_contract(kind: str, outputs: Outputs, fix: str = PICKLABLE_FIX) -> Contract:
    @contract("picklable", fix=fix)
    def picklable(subject: Subject) -> None:
        module = subject.make()
        try:
            copy = pickled(module)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise Broken(f"pickle.dumps({kind}) failed: {type(exc).__name__}: {exc}") from None
        if _outputs_differ(subject, module, copy, outputs):
            raise Broken(f"the unpickled {kind} computes something else than the original")

    return picklable


def module_contracts(kind: str, outputs: Outputs) -> list[Contract]:
    """determinism, state_dict and picklable for a module of ``kind``."""
    return [determinism_contract(kind, outputs), state_dict_contract(kind, outputs), picklable_contract(kind, outputs)]
