"""Where the added `import os` goes: into the module's standard-library import block, where
isort and ruff (`I001`, default settings) would put it, as one inserted line.

isort's default order: `__future__`, standard library, third party, first party, local, one
blank line between sections; within a section plain `import x` lines before `from x import y`
lines, each group sorted by module name ignoring case. So `import os` goes among the standard
library's plain imports in name order; with no standard-library import it opens that section
before the first third-party import (followed by a blank line); with no import block at all,
after the module docstring and `__future__` imports. A block that was sorted stays sorted;
nothing else in the file moves.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from keyguard.fix.pytree import Source

_STDLIB = frozenset(sys.stdlib_module_names)


def import_edit(tree: ast.Module, source: Source, os_name: str, *, skip: frozenset[str] = frozenset()) -> tuple[int, int, str]:
    """The edit (start, end, text) inserting `import os` (or `import os as os_name`).

    `skip`: module names of leading placeholder imports that must stay first (a notebook
    cell's masked magics such as `%matplotlib inline`).
    """
    line = "import os" if os_name == "os" else f"import os as {os_name}"
    nl = source.newline
    body = list(tree.body)
    i = 0
    if body and _is_docstring(body[0]):
        i = 1
    while i < len(body) and _module(body[i]) in ({"__future__"} | skip):
        i += 1
    header_end = _after(body[i - 1], source) if i else None
    block: list[Any] = []
    while i + len(block) < len(body) and isinstance(body[i + len(block)], (ast.Import, ast.ImportFrom)):
        block.append(body[i + len(block)])
    block = [s for s in block if _module(s) not in skip]
    previous = {id(b): body[n - 1] if n else None for n, b in enumerate(body)}
    std = [s for s in block if _section(s) == "stdlib"]
    if std:
        key = (0, "os")
        for s in std:
            if _sort_key(s) > key:
                at = _line_start_with_comments(s, previous[id(s)], source)
                return at, at, line + nl
        at = _after(std[-1], source)
        return at, at, _with_line_end(source, at, line, nl)
    others = [s for s in block if _section(s) != "future"]
    if others:
        at = _line_start_with_comments(others[0], previous[id(others[0])], source)
        return at, at, line + nl + nl
    if header_end is not None:
        return _new_block_after_header(source, header_end, line, nl, future=_module(body[i - 1]) == "__future__")
    if body:
        at = source.starts[body[0].lineno - 1]
        return at, at, line + nl + nl
    end = len(source.text)
    return end, end, _with_line_end(source, end, line, nl)


def _new_block_after_header(source: Source, at: int, line: str, nl: str, *, future: bool) -> tuple[int, int, str]:
    """A new import block after the docstring or `__future__` imports ending at `at`: isort
    puts a blank line between the `__future__` section and the next, and one after the block
    when code follows."""
    end = len(source.text)
    if at >= end:
        return end, end, _with_line_end(source, end, (nl if future else "") + line, nl)
    if future:
        if not _blank_line_at(source, at):
            return at, at, nl + line + nl + nl
        at = _next_line(source, at)  # after the blank line that ends the `__future__` section
        if at >= end:
            return end, end, _with_line_end(source, end, line, nl)
    return at, at, line + nl + ("" if _blank_line_at(source, at) else nl)


def _next_line(source: Source, offset: int) -> int:
    line = source.line_of(offset)
    return source.starts[line] if line < len(source.starts) else len(source.text)


def _blank_line_at(source: Source, offset: int) -> bool:
    """True when the line starting at `offset` is empty or white space only."""
    if offset >= len(source.text):
        return False
    return source.line_text(source.line_of(offset)).strip() == ""


def _with_line_end(source: Source, at: int, line: str, nl: str) -> str:
    # Inserting at the very end of a file without a final line end: start a new line first.
    if at == len(source.text) and source.text and not source.text.endswith(("\n", "\r")):
        return nl + line + nl
    return line + nl


def _is_docstring(stmt: Any) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _module(stmt: Any) -> str | None:
    if isinstance(stmt, ast.ImportFrom):
        return "." * stmt.level + (stmt.module or "")
    if isinstance(stmt, ast.Import):
        return stmt.names[0].name
    return None


def _section(stmt: Any) -> str:
    name = _module(stmt) or ""
    if name == "__future__":
        return "future"
    if name.startswith("."):
        return "local"
    return "stdlib" if name.split(".")[0] in _STDLIB else "other"


def _sort_key(stmt: Any) -> tuple[int, str]:
    return (1 if isinstance(stmt, ast.ImportFrom) else 0, (_module(stmt) or "").lower())


def _after(stmt: Any, source: Source) -> int:
    """Offset of the start of the line after `stmt` (end of text when none)."""
    end_line = stmt.end_lineno or stmt.lineno
    return source.starts[end_line] if end_line < len(source.starts) else len(source.text)


def _line_start_with_comments(stmt: Any, previous: Any, source: Source) -> int:
    """Start of `stmt`'s first line, above the comment lines directly over it (isort keeps a
    comment with the import below it), but never above the statement before it: comments at
    the top of the file (shebang, licence) stay first."""
    line = stmt.lineno
    if previous is not None:
        floor = (previous.end_lineno or previous.lineno) + 1
        while line > floor and source.line_text(line - 1).lstrip().startswith("#"):
            line -= 1
    return source.starts[line - 1]
