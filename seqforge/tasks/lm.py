"""Language modelling: predict the next token; perplexity and bits per character."""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.builders import build_encoder, instantiate
from seqforge.data.lm import LanguageModelData
from seqforge.data.streams import StreamBatch
from seqforge.data.tokenize import detokenize, tokenize
from seqforge.data.vocab import Vocabulary
from seqforge.embeddings import init_embedding
from seqforge.errors import ConfigError
from seqforge.recurrent.state import detach_state
from seqforge.sampling import sample_next

#: ``task.loss_reduction``: ``mean`` over every token of the batch, or ``sum_over_time`` (summed over the
#: unrolled steps, averaged over the rows) -- the loss of Zaremba et al.'s code and the TensorFlow PTB tutorial.
#: Its gradient is ``T`` times the mean's, so their SGD lr 1 with the norm clipped at 5 takes ``T`` times larger
#: steps than the same lr on the mean (PyTorch's word_language_model writes that recipe as lr 20, clip 0.25).
LOSS_REDUCTIONS = ("mean", "sum_over_time")


class LanguageModel(nn.Module):
    """Embedding -> encoder (causal) -> dropout -> linear over the vocabulary.

    Args:
        vocab_size: ``V``.
        embedding_dim: ``E``.
        encoder: a unidirectional encoder with ``output_size``.
        dropout: on embeddings and encoder outputs (Zaremba et al.'s placement).
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017).
    """

    def __init__(
        self, *, vocab_size: int, embedding_dim: int, encoder: nn.Module, dropout: float, tie_weights: bool
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        output_size = cast(int, encoder.output_size)  # H_out, as the Encoder contract (seqforge.interfaces) says
        self.head = nn.Linear(output_size, vocab_size)
        if tie_weights:
            if output_size != embedding_dim:
                raise ConfigError(
                    f"model.tie_weights=true needs model.embedding_dim ({embedding_dim}) equal to the encoder's output "
                    f"size ({output_size}, from model.hidden_size)."
                )
            self.head.weight = self.embedding.weight

    def forward(self, tokens: Tensor, state: list[Any] | None = None) -> tuple[Tensor, list[Any]]:
        """``tokens`` ``(B, T)`` -> logits ``(B, T, V)`` and the encoder state after the last step."""
        x = self.dropout(self.embedding(tokens))  # (B, T, E)
        encoded = self.encoder(x, None, state)
        return self.head(self.dropout(encoded.outputs)), encoded.state  # (B, T, V)


class LanguageModelTask:
    """Next-token prediction over contiguous text with the state carried across batches."""

    metric_sums = ("nll", "tokens")

    def __init__(
        self,
        sample_length: int = 200,
        sample_prompt: str = "The ",
        sample_temperature: float = 0.8,
        loss_reduction: str = "mean",
    ) -> None:
        if loss_reduction not in LOSS_REDUCTIONS:
            raise ConfigError(f"task.loss_reduction must be one of {', '.join(LOSS_REDUCTIONS)}, got "
                              f"'{loss_reduction}'.")
        self.sample_length = sample_length
        self.sample_prompt = sample_prompt
        self.sample_temperature = sample_temperature
        self.loss_reduction = loss_reduction

    # -- building -----------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> LanguageModelData:
        data: LanguageModelData = instantiate(cfg.data, "data", vocab=Vocabulary(state) if state is not None else None)
        return data

    def build_model(self, cfg: Any, data: LanguageModelData) -> LanguageModel:
        model_cfg = cfg.model
        if model_cfg.bidirectional:
            raise ConfigError(
                "Language modelling predicts the next token, so the encoder must not see the future: set "
                "model.bidirectional=false (it is true in the composed config)."
            )
        encoder = build_encoder(model_cfg, input_size=model_cfg.embedding_dim)
        model = LanguageModel(
            vocab_size=len(data.vocab),
            embedding_dim=model_cfg.embedding_dim,
            encoder=encoder,
            dropout=model_cfg.dropout,
            tie_weights=model_cfg.tie_weights,
        )
        init_embedding(model.embedding, data.vocab.itos, model_cfg.embedding)
        return model

    # -- steps --------------------------------------------------------------
    def training_step(
        self, model: LanguageModel, batch: StreamBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        """The loss of ``task.loss_reduction``; returns the detached state to carry into the next batch (or chunk).

        ``train/loss`` is logged as the mean token NLL whatever the reduction, so runs compare.
        """
        logits, state = model(batch.inputs, carry)  # (B, T, V); carry is None where the core starts afresh
        mean = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
        # sum over T, mean over B
        loss = mean * batch.targets.shape[1] if self.loss_reduction == "sum_over_time" else mean
        return loss, {"loss": mean.detach()}, detach_state(state) if stateful else None

    @torch.no_grad()
    def evaluation_step(
        self, model: LanguageModel, batch: StreamBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Tensor], Any]:
        """Summed NLL and token count (reduced over batches and ranks into the metrics)."""
        logits, state = model(batch.inputs, carry)
        nll = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), reduction="sum")
        return {"nll": nll, "tokens": torch.tensor(float(batch.targets.numel()), device=nll.device)}, state

    def split_time(self, batch: StreamBatch, steps: int) -> list[StreamBatch]:
        """Truncated BPTT: consecutive chunks of ``steps`` tokens (the last may be shorter)."""
        return batch.split_time(steps)

    def compute_metrics(self, sums: dict[str, float], data: LanguageModelData, texts: Any = ()) -> dict[str, float]:
        """Loss (nats/token), perplexity, and bits per character (char models) or per token."""
        loss = sums["nll"] / max(sums["tokens"], 1.0)
        metrics = {"loss": loss, "ppl": math.exp(min(loss, 50.0))}
        bits = loss / math.log(2)
        metrics["bpc" if data.cfg.tokenizer == "char" else "bits_per_token"] = bits
        return metrics

    def report(self, module: Any) -> None:
        """Print a sample after training."""
        if self.sample_length > 0:
            text = self.generate(
                module.model, module.data, self.sample_prompt, max_new_tokens=self.sample_length,
                temperature=self.sample_temperature, seed=module.cfg.seed,
            )
            print(f"\nSample (temperature {self.sample_temperature}):\n{text}\n")

    # -- generation ---------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        model: LanguageModel,
        data: LanguageModelData,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> str:
        """Continue ``prompt``: feed it once, then sample one token at a time, carrying the state."""
        model.eval()
        device = next(model.parameters()).device
        kind = data.cfg.tokenizer
        prompt_ids = data.vocab.encode(tokenize(prompt, kind, lowercase=data.cfg.lowercase)) if prompt else []
        if kind == "word" and prompt_ids and prompt_ids[-1] == data.vocab.eos_id and not prompt.endswith("\n"):
            prompt_ids = prompt_ids[:-1]  # a prompt is an unfinished line
        if not prompt_ids:
            prompt_ids = [data.vocab.eos_id]
        generator = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
        tokens = torch.tensor([prompt_ids], device=device)  # (1, P)
        logits, state = model(tokens)
        generated: list[int] = []
        for _ in range(max_new_tokens):
            next_id = sample_next(
                logits[:, -1].cpu(), temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
            )
            generated.append(int(next_id))
            logits, state = model(next_id.view(1, 1).to(device), state)  # (1, 1, V)
        text = detokenize(data.vocab.decode(generated), kind)
        return prompt + text if kind == "char" else (prompt + " " + text).strip()
