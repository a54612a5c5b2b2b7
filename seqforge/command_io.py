"""Input and output of the commands that apply a trained model to lines (``predict``, ``generate``, plugins'
``translate``).

Shared by the core's CLI and plugin commands, so ``input=``/``output=`` behave (and fail) the same in every command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqforge.errors import SeqforgeError


def read_input_lines(source: str) -> list[str]:
    """The lines of ``input=``: a UTF-8 file, or ``-`` for stdin; a bad file raises ``DataError`` naming it."""
    if source == "-":
        return sys.stdin.read().splitlines()
    from seqforge.data.text_io import read_text

    return read_text(source, what="input file", key="input").splitlines()


def write_output_lines(target: str, rows: Sequence[str]) -> None:
    """``rows`` as lines to ``output=`` (a file, or ``-`` for stdout); an unwritable file raises ``SeqforgeError``."""
    text = "\n".join(rows) + ("\n" if rows else "")
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SeqforgeError(
            f"Cannot write the output file '{target}' (argument `output`): {exc.strerror or exc}."
        ) from None


def command_for(task: Any) -> str:
    """The sentence naming the command that does apply ``task``, by the capabilities it has."""
    from seqforge.interfaces import ExportsVectors, Generates, Predicts, Translates

    for capability, command in (
        (Translates, "translate"),
        (Predicts, "predict"),
        (Generates, "generate"),
        (ExportsVectors, "neighbors"),
    ):
        if isinstance(task, capability):
            return f"For this checkpoint use `seqforge {command}` (or `seqforge evaluate` for its metrics)."
    return "`seqforge evaluate` scores any checkpoint."
