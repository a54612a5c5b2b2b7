"""Builds the ``han_demo`` documents (``src/seqforge_labelled/data/authors``) from three public-domain novels.

Each document is a passage of 3-6 consecutive sentences; its label is the author. All three texts
are normalised the same way (lowercase, punctuation and apostrophes split off, italics marks,
curly quotes, em dashes and backticks replaced by ASCII) so that no formatting differs between
the classes: only wording does.

    python scripts/make_authors_data.py emma.txt alice.txt brown.txt OUT_DIR

Sources (Project Gutenberg texts, public domain; copies as found in the repositories below):
  austen-emma.txt       mac-nlp-fa24/A12---Pytorch-Practice @ 13f02657f37c0cab77a0f98d19a5b27a6416eadc
  carroll-alice.txt     Shim4ik/LabWork16 @ 189932afbe579789b5652a24b68fa8338030cadd
  chesterton-brown.txt  PESOKOTiK/pythonlabs @ 0c743e67d30c52db3ed36ee8917c9a144e7f4186
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

PER_AUTHOR = {"train": 150, "valid": 20, "test": 20}
TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z])")


def normalise(sentence: str) -> str:
    s = (
        sentence.replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u2018", "'")
        .replace("\u2019", "'")
        .replace("_", " ")
        .replace("\u2014", " -- ")
        .replace("`", "'")
    )
    s = s.replace("<eos>", " ").lower()
    return " ".join(TOKEN.findall(s))


def raw_sentences(text: str) -> list[str]:
    """Paragraphs (blank-line separated) split into sentences at . ! ? before a capital."""
    start, end = text.find("*** START OF"), text.find("*** END OF")
    if start >= 0:
        text = text[text.find("\n", start) + 1 : end if end > 0 else None]
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if len(paragraph.split()) < 8:  # headings, ornaments
            continue
        sentences += SENTENCE_END.split(paragraph)
    return sentences


def emma_sentences(text: str) -> list[str]:
    """This copy is already one lowercased sentence per line, ending in <eos>."""
    return [line for line in text.splitlines()[3:] if len(line.split()) >= 4]


def passages(sentences: list[str], count: int, rng: random.Random) -> list[list[str]]:
    """``count`` non-overlapping passages of 3-6 consecutive sentences, at random places."""
    chunks, i = [], 0
    while i < len(sentences):
        n = rng.randint(3, 6)
        chunk = [normalise(s) for s in sentences[i : i + n]]
        if len(chunk) == n and all(3 <= len(s.split()) <= 80 for s in chunk):
            chunks.append(chunk)
        i += n
    rng.shuffle(chunks)
    return chunks[:count]


def main(emma: str, alice: str, brown: str, out: str) -> None:
    rng = random.Random(13)
    books = {
        "austen": emma_sentences(Path(emma).read_text(encoding="utf-8")),
        "carroll": raw_sentences(Path(alice).read_text(encoding="utf-8-sig")),
        "chesterton": raw_sentences(Path(brown).read_text(encoding="utf-8-sig")),
    }
    total = sum(PER_AUTHOR.values())
    rows: dict[str, list[str]] = {split: [] for split in PER_AUTHOR}
    for author, sentences in books.items():
        chosen = passages(sentences, total, rng)
        if len(chosen) < total:
            raise SystemExit(f"{author}: only {len(chosen)} passages")
        start = 0
        for split, n in PER_AUTHOR.items():
            rows[split] += [f"{author}\t{' ||| '.join(p)}" for p in chosen[start : start + n]]
            start += n
    Path(out).mkdir(parents=True, exist_ok=True)
    for split, lines in rows.items():
        rng.shuffle(lines)
        Path(out, f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:5])
