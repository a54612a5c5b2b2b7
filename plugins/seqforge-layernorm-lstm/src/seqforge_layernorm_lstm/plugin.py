"""Registers the layer-normalised LSTM (entry point ``seqforge: layernorm_lstm``).

This module is all a plugin needs besides the component: the plugin-API
version it targets, a config dataclass whose fields become
``model.cell.<field>``, and one hook. The factory is given as an import path
so that loading the plugin (``seqforge plugins list``) does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqforge.api import hookimpl

# : The seqforge plugin API this plugin is written against; seqforge skips the plugin, saying why, if it implements
# another.
SEQFORGE_PLUGIN_API = "1.0"


@dataclass
class LayerNormLSTMConfig:
    """``model/cell=layernorm_lstm``: fields are ``model.cell.forget_bias``, ``model.cell.eps``."""

    forget_bias: float = 1.0  # initial forget-gate bias: starts the cell remembering (Jozefowicz et al. 2015)
    eps: float = 1e-5  # added to the variance inside each layer normalisation


@hookimpl
def seqforge_register(registry) -> None:
    """Called once by seqforge when it loads plugins."""
    registry.cell(
        "layernorm_lstm", "seqforge_layernorm_lstm.cell.LayerNormLSTMCell", LayerNormLSTMConfig,
        description="layer-normalised LSTM (Ba et al. 2016): LN on input and recurrent gate sums and on the cell",
    )
