"""seqforge-rnn: the RNN family (RNN/IRNN, LSTM, GRU) as a seqforge plugin.

The cells live in :mod:`seqforge_rnn.cells`; importing this package stays torch-free.
"""

__version__ = "0.1.0"
