"""The word2vec model: input and output vectors, and the input vector ``h`` of an example."""

from __future__ import annotations

import torch
from torch import Tensor, nn

ARCHS = ("skipgram", "cbow")


class Word2VecModel(nn.Module):
    """Two ``(V, D)`` tables: ``input`` (the word vectors one exports) and ``output`` (the context/target vectors).

    Initialised as word2vec.c: inputs uniform in ``±0.5 / D``, outputs zero. The embeddings
    are ``sparse``, so the autograd path updates only the rows a batch touches.

    Args:
        vocab_size: ``V``; dim: ``D``; arch: ``skipgram`` or ``cbow``; cbow_mean: average (else sum) the context.
    """

    def __init__(self, *, vocab_size: int, dim: int, arch: str = "skipgram", cbow_mean: bool = True) -> None:
        super().__init__()
        self.arch, self.cbow_mean = arch, cbow_mean
        self.input = nn.Embedding(vocab_size, dim, sparse=True)
        self.output = nn.Embedding(vocab_size, dim, sparse=True)
        with torch.no_grad():
            self.input.weight.uniform_(-0.5 / dim, 0.5 / dim)
            self.output.weight.zero_()

    def hidden(self, inputs: Tensor) -> Tensor:
        """``inputs`` ``(N, C)`` word ids padded with -1 -> ``h`` ``(N, D)``.

        Skip-gram has ``C = 1`` (the centre word); CBOW sums or averages the context words. For the
        average, every context vector receives the full gradient of ``h`` (not ``1/C`` of it): word2vec.c's
        and gensim's rule, which the compiled kernel follows too.
        """
        mask = inputs >= 0  # (N, C)
        vectors = self.input(inputs.clamp(min=0)) * mask.unsqueeze(-1)  # (N, C, D)
        h = vectors.sum(1)  # (N, D)
        if self.arch == "cbow" and self.cbow_mean:
            mean = h / mask.sum(1, keepdim=True).clamp(min=1)  # (N, D)
            h = mean.detach() + (h - h.detach())  # value: the mean; gradient: that of the sum
        return h
