"""Python source for the fixer: the stdlib `ast` tree, offsets, and a walk bounded to the lines
that matter.

Why `ast` and text edits, not a whole-file libcst round trip: libcst's parse plus its metadata
(positions, parents, scopes) cost ~10x the parse alone (0.36 s for a 3 KB module), its native
parser and its recursive visitors crash on deep but ordinary code (5,000 nested calls:
SIGSEGV; a 500-link method chain: RecursionError), and its round trip changed bytes nobody
asked to change (`\\r`-only line ends, form feeds). The C `ast` parser is ~10x faster, refuses
hostile nesting with an exception (never a crash), and gives exact spans: the fixer replaces
only those spans in the original text, so every other byte stays as it was.

Positions: `ast` counts lines the way the tokenizer does (`\\r\\n`, `\\r` and `\\n` end a line;
a form feed does not) and columns in UTF-8 bytes of the line; `Source.offset` maps them to
offsets into the text.
"""

from __future__ import annotations

import ast
import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_NEWLINE = re.compile(r"\r\n|\r|\n")


class Source:
    """A module's text with the tokenizer's line starts (1-based lines, like `ast`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        first = _NEWLINE.search(text)
        self.newline = first.group(0) if first else "\n"
        # Lines as the scanner's text segments count them ("\n" only): differ for "\r" files.
        self.nl_starts = self.starts if "\r" not in text else [0] + [
            i + 1 for i, c in enumerate(text) if c == "\n"
        ]

    def line_text(self, line: int) -> str:
        """Text of 1-based `line` without its line end ('' out of range)."""
        if not 0 < line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, line: int, col_utf8: int) -> int:
        """Text offset of an `ast` position (1-based line, column in UTF-8 bytes)."""
        start = self.starts[min(max(line, 1), len(self.starts)) - 1]
        text = self.line_text(line)
        if text.isascii():
            return start + col_utf8
        return start + len(text.encode("utf-8")[:col_utf8].decode("utf-8", errors="ignore"))

    def span(self, node: Any) -> tuple[int, int]:
        """(start, end) text offsets of an `ast` node."""
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def line_of(self, offset: int) -> int:
        """1-based tokenizer line of a text offset."""
        return bisect_right(self.starts, offset)

    def nl_line_of(self, offset: int) -> int:
        """1-based line of a text offset counting "\\n" only (the scanner's text lines)."""
        return bisect_right(self.nl_starts, offset)

    def line_start(self, offset: int) -> int:
        return self.starts[self.line_of(offset) - 1]


class NotParsed(Exception):
    """The source cannot be analysed: `reason` says why, in words for the user."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def parse(text: str) -> ast.Module:
    """`ast.parse`, with every failure turned into NotParsed (never a crash: the C parser
    refuses deep nesting with SyntaxError "too many nested parentheses" or RecursionError)."""
    try:
        with warnings.catch_warnings():  # `"\p"` in a cell: the user's business, not ours
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            raise NotParsed(_DEEP) from None
        raise NotParsed(f"syntax error at line {exc.lineno}, column {(exc.offset or 0)}", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise NotParsed(_DEEP) from None
    except ValueError:  # null bytes
        raise NotParsed("the file contains a null byte") from None


_DEEP = "the code is nested too deeply for Python's own parser (CPython refuses it too)"


# Nodes that bind a name, and where the name is (for the names the fixer cares about).
_STRING_TYPES = (ast.Constant, ast.JoinedStr)


@dataclass
class Walk:
    """What one bounded walk of a module found.

    strings: (start, end, node) of every string/bytes literal or f-string on the wanted lines
        (an implicit concatenation is one node; f-strings are not entered). parents: id(node)
        -> parent for every visited node. os_imports: (bound name, offset, top_level) of each
        `import os[.x]` / `import os as N`. os_members: local name -> "os.environ", "os.getenv"
        ... for `from os import ...`. bound_other: names of `names` bound to anything else.
    """

    strings: list[tuple[int, int, Any]] = field(default_factory=list)
    parents: dict[int, Any] = field(default_factory=dict)
    os_imports: list[tuple[str, int, bool]] = field(default_factory=list)
    os_members: dict[str, str] = field(default_factory=dict)
    bound_other: set[str] = field(default_factory=set)


def walk(tree: ast.Module, source: Source, lines: Iterable[int], names: set[str]) -> Walk:
    """Visit only the nodes whose line range meets `lines` (sorted or not; tokenizer lines).

    Iterative (no recursion, whatever the depth); cost is the size of the statements on those
    lines, not of the module. `names` are the identifiers whose bindings are recorded.
    """
    wanted = sorted(set(lines))
    out = Walk()
    parents = out.parents

    def meets(node: Any) -> bool:
        first = getattr(node, "lineno", None)
        if first is None:
            return True  # arguments, comprehension, match_case, withitem: look inside
        i = bisect_left(wanted, first)
        return i < len(wanted) and wanted[i] <= (node.end_lineno or first)

    stack: list[Any] = []
    for stmt in tree.body:
        if meets(stmt):
            parents[id(stmt)] = tree
            stack.append(stmt)
    while stack:
        node = stack.pop()
        if isinstance(node, _STRING_TYPES):
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                start, end = source.span(node)
                out.strings.append((start, end, node))
            continue  # f-string parts are handled as text
        _bindings(node, parents, source, names, out)
        for child in ast.iter_child_nodes(node):
            if meets(child):
                parents[id(child)] = node
                stack.append(child)
    out.strings.sort(key=lambda s: s[0])
    return out


def _bindings(node: Any, parents: dict[int, Any], source: Source, names: set[str], out: Walk) -> None:
    if isinstance(node, ast.Import):
        top = isinstance(parents.get(id(node)), ast.Module)
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            if alias.name == "os" or (alias.asname is None and alias.name.startswith("os.")):
                out.os_imports.append((bound, source.offset(node.lineno, node.col_offset), top))
            elif bound in names:
                out.bound_other.add(bound)
        return
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            bound = alias.asname or alias.name
            if node.module == "os" and node.level == 0:
                out.os_members[bound] = f"os.{alias.name}"
            if bound in names:
                out.bound_other.add(bound)
        return
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        out.bound_other.update(n for n in node.names if n in names)
        return
    bound: str | None = None
    if isinstance(node, ast.Name):
        bound = node.id if not isinstance(node.ctx, ast.Load) else None
    elif isinstance(node, ast.arg):
        bound = node.arg
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler,
                           ast.MatchAs, ast.MatchStar)):
        bound = node.name
    elif isinstance(node, ast.MatchMapping):
        bound = node.rest
    if bound is not None and bound in names:
        out.bound_other.add(bound)


def word_lines(source: Source, words: Iterable[str]) -> list[int]:
    """Tokenizer lines on which any of `words` occurs as a whole identifier."""
    words = [w for w in words if w]
    if not words:
        return []
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, sorted(words))) + r")\b")
    return sorted({source.line_of(m.start()) for m in pattern.finditer(source.text)})


def dotted(node: Any, members: dict[str, str], os_names: set[str]) -> str | None:
    """`os.environ.get` for an expression spelled through any alias of os or its members."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = node.id
    if root in members:
        base = members[root]
    elif root in os_names:
        base = "os"
    else:
        return None
    return ".".join([base, *reversed(parts)])
