"""trainer=epochs composes; model.init_range with pretrained vectors (on experiment=sst2, from seqforge-labelled).

The conll_ner and sst2 presets' own tests live in plugins/seqforge-labelled/tests/test_presets.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import compose_config


@pytest.mark.requires_plugins("rnn")
def test_trainer_epochs_trains_by_epochs_on_whole_splits() -> None:
    """trainer=epochs: max_epochs, no step cap, validation every epoch, whole splits"""
    cfg = compose_config(["trainer=epochs"])
    t = cfg.trainer
    assert (t.max_steps, t.max_epochs, t.val_check_interval, t.check_val_every_n_epoch) == (-1, 20, None, 1)
    assert (t.limit_val_batches, t.limit_test_batches) == (None, None)


@pytest.mark.requires_plugins("rnn")
def test_init_range_keeps_pretrained_rows_and_initialises_the_words_without_a_vector(tmp_path: Path) -> None:
    """model.init_range with model.embedding.pretrained: loaded vectors are kept, the other rows are uniform in +-r"""

    from seqforge.train import build_run

    for split in ("train", "dev", "test"):
        (tmp_path / f"stsa.binary.{split}").write_text("1 good film\n0 bad plot\n")
    (tmp_path / "vectors.txt").write_text(
        "2 100\n" + "".join(f"{w} " + " ".join(["3.0"] * 100) + "\n" for w in ("good", "bad"))
    )
    cfg = compose_config(
        [
            "experiment=sst2",
            *(
                f"data.{k}={tmp_path}/stsa.binary.{s}"
                for k, s in (("train", "train"), ("valid", "dev"), ("test", "test"))
            ),
            f"model.embedding.pretrained={tmp_path}/vectors.txt",
            "model.init_range=0.1",
        ]
    )
    module = build_run(cfg)
    weight = module.model.embedding.weight.detach()
    tokens = module.data.codec.tokens(range(len(module.data.codec)))
    loaded = [i for i, t in enumerate(tokens) if t in ("good", "bad")]
    others = [i for i in range(len(tokens)) if i not in loaded]
    assert len(loaded) == 2 and bool((weight[loaded] == 3.0).all())
    assert float(weight[others].abs().max()) <= 0.1  # not the N(0, 1) default
