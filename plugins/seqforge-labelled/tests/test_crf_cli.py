"""`task.output=crf` end to end: experiment=wnut17 on tiny WNUT-format files, the checkpoint, and `seqforge predict`
decoding by Viterbi."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import QUIET, run_seqforge_in_process

# WNUT 2017 layout: token<TAB>tag, IOB2; sentences end with an empty line or with a line holding only a tab.
SENTENCES = [
    ("@paulwalk It 's the view ??? from where I 'm living ${x}", "O O O O O O O O O O O O"),
    ("Empire State Building is in New York", "B-location I-location I-location O O B-location I-location"),
    ("watching The Walking Dead with Sam", "O B-creative-work I-creative-work I-creative-work O B-person"),
]


def write_wnut(path: Path, copies: int) -> str:
    blocks = ["".join(f"{w}\t{t}\n" for w, t in zip(s.split(), tags.split())) for s, tags in SENTENCES * copies]
    path.write_text("".join(block + ("\t\n" if i % 2 else "\n") for i, block in enumerate(blocks)), encoding="utf-8")
    return str(path)


@pytest.mark.slow
def test_wnut17_preset_trains_a_crf_tagger_whose_predictions_are_viterbi_decoded(tmp_path: Path) -> None:
    """experiment=wnut17 with data.train/valid/test: a CRF with IOB2 constraints in the checkpoint, seqeval scores
    printed;
    with the checkpoint's tag scores edited to favour I-location everywhere, `seqforge predict` still writes
    B-location first"""
    train, dev = write_wnut(tmp_path / "train.conll", 6), write_wnut(tmp_path / "dev.conll", 1)
    result = run_seqforge_in_process(
        "train", "experiment=wnut17", f"data.train={train}", f"data.valid={dev}", f"data.test={dev}", *QUIET,
        "model.hidden_size=8", "model.embedding_dim=8", "task.char_embedding_dim=4", "task.char_hidden_size=4",
        "trainer.max_steps=4", "trainer.val_check_interval=2", f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "sentences train/valid/test 18/3/3" in result.stdout and "Entities on the test split (seqeval)" in result.stdout
    )
    last = tmp_path / "out" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    state, tags = checkpoint["state_dict"], checkpoint["seqforge"]["data_state"]["tags"]
    assert state["model.crf.transitions"].shape == (6, 6) and not state["model.crf.allowed"].all()
    state["model.head.weight"].zero_()
    state["model.head.bias"].zero_()
    state["model.head.bias"][tags.index("I-location")] = 10.0
    state["model.head.bias"][tags.index("B-location")] = 5.0  # a one-word sentence: B-location (I- cannot start one)
    torch.save(checkpoint, last)
    predicted = run_seqforge_in_process("predict", f"ckpt={last}", cwd=tmp_path, stdin="I live in New York\nParis\n")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    blocks = [
        [row.split("\t")[1] for row in block.splitlines()] for block in predicted.stdout.rstrip("\n").split("\n\n")
    ]
    assert blocks == [["B-location"] + ["I-location"] * 4, ["B-location"]]
