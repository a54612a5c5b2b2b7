"""One seq2seq training step (forward + backward), the decoder over every padded position vs packed.

    python bench/packed_decoder.py --ckpt RUN/checkpoints/last.ckpt     # a bench/multi30k.py run (the recipe's model)
    python bench/packed_decoder.py --ckpt ... --batches 4 --repeats 5 --threads 2

``Seq2Seq.forward(..., tgt_lengths=)`` runs step ``t`` only for the sentences longer than ``t``; the
third variant adds ``train.flush_denormal`` (denormal floats as 0), whose gain grows with the
checkpoint's age (Adam's moments of rarely seen rows decay into denormals). The
batches are random draws of the run's own training pairs (``data.batch_size`` of them), so their
padding is what training sees. Variants alternate within each repetition; the script prints each
one's median seconds per step, the ratio, and the share of real target positions. Run it on a
quiet machine (nothing else using PyTorch).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="a translation run's checkpoint (or run directory)")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--teacher-forcing", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from seqforge.api import load_run
    from seqforge_seq2seq.parallel import collate

    module = load_run(args.ckpt, command="bench")
    model, data = module.model.train(), module.data
    data.prepare()
    rng = random.Random(0)
    train = data.encoded["train"]
    batches = [collate(rng.sample(train, data.cfg.batch_size)) for _ in range(args.batches)]
    real = sum(int((b.tgt_out != 0).sum()) for b in batches) / sum(b.tgt_out.numel() for b in batches)

    def step(batch, packed: bool, flush: bool = False) -> float:
        lengths = (batch.tgt_out != 0).sum(dim=1) if packed else None
        torch.set_flush_denormal(flush)
        start = time.perf_counter()
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=args.teacher_forcing,
                          tgt_lengths=lengths)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0)
        loss.backward()
        model.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        torch.set_flush_denormal(False)
        return elapsed

    step(batches[0], True)  # warm-up: allocator, thread pool
    variants = {"every position": (False, False), "packed": (True, False), "packed + flush_denormal": (True, True)}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (packed, flush) in variants.items():
            times[name].append(sum(step(b, packed, flush) for b in batches) / len(batches))
    every, packed, flushed = (statistics.median(times[name]) for name in variants)
    print(f"batches {args.batches} x {data.cfg.batch_size} sentences, real target positions {real:.1%}, "
          f"{args.threads} thread(s), {args.repeats} repetitions")
    print(f"every position {every:.3f} s/step | packed {packed:.3f} s/step ({packed / every:.2f}x) | "
          f"packed + flush_denormal {flushed:.3f} s/step ({flushed / every:.2f}x)")

if __name__ == "__main__":
    main()
