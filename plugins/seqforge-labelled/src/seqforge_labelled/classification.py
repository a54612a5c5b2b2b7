"""Sequence classification (many to one): any encoder, masked pooling, accuracy and macro-F1 (torchmetrics)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.api import (
    PAD_ID,
    ConfigError,
    DataError,
    build_encoder,
    build_token_embedding,
    init_embedding,
    instantiate,
)
from seqforge_labelled.labelled_data import IGNORE, LabelledBatch, LabelledData
from seqforge_labelled.pooling import POOLINGS, Pooling


class SequenceClassifier(nn.Module):
    """(Embedding | float features) -> encoder -> masked pooling -> dropout -> linear over the labels.

    Args:
        encoder: any :class:`~seqforge.api.Encoder`.
        num_labels: ``C``.
        pooling: ``last|mean|max|attention|structured`` (``pooling_hops``, ``pooling_hidden``: its r and d_a).
        dropout: on the inputs and on the pooled vector.
        vocab_size, embedding_dim: for token inputs; ``vocab_size=None`` means float feature inputs.
    """

    def __init__(
        self,
        *,
        encoder: nn.Module,
        num_labels: int,
        pooling: str,
        dropout: float,
        vocab_size: int | None,
        embedding_dim: int,
        embedding: nn.Module | None = None,
        pooling_hops: int = 4,
        pooling_hidden: int = 64,
    ) -> None:
        super().__init__()
        if embedding is None and vocab_size is not None:
            embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.embedding = embedding  # learned, one-hot (build_token_embedding), or None for float features
        self.encoder = encoder
        self.pool = Pooling(
            pooling,
            encoder.output_size,
            bidirectional=_concat_bidirectional(encoder),
            hops=pooling_hops,
            hidden=pooling_hidden,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.pool.output_size, num_labels)

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        """``inputs`` ``(B, T)`` ids or ``(B, T, F)`` features, ``lengths`` ``(B,)`` -> logits ``(B, C)``."""
        x = self.embedding(inputs) if self.embedding is not None else inputs  # (B, T, I)
        encoded = self.encoder(self.dropout(x), lengths)  # outputs (B, T, H)
        return self.head(self.dropout(self.pool(encoded.outputs, encoded.mask)))  # (B, C)


def _concat_bidirectional(encoder: nn.Module) -> bool:
    """True when the outputs are ``[forward; backward]`` halves (what ``last`` pooling must know)."""
    stack = getattr(encoder, "stack", None)
    return bool(getattr(encoder, "bidirectional", False)) and getattr(stack, "merge", "concat") == "concat"


class ClassificationTask:
    """One label per sequence; loss, accuracy and macro-F1 over the examples whose label was seen in training."""

    metric_sums = ("nll", "examples", "unseen")

    def __init__(
        self,
        pooling: str = "mean",
        label_smoothing: float = 0.0,
        show_examples: int = 8,
        pooling_hops: int = 4,
        pooling_hidden: int = 64,
        pooling_penalty: float = 0.1,
    ) -> None:
        if pooling not in POOLINGS:
            raise ConfigError(f"task.pooling must be one of {', '.join(POOLINGS)}, got '{pooling}'.")
        self.pooling = pooling
        self.pooling_hops, self.pooling_hidden, self.pooling_penalty = pooling_hops, pooling_hidden, pooling_penalty
        self.label_smoothing = label_smoothing
        self.show_examples = show_examples

    # -- building -------------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> LabelledData:
        data = instantiate(cfg.data, "data", state=state)
        data.embedding_cfg = getattr(getattr(cfg, "model", None), "embedding", None)  # model.embedding.extend_vocab
        return data

    def build_model(self, cfg: Any, data: LabelledData) -> SequenceClassifier:
        model_cfg = cfg.model
        vocab_size = len(data.codec) if data.codec is not None else None
        embedding = (
            build_token_embedding(vocab_size, model_cfg.embedding_dim, model_cfg.embedding, padding_idx=PAD_ID)
            if vocab_size
            else None
        )
        input_size = embedding.embedding_dim if embedding is not None else data.feature_size
        model = SequenceClassifier(
            encoder=build_encoder(model_cfg, input_size=input_size, many_to_one=True),
            num_labels=len(data.labels),
            pooling=self.pooling,
            dropout=model_cfg.dropout,
            vocab_size=vocab_size,
            embedding_dim=model_cfg.embedding_dim,
            embedding=embedding,
            pooling_hops=self.pooling_hops,
            pooling_hidden=self.pooling_hidden,
        )
        if model.embedding is not None:  # text input: model.embedding.pretrained (word2vec) may initialise it
            init_embedding(model.embedding, data.codec.tokens(range(len(data.codec))), model_cfg.embedding,
                           extended=True)
        elif model_cfg.embedding.pretrained:
            raise ConfigError(
                f"model.embedding.pretrained='{model_cfg.embedding.pretrained}' needs token input, but this data gives "
                f"{data.feature_size} float features per step (no embedding layer). Unset model.embedding.pretrained."
            )
        return model

    # -- steps ------------------------------------------------------------------------------
    def training_step(
        self, model: SequenceClassifier, batch: LabelledBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        logits = model(batch.inputs, batch.lengths)  # (B, C)
        loss = F.cross_entropy(logits, batch.labels, ignore_index=IGNORE, label_smoothing=self.label_smoothing)
        accuracy = (logits.argmax(-1) == batch.labels).float().mean()
        logged = {"loss": loss.detach(), "acc": accuracy.detach()}
        # (B,) Lin et al.'s ||AA^T - I||_F^2 (task.pooling=structured)
        penalty = getattr(getattr(model, "pool", None), "penalty", None)
        if penalty is not None and self.pooling_penalty:
            logged["penalty"] = penalty.mean().detach()
            loss = loss + self.pooling_penalty * penalty.mean()
        return loss, logged, None

    @torch.no_grad()
    def evaluation_step(
        self, model: SequenceClassifier, batch: LabelledBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Any], Any]:
        logits = model(batch.inputs, batch.lengths)  # (B, C)
        seen = batch.labels != IGNORE  # (B,)
        nll = F.cross_entropy(logits, batch.labels, ignore_index=IGNORE, reduction="sum")
        predictions = logits.argmax(-1)  # (B,)
        pairs = [(int(p), int(g)) for p, g, s in zip(predictions.tolist(), batch.labels.tolist(), seen.tolist()) if s]
        sums = {
            "nll": nll,
            "examples": seen.sum().float(),
            "unseen": (~seen).sum().float(),
            "texts": pairs,  # (predicted, gold) label ids, gathered across ranks for accuracy and macro-F1
        }
        return sums, None

    def compute_metrics(
        self, sums: dict[str, float], data: LabelledData, texts: Sequence[tuple[int, int]] = ()
    ) -> dict[str, float]:
        """Loss, accuracy and macro-F1 (torchmetrics) over examples with known labels; ``unseen`` counts the others."""
        from torchmetrics.functional.classification import multiclass_accuracy, multiclass_f1_score

        metrics = {"loss": sums["nll"] / max(sums["examples"], 1.0), "unseen": sums["unseen"]}
        if texts:
            predicted = torch.tensor([p for p, _ in texts])
            gold = torch.tensor([g for _, g in texts])
            classes = len(data.labels)
            metrics["acc"] = float(multiclass_accuracy(predicted, gold, num_classes=classes, average="micro"))
            metrics["macro_f1"] = float(multiclass_f1_score(predicted, gold, num_classes=classes, average="macro"))
        if not math.isfinite(metrics["loss"]):
            metrics["loss"] = float("nan")
        return metrics

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def classify(
        self, model: SequenceClassifier, data: LabelledData, inputs: Sequence[Any], batch_size: int = 256
    ) -> list[tuple[str, float]]:
        """``(label, probability)`` for each input (a text string or a ``(T, F)`` array)."""
        model.eval()
        device = next(model.parameters()).device
        encoded = data.encode_inputs(inputs)
        results: list[tuple[str, float]] = []
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start : start + batch_size]
            # the data's own batching (documents: (B, S, W))
            batch = data.collate([(i, x, 0) for i, x in enumerate(chunk)]).to(device)
            probs = model(batch.inputs, batch.lengths).softmax(-1)  # (B, C)
            best = probs.max(-1)
            results += [(data.labels[i], float(p)) for i, p in zip(best.indices.tolist(), best.values.tolist())]
        return results

    def predict(
        self, model: SequenceClassifier, data: LabelledData, lines: Sequence[str], batch_size: int = 256
    ) -> tuple[list[str], list[str]]:
        """``seqforge predict``: one text per line (the training format without the label) -> ``label<TAB>probability``
        rows.

        Returns the rows and notes for the user: tokens outside the vocabulary
        (mapped to ``<unk>``) and texts cut at ``data.max_len`` are counted.
        """
        if data.codec is None:
            raise DataError(
                f"This classifier was trained on float feature sequences ({data.feature_size} features per step, "
                "tensor files); `seqforge predict` reads text lines. Classify feature sequences from Python with "
                "ClassificationTask.classify(model, data, [array of shape (T, F), ...])."
            )
        texts = [line.strip() for line in lines]
        unknown = sum(data.codec.encode(text).count(data.codec.vocab.unk_id) for text in texts)
        truncated_before = data.truncated
        results = self.classify(model, data, texts, batch_size=batch_size)
        truncated = data.truncated - truncated_before
        notes = [f"{unknown} unknown {'character' if data.codec.kind == 'char' else 'token'}(s) mapped to <unk>"]
        if truncated:
            notes.append(f"{truncated} text(s) longer than data.max_len={data.cfg.max_len} token(s) were cut to it")
        return [f"{label}\t{probability:.4f}" for label, probability in results], notes

    def report(self, module: Any) -> None:
        """Per-label F1 on the test split and a few test examples."""
        from torchmetrics.functional.classification import multiclass_f1_score

        data, examples = module.data, module.data.examples["test"]
        label_set = set(data.labels)
        known = [(label, x) for label, x in examples if label in label_set]
        if not known or self.show_examples <= 0:
            return
        outputs = self.classify(module.model, data, [x for _, x in known])
        gold = torch.tensor([data.labels.index(label) for label, _ in known])
        predicted = torch.tensor([data.labels.index(label) for label, _ in outputs])
        per_label = multiclass_f1_score(predicted, gold, num_classes=len(data.labels), average="none").tolist()
        print("\nTest F1 per label: " + ", ".join(f"{label} {f1:.3f}" for label, f1 in zip(data.labels, per_label)))
        print("Examples (test split):")
        wrong = [i for i, ((label, _), (out, _)) in enumerate(zip(known, outputs)) if label != out]
        wrong_set = set(wrong)
        right = [i for i in range(len(known)) if i not in wrong_set]
        for i in (wrong[: self.show_examples // 2] + right)[: self.show_examples]:
            (label, x), (out, prob) = known[i], outputs[i]
            shown = repr(x[:60]) if isinstance(x, str) else f"test example {i} ({x.shape[0]} steps)"
            mark = "✓" if out == label else "✗"
            print(f"  {mark} {shown} -> {out} (p={prob:.2f})" + ("" if out == label else f", expected {label}"))
