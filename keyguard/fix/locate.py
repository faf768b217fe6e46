"""Finding the libcst node that holds a reported key, from the finding's position.

Imports libcst at module level: import this module only inside functions (see keyguard.fix).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

STRING_TYPES = (cst.SimpleString, cst.FormattedString, cst.FormattedStringText, cst.ConcatenatedString)


def find_literal(strings: dict[Any, Any], value: str, span: tuple[int, int, int, int]) -> Any:
    """The string node of `strings` (node -> CodeRange) holding `value` at `span`, else None.

    `span` is (line, col0, end_line, end_col0). The innermost string node around it wins when
    it holds the value; else the shortest literal on that line that holds it.
    """
    line = span[0]
    node = _innermost(strings, *span)
    if isinstance(node, (cst.SimpleString, cst.FormattedStringText)) and value not in node_text(node):
        node = None
    if node is None:
        # Positions may be off (e.g. byte columns): any literal on that line holding it.
        candidates = [
            n for n, r in strings.items()
            if r.start.line <= line <= r.end.line and value in node_text(n)
        ]
        node = min(candidates, key=lambda n: len(node_text(n))) if candidates else None
    return node


def node_text(node: Any) -> str:
    """A node's source: a literal's own text, else the node rendered alone."""
    if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
        return node.value
    if isinstance(node, cst.Comment):
        return node.value
    return cst.Module(body=[]).code_for_node(node)


def _innermost(ranges: dict[Any, Any], line: int, col: int, end_line: int, end_col: int) -> Any:
    best, best_key = None, None
    for node, rng in ranges.items():
        if (rng.start.line, rng.start.column) <= (line, col) and (end_line, end_col) <= (rng.end.line, rng.end.column):
            key = (rng.start.line, rng.start.column, -rng.end.line, -rng.end.column)
            if best_key is None or key > best_key:
                best, best_key = node, key
    return best
