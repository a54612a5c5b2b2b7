"""Size of the core package: raw lines and logical statements, with and without the authors' harness.

    python bench/core_size.py [seqforge]

Logical statements are the tokenizer's NEWLINE tokens outside docstrings: unlike raw lines they do not
change when a long line is wrapped, so they compare sizes across formatting changes (issue #14's target).
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path


def statements(source: str) -> int:
    """Logical statements of one module, docstrings excluded."""
    docstring_ends = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstring_ends.add(first.end_lineno)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return sum(1 for t in tokens if t.type == tokenize.NEWLINE and t.start[0] not in docstring_ends)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "seqforge")
    files = sorted(root.rglob("*.py"))
    core = [f for f in files if "testing" not in f.parts]
    for label, chosen in (("whole package", files), ("without testing/", core)):
        sources = [f.read_text(encoding="utf-8") for f in chosen]
        raw = sum(len(s.splitlines()) for s in sources)
        print(f"{root} {label}: {len(chosen)} modules, {raw} raw lines, {sum(map(statements, sources))} statements")


if __name__ == "__main__":
    main()
