"""Decoding speed: greedy vs beam 5 vs beam 10 on the same trained model, batched.

    python bench/decode.py --ckpt outputs/<run>/checkpoints/last.ckpt   # a translate_demo run
    python bench/decode.py                                              # trains a small demo model first (~1 min)

Variants are interleaved within each repetition and the median over
repetitions is reported, as sentences/second and as the cost relative to
greedy (target: beam 5 costs <= 3x greedy). The machine is noisy: compare
ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def trained_demo(steps: int) -> Path:
    """Train a small translate_demo model in-process and return its checkpoint."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from compose_helpers import compose_config

    from seqforge.train import run_training

    run_dir = Path(tempfile.mkdtemp(prefix="bench-decode-"))
    cfg = compose_config(
        [
            "experiment=translate_demo",
            f"trainer.max_steps={steps}",
            f"trainer.val_check_interval={steps}",
            "trainer.enable_progress_bar=false",
            "task.heatmaps=0",
            "task.show_examples=0",
            "data.n_valid=200",
            "data.n_test=200",
        ]
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    run_training(cfg, run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, help="a translate_demo checkpoint (default: train one)")
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from seqforge.checkpoint_loading import load_checkpoint
    from seqforge.tasks.configs import DecodeConfig
    from seqforge.train import restore
    from seqforge_seq2seq.dates import generate_pairs

    module = restore(load_checkpoint(args.ckpt or trained_demo(args.train_steps)))
    task, model, data = module.task, module.model.eval(), module.data
    pairs = generate_pairs(args.sentences, seed=999, first_year=1950, last_year=2049, locales=list(data.cfg.locales))
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    variants = {
        "greedy": DecodeConfig(strategy="greedy", max_len=12),
        "beam 5": DecodeConfig(strategy="beam", beam_size=5, max_len=12),
        "beam 10": DecodeConfig(strategy="beam", beam_size=10, max_len=12),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    accuracy: dict[str, float] = {}
    task.translate(model, data, sources[:32], variants["beam 5"], batch_size=args.batch_size)  # warm-up
    for _ in range(args.repeats):
        for name, options in variants.items():  # interleaved: load changes hit every variant alike
            start = time.perf_counter()
            outputs, _ = task.translate(model, data, sources, options, batch_size=args.batch_size)
            seconds[name].append(time.perf_counter() - start)
            accuracy[name] = sum(o[0][0] == r for o, r in zip(outputs, references)) / len(references)

    greedy = statistics.median(seconds["greedy"])
    print(f"{args.sentences} sentences, batch {args.batch_size}, {args.repeats} repetitions, {args.threads} threads "
          "(medians)")
    print(f"{'variant':<10}{'sentences/s':>14}{'cost vs greedy':>16}{'exact match':>14}")
    for name in variants:
        median = statistics.median(seconds[name])
        print(f"{name:<10}{args.sentences / median:>14.1f}{median / greedy:>15.2f}x{accuracy[name]:>14.3f}")
    ratio = statistics.median(seconds["beam 5"]) / greedy
    print(f"target beam 5 <= 3x greedy: {'met' if ratio <= 3 else 'NOT met'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
