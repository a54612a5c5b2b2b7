"""The offline tagging demo: English sentences with DATE, LOC, MONEY and PERCENT entities in IOB2.

Entities come from Babel's CLDR data (no download): dates in six English
formats ("Nov 22, 2026", "Sunday, 22 November 2026"), the 250-odd territory
and region names ("Bosnia & Herzegovina", "Sub-Saharan Africa"), amounts with
currency names or symbols ("1,250.50 Japanese yen", "€12.00"), percentages.
Entities span several tokens (punctuation included), numbers also appear
outside entities ("45 people", "at 9 o'clock"), and a quarter of the place
names never occur in training, so the tagger must use context and spelling,
not a lookup of the entity strings.
"""

from __future__ import annotations

import datetime
import random
import re
from typing import Any

from seqforge_labelled.conll import Sentence, TaggingData
from seqforge_labelled.data_configs import EntitiesDataConfig

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’]\w+)*|[^\w\s]")
TEMPLATES = (
    "{LOC} reported {PERCENT} growth on {DATE} .",
    "The flight to {LOC} costs {MONEY} .",
    "On {DATE} , {NUM} people visited {LOC} .",
    "She moved to {LOC} on {DATE} and paid {MONEY} in rent .",
    "Prices in {LOC} rose by {PERCENT} between {DATE} and {DATE} .",
    "We will meet on {DATE} at {SMALL} o'clock .",
    "Exports from {LOC} to {LOC} fell {PERCENT} last year .",
    "The contract signed on {DATE} is worth {MONEY} .",
    "{NUM} tickets to {LOC} were sold for {MONEY} each .",
    "About {PERCENT} of voters in {LOC} stayed home .",
    "The museum in {LOC} opens on {DATE} with {NUM} rooms .",
    "{LOC} and {LOC} signed a trade deal on {DATE} .",
    "He lost {MONEY} in {SMALL} days .",
    "Our office in {LOC} has {NUM} employees .",
    "Interest rates stay at {PERCENT} until {DATE} .",
    "The report from {DATE} lists {NUM} cases in {LOC} .",
    "A room costs {MONEY} a night , {PERCENT} less than in {LOC} .",
    "Delivery takes {SMALL} weeks from {LOC} .",
)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "INR", "BRL", "CAD", "AUD", "MXN")


def tokenize_entity_text(text: str) -> list[str]:
    """Words, whole numbers with separators ("1,250.50"), and single punctuation marks."""
    return _TOKEN.findall(text)


class _Entities:
    """Draws entity strings from Babel's English CLDR data."""

    def __init__(self, rng: random.Random, places: list[str]) -> None:
        from babel.dates import format_date
        from babel.numbers import format_currency, get_currency_name

        self.rng, self.places = rng, places
        self._format_date, self._format_currency, self._currency_name = format_date, format_currency, get_currency_name
        self._start = datetime.date(1950, 1, 1).toordinal()
        self._end = datetime.date(2049, 12, 31).toordinal()

    def draw(self, kind: str) -> str:
        rng = self.rng
        if kind == "LOC":
            return rng.choice(self.places)
        if kind == "DATE":
            date = datetime.date.fromordinal(rng.randint(self._start, self._end))
            return self._format_date(
                date, format=rng.choice(("medium", "long", "full")), locale=rng.choice(("en_US", "en_GB"))
            )
        if kind == "MONEY":
            code = rng.choice(CURRENCIES)
            amount = round(rng.choice((rng.uniform(1, 100), rng.uniform(100, 100000))), rng.choice((0, 2)))
            if rng.random() < 0.5:
                return self._format_currency(amount, code, locale="en_US")
            return f"{amount:,} {self._currency_name(code, count=amount, locale='en')}"
        if kind == "PERCENT":
            value = rng.choice((str(rng.randint(1, 99)), f"{rng.uniform(0, 100):.1f}"))
            return value + rng.choice(("%", " %", " percent", " per cent"))
        if kind == "NUM":
            return f"{rng.randint(2, 50000):,}"
        return str(rng.randint(2, 12))  # SMALL


def generate_sentences(n: int, *, seed: int, places: list[str]) -> list[Sentence]:
    """``n`` tokenised sentences with IOB2 tags; the sentence pattern and every entity are drawn at random."""
    rng = random.Random(seed)
    entities = _Entities(rng, places)
    sentences: list[Sentence] = []
    slot = re.compile(r"\{(\w+)\}")
    for _ in range(n):
        tokens: list[str] = []
        tags: list[str] = []
        for piece in slot.split(rng.choice(TEMPLATES)):
            if piece in ("LOC", "DATE", "MONEY", "PERCENT", "NUM", "SMALL"):
                words = tokenize_entity_text(entities.draw(piece))
                entity = piece not in ("NUM", "SMALL")
                tags += [("B-" if i == 0 else "I-") + piece if entity else "O" for i in range(len(words))]
                tokens += words
            else:
                words = tokenize_entity_text(piece)
                tokens += words
                tags += ["O"] * len(words)
        sentences.append((tokens, tags))
    return sentences


def english_places() -> list[str]:
    """Territory and region names in English (CLDR), sorted."""
    from babel import Locale

    return sorted(set(Locale("en").territories.values()))


class EntitiesData(TaggingData):
    """Generated sentences; training sees three quarters of the place names, evaluation all of them."""

    config_class = EntitiesDataConfig

    def load_sentences(self) -> dict[str, tuple[list[Sentence], list[list[int]], str]]:
        cfg: Any = self.cfg
        places = english_places()
        random.Random(cfg.seed).shuffle(places)
        train_places = sorted(places[: len(places) * 3 // 4])
        sizes = {"train": (cfg.n_train, train_places), "valid": (cfg.n_valid, places), "test": (cfg.n_test, places)}
        out = {}
        for offset, (split, (n, names)) in enumerate(sizes.items()):
            sentences = generate_sentences(n, seed=cfg.seed + 1 + offset, places=names)
            out[split] = (sentences, [list(range(len(tokens))) for tokens, _ in sentences], f"<generated {split}>")
        return out
