"""Editing a notebook's JSON text in place: a cell's `source`, a cell's `outputs`.

The fixer never re-serialises the notebook (nbformat would split `image/svg+xml` strings
into line lists, reorder keys and re-indent: on real notebooks thousands of lines changed
beyond the edited cell). Instead one forward pass finds the text span of each cell's `source`
and of each of its outputs; an edit replaces only that span, in the layout the file already
uses (indentation, separators, escapes of the lines that did not change). Values are skipped
with the stdlib's C JSON scanner, so the pass costs about one `json.loads`.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*").match
_STRING_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_SKIP = json.JSONDecoder().raw_decode
_LINES = re.compile(r"[^\n]*\n|[^\n]+")


@dataclass
class CellSpans:
    """Where one cell's parts are in the notebook text (offsets; None when absent)."""

    source: tuple[int, int] | None = None
    outputs: tuple[int, int] | None = None
    output_items: list[tuple[int, int]] = field(default_factory=list)


def locate(text: str) -> list[CellSpans]:
    """The spans of every cell of a v4 notebook's `cells`. ValueError for invalid JSON."""
    pos = _WS(text, 1 if text.startswith("\ufeff") else 0).end()
    cells: list[CellSpans] = []
    for key, start in _members(text, pos):
        if key == "cells" and text.startswith("[", start):
            for item_start, _ in _items(text, start):
                spans = CellSpans()
                if text.startswith("{", item_start):
                    for cell_key, value_start in _members(text, item_start):
                        if cell_key == "source":
                            spans.source = (value_start, _end(text, value_start))
                        elif cell_key == "outputs" and text.startswith("[", value_start):
                            spans.output_items = list(_items(text, value_start))
                            spans.outputs = (value_start, _end(text, value_start))
                cells.append(spans)
    return cells


def _end(text: str, pos: int) -> int:
    return _SKIP(text, pos)[1]


def _members(text: str, pos: int):  # -> Iterator[tuple[str, int]]
    """(key, value start) of each member of the object at `pos`; values are skipped after
    the caller had its look (the caller never moves `pos`)."""
    pos = _WS(text, pos + 1).end()
    if text.startswith("}", pos):
        return
    while True:
        if not text.startswith('"', pos):
            raise ValueError("expected a key")
        key, pos = scanstring(text, pos + 1)
        pos = _WS(text, pos).end()
        if not text.startswith(":", pos):
            raise ValueError("expected ':'")
        pos = _WS(text, pos + 1).end()
        yield key, pos
        pos = _WS(text, _end(text, pos)).end()
        if text.startswith(",", pos):
            pos = _WS(text, pos + 1).end()
            continue
        if text.startswith("}", pos):
            return
        raise ValueError("expected ',' or '}'")


def _items(text: str, pos: int):  # -> Iterator[tuple[int, int]]
    """(start, end) of each item of the array at `pos`."""
    pos = _WS(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    while True:
        end = _end(text, pos)
        yield pos, end
        pos = _WS(text, end).end()
        if text.startswith(",", pos):
            pos = _WS(text, pos + 1).end()
            continue
        if text.startswith("]", pos):
            return
        raise ValueError("expected ',' or ']'")


def source_text(value: object) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def render_source(raw: str, new: str) -> str:
    """The JSON text for source `new`, in the layout of the existing value `raw`.

    A list of lines stays a list (lines that did not change keep their exact JSON text), a
    string stays a string.
    """
    ascii_only = _escapes_non_ascii(raw)
    if not raw.startswith("["):
        return json.dumps(new, ensure_ascii=ascii_only)
    tokens = list(_STRING_TOKENS.finditer(raw))
    old_lines = [json.loads(t.group(0)) for t in tokens]
    new_lines = _LINES.findall(new)
    items: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            items += [tokens[i].group(0) for i in range(a1, a2)]
        else:
            items += [json.dumps(line, ensure_ascii=ascii_only) for line in new_lines[b1:b2]]
    return _array(raw, [(t.start(), t.end()) for t in tokens], items)


def remove_items(raw: str, spans: list[tuple[int, int]], drop: set[int]) -> str:
    """The JSON text of array `raw` (item spans relative to it) without the items in `drop`."""
    kept = [raw[a:b] for i, (a, b) in enumerate(spans) if i not in drop]
    return _array(raw, spans, kept)


def _array(raw: str, spans: list[tuple[int, int]], items: list[str]) -> str:
    """`items` joined the way array `raw` joins its items (nbformat style when unknown)."""
    if not items:
        return "[]"
    if spans:
        lead = raw[1:spans[0][0]]
        trail = raw[spans[-1][1]:-1]
        sep = raw[spans[0][1]:spans[1][0]] if len(spans) > 1 else "," + (lead or " ")
    else:
        lead, sep, trail = "\n", ",\n", "\n"
    return "[" + lead + sep.join(items) + trail + "]"


def _escapes_non_ascii(raw: str) -> bool:
    """True when the file writes non-ASCII characters as \\uXXXX escapes."""
    if not raw.isascii():
        return False
    return bool(re.search(r"\\u(?!00[0-7])[0-9a-fA-F]{4}", raw))
