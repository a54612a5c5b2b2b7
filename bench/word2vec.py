"""word2vec: seqforge (compiled Hogwild kernels, trained through seqforge's Lightning loop) vs gensim, side by side.

    python bench/word2vec.py /work/shared/data/word2vec_corpus/kjv.txt.gz \
        --analogy /work/shared/data/word2vec_eval/questions-words.txt \
        --similarity /work/shared/data/word2vec_eval/wordsim353.tsv [--arch skipgram cbow] [--epochs 5] [--repeats 3]

Same corpus file, same hyper-parameters for both (dim 100, window 5, negative 5, min_count 5,
sample 1e-3, 2 threads, linear lr decay 0.025 -> 0.0001): for each architecture and repetition
the two trainers run one after the other (interleaved), and the median throughput is reported.
Throughput is corpus words (all tokens of the file, times epochs) per second of training wall
time; vocabulary counting is excluded for both. Quality is measured with the same evaluator
(seqforge_word2vec.evaluation, gensim's protocol: case-insensitive, restrict_vocab=30000, 3CosAdd)
on both models. Needs `pip install gensim`. The last line is the headline throughput ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quality(words: list[str], vectors, analogy: str | None, similarity: str | None) -> tuple[float, float]:
    from seqforge_word2vec.evaluation import evaluate_analogies, evaluate_similarity, read_analogies, read_similarity
    from seqforge_word2vec.vectors import WordVectors

    wv = WordVectors(words, vectors)
    acc = evaluate_analogies(wv, read_analogies(analogy), restrict_vocab=30000).accuracy if analogy else float("nan")
    rho = evaluate_similarity(wv, read_similarity(similarity)).spearman if similarity else float("nan")
    return acc, rho


def run_gensim(corpus: str, arch: str, args) -> tuple[float, list[str], object, int]:
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(
        vector_size=args.dim,
        window=args.window,
        negative=args.negative,
        min_count=args.min_count,
        sample=args.sample,
        sg=int(arch == "skipgram"),
        cbow_mean=1,
        workers=args.workers,
        epochs=args.epochs,
        alpha=0.025,
        min_alpha=0.0001,
        seed=1,
    )
    sentences = LineSentence(corpus)
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=args.epochs)
    seconds = time.perf_counter() - started
    return seconds, list(model.wv.index_to_key), model.wv.vectors, model.corpus_total_words


def run_seqforge(corpus: str, arch: str, args) -> tuple[float, list[str], object, int]:
    sys.path.insert(0, str(ROOT / "tests"))
    from compose_helpers import compose_config

    from seqforge.train import build_run, make_trainer

    cfg = compose_config([
        "task=word2vec", "data=word2vec", f"data.path={corpus}", f"model.arch={arch}", "model.loss=negative_sampling",
        f"model.embedding_dim={args.dim}", f"data.window={args.window}", f"task.negative={args.negative}",
        f"data.min_count={args.min_count}", f"data.sample={args.sample}", f"task.workers={args.workers}",
        "task.lr=0.025", "task.min_lr=0.0001", f"trainer.max_epochs={args.epochs}", "trainer.max_steps=-1",
        "trainer.gradient_clip_val=null", "trainer.limit_val_batches=0", "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=1", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
        "checkpoint.every_n_train_steps=null", "logger=none", "test_after_fit=false", "task.export=none",
    ])
    module = build_run(cfg)  # counts the vocabulary (first pass), not timed (gensim's build_vocab is not timed either)
    warm_up(module)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-w2v-"))
    trainer = make_trainer(cfg, run_dir, task=module.task)
    started = time.perf_counter()
    trainer.fit(module, datamodule=module.data)
    seconds = time.perf_counter() - started
    vectors = module.model.input.weight.detach().numpy()
    return seconds, list(module.data.vocab.words), vectors, module.data.vocab.corpus_words


def warm_up(module) -> None:
    """Load the compiled kernel (numba's on-disk cache, or a one-off compile) before timing; gensim's Cython is
    prebuilt."""
    import numpy as np

    from seqforge_word2vec.data import Chunk

    words = np.zeros(8, dtype=np.int32)
    saved = module.model.input.weight.detach().clone(), module.model.output.weight.detach().clone()
    module.task._kernel_step(module.model, Chunk(words, np.array([0, 8], dtype=np.int64), 0), 0.0, 0)
    module.model.input.weight.data.copy_(saved[0])
    module.model.output.weight.data.copy_(saved[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="a text file (.gz ok), one sentence per line, whitespace-tokenized")
    parser.add_argument("--analogy", default=None, help="questions-words.txt")
    parser.add_argument("--similarity", default=None, help="wordsim353.tsv")
    parser.add_argument("--arch", nargs="+", default=["skipgram", "cbow"], choices=["skipgram", "cbow"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import logging
    import warnings

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    runners = {"gensim": run_gensim, "seqforge": run_seqforge}
    ratios = []
    print(f"corpus {args.corpus}: dim {args.dim}, window {args.window}, negative {args.negative}, min_count "
          f"{args.min_count}, sample {args.sample}, {args.epochs} epochs, {args.workers} threads, {args.repeats} "
          "repetition(s)")
    print(f"{'arch':<9} {'trainer':<9} {'words/s (median)':>17} {'seconds':>8} {'analogy':>8} {'WS353 rho':>10}")
    for arch in args.arch:
        speeds: dict[str, list[float]] = {name: [] for name in runners}
        results: dict[str, tuple] = {}
        for _ in range(args.repeats):
            for name, run in runners.items():  # interleaved
                seconds, words, vectors, corpus_words = run(args.corpus, arch, args)
                speeds[name].append(corpus_words * args.epochs / seconds)
                results[name] = (seconds, words, vectors)
        for name in runners:
            seconds, words, vectors = results[name]
            acc, rho = quality(words, vectors, args.analogy, args.similarity)
            print(f"{arch:<9} {name:<9} {statistics.median(speeds[name]):>17,.0f} {seconds:>8.2f} {100 * acc:>7.2f}% "
                  f"{rho:>10.3f}")
        ratio = statistics.median(speeds["seqforge"]) / statistics.median(speeds["gensim"])
        ratios.append((arch, ratio))
        per_rep = ", ".join(f"{s / g:.2f}" for s, g in zip(speeds["seqforge"], speeds["gensim"]))
        print(f"{arch:<9} throughput seqforge/gensim: {ratio:.2f}x (per repetition: {per_rep})")
    print("throughput ratio seqforge/gensim: " + ", ".join(f"{arch} {ratio:.2f}x" for arch, ratio in ratios))


if __name__ == "__main__":
    main()
