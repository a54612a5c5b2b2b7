"""Sequence tagging (synchronised many to many): one tag per token; entity P/R/F1 (seqeval) and token accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.api import (
    PAD_ID,
    UNK_ID,
    ConfigError,
    build_encoder,
    build_token_embedding,
    cell_factory,
    init_embedding,
    instantiate,
)
from seqforge_labelled.conll import TagBatch, TaggingData
from seqforge_labelled.crf import CONSTRAINTS, LinearChainCRF, build_crf
from seqforge_labelled.labelled_data import IGNORE
from seqforge_labelled.pooling import last_pool

OUTPUTS = ("softmax", "crf")


class CharWordEncoder(nn.Module):
    """Each word's characters -> a bidirectional encoder -> ``[forward last; backward first]`` (Lample et al. 2016).

    Args:
        encoder: a bidirectional encoder over character embeddings (concatenated directions).
        vocab_size, embedding_dim: the character embedding.
    """

    def __init__(self, *, encoder: nn.Module, vocab_size: int, embedding_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        self.encoder = encoder
        self.output_size = encoder.output_size

    def forward(self, chars: Tensor, word_mask: Tensor) -> Tensor:
        """``chars`` ``(B, T, C)``, ``word_mask`` ``(B, T)`` -> ``(B, T, output_size)`` (zeros at padded words)."""
        words = chars[word_mask]  # (N, C) the real words only
        lengths = (words != PAD_ID).sum(-1).clamp(min=1)  # (N,)
        encoded = self.encoder(self.embedding(words), lengths)  # outputs (N, C, H2)
        per_word = last_pool(encoded.outputs, encoded.mask, bidirectional=True)  # (N, H2)
        out = per_word.new_zeros(*word_mask.shape, per_word.shape[-1])  # (B, T, H2)
        out[word_mask] = per_word
        return out


class SequenceTagger(nn.Module):
    """Word embedding (+ character features) -> dropout -> encoder -> dropout -> linear over the tags (-> CRF).

    ``forward`` gives per-token tag scores; with a ``crf`` they are its emissions and
    :meth:`decode` is Viterbi, otherwise they are softmax logits and decoding is per-token argmax.
    """

    def __init__(
        self,
        *,
        encoder: nn.Module,
        vocab_size: int,
        embedding_dim: int,
        num_tags: int,
        dropout: float,
        chars: CharWordEncoder | None = None,
        crf: LinearChainCRF | None = None,
        embedding: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.embedding = (
            embedding if embedding is not None else nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        )
        self.chars = chars
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, num_tags)
        self.crf = crf

    def forward(self, words: Tensor, lengths: Tensor, chars: Tensor | None = None) -> Tensor:
        """``words`` ``(B, T)``, ``lengths`` ``(B,)``, ``chars`` ``(B, T, C)`` -> tag logits ``(B, T, K)``."""
        x = self.embedding(words)  # (B, T, E)
        if self.chars is not None:
            mask = torch.arange(words.shape[1], device=words.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
            x = torch.cat([x, self.chars(chars, mask)], dim=-1)  # (B, T, E + H2)
        encoded = self.encoder(self.dropout(x), lengths)  # (B, T, H)
        return self.head(self.dropout(encoded.outputs))  # (B, T, K)

    def nll(self, scores: Tensor, tags: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Summed negative log-likelihood of the gold tags and the number of tokens it covers.

        Softmax: per-token cross-entropy over tokens whose tag is known. CRF: ``-log p(y | x)`` of whole
        sentences; a sentence holding a tag unseen in training (``IGNORE``) has no gold path and is left out.
        Both are nats of a sentence's probability, so ``sum / tokens`` compares between the two.
        """
        if self.crf is None:
            known = tags != IGNORE  # (B, T)
            return F.cross_entropy(
                scores.flatten(0, 1), tags.flatten(), ignore_index=IGNORE, reduction="sum"
            ), known.sum()
        mask = _mask(lengths, scores.shape[1])  # (B, T)
        whole = ~((tags == IGNORE) & mask).any(1)  # (B,) sentences with a gold path
        nll = self.crf(scores[whole], tags[whole], mask[whole]).sum() if whole.any() else scores.sum() * 0
        return nll, mask[whole].sum()

    def decode(self, scores: Tensor, lengths: Tensor) -> Tensor:
        """Tag ids ``(B, T)`` (meaningful up to each length): Viterbi with a CRF, else per-token argmax."""
        if self.crf is None:
            return scores.argmax(-1)  # (B, T)
        return self.crf.viterbi_decode(scores, _mask(lengths, scores.shape[1]))[0]  # (B, T)


def _mask(lengths: Tensor, steps: int) -> Tensor:
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


