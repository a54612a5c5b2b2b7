"""``seqforge translate``: apply a trained sequence-to-sequence model to new source lines."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from seqforge.api import (
    Translates,
    UsageError,
    command_for,
    load_run,
    parse_key_values,
    read_input_lines,
    write_output_lines,
)


@dataclass
class TranslateArgs:
    ckpt: str | None = None
    input: str = "-"  # a file with one source sentence per line, or - for stdin
    output: str = "-"  # a file, or - for stdout
    decode: str | None = None  # greedy|beam|sample (default: the checkpoint's task.decode.strategy)
    batch_size: int = 64


def translate(argv: list[str]) -> None:
    """``seqforge translate ckpt=... input=... output=... decode=beam decode.beam_size=5 decode.n_best=3``."""
    args, overrides = parse_key_values(argv, TranslateArgs, "translate")
    # decode.* belong to the task's decoding options; other dotted keys address the config directly.
    overrides = [f"task.{o}" if o.startswith("decode.") else o for o in overrides]
    if args.decode is not None:
        overrides.append(f"task.decode.strategy={args.decode}")
    if not args.ckpt:
        raise UsageError("`seqforge translate` needs ckpt=<checkpoint file or run directory>.")
    module = load_run(args.ckpt, overrides, command="translate")
    if not isinstance(module.task, Translates):
        raise UsageError(
            f"the checkpoint {args.ckpt} holds a {type(module.task).__name__}, which does not translate: `seqforge "
            f"translate` applies sequence-to-sequence models (task=translation). {command_for(module.task)}"
        )
    lines = read_input_lines(args.input)
    results, unknown = module.task.translate(module.model, module.data, lines, batch_size=args.batch_size)
    n_best = module.task.decode.n_best if module.task.decode.strategy == "beam" else 1
    rows = []
    for number, nbest in enumerate(results):
        if n_best > 1:  # Moses n-best format: id ||| hypothesis ||| score
            rows += [f"{number} ||| {text} ||| {hyp.score:.4f}" for text, hyp in nbest[:n_best]]
        else:
            rows.append(nbest[0][0])
    write_output_lines(args.output, rows)
    print(
        f"seqforge: translated {len(lines)} line(s); {unknown} unknown source token(s) mapped to <unk>", file=sys.stderr
    )
