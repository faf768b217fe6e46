"""One `ast.parse` per Python source per file scan, shared by the stages that need a tree.

The syntax-tree detector and the ignore-comment analysis both need the tree of the same
segment; parsing twice doubled the cost of a file with findings. `parse` remembers trees (and
failures) until `file_scope` ends, so memory holds one file's trees at most.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_MEMO: dict[str, ast.Module | BaseException] = {}
_DEPTH = [0]


def parse(source: str) -> ast.Module:
    """`ast.parse(source)` with SyntaxWarnings silenced, memoised inside `file_scope`.

    Raises what ast.parse raises (SyntaxError, ValueError, RecursionError, MemoryError),
    the same exception again for the same source. Outside a file scope nothing is kept.
    """
    found = _MEMO.get(source)
    if found is None:
        try:
            with warnings.catch_warnings():
                # Old code raises SyntaxWarnings (invalid escapes): not the user's question.
                warnings.simplefilter("ignore")
                found = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            found = exc
        if _DEPTH[0]:
            _MEMO[source] = found
    if isinstance(found, BaseException):
        raise found
    return found


@contextmanager
def file_scope() -> Iterator[None]:
    """Keep parsed trees for the duration of one file's scan; forget them afterwards."""
    _DEPTH[0] += 1
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        if not _DEPTH[0]:
            _MEMO.clear()
