"""Rerun a row of README's Results table: the row's one command, its metric and wall time.

    python bench/results.py --list
    python bench/results.py sst2 --data ../shared/data
    python bench/results.py word2vec sst2_w2v --data ../shared/data      # sst2_w2v uses the vectors word2vec wrote
    python bench/results.py all --data ../shared/data --out bench-results
    python bench/results.py sst2_phrases_spacy --sst-trees TREES --spacy-model WHEEL   # see below

Rows named ``*_spacy`` start from spaCy's ``en_core_web_md`` vectors: ``--spacy-model`` is that
pipeline or the wheel holding it (``bench/spacy_vectors.py`` says how to get it); the row exports
the vectors of its training words first. Rows named ``sst2_phrases*`` train on every labelled
phrase of the SST training trees, as the published SST-2 numbers do: ``--sst-trees`` is the folder
of the treebank's PTB-format ``train.txt``/``dev.txt``/``test.txt`` (``bench/sst_phrases.py``).

Each row runs the `seqforge train ...` command printed in the table (as a subprocess, run
directory ``<out>/<row>``), reads the metric from the run's ``result.json`` and prints one
Markdown row: task | data | command | metric | seqforge | published | wall time, with the
load average at the start (the machine may be shared: record it next to the time). Never run
in CI: the rows take minutes to hours. ``--data`` is the folder holding the data sets
(``sst2/``, ``word2vec_corpus/``, ``word2vec_eval/``, ``multi30k/``, ``wnut17/``, ``ptb/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One line of the Results table."""

    task: str
    data: str
    metric: str  # the key in result.json's "final", e.g. "test/acc"
    published: str
    args: Callable[[Path, Path], list[str]]  # (data folder, run dir) -> `seqforge train` arguments
    needs: tuple[str, ...] = ()  # files under --data that must exist
    scale: float = 1.0  # printed value = metric * scale (accuracies as %)
    script: Callable[[Path, Path], list[str]] | None = None  # a bench script instead of `seqforge train`
    note: str = ""
    after: tuple[str, ...] = field(default=())  # rows whose output this row uses
    prepare: Callable[[Path, Path], None] | None = None  # (data folder, run dir): inputs to write before the run
    best_too: bool = False  # also report the metric of checkpoints/best.ckpt (picked on the validation split)
    options: tuple[str, ...] = ()  # command-line options the row needs (keys of OPTIONS)


#: Paths given on the command line (``--spacy-model``, ``--sst-trees``), for the rows that need them.
OPTIONS: dict[str, Path | None] = {"spacy_model": None, "sst_trees": None}


def _build_corpus(data: Path, out: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from w2v_corpus import build

    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"word2vec corpus {out}: {build(data, out)}", flush=True)


def _sst2(data: Path, train: Path | None = None) -> list[str]:
    d = data / "sst2"
    return [
        "experiment=sst2",
        f"data.train={train or d / 'stsa.binary.train'}",
        f"data.valid={d}/stsa.binary.dev",
        f"data.test={d}/stsa.binary.test",
    ]


def _phrases_folder(run: Path) -> Path:
    return run.parent / "sst2_phrases_data"


