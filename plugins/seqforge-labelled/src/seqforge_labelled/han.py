"""Hierarchical attention network (Yang et al. 2016) for document classification: ``task=doc_classify``.

A document is sentences of words. Both levels are an encoder (``model/encoder``, any cell) and an
attention pooling with a learned context vector::

    word level:     h_it = encoder(x_i)_t, u_it = tanh(W_w h_it + b_w), α_it = softmax_t(u_itᵀ u_w), s_i = Σ_t α_it h_it
    sentence level: h_i = encoder(s)_i,    u_i = tanh(W_s h_i + b_s),   α_i = softmax_i(u_iᵀ u_s),   v = Σ_i α_i h_i
    output:         p = softmax(W_c v + b_c)

(``u_w``/``u_s`` are the bias-free ``score`` layers of :class:`~seqforge_labelled.pooling.AttentionPooling`.)
Padded words and padded sentences get weight exactly 0, so batching never changes a document's result.
This is a task, not an encoder: an Encoder maps one flat sequence to one, and cannot see sentence
boundaries. Steps, metrics, ``predict`` and ``evaluate`` are those of ``task=classify``; the data is
``data=documents`` (``(B, S, W)`` batches).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from seqforge.api import PAD_ID, ConfigError, build_encoder, build_token_embedding, init_embedding
from seqforge_labelled.classification import ClassificationTask
from seqforge_labelled.pooling import AttentionPooling


class HierarchicalAttentionNetwork(nn.Module):
    """Word ids ``(B, S, W)`` + sentence counts ``(B,)`` -> logits ``(B, C)``.

    After each call ``word_weights`` ``(B, S, W)`` and ``sentence_weights`` ``(B, S)`` hold the two levels'
    attention (zero at padding), for inspection and :mod:`~seqforge_labelled.han_html`.

    Args:
        embedding: the word embedding (learned or one-hot), with ``embedding_dim``.
        word_encoder: an Encoder over ``embedding_dim`` inputs.
        sentence_encoder: an Encoder over ``word_encoder.output_size`` inputs.
        num_labels: ``C``.
        dropout: on the embeddings, the sentence vectors and the document vector.
        attention_size: the width of ``u_w``/``u_s`` (0: the encoder's output size).
    """

    def __init__(
        self,
        *,
        embedding: nn.Module,
        word_encoder: nn.Module,
        sentence_encoder: nn.Module,
        num_labels: int,
        dropout: float,
        attention_size: int = 0,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.word_encoder, self.sentence_encoder = word_encoder, sentence_encoder
        self.word_attention = AttentionPooling(word_encoder.output_size, attention_size)
        self.sentence_attention = AttentionPooling(sentence_encoder.output_size, attention_size)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(sentence_encoder.output_size, num_labels)
        self.word_weights: Tensor | None = None
        self.sentence_weights: Tensor | None = None

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        B, S, W = inputs.shape
        sentence_mask = torch.arange(S, device=inputs.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)
        words = inputs[sentence_mask]  # (N, W): the real sentences only
        word_lengths = (words != PAD_ID).sum(-1).clamp(min=1)  # (N,)
        encoded = self.word_encoder(self.dropout(self.embedding(words)), word_lengths)  # outputs (N, W, H)
        vectors = self.word_attention(encoded.outputs, encoded.mask)  # (N, H)
        sentences = vectors.new_zeros(B, S, vectors.shape[-1])  # (B, S, H)
        sentences[sentence_mask] = vectors
        word_weights = inputs.new_zeros(B, S, W, dtype=vectors.dtype)  # (B, S, W)
        word_weights[sentence_mask] = self.word_attention.last_weights
        encoded = self.sentence_encoder(self.dropout(sentences), lengths)  # outputs (B, S, H2)
        document = self.sentence_attention(encoded.outputs, encoded.mask)  # (B, H2)
        self.word_weights, self.sentence_weights = word_weights, self.sentence_attention.last_weights
        return self.head(self.dropout(document))  # (B, C)


class DocumentClassificationTask(ClassificationTask):
    """``task=doc_classify``: :class:`ClassificationTask` with a hierarchical attention network as the model.

    Only the model differs (built from ``model.*`` twice: the word-level and the sentence-level
    encoder share ``model/encoder``, ``model/cell``, sizes and layers); its steps, metrics,
    ``predict`` and report are the classifier's, since a document batch has the same fields.
    """

    def __init__(self, label_smoothing: float = 0.0, show_examples: int = 4, attention_size: int = 0) -> None:
        super().__init__(pooling="attention", label_smoothing=label_smoothing, show_examples=show_examples)
        self.attention_size = attention_size

    def build_model(self, cfg: Any, data: Any) -> HierarchicalAttentionNetwork:
        if not getattr(data, "documents", False) or data.cfg.flat:
            raise ConfigError(
                "task=doc_classify needs documents of sentences: use data=documents (with data.flat=false). "
                "For a flat encoder over the same documents use task=classify data=documents data.flat=true."
            )
        model_cfg = cfg.model
        embedding = build_token_embedding(
            len(data.codec), model_cfg.embedding_dim, model_cfg.embedding, padding_idx=PAD_ID
        )
        word_encoder = build_encoder(model_cfg, input_size=embedding.embedding_dim)
        sentence_encoder = build_encoder(model_cfg, input_size=word_encoder.output_size)
        model = HierarchicalAttentionNetwork(
            embedding=embedding,
            word_encoder=word_encoder,
            sentence_encoder=sentence_encoder,
            num_labels=len(data.labels),
            dropout=model_cfg.dropout,
            attention_size=self.attention_size,
        )
        # the vocabulary went through extend_vocabulary in LabelledData.prepare (model.embedding.extend_vocab)
        init_embedding(model.embedding, data.codec.tokens(range(len(data.codec))), model_cfg.embedding, extended=True)
        return model
