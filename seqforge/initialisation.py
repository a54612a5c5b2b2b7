"""Whole-model parameter initialisation from ``model.init_range`` / ``model.init_std``.

Recipes fix the initialisation as much as the sizes: Zaremba et al. draw every
parameter from ``uniform(-r, r)`` (``model.init_range``); the bentrevett
seq2seq tutorials draw every weight from ``N(0, std)`` and set every bias to 0
(``model.init_std``). Rows loaded from ``model.embedding.pretrained`` are kept
either way; the words without a vector get the same init as the rest.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqforge.embeddings import PRETRAINED_ROWS
from seqforge.errors import ConfigError


def _is_bias(name: str) -> bool:
    """``bias``, ``bias_ih``, ``layers.0.bias_hh_l0``, ...: the last dotted component names a bias."""
    return name.rsplit(".", 1)[-1].startswith("bias")


def initialise(model: nn.Module, model_cfg: Any) -> None:
    """Re-initialise ``model`` in place as ``model.init_range`` or ``model.init_std`` says (neither: leave it)."""
    init_range, init_std = model_cfg.init_range, model_cfg.get("init_std")
    if init_range is not None and init_std is not None:
        raise ConfigError(
            f"model.init_range={init_range} and model.init_std={init_std} are both set; they are two alternative "
            "initialisations (uniform in +-init_range for every parameter, or N(0, init_std) weights with zero "
            "biases). Set one of them to null."
        )
    if init_range is not None and init_range < 0:
        raise ConfigError(f"model.init_range must be >= 0 (0 or null: each module's own init), got {init_range}.")
    if init_std is not None and not init_std > 0:
        raise ConfigError(f"model.init_std must be positive (or null: each module's own init), got {init_std}.")
    if not init_range and not init_std:
        return
    for name, parameter in model.named_parameters():
        kept = getattr(parameter, PRETRAINED_ROWS, [])
        saved = parameter.detach()[kept].clone()
        if init_range:
            nn.init.uniform_(parameter, -init_range, init_range)
        elif _is_bias(name):
            nn.init.zeros_(parameter)
        else:
            nn.init.normal_(parameter, mean=0.0, std=init_std)
        with torch.no_grad():
            parameter[kept] = saved
