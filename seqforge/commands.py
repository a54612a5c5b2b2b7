"""The names of seqforge's built-in subcommands.

A module of its own, below both the registry (which refuses plugin commands that
would shadow a built-in) and the CLI (which implements them), so the registry
never imports the CLI.
"""

from __future__ import annotations

# : ``seqforge <name>`` commands the core implements (see :data:`seqforge.cli.COMMANDS`); plugins cannot take these
# names.
BUILTIN_COMMANDS: frozenset[str] = frozenset({"train", "evaluate", "generate", "predict", "plugins"})
