"""seqforge-layernorm-lstm: a layer-normalised LSTM cell, written only against seqforge's public API.

The cell lives in :mod:`seqforge_layernorm_lstm.cell`, the registration in
:mod:`seqforge_layernorm_lstm.plugin`; importing this package stays torch-free.
"""

__version__ = "0.1.0"
