"""bench/anchor_bleu.py: the Multi30k anchor's BLEU (corpus BLEU-4 over lowercased spaCy(-like) tokens)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from anchor_bleu import anchor_bleu, corpus_bleu, spacy_like_tokens


def test_tokens_split_like_spacy_english() -> None:
    """punctuation, clitics and letter-hyphen-letter are split off; text is lowercased"""
    assert spacy_like_tokens("A man's T-shirt, (red) isn't wet.") == [
        "a", "man", "'s", "t", "-", "shirt", ",", "(", "red", ")", "is", "n't", "wet", "."]
    assert spacy_like_tokens("Two dogs play in 2-3 inches of snow!") == [
        "two",
        "dogs",
        "play",
        "in",
        "2-3",
        "inches",
        "of",
        "snow",
        "!",
    ]


def test_corpus_bleu_equals_sacrebleu_on_the_same_tokens() -> None:
    """corpus BLEU-4 without smoothing, brevity penalty over the corpus: sacrebleu on pre-tokenized text agrees"""
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["a man is riding a bike down the street .", "two dogs play in the snow .", "a woman sits on a bench"]
    refs = ["a man rides a bike down the street .", "two dogs are playing in the snow .",
            "a woman is sitting on a wooden bench ."]
    expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method="none").score
    assert corpus_bleu([h.split() for h in hyps], [r.split() for r in refs]) == pytest.approx(expected, abs=1e-9)


def test_anchor_bleu_ignores_case_and_detokenization() -> None:
    """detokenized, capitalised output scores as its lowercased tokens; a perfect output scores 100; no 4-gram match
    scores 0"""
    refs = ["Two young, White males are outside near many bushes.", "A little girl climbing into a wooden playhouse."]
    assert anchor_bleu(
        ["two young , white males are outside near many bushes .", "a little girl climbing into a wooden playhouse ."],
        refs,
    ) == pytest.approx(100.0)
    assert anchor_bleu(["dogs", "cats"], refs) == 0.0


def test_anchor_bleu_scores_over_the_given_tokenizer() -> None:
    """tokenize= replaces the spaCy-like imitation (bench/multi30k.py passes spaCy's own English tokenizer)"""
    refs = ["a man's t-shirt ."]
    assert anchor_bleu(["a man's t-shirt ."], refs, tokenize=str.split) == pytest.approx(100.0)
    # split on whitespace only, "man 's" / "t - shirt" no longer match "man's" / "t-shirt"
    assert anchor_bleu(["a man 's t - shirt ."], refs, tokenize=str.split) == 0.0
    assert anchor_bleu(["A man's T-shirt."], refs) == pytest.approx(100.0)  # the default: the spaCy-like imitation
