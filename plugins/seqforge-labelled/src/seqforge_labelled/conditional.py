"""One-to-many generation: a single vector (an embedded label or a feature vector) conditions a recurrent decoder.

The condition enters as the decoder's initial state (``init``: a linear map per
layer, split into the cell's state leaves, so any cell works), as an extra
input at every step (``input``), or both. Decoding is the shared search code
(``seqforge.api``: ``greedy_search``, ``beam_search``, ``sample_search``), with the
condition kept in the search state so beams and samples carry it along.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqforge.api import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    ConfigError,
    Hypothesis,
    beam_search,
    cell_factory,
    greedy_search,
    init_embedding,
    instantiate,
    sample_search,
    state_sizes,
    unflatten_state,
)
from seqforge_labelled.conditional_data import ConditionalBatch, ConditionalData

CONDITIONS = ("init", "input", "both")
STRATEGIES = ("greedy", "beam", "sample")


@dataclass
class GeneratorState:
    """The search state: one cell state per layer and the embedded condition ``(B, D)``."""

    layers: list[Any]
    condition: Tensor

    #: The same for every beam of a sequence: beam search does not copy it when it reorders beams.
    beam_static_fields: ClassVar[tuple[str, ...]] = ("condition",)


class ConditionalGenerator(nn.Module):
    """Condition -> ``(B, D)`` vector -> stacked cells over the target tokens -> linear over the vocabulary.

    Args:
        cell: factory ``cell(input_size=..., hidden_size=...)``.
        vocab_size, embedding_dim, hidden_size, num_layers, dropout: decoder sizes.
        condition_dim: ``D``.
        num_labels: embed label conditions (``(B,)`` ids) ...
        feature_size: ... or project ``(B, F)`` feature vectors (exactly one of the two).
        condition: ``init|input|both``.
    """

    def __init__(
        self, *, cell: Any, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int, dropout: float,
        condition_dim: int, num_labels: int | None, feature_size: int | None, condition: str,
    ) -> None:
        super().__init__()
        if condition not in CONDITIONS:
            raise ConfigError(f"task.condition must be one of {', '.join(CONDITIONS)}, got '{condition}'.")
        self.use_init, self.use_input = condition in ("init", "both"), condition in ("input", "both")
        if num_labels is not None:
            self.condition = nn.Embedding(num_labels, condition_dim)
        else:
            self.condition = nn.Sequential(nn.Linear(feature_size, condition_dim), nn.Tanh())
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_ID)
        first_input = embedding_dim + (condition_dim if self.use_input else 0)
        self.cells = nn.ModuleList(
            cell(input_size=first_input if i == 0 else hidden_size, hidden_size=hidden_size) for i in range(num_layers)
        )
        self.init = (
            nn.ModuleList(nn.Linear(condition_dim, sum(state_sizes(c))) for c in self.cells) if self.use_init else None
        )
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, vocab_size)

    def initial_state(self, condition: Tensor) -> GeneratorState:
        """``condition`` ``(B,)`` ids or ``(B, F)`` features -> the state before the first token."""
        vector = self.condition(condition)  # (B, D)
        if self.init is not None:
            # split into each cell's leaves
            layers = [unflatten_state(torch.tanh(m(vector)), c) for m, c in zip(self.init, self.cells)]
        else:
            layers = [c.initial_state(vector.shape[0], device=vector.device, dtype=vector.dtype) for c in self.cells]
        return GeneratorState(layers=layers, condition=vector)

    def step(self, tokens: Tensor, state: GeneratorState) -> tuple[Tensor, GeneratorState]:
        """``tokens`` ``(B,)`` previous tokens -> logits ``(B, V)`` and the next state."""
        x = self.dropout(self.embedding(tokens))  # (B, E)
        if self.use_input:
            x = torch.cat([x, state.condition], dim=-1)  # (B, E + D)
        layers = []
        for index, (cell, layer_state) in enumerate(zip(self.cells, state.layers)):
            h, new_state = cell(x, layer_state)  # (B, H)
            layers.append(new_state)
            x = self.dropout(h) if index < len(self.cells) - 1 else h
        return self.output(self.dropout(x)), GeneratorState(layers, state.condition)  # (B, V)

    def forward(self, condition: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits ``(B, T, V)`` for ``tgt_in`` ``(B, T)`` (``<bos> y``)."""
        state = self.initial_state(condition)
        logits = []
        for tokens in tgt_in.unbind(1):
            step_logits, state = self.step(tokens, state)  # (B, V)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)  # (B, T, V)

    def log_prob_step(self, tokens: Tensor, state: GeneratorState) -> tuple[Tensor, GeneratorState, None]:
        """The search step function: ``(N,)`` tokens -> log-probs ``(N, V)``, state, no attention."""
        logits, state = self.step(tokens, state)
        return F.log_softmax(logits, dim=-1), state, None


