"""seqforge-attention: Luong (dot, general, concat), Bahdanau, local (m, p) and hard attention as a seqforge plugin.

The modules live in :mod:`seqforge_attention.attention`; importing this package stays torch-free.
"""

__version__ = "0.1.0"
