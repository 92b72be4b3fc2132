"""Copies the native module's docstrings into python/coffer/_coffer.pyi.

The Rust doc comments (src/*.rs) are the source; tests/test_stubs.py fails
when the stub's docstrings differ from them. After changing a doc comment:

    pip install ./bindings/python && python bindings/python/tools/sync_stub_docstrings.py

Only docstrings change; signatures and types in the stub are written by hand.
"""

import ast
import inspect
import pathlib
import sys

from coffer import _coffer

STUB = pathlib.Path(__file__).resolve().parent.parent / "python" / "coffer" / "_coffer.pyi"


def runtime_doc(path):
    obj = _coffer
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return inspect.cleandoc(obj.__doc__ or "") or None


def render(doc, indent):
    pad = " " * indent
    quote = 'r"""' if "\\" in doc else '"""'
    lines = doc.splitlines()
    if len(lines) == 1:
        return [f"{pad}{quote}{doc}\"\"\""]
    body = [f"{pad}{line}" if line else "" for line in lines[1:]]
    return [f"{pad}{quote}{lines[0]}", *body, f'{pad}"""']


def main():
    source = STUB.read_text().splitlines()
    edits = []  # (first line, last line, new lines), 1-based inclusive

    def visit(nodes, prefix):
        for node in nodes:
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                continue
            path = (*prefix, node.name)
            first = node.body[0] if node.body else None
            is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                first.value.value, str
            )
            doc = runtime_doc(path)
            if is_doc and doc is not None:
                edits.append((first.lineno, first.end_lineno, render(doc, first.col_offset)))
            if isinstance(node, ast.ClassDef):
                visit(node.body, path)

    visit(ast.parse("\n".join(source)).body, ())
    for start, end, lines in sorted(edits, reverse=True):
        source[start - 1 : end] = lines
    STUB.write_text("\n".join(source) + "\n")
    print(f"{STUB}: {len(edits)} docstrings", file=sys.stderr)


if __name__ == "__main__":
    main()