@torch.no_grad()
def generate_from(
    model: ConditionalGenerator, condition: Tensor, options: Any, generator: torch.Generator | None = None
) -> list[list[Hypothesis]]:
    """Search with ``options`` (a :class:`~seqforge.api.DecodeConfig`) from each condition row."""
    if options.strategy not in STRATEGIES:
        raise ConfigError(f"task.decode.strategy must be one of {', '.join(STRATEGIES)}, got '{options.strategy}'.")
    state = model.initial_state(condition)
    common = {
        "batch_size": condition.shape[0],
        "bos_id": BOS_ID,
        "eos_id": EOS_ID,
        "max_len": options.max_len,
        "min_len": options.min_len,
    }
    if options.strategy == "greedy":
        return greedy_search(model.log_prob_step, state, **common)
    if options.strategy == "beam":
        return beam_search(
            model.log_prob_step,
            state,
            beam_size=options.beam_size,
            length_penalty=options.length_penalty,
            alpha=options.alpha,
            n_best=options.n_best,
            block_ngram_repeat=options.block_ngram_repeat,
            **common,
        )
    return sample_search(
        model.log_prob_step,
        state,
        temperature=options.temperature,
        top_k=options.top_k,
        top_p=options.top_p,
        generator=generator,
        **common,
    )


class ConsistencyJudge:
    """Does a generated sequence look like its condition label? A scikit-learn classifier fitted on the training
    targets.

    Targets of fixed-length integer tokens (pixels) are read as numbers; text as a bag of words.
    """

    def __init__(self, data: ConditionalData) -> None:
        from sklearn.linear_model import LogisticRegression

        train = data.examples["train"]
        self.numeric = all(t.lstrip("-").isdigit() for _, tokens in train[:50] for t in tokens)
        self.width = max(len(tokens) for _, tokens in train)
        if not self.numeric:
            from sklearn.feature_extraction.text import CountVectorizer

            self.vectorizer = CountVectorizer(analyzer=lambda tokens: tokens)
            self.vectorizer.fit([tokens for _, tokens in train])
        self.classifier = LogisticRegression(max_iter=2000)
        self.classifier.fit(self._features([tokens for _, tokens in train]), [label for label, _ in train])

    def _features(self, sequences: Sequence[Sequence[str]]) -> Any:
        import numpy as np

        if not self.numeric:
            return self.vectorizer.transform([list(s) for s in sequences])
        rows = np.zeros((len(sequences), self.width))
        for i, tokens in enumerate(sequences):
            values = [float(t) if t.lstrip("-").isdigit() else 0.0 for t in tokens[: self.width]]
            rows[i, : len(values)] = values
        return rows

    def agreement(self, sequences: Sequence[Sequence[str]], labels: Sequence[str]) -> float:
        """Fraction of ``sequences`` the classifier assigns to their conditioning label."""
        predicted = self.classifier.predict(self._features(sequences))
        return float(sum(p == label for p, label in zip(predicted, labels)) / max(len(labels), 1))


