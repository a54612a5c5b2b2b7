"""Translation (sequence to sequence): teacher-forced training, searched decoding, BLEU/chrF/exact match."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.api import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    ConfigError,
    DecodeConfig,
    Hypothesis,
    Seq2Seq,
    beam_search,
    build_encoder,
    cell_factory,
    greedy_search,
    init_embedding,
    instantiate,
    sample_search,
)
from seqforge_seq2seq.parallel import ParallelData, Seq2SeqBatch, collate

STRATEGIES = ("greedy", "beam", "sample")


@torch.no_grad()
def _target_lengths(batch: Seq2SeqBatch) -> Tensor:
    """``(B,)`` real tokens per target: the decoder skips the padding past them."""
    return (batch.tgt_out != PAD_ID).sum(dim=1)


def decode(model: Seq2Seq, src: Tensor, src_lengths: Tensor, options: Any) -> list[list[Hypothesis]]:
    """Search with ``options`` (a :class:`~seqforge.api.DecodeConfig`) for each source sentence."""
    if options.strategy not in STRATEGIES:
        raise ConfigError(f"task.decode.strategy must be one of {', '.join(STRATEGIES)}, got '{options.strategy}'.")
    state = model.encode(src, src_lengths)
    max_len = torch.full_like(src_lengths, options.max_len).cpu()  # (B,)
    if options.max_len_ratio > 0:
        max_len = torch.minimum(max_len, (src_lengths.cpu().float() * options.max_len_ratio).ceil().long().clamp(min=1))
    common = {
        "batch_size": src.shape[0],
        "bos_id": BOS_ID,
        "eos_id": EOS_ID,
        "max_len": max_len,
        "min_len": options.min_len,
    }
    if options.strategy == "greedy":
        return greedy_search(model.log_prob_step, state, **common)
    if options.strategy == "beam":
        return beam_search(
            model.log_prob_step, state, beam_size=options.beam_size, length_penalty=options.length_penalty,
            alpha=options.alpha, n_best=options.n_best, block_ngram_repeat=options.block_ngram_repeat, **common,
        )
    return sample_search(
        model.log_prob_step, state, temperature=options.temperature, top_k=options.top_k, top_p=options.top_p, **common
    )


class TranslationTask:
    """Sequence to sequence: any encoder cell, any decoder cell, any attention."""

    metric_sums = ("nll", "tokens", "correct", "exact", "sentences")

    def __init__(
        self,
        teacher_forcing: float = 1.0,
        label_smoothing: float = 0.0,
        decode: Any = None,
        heatmaps: int = 3,
        show_examples: int = 5,
        eval_teacher_forcing: float = 1.0,
    ) -> None:
        for key, value in (("teacher_forcing", teacher_forcing), ("eval_teacher_forcing", eval_teacher_forcing)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"task.{key} must be in [0, 1], got {value}.")
        self.teacher_forcing = teacher_forcing
        self.eval_teacher_forcing = eval_teacher_forcing
        self.label_smoothing = label_smoothing
        self.decode = DecodeConfig(**(decode or {}))
        self.heatmaps = heatmaps
        self.show_examples = show_examples

    # -- building -------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> ParallelData:
        return instantiate(cfg.data, "data", codecs=state)

    def build_model(self, cfg: Any, data: ParallelData) -> Seq2Seq:
        model_cfg = cfg.model
        if model_cfg.decoder is None:
            raise ConfigError("task=translation needs a decoder: add model/decoder=recurrent.")
        source_embedding = nn.Embedding(len(data.source_codec), model_cfg.embedding_dim, padding_idx=PAD_ID)
        encoder = build_encoder(model_cfg, input_size=model_cfg.embedding_dim)
        attention = (
            functools.partial(instantiate, model_cfg.attention, "model.attention")
            if model_cfg.attention is not None
            else None
        )
        decoder = instantiate(
            model_cfg.decoder,
            "model.decoder",
            cell=cell_factory(model_cfg),
            attention=attention,
            vocab_size=len(data.target_codec),
            embedding_dim=model_cfg.embedding_dim,
            hidden_size=model_cfg.decoder.hidden_size or model_cfg.hidden_size,
            num_layers=model_cfg.decoder.num_layers or model_cfg.num_layers,
            dropout=model_cfg.dropout,
            memory_size=encoder.output_size,
        )
        cache: dict = {}  # a shared vocabulary's file is read once for both sides
        sides = (("source", source_embedding, data.source_codec), ("target", decoder.embedding, data.target_codec))
        for side, embedding, codec in sides:
            init_embedding(embedding, codec.tokens(range(len(codec))), model_cfg.embedding, side=side,
                           shared_vocab=data.cfg.shared_vocab, cache=cache)
        return Seq2Seq(source_embedding=source_embedding, encoder=encoder, decoder=decoder)

    # -- steps -----------------------------------------------------------------------
    def _nll(self, logits: Tensor, targets: Tensor, reduction: str) -> Tensor:
        return F.cross_entropy(
            logits.flatten(0, 1),
            targets.flatten(),
            ignore_index=PAD_ID,
            reduction=reduction,
            label_smoothing=self.label_smoothing,
        )

    def training_step(
        self, model: Seq2Seq, batch: Seq2SeqBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        logits, _ = model(  # (B, T, V), 0 past each target's length (the loss ignores those positions)
            batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=self.teacher_forcing,
            tgt_lengths=_target_lengths(batch),
        )
        loss = self._nll(logits, batch.tgt_out, "mean")
        # hard attention trained by REINFORCE: its surrogate loss, rewarded by each sentence's log-likelihood (else 0)
        surrogate = model.decoder.estimator_loss(logits, batch.tgt_out, batch.tgt_out != PAD_ID)
        return loss + surrogate, {"loss": loss.detach()}, None

    @torch.no_grad()
    def evaluation_step(
        self, model: Seq2Seq, batch: Seq2SeqBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Any], Any]:
        # loss and token accuracy, teacher-forced unless task.eval_teacher_forcing < 1 (a fixed generator: the same
        # coin flips at every validation, and the training RNG stream is untouched)
        generator = torch.Generator().manual_seed(0) if self.eval_teacher_forcing < 1.0 else None
        logits, _ = model(
            batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=self.eval_teacher_forcing, generator=generator,
            tgt_lengths=_target_lengths(batch),
        )
        real = batch.tgt_out != PAD_ID  # (B, T)
        nll = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum")
        correct = ((logits.argmax(-1) == batch.tgt_out) & real).sum()
        hypotheses = decode(model, batch.src, batch.src_lengths, self.decode)
        data = self._data
        texts = []
        exact = 0
        for row, hyps in zip(batch.index.tolist(), hypotheses):
            output = data.target_codec.decode(hyps[0].tokens)
            reference = data.pairs[self._split][row][1]
            if data.cfg.lowercase:
                reference = reference.lower()  # compare like with like: the model only ever saw lowercased targets
            exact += int(output == reference)
            texts.append((output, reference))
        device = nll.device
        sums = {
            "nll": nll,
            "tokens": real.sum().float(),
            "correct": correct.float(),
            "exact": torch.tensor(float(exact), device=device),
            "sentences": torch.tensor(float(len(texts)), device=device),
            "texts": texts,
        }
        return sums, None

    def compute_metrics(
        self, sums: dict[str, float], data: ParallelData, texts: Sequence[tuple[str, str]] = ()
    ) -> dict[str, float]:
        """Loss, perplexity, token accuracy (teacher-forced as ``task.eval_teacher_forcing``); exact match, BLEU
        and chrF (sacrebleu) of decoded output."""
        import sacrebleu

        loss = sums["nll"] / max(sums["tokens"], 1.0)
        metrics = {
            "loss": loss,
            "ppl": math.exp(min(loss, 50.0)),
            "token_acc": sums["correct"] / max(sums["tokens"], 1.0),
            "exact_match": sums["exact"] / max(sums["sentences"], 1.0),
        }
        if texts:
            hyps, refs = [h for h, _ in texts], [r for _, r in texts]
            metrics["bleu"] = sacrebleu.corpus_bleu(hyps, [refs]).score
            metrics["chrf"] = sacrebleu.corpus_chrf(hyps, [refs]).score
        return metrics

    # The core tells the task which split it evaluates (references come from the raw pairs).
    def begin_evaluation(self, data: ParallelData, split: str) -> None:
        self._data, self._split = data, split

    # -- inference ----------------------------------------------------------------------
    @torch.no_grad()
    def translate(
        self, model: Seq2Seq, data: ParallelData, lines: Sequence[str], options: Any = None, batch_size: int = 64
    ) -> tuple[list[list[tuple[str, Hypothesis]]], int]:
        """Translate raw source lines; returns n-best ``(text, hypothesis)`` lists and the number of unknown source
        tokens."""
        model.eval()
        options = options or self.decode
        device = next(model.parameters()).device
        ids, unknown = data.encode_source(lines)
        # Batch sentences of similar length together (less padding for the encoder and for every attention
        # step), then put the results back in input order.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[list[tuple[str, Hypothesis]]] = [[] for _ in ids]
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = collate([(i, ids[i], [EOS_ID]) for i in chunk]).to(device)
            for i, hyps in zip(chunk, decode(model, batch.src, batch.src_lengths, options)):
                results[i] = [(data.target_codec.decode(h.tokens), h) for h in hyps]
        return results, unknown

    def callbacks(self, run_dir: Any) -> list[Any]:
        from seqforge_seq2seq.heatmaps import AttentionHeatmaps

        return [AttentionHeatmaps(run_dir / "attention", count=self.heatmaps)] if self.heatmaps > 0 else []

    def report(self, module: Any) -> None:
        """Print a few test examples after training."""
        data, pairs = module.data, module.data.pairs["test"][: self.show_examples]
        if not pairs:
            return
        outputs, _ = self.translate(module.model, data, [s for s, _ in pairs])
        print("\nExamples (test split):")
        for (source, reference), nbest in zip(pairs, outputs):
            output = nbest[0][0]
            mark = "✓" if output == reference else "✗"
            print(f"  {mark} {source!r} -> {output!r}" + ("" if output == reference else f" (expected {reference!r})"))
