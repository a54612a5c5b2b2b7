"""The embedded default corpus: CPython's own documentation text.

``pydoc_data.topics`` ships with every CPython (it backs ``help('topic')``) —
about 450 KB of real English prose with code, so the default job needs no
download and no file of ours.
"""

from __future__ import annotations


def pydoc_corpus() -> str:
    """The help topics of this Python, in a fixed (sorted) order so splits are reproducible."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name].strip() for name in sorted(topics)) + "\n"