class ConditionalTask:
    """Generate a sequence from one vector: teacher-forced loss, perplexity, token accuracy; searched samples judged by
    label."""

    metric_sums = ("nll", "tokens", "correct")

    def __init__(
        self,
        condition: str = "both",
        condition_dim: int = 64,
        decode: Any = None,
        show_examples: int = 2,
        show_conditions: int = 10,
    ) -> None:
        from seqforge.api import DecodeConfig

        if condition not in CONDITIONS:
            raise ConfigError(f"task.condition must be one of {', '.join(CONDITIONS)}, got '{condition}'.")
        self.condition = condition
        self.condition_dim = condition_dim
        self.decode = DecodeConfig(**(decode or {}))
        self.show_examples = show_examples
        self.show_conditions = show_conditions
        self._judge: ConsistencyJudge | None = None

    # -- building ---------------------------------------------------------------------------------
    def build_data(self, cfg: Any, *, state: Any = None) -> ConditionalData:
        return instantiate(cfg.data, "data", state=state)

    def build_model(self, cfg: Any, data: ConditionalData) -> ConditionalGenerator:
        model_cfg = cfg.model
        if model_cfg.bidirectional:
            raise ConfigError("One-to-many generation runs left to right: set model.bidirectional=false (it is true in "
                              "the composed config).")
        model = ConditionalGenerator(
            cell=cell_factory(model_cfg),
            vocab_size=len(data.codec),
            embedding_dim=model_cfg.embedding_dim,
            hidden_size=model_cfg.hidden_size,
            num_layers=model_cfg.num_layers,
            dropout=model_cfg.dropout,
            condition_dim=self.condition_dim,
            num_labels=len(data.labels) if data.conditioned_on_labels else None,
            feature_size=data.feature_size,
            condition=self.condition,
        )
        # the output tokens' embedding
        init_embedding(model.embedding, data.codec.tokens(range(len(data.codec))), model_cfg.embedding)
        return model

    # -- steps ------------------------------------------------------------------------------------
    def training_step(
        self, model: ConditionalGenerator, batch: ConditionalBatch, carry: Any, *, stateful: bool
    ) -> tuple[Tensor, dict[str, Tensor], Any]:
        logits = model(batch.condition, batch.tgt_in)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID)
        return loss, {"loss": loss.detach()}, None

    @torch.no_grad()
    def evaluation_step(
        self, model: ConditionalGenerator, batch: ConditionalBatch, carry: Any, *, stateful: bool
    ) -> tuple[dict[str, Any], Any]:
        logits = model(batch.condition, batch.tgt_in)  # (B, T, V)
        real = batch.tgt_out != PAD_ID  # (B, T)
        nll = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum")
        sums: dict[str, Any] = {
            "nll": nll,
            "tokens": real.sum().float(),
            "correct": ((logits.argmax(-1) == batch.tgt_out) & real).sum().float(),
        }
        if self._data.conditioned_on_labels:
            hypotheses = generate_from(
                model, batch.condition, self.decode, torch.Generator(device=batch.condition.device).manual_seed(0)
            )
            labels = [self._data.labels[i] for i in batch.condition.tolist()]
            sums["texts"] = [(self._data.codec.tokens(h[0].tokens), label) for h, label in zip(hypotheses, labels)]
        return sums, None

    def begin_evaluation(self, data: ConditionalData, split: str) -> None:
        self._data = data

    def compute_metrics(
        self, sums: dict[str, float], data: ConditionalData, texts: Sequence[tuple[list[str], str]] = ()
    ) -> dict[str, float]:
        """Loss, perplexity and token accuracy (teacher-forced); ``label_agreement`` of decoded samples (label
        conditions)."""
        loss = sums["nll"] / max(sums["tokens"], 1.0)
        metrics = {
            "loss": loss,
            "ppl": math.exp(min(loss, 50.0)),
            "token_acc": sums["correct"] / max(sums["tokens"], 1.0),
        }
        if texts:
            if self._judge is None:
                self._judge = ConsistencyJudge(data)
            metrics["label_agreement"] = self._judge.agreement([t for t, _ in texts], [label for _, label in texts])
        return metrics

    # -- inference ----------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        model: ConditionalGenerator,
        data: ConditionalData,
        conditions: Sequence[Any],
        *,
        options: Any = None,
        seed: int | None = None,
    ) -> list[list[list[str]]]:
        """n-best token lists for each condition (a label, or a feature vector)."""
        model.eval()
        device = next(model.parameters()).device
        condition = torch.stack([data.encode_condition(c) for c in conditions]).to(device)
        generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        return [
            [data.codec.tokens(h.tokens) for h in hyps]
            for hyps in generate_from(model, condition, options or self.decode, generator)
        ]

    def generate(
        self,
        model: ConditionalGenerator,
        data: ConditionalData,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> str:
        """``seqforge generate prompt=<label>`` (or comma-separated features): one sampled sequence (greedy at
        temperature 0)."""
        from dataclasses import replace

        if not prompt:
            raise ConfigError("Give the condition as prompt=<label> (or comma-separated numbers for feature "
                              "conditions).")
        condition: Any = prompt if data.conditioned_on_labels else [float(v) for v in prompt.split(",")]
        strategy = "greedy" if temperature == 0 else "sample"
        options = replace(
            self.decode,
            strategy=strategy,
            max_len=max_new_tokens,
            temperature=temperature or 1.0,
            top_k=top_k,
            top_p=top_p,
        )
        tokens = self.sample(model, data, [condition], options=options, seed=seed)[0][0]
        return render(tokens, data)

    def report(self, module: Any) -> None:
        """Print sequences generated for a few conditions: greedy, beam search, then samples."""
        from dataclasses import replace

        data, model = module.data, module.model
        if self.show_examples <= 0:
            return
        if data.conditioned_on_labels:
            conditions = data.labels[: self.show_conditions]
            names = conditions
        else:
            test = data.examples["test"][: self.show_conditions]
            conditions, names = [c for c, _ in test], [f"test vector {i}" for i in range(len(test))]
        runs = [
            self.sample(model, data, conditions, options=replace(self.decode, strategy="greedy")),
            self.sample(model, data, conditions, options=replace(self.decode, strategy="beam", n_best=1)),
        ] + [
            self.sample(
                model, data, conditions, options=replace(self.decode, strategy="sample"), seed=module.cfg.seed + k
            )
            for k in range(self.show_examples)
        ]
        print(
            f"\nGenerated: greedy, beam search (beam {self.decode.beam_size}), then {self.show_examples} sample(s) at "
            f"temperature {self.decode.temperature}:"
        )
        for i, name in enumerate(names):
            outputs = [run[i][0] for run in runs]
            print(f"  condition {name}:")
            if data.grid is not None:
                drawings = [render(tokens, data).splitlines() for tokens in outputs]
                for row in zip(*drawings):
                    print("    " + "   ".join(row))
            else:
                for tokens in outputs:
                    print(f"    {render(tokens, data)}")


SHADES = " .:-=+*#%@"


def render(tokens: Sequence[str], data: ConditionalData) -> str:
    """Text for text targets; an ASCII drawing (intensities 0-16 as shades) for grid targets such as digits."""
    if data.grid is None:
        return ("" if data.codec.kind == "char" else " ").join(tokens)
    rows, cols = data.grid
    values = [int(t) if t.isdigit() else 0 for t in tokens][: rows * cols]
    values += [0] * (rows * cols - len(values))
    chars = [SHADES[min(v, 16) * (len(SHADES) - 1) // 16] * 2 for v in values]
    return "\n".join("".join(chars[r * cols : (r + 1) * cols]) for r in range(rows))
