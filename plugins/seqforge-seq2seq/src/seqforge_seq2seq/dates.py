"""The offline translation demo: dates in many languages and formats -> ISO 8601.

"22. November 2026", "Nov 22, 2026", "22/11/26", "domingo, 22 de noviembre de
2026" all map to "2026-11-22". The source strings come from Babel's CLDR locale
data (real month and weekday names and real per-locale patterns), so no file
or network is needed. Reordering (day/month/year positions differ by locale)
and long-range copying make attention visibly matter.

Ambiguity is designed out: two-digit years stay inside a 100-year window, and
US month-first numeric dates are excluded because "03/04/26" would mean
different dates in en_US and en_GB with nothing in the string to tell them apart.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from seqforge.api import ConfigError
from seqforge_seq2seq.configs import DatesDataConfig
from seqforge_seq2seq.parallel import Pairs, ParallelData

FORMATS = ("short", "medium", "long", "full")


def _variants(text: str, rng: random.Random) -> str:
    """Casing and spacing noise users type: lowercase, no trailing dot."""
    roll = rng.random()
    if roll < 0.25:
        return text.lower()
    if roll < 0.35:
        return text.upper()
    return text


def generate_pairs(n: int, *, seed: int, first_year: int, last_year: int, locales: list[str]) -> Pairs:
    """``n`` (written date, ISO date) pairs drawn uniformly over the year window, locales and formats."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_date

    for locale in locales:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise ConfigError(
                f"data.locales: '{locale}' is not a locale Babel knows (e.g. en_US, de_DE, fr_FR)."
            ) from None
    rng = random.Random(seed)
    start = datetime.date(first_year, 1, 1).toordinal()
    end = datetime.date(last_year, 12, 31).toordinal()
    pairs = []
    while len(pairs) < n:
        date = datetime.date.fromordinal(rng.randint(start, end))
        locale, style = rng.choice(locales), rng.choice(FORMATS)
        if locale == "en_US" and style == "short":
            continue  # month-first numerals: ambiguous against day-first locales
        written = format_date(date, format=style, locale=locale)
        pairs.append((_variants(written, rng), date.isoformat()))
    return pairs


class DatesData(ParallelData):
    """Generated pairs; the splits use disjoint random streams (different seeds)."""

    config_class = DatesDataConfig

    def load_pairs(self) -> dict[str, Pairs]:
        cfg: Any = self.cfg
        if cfg.first_year > cfg.last_year or cfg.first_year < 1 or cfg.last_year - cfg.first_year >= 100:
            raise ConfigError(
                f"data.first_year..data.last_year must be a window of at most 100 years so two-digit years are "
                f"unambiguous; got {cfg.first_year}..{cfg.last_year}."
            )
        sizes = {"train": cfg.n_train, "valid": cfg.n_valid, "test": cfg.n_test}
        splits = {
            split: generate_pairs(
                size,
                seed=cfg.seed + offset,
                first_year=cfg.first_year,
                last_year=cfg.last_year,
                locales=list(cfg.locales),
            )
            for offset, (split, size) in enumerate(sizes.items())
        }
        # Held-out strings never seen in training, so exact match measures generalisation, not recall.
        seen = {source for source, _ in splits["train"]}
        for split in ("valid", "test"):
            splits[split] = [pair for pair in splits[split] if pair[0] not in seen]
        return splits
