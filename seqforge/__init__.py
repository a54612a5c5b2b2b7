"""seqforge: a plugin-based sequence-modelling framework.

Kept import-light on purpose (no torch, no lightning) so that ``seqforge --help``
and ``seqforge plugins list`` answer quickly; import submodules for the rest.
"""

from seqforge.hookspecs import hookimpl, hookspec

__version__ = "0.1.0"
#: The plugin API version this seqforge implements; plugins may declare the one they target.
PLUGIN_API_VERSION = 1

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl", "hookspec"]
