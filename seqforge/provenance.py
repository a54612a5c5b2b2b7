"""Who provided a built component: attached where it is built, read where it fails.

The builder (:func:`seqforge.builders.instantiate`) knows which registered component a
config node names, so it annotates what it builds with a description such as
``cell 'lstm' of plugin 'rnn' (seqforge-rnn 0.1.0)``. The machinery (the recurrent
loop) only reads that annotation to name the plugin in an error: it never asks the
plugin manager or the registry, and a component built by hand is named by its class.
The annotation is a plain string attribute, so it survives pickling, ``deepcopy``
and DDP's spawned processes, and never enters a ``state_dict``.
"""

from __future__ import annotations

import contextlib
from typing import Any

#: The attribute :func:`annotate` sets on a built component.
ATTRIBUTE = "_seqforge_provenance"


def annotate(component: Any, description: str) -> Any:
    """Record ``description`` (who provided it) on ``component`` and return it.

    Objects that take no attributes (``__slots__``, builtins) stay unannotated and are
    then named by their class: provenance only improves a message, it never fails a build.
    """
    # AttributeError (slots, frozen), TypeError, a scripted module's RuntimeError: all only cost the name
    with contextlib.suppress(Exception):
        setattr(component, ATTRIBUTE, description)
    return component


def describe(component: Any) -> str:
    """``cell 'lstm' of plugin 'rnn' (seqforge-rnn 0.1.0)`` for an annotated component, else ``Class (module)``.

    A wrapper that was not itself built from the registry (``CompiledLoop(cell)``) is
    named through what it wraps: ``<the cell's description> (in CompiledLoop)``.
    """
    description = getattr(component, ATTRIBUTE, None)
    if isinstance(description, str):
        return description
    inner = getattr(component, "cell", None)
    if inner is not None and inner is not component and hasattr(inner, "initial_state"):
        return f"{describe(inner)} (in {type(component).__qualname__})"
    return f"{type(component).__qualname__} ({type(component).__module__})"
