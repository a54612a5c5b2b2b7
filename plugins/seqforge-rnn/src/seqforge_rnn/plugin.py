"""Registers the RNN family with seqforge (entry point ``seqforge: rnn``).

Factories are import paths so loading the plugin does not import torch (fast CLI start-up);
a plugin may equally pass the classes themselves."""

from __future__ import annotations

from dataclasses import dataclass

from seqforge.api import Registry, hookimpl

#: The seqforge plugin API this plugin is written against (checked before it is loaded).
SEQFORGE_PLUGIN_API = "1.0"


@dataclass
class RNNConfig:
    """``model/cell=rnn``; ``init=identity`` with ``nonlinearity=relu`` is the IRNN."""

    nonlinearity: str = "tanh"
    init: str = "default"
    identity_scale: float = 1.0
    fused: bool = True


@dataclass
class LSTMConfig:
    """``model/cell=lstm``; ``forget_bias`` is the initial forget-gate bias."""

    forget_bias: float = 1.0
    fused: bool = True


@dataclass
class GRUConfig:
    """``model/cell=gru``."""

    fused: bool = True


@hookimpl
def seqforge_register(registry: Registry) -> None:
    registry.cell("rnn", "seqforge_rnn.cells.RNNCell", RNNConfig, description="Elman RNN, tanh or ReLU; init=identity "
                                                                              "gives the IRNN")
    registry.cell("lstm", "seqforge_rnn.cells.LSTMCell", LSTMConfig, description="LSTM with forget-gate bias init")
    registry.cell("gru", "seqforge_rnn.cells.GRUCell", GRUConfig, description="GRU (cuDNN/PyTorch form)")
