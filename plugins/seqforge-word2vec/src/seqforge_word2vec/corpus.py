"""Corpora: text streamed from disk line by line, and the generated offline demo corpus.

A corpus is anything that can be iterated more than once into lists of tokens
(one list per line). Files are never read whole: :class:`TextCorpus` decodes one
line at a time, so a 100 MB file costs one line of memory, and reports the byte
offset of the first byte that is not UTF-8.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from seqforge.api import DataError


class Corpus(Protocol):
    """Re-iterable token lines; ``name`` is used in messages."""

    name: str

    def __iter__(self) -> Iterator[list[str]]:
        ...


class TextCorpus:
    """Whitespace-tokenized lines of a UTF-8 text file (``.gz`` decompressed on the fly).

    Args:
        path: the file.
        lowercase: lowercase every token.
        key: the config key named in error messages.
    """

    def __init__(self, path: str | Path, *, lowercase: bool = False, key: str = "data.path") -> None:
        self.path = Path(path).expanduser()
        self.lowercase = lowercase
        self.key = key
        self.name = str(self.path)
        if not self.path.is_file():
            hint = "it is a directory" if self.path.is_dir() else "no such file"
            raise DataError(f"The corpus '{self.path}' (config key `{key}`) cannot be read: {hint}. Give a UTF-8 text "
                            "file (optionally .gz).")

    def _open(self) -> IO[bytes]:
        return gzip.open(self.path, "rb") if self.path.suffix == ".gz" else open(self.path, "rb")

    def __iter__(self) -> Iterator[list[str]]:
        offset = 0
        with self._open() as stream:
            try:
                for number, raw in enumerate(stream, start=1):
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        where = "of the decompressed text " if self.path.suffix == ".gz" else ""
                        raise DataError(
                            f"The corpus '{self.path}' (config key `{self.key}`) is not valid UTF-8: byte "
                            f"0x{raw[exc.start]:02x} at byte offset {offset + exc.start} {where}(line {number}) cannot "
                            f"be decoded ({exc.reason}). Re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                        ) from None
                    offset += len(raw)
                    yield (line.lower() if self.lowercase else line).split()
            except (OSError, EOFError) as exc:
                if self.path.suffix != ".gz":
                    raise
                raise DataError(f"The corpus '{self.path}' (config key `{self.key}`) ends in .gz but is not a readable "
                                f"gzip file ({exc}).") from None


class ListCorpus:
    """Token lines held in memory (the demo corpus, tests)."""

    def __init__(self, lines: list[list[str]], name: str = "an in-memory corpus") -> None:
        self.lines = lines
        self.name = name

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self.lines)


# -- the demo corpus ---------------------------------------------------------------------------------
#: (male, female, role-specific context words): a gender direction and a role direction, so
#: ``king - man + woman ≈ queen`` is recoverable from co-occurrence alone.
PEOPLE = [
    ("king", "queen", "throne crown palace reign kingdom royal"),
    ("prince", "princess", "castle heir royal young crown court"),
    ("man", "woman", "work street town people adult walks"),
    ("boy", "girl", "school plays toy young child games"),
    ("father", "mother", "family home children parent raises house"),
    ("son", "daughter", "family parents child grows inherits home"),
    ("husband", "wife", "marriage wedding spouse married home ring"),
    ("uncle", "aunt", "relative visits nephew niece family holiday"),
    ("actor", "actress", "film stage theatre role movie scene"),
    ("waiter", "waitress", "restaurant table serves dinner tips menu"),
]
GENDER = {0: "he him his himself gentleman male", 1: "she her hers herself lady female"}
#: (country, capital, language): ``paris - france + italy ≈ rome``.
COUNTRIES = [
    ("france", "paris", "french"), ("germany", "berlin", "german"), ("italy", "rome", "italian"),
    ("spain", "madrid", "spanish"), ("japan", "tokyo", "japanese"), ("china", "beijing", "chinese"),
    ("russia", "moscow", "russian"), ("greece", "athens", "greek"), ("egypt", "cairo", "egyptian"),
    ("poland", "warsaw", "polish"), ("sweden", "stockholm", "swedish"), ("portugal", "lisbon", "portuguese"),
]
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "at",
    "by",
    "from",
    "this",
    "be",
    "or",
    "an",
    "are",
    "not",
    "but",
]


def demo_corpus(n_sentences: int = 30000, seed: int = 1234) -> ListCorpus:
    """Sentences generated from templates with planted structure (no download, deterministic).

    Person words co-occur with a gender context and a role context; capitals co-occur with
    "capital"/"city" and their country's own context words; countries with "country"/"nation".
    Frequent function words make sub-sampling matter. Analogies and nearest neighbours of the
    planted pairs are therefore recoverable (see :func:`demo_analogies`).
    """
    rng = random.Random(seed)
    lines: list[list[str]] = []
    for _ in range(n_sentences):
        kind = rng.random()
        words: list[str] = []
        if kind < 0.6:
            male, female, role = rng.choice(PEOPLE)
            gender = rng.randrange(2)
            person = female if gender else male
            role_words, gender_words = role.split(), GENDER[gender].split()
            for _ in range(rng.randint(6, 12)):
                r = rng.random()
                pool = role_words if r < 0.35 else gender_words if r < 0.65 else FILLER
                words.append(rng.choice(pool))
            words.insert(rng.randrange(len(words)), person)
            words.insert(rng.randrange(len(words)), person)
        else:
            country, capital, language = rng.choice(COUNTRIES)
            own = [country, language]
            is_city = rng.random() < 0.5
            marker = (
                ["capital", "city", "streets", "mayor"] if is_city else ["country", "nation", "border", "government"]
            )
            for _ in range(rng.randint(6, 12)):
                r = rng.random()
                pool = marker if r < 0.35 else own if r < 0.6 else FILLER
                words.append(rng.choice(pool))
            words.insert(rng.randrange(len(words)), capital if is_city else country)
            words.insert(rng.randrange(len(words)), capital if is_city else country)
        lines.append(words)
    return ListCorpus(lines, name=f"the embedded demo corpus ({n_sentences} generated sentences)")


def demo_analogies() -> str:
    """Analogy questions (questions-words.txt format) answered by the demo corpus' planted structure."""
    rows = [": gender"]
    for a, b, _ in PEOPLE:
        for c, d, _ in PEOPLE:
            if a != c:
                rows.append(f"{a} {b} {c} {d}")
    rows.append(": capital")
    for country_a, capital_a, _ in COUNTRIES:
        for country_b, capital_b, _ in COUNTRIES:
            if country_a != country_b:
                rows.append(f"{capital_a} {country_a} {capital_b} {country_b}")
    return "\n".join(rows) + "\n"
