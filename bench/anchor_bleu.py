"""BLEU the way the Multi30k anchor computes it (bentrevett/pytorch-seq2seq, notebook 3, 2023 version).

The anchor (commit d8c17c7) scores greedy output with Hugging Face ``evaluate``'s ``bleu``, its
tokenizer being spaCy ``en_core_web_sm``'s tokenizer with every token lowercased, applied to the
space-joined output tokens and to the raw references: corpus BLEU-4, uniform weights, clipped
n-gram counts summed over the corpus, brevity penalty ``exp(1 - r/c)`` when ``c < r``, no
smoothing (the same formula as torchtext's ``bleu_score``, which notebook 4 used).
:func:`anchor_bleu` takes that tokenizer when spaCy is installed (``bench/multi30k.py`` passes
``spacy.blank("en")``'s, the pipeline's rule-based tokenizer); otherwise
:func:`spacy_like_tokens` imitates its English rules that matter on Multi30k captions:
punctuation split off words, clitics split (``man's`` -> ``man 's``, ``don't`` -> ``do n't``),
hyphens between letters split (``t-shirt`` -> ``t - shirt``). The imitation does not reproduce
spaCy's special cases and abbreviation exceptions (``e.g.``, ``u.s.``). The anchor's hypotheses
contain ``<unk>`` for words outside its min_freq-2 vocabulary (they never match), whereas a
subword model can spell any word.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

_CLITIC = re.compile(r"(?i)^(.+?)(n't|'s|'re|'m|'ll|'ve|'d|')$")
_INFIX_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_EDGE_PUNCT = re.compile(r"^([\"'(\[{¡¿]*)(.*?)([\"'.,!?;:)\]}…]*)$")


def spacy_like_tokens(text: str) -> list[str]:
    """Lowercased tokens split as spaCy's English tokenizer splits caption text."""
    tokens: list[str] = []
    for chunk in text.lower().split():
        prefix, core, suffix = _EDGE_PUNCT.match(chunk).groups()  # the pattern matches every string
        tokens.extend(prefix)
        if core:
            clitic = _CLITIC.match(core) if "'" in core else None
            head, tail = (clitic.group(1), clitic.group(2)) if clitic else (core, "")
            tokens.extend(part for part in _INFIX_HYPHEN.sub(" - ", head).split())
            if tail:
                tokens.append(tail)
        tokens.extend(suffix)
    return tokens


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """torchtext ``bleu_score`` (one reference per sentence), as a percentage."""
    matches = [0] * max_n
    possible = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            matches[n - 1] += sum((counts & _ngrams(ref, n)).values())
            possible[n - 1] += max(len(hyp) - n + 1, 0)
    if min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / p) for m, p in zip(matches, possible)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
    return 100.0 * brevity * math.exp(log_precision)


def anchor_bleu(
    hypotheses: Sequence[str], references: Sequence[str], tokenize: Callable[[str], list[str]] = spacy_like_tokens
) -> float:
    """Output and raw references -> the anchor's BLEU over ``tokenize``'s tokens (lowercased spaCy tokens)."""
    return corpus_bleu([tokenize(h) for h in hypotheses], [tokenize(r) for r in references])
