"""Token vocabularies with the usual special symbols."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
#: Ids of the special tokens in every seqforge vocabulary (they come first, in this order).
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(len(SPECIALS))


class Vocabulary:
    """Maps tokens to ids; unknown tokens map to ``<unk>``.

    Ids 0-3 are ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``; the rest are sorted
    by descending frequency, then alphabetically, so a vocabulary is a pure
    function of its corpus.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")
        missing = [s for s in SPECIALS if s not in self.stoi]
        if missing:
            raise ValueError(f"vocabulary lacks special tokens {missing}")

    @classmethod
    def build(cls, tokens: Iterable[str], *, min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
        """From a token stream; tokens rarer than ``min_freq`` become ``<unk>``; ``max_size`` counts specials."""
        counts = Counter(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(SPECIALS))]
        return cls([*SPECIALS, *ranked])

    def extend(self, tokens: Iterable[str]) -> Vocabulary:
        """A new vocabulary: these ids, then ``tokens`` not already in it (first occurrence order).

        Existing ids keep their meaning, so rows learnt or loaded for them stay valid; used to
        give words with a pretrained vector a row of their own (``model.embedding.extend_vocab``).
        """
        added = [t for t in dict.fromkeys(tokens) if t not in self.stoi]
        return Vocabulary([*self.itos, *added]) if added else self

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        unk = self.unk_id
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]
