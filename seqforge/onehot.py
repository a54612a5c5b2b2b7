"""One-hot token input: the fixed identity embedding (``model.embedding.kind=onehot``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class OneHotEmbedding(nn.Module):
    """``(B, T)`` ids -> ``(B, T, V)`` one-hot rows; the padding id maps to all zeros.

    No parameters (so ``model.init_range`` and optimisers leave it alone): it stands where an
    ``nn.Embedding`` would, with ``embedding_dim = V``. Output dtype follows the default dtype.
    """

    def __init__(self, num_embeddings: int, *, padding_idx: int | None = 0) -> None:
        super().__init__()
        self.num_embeddings = self.embedding_dim = num_embeddings
        self.padding_idx = padding_idx

    def forward(self, ids: Tensor) -> Tensor:
        rows = F.one_hot(ids, self.num_embeddings).to(torch.get_default_dtype())  # (B, T, V)
        if self.padding_idx is not None:
            rows = rows * (ids != self.padding_idx).unsqueeze(-1).to(rows.dtype)  # (B, T, V), zero at padding
        return rows

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, padding_idx={self.padding_idx}"