class TaggingTask:
    """One tag per token. IOB tags are scored by entity (seqeval, CoNLL rules), every tagging by token accuracy."""

    metric_sums = ("nll", "tokens")

    def __init__(
        self,
        char_features: bool = False,
        char_embedding_dim: int = 16,
        char_hidden_size: int = 25,
        show_examples: int = 3,
        output: str = "softmax",
        crf_constraints: str = "auto",
        singleton_unk: float = 0.0,
    ) -> None:
        if output not in OUTPUTS:
            raise ConfigError(f"task.output must be one of {', '.join(OUTPUTS)} (per-token softmax or a linear-chain "
                              f"CRF), got '{output}'.")
        if crf_constraints not in CONSTRAINTS:
            raise ConfigError(f"task.crf_constraints must be one of {', '.join(CONSTRAINTS)}, got '{crf_constraints}'.")
        if not 0.0 <= singleton_unk <= 1.0:
            raise ConfigError("task.singleton_unk is a probability (0 to 1; Lample et al. use 0.5), got "
                              f"{singleton_unk}.")
        self.output = output
        self.singleton_unk = singleton_unk
        self._singletons: Tensor | None = None  # (S,) word ids seen once in training, read when training starts
        self.crf_constraints = crf_constraints
        self.char_features = char_features
        self.char_embedding_dim = char_embedding_dim
        self.char_hidden_size = char_hidden_size
        self.show_examples = show_examples
        self._split = "valid"

    # -- building -------------------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> TaggingData:
        data = instantiate(cfg.data, "data", state=state)  # the saved vocabularies bypass OmegaConf (see instantiate)
        data.use_chars = self.char_features
        data.embedding_cfg = getattr(getattr(cfg, "model", None), "embedding", None)  # model.embedding.extend_vocab
        self._train_data = data
        return data

    def build_model(self, cfg: Any, data: TaggingData) -> SequenceTagger:
        model_cfg = cfg.model
        chars = None
        if self.char_features:
            char_encoder = instantiate(
                model_cfg.encoder, "model.encoder", cell=cell_factory(model_cfg), input_size=self.char_embedding_dim,
                hidden_size=self.char_hidden_size, num_layers=1, bidirectional=True, dropout=0.0,
            )
            chars = CharWordEncoder(
                encoder=char_encoder, vocab_size=len(data.chars), embedding_dim=self.char_embedding_dim
            )
        embedding = build_token_embedding(
            len(data.words), model_cfg.embedding_dim, model_cfg.embedding, padding_idx=PAD_ID
        )  # kind=learned|onehot
        input_size = embedding.embedding_dim + (chars.output_size if chars is not None else 0)
        model = SequenceTagger(
            encoder=build_encoder(model_cfg, input_size=input_size),
            vocab_size=len(data.words),
            embedding_dim=model_cfg.embedding_dim,
            num_tags=len(data.tags),
            dropout=model_cfg.dropout,
            chars=chars,
            embedding=embedding,
            crf=build_crf(data.tags, self.crf_constraints, iob=data.scheme == "iob") if self.output == "crf" else None,
        )
        # model.embedding.pretrained (word2vec); the vocabulary went through extend_vocabulary in data.prepare
        init_embedding(model.embedding, data.words.itos, model_cfg.embedding, extended=True)
        return model

    # -- steps ------------------------------------------------------------------------------------
    def training_step(
        self, model: SequenceTagger, batch: TagBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        scores = model(self._replace_singletons(batch.words), batch.lengths, batch.chars)  # (B, T, K)
        nll, tokens = model.nll(scores, batch.tags, batch.lengths)
        loss = nll / tokens.clamp(min=1)  # nats per token, for softmax and CRF alike
        return loss, {"loss": loss.detach()}, None

    def _replace_singletons(self, words: Tensor) -> Tensor:
        """``words`` ``(B, T)`` with each training singleton replaced by ``<unk>`` with probability
        ``task.singleton_unk``.

        Drawn from the global RNG, like dropout, so a resumed run draws the same replacements.
        """
        if self.singleton_unk <= 0:
            return words
        if self._singletons is None:
            self._singletons = self._train_data.singleton_ids()  # the data are read by now (Lightning's setup)
        singletons = self._singletons.to(words.device)
        # (B, T)
        chosen = torch.isin(words, singletons) & (torch.rand(words.shape, device=words.device) < self.singleton_unk)
        return words.masked_fill(chosen, UNK_ID)

    def begin_evaluation(self, data: TaggingData, split: str) -> None:
        self._data, self._split = data, split

    @torch.no_grad()
    def evaluation_step(
        self, model: SequenceTagger, batch: TagBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Any], Any]:
        scores = model(batch.words, batch.lengths, batch.chars)  # (B, T, K)
        nll, tokens = model.nll(scores, batch.tags, batch.lengths)
        predicted = model.decode(scores, batch.lengths).tolist()  # (B, T)
        gold_sentences = self._data.sentences[self._split]
        pairs = []
        for row, (index, length) in enumerate(zip(batch.index.tolist(), batch.lengths.tolist())):
            tags = [self._data.tags[k] for k in predicted[row][:length]]
            pairs.append((tags, list(gold_sentences[index][1])))  # gold as read, unseen tags included
        sums = {"nll": nll, "tokens": tokens.float(), "texts": pairs}
        return sums, None

    def compute_metrics(
        self, sums: dict[str, float], data: TaggingData, texts: Sequence[tuple[list[str], list[str]]] = ()
    ) -> dict[str, float]:
        """Loss; token accuracy; for IOB tags, entity-level micro precision/recall/F1 (seqeval, conlleval rules)."""
        metrics = {"loss": sums["nll"] / max(sums["tokens"], 1.0)}
        if texts:
            predicted, gold = [p for p, _ in texts], [g for _, g in texts]
            metrics.update(tagging_scores(predicted, gold, entities=data.scheme == "iob"))
        return metrics

    # -- inference --------------------------------------------------------------------------------
    @torch.no_grad()
    def tag(
        self, model: SequenceTagger, data: TaggingData, sentences: Sequence[Sequence[str]], batch_size: int = 128
    ) -> list[list[str]]:
        """Tags for tokenised sentences (Viterbi for a CRF tagger; ``seqforge predict`` and the printed examples use
        this)."""
        model.eval()
        device = next(model.parameters()).device
        encoded = data.encode_sentences(sentences)
        out: list[list[str]] = []
        for start in range(0, len(encoded), batch_size):
            batch = data.collate(encoded[start : start + batch_size]).to(device)
            scores = model(batch.words, batch.lengths, batch.chars)  # (B, T, K)
            predicted = model.decode(scores, batch.lengths).tolist()  # (B, T)
            out += [[data.tags[k] for k in row[:length]] for row, length in zip(predicted, batch.lengths.tolist())]
        return out

    def predict(
        self, model: SequenceTagger, data: TaggingData, lines: Sequence[str], batch_size: int = 128
    ) -> tuple[list[str], list[str]]:
        """``seqforge predict``: one sentence per line (whitespace tokens) -> CoNLL ``token<TAB>tag`` rows, a blank row
        between sentences.

        Returns the rows and a note counting the tokens outside the word
        vocabulary (mapped to ``<unk>``; character features still see their spelling).
        """
        sentences = [line.split() for line in lines]
        rows: list[str] = []
        for tokens, tags in zip(sentences, self.tag(model, data, sentences, batch_size=batch_size)):
            if rows:
                rows.append("")
            rows += [f"{token}\t{tag}" for token, tag in zip(tokens, tags)]
        unknown = data.count_unknown(sentences)
        total = sum(len(tokens) for tokens in sentences)
        spelled = " (the character features still read their spelling)" if self.char_features and unknown else ""
        return rows, [f"{unknown} of {total} token(s) unknown to the word vocabulary, mapped to <unk>{spelled}"]

    def report(self, module: Any) -> None:
        """Per-type entity scores on the test split and a few tagged test sentences."""
        data = module.data
        sentences = data.sentences["test"]
        if not sentences or self.show_examples <= 0:
            return
        predicted = self.tag(module.model, data, [tokens for tokens, _ in sentences])
        if data.scheme == "iob":
            from seqeval.metrics import classification_report

            print("\nEntities on the test split (seqeval):")
            print(classification_report([g for _, g in sentences], predicted, digits=3, zero_division=0))
        print("Examples (test split), token/TAG for tagged tokens:")
        for (tokens, gold), tags in list(zip(sentences, predicted))[: self.show_examples]:
            shown = " ".join(t if tag == "O" else f"{t}/{tag}" for t, tag in zip(tokens, tags))
            mark = "✓" if tags == gold else "✗"
            print(f"  {mark} {shown}")


def tagging_scores(
    predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], *, entities: bool
) -> dict[str, float]:
    """Token accuracy, plus entity precision/recall/F1 from seqeval (default conlleval mode) when ``entities``."""
    correct = sum(p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs))
    total = sum(len(gs) for gs in gold)
    scores = {"token_acc": correct / max(total, 1)}
    if entities:
        from seqeval.metrics import f1_score, precision_score, recall_score

        predicted, gold = [list(p) for p in predicted], [list(g) for g in gold]
        scores["precision"] = float(precision_score(gold, predicted, zero_division=0))
        scores["recall"] = float(recall_score(gold, predicted, zero_division=0))
        scores["f1"] = float(f1_score(gold, predicted, zero_division=0))
    return scores
