"""Config dataclasses of the core encoders (import-light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecurrentEncoderConfig:
    """``model/encoder=recurrent``; sizes come from ``model.*``."""

    merge: str = "concat"  # how a bidirectional layer combines directions: concat|sum|mean
