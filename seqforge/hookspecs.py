"""The hooks a seqforge plugin can implement.

A plugin is any module or object, found through the ``seqforge`` entry-point
group, that implements one or more of these functions decorated with
``seqforge.hookimpl``. Every hook is documented parameter by parameter, here and
in the plugin guide (docs/plugins.md); a test fails if one is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from seqforge.registry import Registry

PROJECT_NAME = "seqforge"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def seqforge_register(registry: Registry) -> None:
    """Register this plugin's components.

    Called once per plugin when plugins are loaded. Call ``registry.register``
    (or its shortcuts ``registry.cell``, ``registry.encoder``, ...) any number of
    times. Registrations are atomic per plugin: if this hook raises, none of
    its components are kept and the plugin is reported by name.

    :param registry: the :class:`seqforge.registry.Registry` that records each
        component under its kind and name and makes it a Hydra config option
        (``model/cell=<name>``, ...).
    """
