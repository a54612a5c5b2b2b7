"""seqforge: a plugin-based sequence-modelling framework.

Kept import-light on purpose (no torch, no lightning) so that ``seqforge --help``
and ``seqforge plugins list`` answer quickly; import submodules for the rest.
"""

from seqforge.hookspecs import hookimpl, hookspec

__version__ = "0.1.0"
#: The plugin API this seqforge implements, ``"MAJOR.MINOR"``. A plugin declares the one it was
#: written against as ``SEQFORGE_PLUGIN_API = "1.1"`` in its plugin module; it loads when the
#: majors are equal and its minor is not newer than this one (see :mod:`seqforge.plugin_manager`).
PLUGIN_API_VERSION = "1.2"

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl", "hookspec"]
