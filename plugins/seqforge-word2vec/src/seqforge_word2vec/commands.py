"""``seqforge neighbors | export-vectors | evaluate-vectors``: query, export and evaluate trained vectors.

Each takes ``key=value`` words; vectors come from a checkpoint or run directory (``ckpt=``)
or from a word2vec text/binary file (``vectors=``). List values are written
``positive=[king,woman]`` (or ``positive=king,woman``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqforge.api import ExportsVectors, SeqforgeError, UsageError, load_run, parse_key_values
from seqforge_word2vec.vectors import WordVectors


def _words(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return [w.strip().strip("'\"") for w in value.split(",") if w.strip()]


def load_vectors(ckpt: str | None, vectors: str | None, command: str) -> WordVectors:
    """Vectors of a checkpoint (the task's input vectors) or of a word2vec-format file."""
    if bool(ckpt) == bool(vectors):
        raise UsageError(f"`seqforge {command}` needs exactly one of ckpt=<checkpoint or run directory> or "
                         "vectors=<word2vec file>.")
    if vectors:
        return WordVectors.load(vectors, key="vectors")
    module = load_run(ckpt, command=command)  # registry targets only: a checkpoint is data
    if not isinstance(module.task, ExportsVectors):
        raise SeqforgeError(f"The checkpoint {ckpt} is a {type(module.task).__name__} run, not a word2vec run "
                            "(task=word2vec).")
    return module.task.vectors(module.model, module.data)


@dataclass
class NeighborsArgs:
    ckpt: str | None = None
    vectors: str | None = None
    word: str | None = None
    positive: str = ""
    negative: str = ""
    topn: int = 10
    restrict_vocab: int | None = None


def neighbors(argv: list[str]) -> None:
    """``seqforge neighbors ckpt=... word=king topn=10`` or ``positive=[king,woman] negative=[man]``."""
    args, extra = parse_key_values(argv, NeighborsArgs, "neighbors")
    if extra:
        raise UsageError(f"`seqforge neighbors` takes no config overrides; got {', '.join(extra)}.")
    positive = ([args.word] if args.word else []) + _words(args.positive)
    negative = _words(args.negative)
    if not positive and not negative:
        raise UsageError("`seqforge neighbors` needs word=<word> or positive=[...] (and optionally negative=[...]).")
    if args.topn < 1:
        raise UsageError(f"`seqforge neighbors topn={args.topn}`: expected >= 1.")
    vectors = load_vectors(args.ckpt, args.vectors, "neighbors")
    query = " + ".join(positive) + "".join(f" - {w}" for w in negative)
    print(f"nearest to {query}:")
    for word, score in vectors.most_similar(positive, negative, topn=args.topn, restrict_vocab=args.restrict_vocab):
        print(f"  {word:<24} {score:.4f}")


@dataclass
class ExportArgs:
    ckpt: str | None = None
    output: str | None = None
    format: str = "text"  # text|binary


def export_vectors(argv: list[str]) -> None:
    """``seqforge export-vectors ckpt=... output=vectors.bin format=binary``."""
    args, extra = parse_key_values(argv, ExportArgs, "export-vectors")
    if extra or not args.output:
        raise UsageError("`seqforge export-vectors` takes ckpt=<checkpoint or run directory> output=<file> "
                         "[format=text|binary].")
    if args.format not in ("text", "binary"):
        raise UsageError(f"`seqforge export-vectors format={args.format}`: expected text or binary.")
    vectors = load_vectors(args.ckpt, None, "export-vectors")
    path = vectors.save(Path(args.output), binary=args.format == "binary")
    print(f"seqforge: wrote {len(vectors)} vectors of dimension {vectors.vectors.shape[1]} to {path} ({args.format} "
          "word2vec format)")


@dataclass
class EvaluateVectorsArgs:
    ckpt: str | None = None
    vectors: str | None = None
    analogy: str | None = None  # questions-words.txt format (or "demo")
    similarity: str | None = None  # wordsim353.tsv format
    restrict_vocab: int = 30000


def evaluate_vectors(argv: list[str]) -> None:
    """Analogy accuracy per section and in total; Spearman/Pearson on a similarity file."""
    from seqforge_word2vec.evaluation import evaluate_analogies, evaluate_similarity, read_analogies, read_similarity

    args, extra = parse_key_values(argv, EvaluateVectorsArgs, "evaluate-vectors")
    if extra:
        raise UsageError(f"`seqforge evaluate-vectors` takes no config overrides; got {', '.join(extra)}.")
    if not args.analogy and not args.similarity:
        raise UsageError("`seqforge evaluate-vectors` needs analogy=<questions-words file> and/or "
                         "similarity=<word-pairs file>.")
    if args.restrict_vocab < 1:
        raise UsageError(f"`seqforge evaluate-vectors restrict_vocab={args.restrict_vocab}`: expected >= 1.")
    vectors = load_vectors(args.ckpt, args.vectors, "evaluate-vectors")
    if args.analogy:
        result = evaluate_analogies(
            vectors, read_analogies(args.analogy, key="analogy"), restrict_vocab=args.restrict_vocab
        )
        print(f"analogies ({args.analogy}, restrict_vocab={args.restrict_vocab}):")
        for section in result.sections:
            answered = section.correct + section.incorrect
            accuracy = f"{100 * section.accuracy:6.2f}%" if answered else "     -"
            print(f"  {section.name:<32} {accuracy}  {section.correct}/{answered}  ({section.skipped} skipped: out of "
                  "vocabulary)")
        print(f"  {'total':<32} {100 * result.accuracy:6.2f}%  {result.correct}/{result.answered}  ({result.skipped} "
              "skipped)")
    if args.similarity:
        result = evaluate_similarity(vectors, read_similarity(args.similarity, key="similarity"))
        print(f"similarity ({args.similarity}): Spearman {result.spearman:.4f}, Pearson {result.pearson:.4f} "
              f"over {result.pairs} pairs ({result.skipped} skipped: out of vocabulary)")
