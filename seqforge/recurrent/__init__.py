"""Cell-agnostic recurrent machinery: run any :class:`~seqforge.interfaces.Cell`
over a padded batch, stack layers, run both directions."""

from seqforge.recurrent.loop import CompiledLoop, length_mask, reverse_padded, run_cell
from seqforge.recurrent.stack import RecurrentStack
from seqforge.recurrent.state import detach_state, map_state, select_state

__all__ = [
    "CompiledLoop",
    "RecurrentStack",
    "detach_state",
    "length_mask",
    "map_state",
    "reverse_padded",
    "run_cell",
    "select_state",
]
