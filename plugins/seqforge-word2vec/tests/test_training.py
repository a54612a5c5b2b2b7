"""Training through seqforge's Lightning loop recovers planted structure, for each architecture, loss and backend."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from compose_helpers import compose_config

from seqforge.api import ConfigError


def planted_corpus(path: Path, pairs: int = 12, sentences: int = 2500, seed: int = 0) -> Path:
    """Topic K has context words tK_0..tK_3 and two interchangeable words aK, bK (one of them in every sentence of
    topic K), among random filler words: aK and bK share every context, so each is the other's nearest neighbour."""
    rng = random.Random(seed)
    filler = [f"f{i}" for i in range(40)]
    lines = []
    for _ in range(sentences):
        k = rng.randrange(pairs)
        words = rng.sample(filler, 5) + rng.sample([f"t{k}_{j}" for j in range(4)], 3)
        rng.shuffle(words)
        words.insert(rng.randrange(9), f"{rng.choice('ab')}{k}")
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def overrides(corpus: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "task=word2vec",
        "data=word2vec",
        f"data.path={corpus}",
        "data.min_count=1",
        "data.window=3",
        "data.sample=0",
        "data.chunk_words=5000",
        "data.probe_words=2000",
        "model.embedding_dim=16",
        "task.workers=1",
        "task.export=text",
        "trainer.max_epochs=10",
        "trainer.max_steps=-1",
        "trainer.gradient_clip_val=null",
        "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=10",
        "trainer.limit_val_batches=null",
        "trainer.limit_test_batches=null",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "logger=csv",
        "seed=1",
        *extra,
    ]


@pytest.mark.parametrize(
    "arch,loss,backend",
    [("skipgram", "negative_sampling", "kernel"), ("cbow", "nce", "kernel"), ("skipgram", "nce", "kernel"),
     ("cbow", "negative_sampling", "torch"), ("skipgram", "softmax", "torch")],
)
def test_nearest_neighbours_recover_planted_pairs(tmp_path: Path, arch: str, loss: str, backend: str) -> None:
    """bK is among aK's two nearest neighbours (words with the same contexts); vectors, checkpoint and metrics are
    written"""
    from seqforge.train import run_training
    from seqforge_word2vec.vectors import WordVectors

    corpus = planted_corpus(tmp_path / "planted.txt")
    lr = "0.05" if arch == "cbow" and backend == "kernel" else "0.025"
    cfg = compose_config(
        overrides(
            corpus,
            tmp_path / "run",
            f"model.arch={arch}",
            f"model.loss={loss}",
            f"task.backend={backend}",
            f"task.lr={lr}",
            "task.torch_batch_pairs=256",
        )
    )
    metrics = run_training(cfg, tmp_path / "run")
    vectors = WordVectors.load(tmp_path / "run" / "vectors.txt")
    hits = sum(f"b{k}" in [w for w, _ in vectors.most_similar([f"a{k}"], topn=2)] for k in range(12))
    assert hits >= 10, hits  # by chance: about 0.25 of 12 (two of ~100 words)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert metrics["test"]["loss"] == pytest.approx(metrics["val"]["loss"])  # test is the same probe


def test_probe_loss_decreases_with_training(tmp_path: Path) -> None:
    """val/loss after training is below the loss of the untrained model on the same probe"""
    from seqforge.train import build_run, make_trainer

    corpus = planted_corpus(tmp_path / "planted.txt")
    cfg = compose_config(
        overrides(corpus, tmp_path / "run", "trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1")
    )
    module = build_run(cfg)
    sums, _ = module.task.evaluation_step(module.model, module.data.probe(), None, stateful=False)
    before = float(sums["loss_sum"] / sums["examples"])
    trainer = make_trainer(cfg, tmp_path / "run", task=module.task)
    trainer.fit(module, datamodule=module.data)
    after = module.last_metrics["val"]["loss"]
    assert after < 0.9 * before, (before, after)
    assert trainer.global_step == 2 * module.data.chunks_per_epoch  # one Lightning step per chunk


def test_unknown_arch_and_loss_list_the_choices(tmp_path: Path) -> None:
    from seqforge.train import build_run

    corpus = planted_corpus(tmp_path / "planted.txt", sentences=50)
    with pytest.raises(ConfigError, match=r"model\.arch='skipgrm'.*skipgram, cbow"):
        build_run(compose_config(overrides(corpus, tmp_path, "model.arch=skipgrm")))
    with pytest.raises(ConfigError, match=r"model\.loss='hs'.*negative_sampling, nce, softmax"):
        build_run(compose_config(overrides(corpus, tmp_path, "model.loss=hs")))
