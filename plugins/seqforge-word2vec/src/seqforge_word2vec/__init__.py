"""seqforge-word2vec: skip-gram and CBOW word embeddings as a seqforge plugin.

Layout: :mod:`.corpus` (streaming text, demo corpus), :mod:`.vocab` (counts, sub-sampling,
noise distribution), :mod:`.losses` (the autograd reference losses), :mod:`.kernels` (compiled
Hogwild training), :mod:`.task` / :mod:`.data` (the seqforge task), :mod:`.vectors` (export,
neighbours, analogies), :mod:`.evaluation` (analogy and similarity benchmarks),
:mod:`.commands` (``seqforge neighbors`` / ``export-vectors`` / ``evaluate-vectors``).
Importing this package stays torch-free.
"""

__version__ = "0.1.0"
