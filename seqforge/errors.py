"""User-facing errors.

A :class:`SeqforgeError` carries a complete, one-paragraph explanation (what was
wrong, where — file, line or config key — and what was expected). The CLI prints
its message without a traceback and exits non-zero (``exit_code``, 1 unless the
class says otherwise); everything else is a bug and keeps its traceback. Library
code never raises ``SystemExit``: only :mod:`seqforge.cli` turns errors into exit codes.
"""

from __future__ import annotations


class SeqforgeError(Exception):
    """An error caused by the user's input or environment, with a message that says how to fix it."""


class ConfigError(SeqforgeError):
    """A config key has a value seqforge cannot use."""


class DataError(SeqforgeError):
    """A data file is missing, empty, undecodable or malformed."""


class UsageError(SeqforgeError):
    """A command was called wrongly (unknown or malformed argument); the CLI exits with status 2, as argparse does."""

    exit_code = 2


class PluginError(SeqforgeError):
    """A plugin could not be loaded or registered something invalid."""


class DuplicateComponentError(PluginError):
    """Two plugins registered the same (kind, name)."""


class UnknownComponentError(ConfigError):
    """A config asked for a component no installed plugin provides."""


class AmbiguousComponentError(UnknownComponentError):
    """A config asked for a name that two installed distributions provide; only the qualified names (``dist:name``)
    select one."""


class ContractViolation(PluginError):
    """A plugin's component broke its interface contract at run time (the message names plugin and component)."""
