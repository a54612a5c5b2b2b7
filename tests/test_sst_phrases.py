"""bench/sst_phrases.py: SST-2 phrase-level training data from the treebank's PTB-format trees."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from sst_phrases import build, check

# two training trees (the second has a neutral root), one dev and one test tree
TRAIN = [
    "(3 (2 (2 The) (2 Rock)) (4 (3 (2 is) (4 great)) (2 .)))",
    "(2 (1 (2 not) (0 awful)) (3 (2 8\u00a01\\/2) (3 fun)))",
    "(4 (4 great) (2 !))",
]
DEV = ["(1 (2 too) (1 long))"]
TEST = ["(4 (3 very) (4 good))", "(2 (2 just) (2 ok))"]


def _write(folder: Path) -> Path:
    folder.mkdir()
    for name, trees in (("train", TRAIN + DEV), ("dev", DEV), ("test", TEST)):  # train.txt with dev appended
        (folder / f"{name}.txt").write_text("\n".join(trees) + "\n", encoding="utf-8")
    return folder


def test_phrases_are_every_distinct_non_neutral_node_and_sentences_the_non_neutral_roots(tmp_path: Path) -> None:
    counts = build(_write(tmp_path / "trees"), tmp_path / "out", train_lines=len(TRAIN))
    phrases = (tmp_path / "out" / "stsa.binary.phrases.train").read_text(encoding="utf-8").splitlines()
    assert phrases == [  # root first, then each node's right subtree before its left; lowercased
        "1 the rock is great .",  # 3 and 4 -> 1
        "1 is great .",
        "1 is great",
        "1 great",
        "1 8\u00a01\\/2 fun",  # a token holding a no-break space stays one token
        "1 fun",
        "0 not awful",  # the neutral root and neutral nodes are left out; 0 and 1 -> 0
        "0 awful",
        "1 great !",  # "great" again: a phrase already written is not repeated
    ]
    assert counts == {"stsa.binary.phrases.train": 9, "stsa.binary.train": 2, "stsa.binary.dev": 1,
                      "stsa.binary.test": 1}
    assert (tmp_path / "out" / "stsa.binary.test").read_text(encoding="utf-8") == "1 very good\n"


def test_check_compares_the_sentence_files_with_a_reference(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(_write(tmp_path / "trees"), out, train_lines=len(TRAIN))
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        (reference / name).write_text((out / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert check(out, reference) == []
    (reference / "stsa.binary.dev").write_text("0 too long !\n", encoding="utf-8")
    assert check(out, reference) == ["stsa.binary.dev: 2 lines differ"]
