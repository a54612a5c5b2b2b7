"""The three word2vec objectives in autograd form: the reference the compiled kernels are tested against.

Shapes: ``N`` examples, ``K`` noise words each, ``D`` the vector size, ``V`` the vocabulary.
``h`` is the input vector of an example (skip-gram: the centre word's input vector;
CBOW: the mean or sum of the context words' input vectors), ``u_w`` an output vector.
All return the per-example loss ``(N,)`` in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def negative_sampling_loss(h: Tensor, u_true: Tensor, u_noise: Tensor) -> Tensor:
    """Mikolov et al. 2013: ``-log σ(u_o·h) - Σ_j log σ(-u_j·h)``.

    Args:
        h: ``(N, D)``; u_true: ``(N, D)`` output vectors of the true targets; u_noise: ``(N, K, D)``.
    """
    positive = (h * u_true).sum(-1)  # (N,)
    negative = torch.bmm(u_noise, h.unsqueeze(-1)).squeeze(-1)  # (N, K)
    return F.softplus(-positive) + F.softplus(negative).sum(-1)


def nce_loss(h: Tensor, u_true: Tensor, u_noise: Tensor, log_kq_true: Tensor, log_kq_noise: Tensor) -> Tensor:
    """Noise-contrastive estimation (Gutmann & Hyvärinen 2010; Mnih & Teh 2012) with a self-normalised model.

    ``P(true | w, h) = exp(s_w) / (exp(s_w) + k q(w)) = σ(s_w - log(k q(w)))`` with ``s_w = u_w·h``;
    the loss is ``-log P(true | w_o, h) - Σ_j log(1 - P(true | w_j, h))``.

    Args:
        h, u_true, u_noise: as :func:`negative_sampling_loss`.
        log_kq_true: ``(N,)`` ``log(k q(w_o))``; log_kq_noise: ``(N, K)`` ``log(k q(w_j))``.
    """
    positive = (h * u_true).sum(-1) - log_kq_true  # (N,)
    negative = torch.bmm(u_noise, h.unsqueeze(-1)).squeeze(-1) - log_kq_noise  # (N, K)
    return F.softplus(-positive) + F.softplus(negative).sum(-1)


def softmax_loss(h: Tensor, w_out: Tensor, target: Tensor) -> Tensor:
    """Full softmax: ``-log( exp(u_o·h) / Σ_v exp(u_v·h) )``; ``O(V)`` per example, for small vocabularies.

    Args:
        h: ``(N, D)``; w_out: ``(V, D)`` all output vectors; target: ``(N,)`` word ids.
    """
    return F.cross_entropy(h @ w_out.t(), target, reduction="none")  # logits (N, V)
