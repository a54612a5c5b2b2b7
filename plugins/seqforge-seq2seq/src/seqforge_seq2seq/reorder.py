"""A harder offline translation demo: reverse every segment of a symbol sequence (``data=reorder``).

    source  "c a | d b e | f"
    target  "A C | E B D | F"

The source is 15–40 lowercase symbols (``data.symbols`` of them) cut into segments of 1 to
``data.max_segment`` symbols by ``|``; the target writes each segment backwards, each symbol
mapped to its upper case. ``data.max_segment=0`` means no separators: the whole sequence reversed.

Why this and not the dates: every global attention translates dates exactly, so they cannot rank
attention variants. Here the alignment is non-monotonic (inside each segment it runs backwards) and
depends on where the separators fall, and a 40-symbol sequence is more than a decoder without
attention can carry in its initial state. A local window around the target position (``local_m``)
covers the aligned source position only while ``window`` reaches across a segment; with whole-sequence
reversal it cannot.
"""

from __future__ import annotations

import random
import string
from typing import Any

from seqforge.api import ConfigError
from seqforge_seq2seq.configs import ReorderDataConfig
from seqforge_seq2seq.parallel import Pairs, ParallelData

SEPARATOR = "|"


def segment_lengths(length: int, max_segment: int, rng: random.Random) -> list[int]:
    """Segment sizes (each 1..max_segment) filling ``length`` tokens, one separator between segments.

    ``max_segment=0``: one segment. A draw that would leave a single token (room for a separator but
    no symbol after it) is moved by one, so every length is reachable for ``max_segment >= 2``.
    """
    if max_segment == 0:
        return [length]
    sizes, remaining = [], length
    while remaining > 0:
        size = rng.randint(1, min(max_segment, remaining))
        if remaining - size == 1:
            size = size + 1 if size < max_segment else size - 1
        sizes.append(size)
        remaining -= size + (1 if remaining > size else 0)  # the separator after it, unless it ends the sequence
    return sizes


def reorder(source: str) -> str:
    """The target of a source: each ``|``-separated segment reversed, symbols upper-cased."""
    segments = [segment.split() for segment in source.split(SEPARATOR)]
    return f" {SEPARATOR} ".join(" ".join(symbol.upper() for symbol in reversed(segment)) for segment in segments)


def generate_pairs(n: int, *, seed: int, min_len: int, max_len: int, symbols: int, max_segment: int) -> Pairs:
    """``n`` (source, target) pairs; the same arguments always give the same pairs."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase[:symbols]
    pairs = []
    for _ in range(n):
        sizes = segment_lengths(rng.randint(min_len, max_len), max_segment, rng)
        source = f" {SEPARATOR} ".join(" ".join(rng.choice(alphabet) for _ in range(size)) for size in sizes)
        pairs.append((source, reorder(source)))
    return pairs


def check_config(cfg: Any) -> None:
    """Refuse sizes the generator cannot honour, naming the key."""
    if not 2 <= cfg.symbols <= 26:
        raise ConfigError(f"data.symbols must be between 2 and 26 (lowercase letters a, b, ...); got {cfg.symbols}.")
    if not 1 <= cfg.min_len <= cfg.max_len:
        raise ConfigError(
            "data.min_len..data.max_len must satisfy 1 <= min_len <= max_len (tokens); got "
            f"{cfg.min_len}..{cfg.max_len}."
        )
    if cfg.max_segment == 1 or cfg.max_segment < 0:
        raise ConfigError(
            "data.max_segment must be 0 (no separators: reverse the whole sequence) or at least 2; got "
            f"{cfg.max_segment} (segments of one symbol would make the target a monotonic copy)."
        )
    if cfg.max_len > min(cfg.max_source_len, cfg.max_target_len):
        raise ConfigError(
            f"data.max_len={cfg.max_len} exceeds data.max_source_len={cfg.max_source_len} / data.max_target_len="
            f"{cfg.max_target_len}: generated pairs would be truncated. Raise those limits or lower data.max_len."
        )


class ReorderData(ParallelData):
    """Generated pairs; the splits use disjoint random streams (different seeds)."""

    config_class = ReorderDataConfig

    def load_pairs(self) -> dict[str, Pairs]:
        cfg: Any = self.cfg
        check_config(cfg)
        sizes = {"train": cfg.n_train, "valid": cfg.n_valid, "test": cfg.n_test}
        options = {
            "min_len": cfg.min_len, "max_len": cfg.max_len, "symbols": cfg.symbols, "max_segment": cfg.max_segment
        }
        splits = {
            split: generate_pairs(size, seed=cfg.seed + offset, **options)
            for offset, (split, size) in enumerate(sizes.items())
        }
        # Held-out sources never seen in training (collisions only happen with tiny settings).
        seen = {source for source, _ in splits["train"]}
        for split in ("valid", "test"):
            splits[split] = [pair for pair in splits[split] if pair[0] not in seen]
        return splits
