"""seqforge's Hydra launcher plugin (``hydra/launcher=seqforge``, the default for ``seqforge train -m``).

Hydra finds it by importing every module of the ``hydra_plugins`` namespace
package; it ships inside the seqforge wheel.
"""
