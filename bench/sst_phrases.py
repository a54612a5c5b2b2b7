"""SST-2 training data at the phrase level, as the published SST-2 numbers were trained.

    python bench/sst_phrases.py TREES_DIR OUT_DIR

Kim (2014), Tai et al. (2015) and the harvardnlp copy of the data that ``../shared/data/sst2``
comes from all train on every labelled *phrase* of the training trees (each node of each parse,
~67k after removing neutral ones) and score on whole test sentences; ``../shared/data/sst2``
holds only the 6,920 training sentences (its phrase file did not come with it). This rebuilds
the phrase file from the Stanford Sentiment Treebank's PTB-format trees (``train.txt``,
``dev.txt``, ``test.txt``: one tree per line, ``(label word)`` leaves, labels 0-4).

Written to OUT_DIR in the ``stsa.binary.*`` format (``label sentence``, lowercased):

* ``stsa.binary.phrases.train``: every distinct phrase of the training trees whose label is not
  neutral (0-1 -> 0, 3-4 -> 1), whole sentences included;
* ``stsa.binary.train`` / ``.dev`` / ``.test``: the non-neutral whole sentences, which must
  equal ``../shared/data/sst2``'s files line for line (checked by ``--check DIR``).

``--train-lines N`` keeps only the first N trees of ``train.txt``: some public copies append the
dev trees to it (the standard split has 8,544 training trees).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

STANDARD_TRAIN_TREES = 8544


def _parse(tree: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """``(root label, words, [(label, words) for every node])`` of one ``(label ...)`` tree."""
    # split on ASCII spaces only: a few tokens hold a no-break space ("8\u00a01\\/2"), kept as in stsa.binary
    tokens = [t for t in tree.replace("(", " ( ").replace(")", " ) ").split(" ") if t]
    nodes: list[tuple[int, list[str]]] = []
    position = 0

    def node() -> tuple[int, list[str]]:
        nonlocal position
        assert tokens[position] == "(", f"expected '(' at token {position}"
        label = int(tokens[position + 1])
        position += 2
        words: list[str] = []
        while tokens[position] != ")":
            if tokens[position] == "(":
                words += node()[1]
            else:
                words.append(tokens[position])
                position += 1
        position += 1
        nodes.append((label, words))
        return label, words

    label, words = node()
    return label, words, nodes


def _binary(label: int) -> int | None:
    return None if label == 2 else int(label > 2)


def sentences(path: Path, limit: int | None = None) -> Iterator[tuple[int, list[str], list[tuple[int, list[str]]]]]:
    with path.open(encoding="utf-8") as trees:
        for number, line in enumerate(trees):
            if limit is not None and number >= limit:
                return
            if line.strip():
                yield _parse(line.strip())


def _line(label: int, words: list[str]) -> str:
    return f"{label} {' '.join(words).lower()}\n"


def build(trees: Path, out: Path, train_lines: int | None = STANDARD_TRAIN_TREES) -> dict[str, int]:
    """Write the four files; return their line counts."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    seen: set[str] = set()
    with (out / "stsa.binary.phrases.train").open("w", encoding="utf-8") as phrases:
        counts["stsa.binary.phrases.train"] = 0
        for _, _, nodes in sentences(trees / "train.txt", train_lines):
            for label, words in reversed(nodes):  # root first
                binary, text = _binary(label), " ".join(words).lower()
                if binary is not None and text not in seen:
                    seen.add(text)
                    phrases.write(_line(binary, words))
                    counts["stsa.binary.phrases.train"] += 1
    for split, name, limit in (("train", "train", train_lines), ("dev", "dev", None), ("test", "test", None)):
        lines = [_line(b, words) for label, words, _ in sentences(trees / f"{split}.txt", limit)
                 if (b := _binary(label)) is not None]
        (out / f"stsa.binary.{name}").write_text("".join(lines), encoding="utf-8")
        counts[f"stsa.binary.{name}"] = len(lines)
    return counts


def check(out: Path, reference: Path) -> list[str]:
    """Names of the sentence files that differ from the reference copies (as multisets of lines)."""
    differing = []
    for name in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        ours = sorted((out / name).read_text(encoding="utf-8").splitlines())
        theirs = sorted(line.rstrip() for line in (reference / name).read_text(encoding="utf-8").splitlines())
        if ours != theirs:
            differing.append(f"{name}: {len(set(ours) ^ set(theirs))} lines differ")
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", type=Path, help="folder with the SST PTB-format train.txt, dev.txt, test.txt")
    parser.add_argument("out", type=Path)
    parser.add_argument("--train-lines", type=int, default=STANDARD_TRAIN_TREES)
    parser.add_argument("--check", type=Path, help="a folder with stsa.binary.{train,dev,test} to compare with")
    args = parser.parse_args()
    print(build(args.trees, args.out, args.train_lines))
    if args.check:
        differing = check(args.out, args.check)
        print("sentence files equal the reference" if not differing else "DIFFER: " + "; ".join(differing))


if __name__ == "__main__":
    main()
