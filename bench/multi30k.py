"""Multi30k de->en with the recipe "BiGRU encoder + Bahdanau attention", scored with sacrebleu.

    python bench/multi30k.py ../shared/data/multi30k                # the recipe (hours on 2 CPU cores)
    python bench/multi30k.py ../shared/data/multi30k --max-minutes 30 --hidden 256

The recipe follows the widely used PyTorch tutorial of Bahdanau et al. (2015)
on Multi30k: bidirectional GRU encoder, GRU decoder with additive attention,
embeddings 256, hidden 512, dropout 0.5, Adam 1e-3, gradient clipping 1,
10 epochs, greedy decoding; its published test BLEU is about 28. Differences:
seqforge lowercases and uses a learned BPE vocabulary instead of spaCy word
tokens. Two BLEU scores of the same greedy test_2016_flickr output (1,000 sentences):

* sacreBLEU: corpus BLEU on detokenized output against the lowercased raw references
  (13a tokenization) -- the standard, comparable across papers;
* anchor-style BLEU: the way the reference recipe computes its 28.30 (torchtext
  ``bleu_score`` over lowercased spaCy tokens), with an offline spaCy-like tokenizer
  (``bench/anchor_bleu.py`` states the differences) -- the like-for-like comparison.

``--score CKPT`` only scores a trained checkpoint (no training).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder with train/val/test_2016_flickr .de.gz/.en.gz")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop training after this long (then test)")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--embedding", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=8000, help="BPE vocabulary size per language")
    parser.add_argument("--beam", type=int, default=1, help="1: greedy decoding (the reference number is greedy)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--score", type=Path, default=None, help="score this checkpoint (or run directory) on the test "
                                                                 "set; no training")
    args = parser.parse_args()

    files = {
        name: args.data / f"{name}.gz"
        for name in ("train.de", "train.en", "val.de", "val.en", "test_2016_flickr.de", "test_2016_flickr.en")
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        sys.exit(f"missing Multi30k files: {', '.join(missing)}")

    if args.score is not None:
        report_bleu(args.score, files["test_2016_flickr.de"], files["test_2016_flickr.en"], args.beam)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from compose_helpers import compose_config

    from seqforge.train import run_training

    max_time = f"00:00:{int(args.max_minutes):02d}:00" if args.max_minutes else None
    overrides = [
        "task=translation",
        "data=parallel",
        "model/cell=gru",
        "model/attention=bahdanau",
        "model.decoder.attention_style=bahdanau",
        f"data.source={files['train.de']}",
        f"data.target={files['train.en']}",
        f"data.valid_source={files['val.de']}",
        f"data.valid_target={files['val.en']}",
        f"data.test_source={files['test_2016_flickr.de']}",
        f"data.test_target={files['test_2016_flickr.en']}",
        "data.tokenizer=subword",
        f"data.subword_vocab_size={args.vocab}",
        "data.lowercase=true",
        "data.batch_size=128",
        "data.max_source_len=80",
        "data.max_target_len=80",
        f"model.embedding_dim={args.embedding}",
        f"model.hidden_size={args.hidden}",
        "model.bidirectional=true",
        "model.dropout=0.5",
        "optim.lr=1e-3",
        "trainer.gradient_clip_val=1.0",
        f"trainer.max_epochs={args.epochs}",
        "trainer.max_steps=-1",
        "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=1",
        "trainer.limit_val_batches=null",
        "trainer.limit_test_batches=null",
        "task.heatmaps=2",
        "task.decode.max_len=80",
        "task.decode.max_len_ratio=2.0",
    ]
    if args.beam > 1:
        overrides += ["task.decode.strategy=beam", f"task.decode.beam_size={args.beam}"]
    if max_time:
        overrides.append(f"trainer.max_time={max_time}")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-multi30k-"))
    print(f"run directory: {out}")
    out.mkdir(parents=True, exist_ok=True)
    run_training(compose_config(overrides), out)
    report_bleu(
        out / "checkpoints" / "last.ckpt", files["test_2016_flickr.de"], files["test_2016_flickr.en"], args.beam
    )


def report_bleu(checkpoint: Path, source_file: Path, reference_file: Path, beam: int) -> dict[str, float]:
    """Translate the test sources with the trained model; print sacreBLEU and the anchor's BLEU side by side."""
    import dataclasses
    import gzip

    import sacrebleu

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from anchor_bleu import anchor_bleu

    from seqforge.checkpoint_loading import load_checkpoint, resolve_checkpoint
    from seqforge.train import restore

    module = restore(load_checkpoint(resolve_checkpoint(str(checkpoint))))
    with gzip.open(source_file, "rt", encoding="utf-8") as file:
        sources = file.read().splitlines()
    with gzip.open(reference_file, "rt", encoding="utf-8") as file:
        references = [line.lower() for line in file.read().splitlines()]
    options = dataclasses.replace(module.task.decode, strategy="beam" if beam > 1 else "greedy", beam_size=max(beam, 1))
    outputs, _ = module.task.translate(module.model, module.data, sources, options)
    hypotheses = [nbest[0][0] for nbest in outputs]
    scores = {
        "sacrebleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
        "anchor_bleu": anchor_bleu(hypotheses, references),
    }
    print(f"\ntest_2016_flickr ({len(hypotheses)} sentences, {'beam ' + str(beam) if beam > 1 else 'greedy'}):")
    print(f"  sacreBLEU (detokenized, lowercased references, 13a): {scores['sacrebleu']:.2f}")
    print(f"  anchor-style BLEU (lowercased spaCy-like tokens, torchtext bleu_score): {scores['anchor_bleu']:.2f}"
          "   reference recipe (bentrevett notebook 3, greedy): 28.30")
    return scores


if __name__ == "__main__":
    main()
