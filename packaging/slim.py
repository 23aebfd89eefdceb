"""Shrink vendored Python files for the device packages: drop comments and docstrings.

    slim(source_text) -> text

Why: the .ipk and .apk must stay under 600 KiB (routers have a few MB of flash), and about a third
of prompt_toolkit's and urllib3's compressed bytes are comments and docstrings that nothing reads
at run time. Line numbers are kept (a docstring becomes `("" ...)`, an empty one spanning the same lines, a
comment becomes nothing), so a traceback from a device still points at the right line of the
upstream file. Only third-party files are slimmed: our own modules ship as written.
"""

from __future__ import annotations

import ast
import io
import tokenize


def slim(text: str) -> str:
    """`text` without comments and docstrings, same lines; unchanged if it does not parse."""
    try:
        tree = ast.parse(text)
        comments = [t.start for t in tokenize.generate_tokens(io.StringIO(text).readline)
                    if t.type == tokenize.COMMENT]
    except (SyntaxError, tokenize.TokenError, ValueError):
        return text
    lines = text.splitlines(keepends=True)
    for row, col in comments:
        if row > 2:  # keep a shebang and an encoding line
            line = lines[row - 1]
            lines[row - 1] = line[:col].rstrip() + line[len(line.rstrip("\r\n")):]
    for node in sorted(_docstrings(tree), key=lambda n: (n.lineno, n.col_offset), reverse=True):
        first, last = node.lineno - 1, node.end_lineno - 1
        head, tail = lines[first][:node.col_offset], lines[last][node.end_col_offset:]
        blank = '(""' + "\n" * (last - first) + ")" if last > first else '""'
        lines[first:last + 1] = (head + blank + tail).splitlines(keepends=True)
    return "".join(lines)


def _docstrings(tree: ast.AST) -> list[ast.Constant]:
    """The string constants that open a module, class or function body."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.append(first.value)
    return found
