"""bench/multi30k.py composes the anchor's model: with the anchor's vocabulary sizes it has the anchor's parameters."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from compose_helpers import compose_config

from seqforge.builders import instantiate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from multi30k import detokenize, recipe_overrides

ANCHOR_VOCAB = {"de": 7853, "en": 5893}  # bentrevett notebook 3: len(de_vocab), len(en_vocab)
ANCHOR_PARAMETERS = 20_518_405  # its "The model has 20,518,405 trainable parameters"


class SizedCodec:
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def tokens(self, ids):
        return [f"w{i}" for i in ids]


def _recipe_config(**sizes):
    files = {f"{split}.{lang}": Path(f"/nonexistent/{split}.{lang}") for split in ("train", "val", "test_2016_flickr")
             for lang in ("de", "en")}
    options = {"tokenizer": "spacy", "hidden": 512, "embedding": 256, "epochs": 10, **sizes}
    return compose_config(recipe_overrides(files, **options))


def test_the_recipe_model_has_exactly_the_anchors_parameter_count() -> None:
    """BiGRU 512 + bridge + additive attention + GRU decoder on [emb; context] + concat readout = 20,518,405"""
    cfg = _recipe_config()
    data = SimpleNamespace(source_codec=SizedCodec(ANCHOR_VOCAB["de"]), target_codec=SizedCodec(ANCHOR_VOCAB["en"]),
                           cfg=SimpleNamespace(shared_vocab=False))
    model = instantiate(cfg.task, "task").build_model(cfg, data)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == ANCHOR_PARAMETERS
    assert model.decoder.output.in_features == 512 + 1024 + 256  # fc_out reads [s_t; c_t; embedding]


def test_the_recipe_sets_the_anchors_training_choices() -> None:
    """Teacher forcing 0.5, free-running validation loss picks best.ckpt, N(0, 0.01) init, words with min_freq 2"""
    cfg = _recipe_config()
    assert (cfg.task.teacher_forcing, cfg.task.eval_teacher_forcing) == (0.5, 0.0)
    assert (cfg.checkpoint.monitor, cfg.checkpoint.mode) == ("val/loss", "min")
    assert (cfg.model.init_std, cfg.model.init_range, cfg.model.dropout) == (0.01, None, 0.5)
    assert (cfg.data.tokenizer, cfg.data.min_freq, cfg.data.batch_size) == ("word", 2, 128)
    assert (cfg.optim.name, cfg.optim.lr) == ("adam", 1e-3)
    assert (cfg.trainer.gradient_clip_val, cfg.trainer.max_epochs) == (1.0, 10)
    assert (cfg.task.decode.strategy, cfg.task.decode.max_len, cfg.task.decode.max_len_ratio) == ("greedy", 25, 0)


def test_detokenize_rejoins_what_spacy_splits_and_13a_keeps() -> None:
    """'t - shirt' -> 't-shirt', "man 's" -> "man's", "do n't" -> "don't"; other spacing is left to sacreBLEU"""
    assert detokenize("a man 's red t - shirt , he do n't .") == "a man's red t-shirt , he don't ."