def _build_phrases(run: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from sst_phrases import build

    assert OPTIONS["sst_trees"] is not None
    print(f"SST phrases {_phrases_folder(run)}: {build(OPTIONS['sst_trees'], _phrases_folder(run))}", flush=True)


def _sst2_phrases(data: Path, run: Path) -> list[str]:
    """SST-2 trained on phrases (2 validations per epoch: an epoch is ~2,400 steps), scored on sentences."""
    return [*_sst2(data, _phrases_folder(run) / "stsa.binary.phrases.train"), "trainer.max_epochs=3",
            "trainer.val_check_interval=0.5"]


def _spacy_vectors(run: Path) -> Path:
    return run.parent / f"{run.name}_vectors.txt"


def _export_spacy(run: Path, files: list[Path], conll: bool = False) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from spacy_vectors import export

    assert OPTIONS["spacy_model"] is not None
    print(f"spaCy vectors {_spacy_vectors(run)}: {export(OPTIONS['spacy_model'], _spacy_vectors(run), files, conll)}",
          flush=True)


def _with_spacy(args: list[str], run: Path) -> list[str]:
    return [*args, f"model.embedding.pretrained={_spacy_vectors(run)}", "model.embedding_dim=300"]


def _prepare_phrases_spacy(run: Path, data: Path, extend: bool = False) -> None:
    """Phrase files, then the vectors of the training words (and, to extend the vocabulary, dev and test words)."""
    _build_phrases(run)
    evaluation = [data / "sst2" / "stsa.binary.dev", data / "sst2" / "stsa.binary.test"] if extend else []
    _export_spacy(run, [_phrases_folder(run) / "stsa.binary.phrases.train", *evaluation])


def _wnut17_files(data: Path, extend: bool = False) -> list[Path]:
    d = data / "wnut17"
    return [d / "wnut17train.conll", *([d / "emerging.dev.conll", d / "emerging.test.annotated"] if extend else [])]


def _wnut17(data: Path) -> list[str]:
    """README's WNUT17 command, 30 epochs with a validation every 3 (the preset's 1,500 steps are ~14 epochs)."""
    d = data / "wnut17"
    return ["experiment=wnut17", f"data.train={d}/wnut17train.conll", f"data.valid={d}/emerging.dev.conll",
            f"data.test={d}/emerging.test.annotated", "trainer.max_steps=-1", "trainer.max_epochs=30",
            "trainer.val_check_interval=null", "trainer.check_val_every_n_epoch=3"]


def _word2vec(data: Path, run: Path) -> list[str]:
    corpus = run.parent / "w2v_corpus.txt.gz"  # written by bench/w2v_corpus.py before the run
    return [
        "experiment=word2vec_demo",
        f"data.path={corpus}",
        "model.embedding_dim=100",
        "trainer.max_epochs=10",
        f"task.analogy={data}/word2vec_eval/questions-words.txt",
        f"task.similarity={data}/word2vec_eval/wordsim353.tsv",
        "task.restrict_vocab=30000",
        "task.show_neighbors=",
        "seed=0",
    ]


def _accuracy_row(task: str, data: str, published: str, args: Callable[[Path, Path], list[str]], **more: Any) -> Row:
    """A classification row: test accuracy as %, with best.ckpt's too."""
    return Row(task, data, "test/acc", published, args, scale=100.0, best_too=True, **more)


def _wnut17_row(task: str, args: Callable[[Path, Path], list[str]], **more: Any) -> Row:
    """A WNUT17 row: test entity F1 as %, with best.ckpt's too."""
    return Row(task, "WNUT17 (test 1,287 sentences)", "test/f1",
               "41.86 (shared-task best, with lexicons and Twitter embeddings)", args, scale=100.0, best_too=True,
               needs=("wnut17/wnut17train.conll",), **more)


SST2_PHRASES = "SST-2 phrases (77,195) -> sentences"

ROWS: dict[str, Row] = {
    "ptb_small": Row(
        "word LM (Zaremba et al. small)",
        "PTB",
        "test/ppl",
        "114.5 (Zaremba et al. 2014)",
        lambda data, run: ["experiment=ptb_small", f"data.path={data}/ptb"],
        needs=("ptb/ptb.train.txt",),
    ),
    "word2vec": Row(
        "word2vec skip-gram, analogy",
        "enwiki_sample + Multi30k train.en + lee_background (0.86 M words)",
        "test/analogy_acc",
        "no published number for this corpus",
        _word2vec,
        scale=100.0,
        needs=("word2vec_corpus/enwiki_sample.txt.gz", "multi30k/train.en.gz", "word2vec_eval/lee_background.cor"),
        prepare=lambda data, run: _build_corpus(data, run.parent / "w2v_corpus.txt.gz"),
    ),
    "sst2": _accuracy_row(
        "sentence classification", "SST-2 (stsa.binary)", "82.7 CNN-rand (Kim 2014)",
        lambda data, run: _sst2(data), needs=("sst2/stsa.binary.train",),
    ),
    "sst2_w2v": _accuracy_row(
        "sentence classification, seqforge word2vec init", "SST-2 (stsa.binary)",
        "87.5 BiLSTM + 300-d GloVe (Tai et al. 2015)",
        lambda data, run: [*_sst2(data), f"model.embedding.pretrained={run.parent / 'word2vec' / 'vectors.bin'}"],
        needs=("sst2/stsa.binary.train",), after=("word2vec",),
    ),
    "sst2_spacy": _accuracy_row(
        "sentence classification, spaCy en_core_web_md vectors", "SST-2 (stsa.binary)",
        "87.5 BiLSTM + 300-d GloVe (Tai et al. 2015; trained on phrases)",
        lambda data, run: _with_spacy(_sst2(data), run), needs=("sst2/stsa.binary.train",),
        options=("spacy_model",), prepare=lambda data, run: _export_spacy(run, [data / "sst2" / "stsa.binary.train"]),
    ),
    "sst2_phrases": _accuracy_row(
        "sentence classification trained on phrases (random init)", SST2_PHRASES, "82.7 CNN-rand (Kim 2014)",
        _sst2_phrases, needs=("sst2/stsa.binary.dev",), options=("sst_trees",),
        prepare=lambda data, run: _build_phrases(run),
    ),
    "sst2_phrases_spacy": _accuracy_row(
        "sentence classification trained on phrases, spaCy en_core_web_md vectors", SST2_PHRASES,
        "87.5 BiLSTM + 300-d GloVe (Tai et al. 2015)",
        lambda data, run: _with_spacy(_sst2_phrases(data, run), run), needs=("sst2/stsa.binary.dev",),
        options=("sst_trees", "spacy_model"), prepare=lambda data, run: _prepare_phrases_spacy(run, data),
    ),
    "sst2_phrases_spacy_extend": _accuracy_row(
        "... and dev/test words with a vector join the vocabulary (model.embedding.extend_vocab, as Kim 2014)",
        SST2_PHRASES, "87.2 CNN-non-static word2vec (Kim 2014); 87.5 BiLSTM + GloVe (Tai et al. 2015)",
        lambda data, run: [*_with_spacy(_sst2_phrases(data, run), run), "model.embedding.extend_vocab=true"],
        needs=("sst2/stsa.binary.dev",), options=("sst_trees", "spacy_model"),
        prepare=lambda data, run: _prepare_phrases_spacy(run, data, extend=True),
    ),
    "wnut17_w2v": _wnut17_row(
        "NER, emerging entities, BiLSTM-CRF + char features, seqforge word2vec init",
        # measured before model.embedding.oov_init=match became the default: rerun as measured
        lambda data, run: [*_wnut17(data), f"model.embedding.pretrained={run.parent / 'word2vec' / 'vectors.bin'}",
                           "model.embedding.oov_init=module"],
        after=("word2vec",),
    ),
    "wnut17_spacy": _wnut17_row(
        "NER, emerging entities, BiLSTM-CRF + char features, spaCy en_core_web_md vectors",
        lambda data, run: _with_spacy(_wnut17(data), run), options=("spacy_model",),
        prepare=lambda data, run: _export_spacy(run, _wnut17_files(data), conll=True),
    ),
    "wnut17_spacy_extend": _wnut17_row(
        "... and dev/test words with a vector join the vocabulary (model.embedding.extend_vocab)",
        lambda data, run: [*_with_spacy(_wnut17(data), run), "model.embedding.extend_vocab=true"],
        options=("spacy_model",), prepare=lambda data, run: _export_spacy(run, _wnut17_files(data, extend=True),
                                                                          conll=True),
    ),
    "wnut17_spacy_unk": _wnut17_row(
        "... and training singletons replaced by <unk> with p=0.5 (task.singleton_unk, Lample et al.)",
        lambda data, run: [*_with_spacy(_wnut17(data), run), "task.singleton_unk=0.5"],
        options=("spacy_model",), prepare=lambda data, run: _export_spacy(run, _wnut17_files(data), conll=True),
    ),
    "wnut17_spacy_extend_unk": _wnut17_row(
        "... extend_vocab and singleton_unk=0.5: Lample et al.'s augment_with_pretrained and singletons together",
        lambda data, run: [*_with_spacy(_wnut17(data), run), "model.embedding.extend_vocab=true",
                           "task.singleton_unk=0.5"],
        options=("spacy_model",), prepare=lambda data, run: _export_spacy(run, _wnut17_files(data, extend=True),
                                                                          conll=True),
    ),
    "digits": Row(
        "sequence classification (rows of pixels)",
        "sklearn digits (bundled)",
        "test/acc",
        "none (demo)",
        lambda data, run: ["experiment=digits_demo"],
        scale=100.0,
    ),
    "airline": Row(
        "forecasting 12 months ahead",
        "airline passengers (bundled)",
        "test/rmse",
        "seasonal-naive 53.4 (same points)",
        lambda data, run: ["experiment=airline_demo"],
    ),
    "translate_demo": Row(
        "translation (dates -> ISO)",
        "generated dates (Babel CLDR)",
        "test/exact_match",
        "none (demo)",
        lambda data, run: ["experiment=translate_demo"],
        scale=100.0,
    ),
    "multi30k": Row(
        "translation de->en, BiGRU + Bahdanau",
        "Multi30k test_2016_flickr",
        "test/bleu",
        "28.30 (bentrevett notebook 3)",
        lambda data, run: [],
        needs=("multi30k/train.de.gz",),
        script=lambda data, run: [
            sys.executable,
            str(ROOT / "bench" / "multi30k.py"),
            str(data / "multi30k"),
            "--out",
            str(run),
        ],
        note="2,270 steps; ~4 s each on 2 threads with the machine to itself, ~2.5 h (prints best.ckpt's BLEU)",
    ),
}


def _command(row: Row, data: Path, run: Path) -> list[str]:
    if row.script is not None:
        return row.script(data, run)
    seqforge = Path(sys.executable).with_name("seqforge")
    return [str(seqforge) if seqforge.exists() else "seqforge", "train", *row.args(data, run), f"hydra.run.dir={run}"]


def run_row(name: str, data: Path, out: Path) -> str:
    """Run one row; return its Markdown line."""
    row = ROWS[name]
    missing = [need for need in row.needs if not (data / need).exists()]
    run = out / name
    command = _command(row, data, run)
    shown = " ".join(shlex.quote(part) for part in command)
    missing += [f"--{option.replace('_', '-')}" for option in row.options if OPTIONS[option] is None]
    if missing:
        return (f"| {row.task} | {row.data} | `{shown}` | {row.metric} | not run ({', '.join(missing)} missing) | "
                f"{row.published} | - |")
    if row.prepare is not None:
        row.prepare(data, run)
    load = os.getloadavg()[0]
    print(f"[{name}] {shown}", flush=True)
    start = time.monotonic()
    log = out / f"{name}.log"
    out.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        code = subprocess.call(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    minutes = (time.monotonic() - start) / 60
    result = run / "result.json"
    if code != 0 or not result.exists():
        value = f"failed (exit {code}, log {log})"
    else:
        final = json.loads(result.read_text())["final"]
        value = f"{final[row.metric] * row.scale:.2f}" if row.metric in final else f"no {row.metric} in {result}"
        if row.best_too and (run / "checkpoints" / "best.ckpt").exists():
            value += f" (last epoch); {best_checkpoint_metric(run, row):.2f} (best.ckpt, chosen on validation)"
    note = f"; {row.note}" if row.note else ""
    return (f"| {row.task} | {row.data} | `{shown}` | {row.metric} | {value} | {row.published} | "
            f"{minutes:.1f} min (load average {load:.1f} at start{note}) |")


def best_checkpoint_metric(run: Path, row: Row) -> float:
    """The row's test metric of ``checkpoints/best.ckpt`` (what ``seqforge evaluate ckpt=... split=test`` prints)."""
    from seqforge.train import evaluate_checkpoint

    split, name = row.metric.split("/")
    metrics = evaluate_checkpoint(run / "checkpoints" / "best.ckpt", ["valid" if split == "val" else "test"])
    return float(metrics[split][name]) * row.scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", help=f"row names or 'all': {', '.join(ROWS)}")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder holding the data "
                                                                                           "sets")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="run directories and logs go here")
    parser.add_argument("--list", action="store_true", help="print the rows and their commands, run nothing")
    parser.add_argument("--spacy-model", type=Path, help="spaCy en_core_web_md pipeline or wheel (*_spacy rows)")
    parser.add_argument("--sst-trees", type=Path, help="folder of the SST PTB-format trees (sst2_phrases* rows)")
    args = parser.parse_args()
    OPTIONS.update(spacy_model=args.spacy_model, sst_trees=args.sst_trees)
    names = list(ROWS) if args.rows == ["all"] else args.rows
    unknown = [n for n in names if n not in ROWS]
    if unknown or (not names and not args.list):
        parser.error(f"unknown row(s) {', '.join(unknown) or '(none given)'}; rows: {', '.join(ROWS)} or all")
    out = args.out.resolve()
    if args.list:
        for name in names or ROWS:
            print(f"{name}: {' '.join(shlex.quote(p) for p in _command(ROWS[name], args.data, out / name))}")
        return
    ordered = sorted(names, key=lambda n: 0 if any(n in ROWS[m].after for m in names) else 1)  # producers first
    lines = [run_row(name, args.data.resolve(), out) for name in ordered]
    print("\n| task | data | command | metric | seqforge | published | wall time |\n|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
