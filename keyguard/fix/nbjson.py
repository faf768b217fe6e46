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
from collections.abc import Callable
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
    """The spans of every cell of a v4 notebook's `cells`. ValueError for invalid JSON.

    One pass: every value is skipped by the C scanner exactly once.
    """
    pos = _WS(text, 1 if text.startswith("\ufeff") else 0).end()
    cells: list[CellSpans] = []

    def output_items(spans: CellSpans) -> Callable[[int], int]:
        def item(start: int) -> int:
            end = _end(text, start)
            spans.output_items.append((start, end))
            return end
        return item

    def cell_member(spans: CellSpans) -> Callable[[str, int], int | None]:
        def member(key: str, start: int) -> int | None:
            if key == "source":
                end = _end(text, start)
                spans.source = (start, end)
                return end
            if key == "outputs" and text.startswith("[", start):
                end = _walk_array(text, start, output_items(spans))
                spans.outputs = (start, end)
                return end
            return None
        return member

    def cell(start: int) -> int:
        spans = CellSpans()
        cells.append(spans)
        if text.startswith("{", start):
            return _walk_object(text, start, cell_member(spans))
        return _end(text, start)

    def root(key: str, start: int) -> int | None:
        if key == "cells" and text.startswith("[", start):
            cells.clear()  # a repeated key: the last one wins, as in json.loads
            return _walk_array(text, start, cell)
        return None

    if not text.startswith("{", pos):
        raise ValueError("a notebook is a JSON object")
    end = _WS(text, _walk_object(text, pos, root)).end()
    if end != len(text):
        raise ValueError("extra data after the notebook")
    return cells


def _end(text: str, pos: int) -> int:
    return _SKIP(text, pos)[1]


def _walk_object(text: str, pos: int, member: Callable[[str, int], int | None]) -> int:
    """Walk the object at `pos`: `member(key, value start)` returns the value's end, or None
    to have the value skipped. Returns the end of the object."""
    pos = _WS(text, pos + 1).end()
    if text.startswith("}", pos):
        return pos + 1
    while True:
        if not text.startswith('"', pos):
            raise ValueError("expected a key")
        key, pos = scanstring(text, pos + 1)
        pos = _WS(text, pos).end()
        if not text.startswith(":", pos):
            raise ValueError("expected ':'")
        pos = _WS(text, pos + 1).end()
        end = member(key, pos)
        pos = _WS(text, end if end is not None else _end(text, pos)).end()
        if text.startswith(",", pos):
            pos = _WS(text, pos + 1).end()
            continue
        if text.startswith("}", pos):
            return pos + 1
        raise ValueError("expected ',' or '}'")


def _walk_array(text: str, pos: int, item: Callable[[int], int]) -> int:
    """Walk the array at `pos`: `item(start)` returns each item's end. Returns the array's end."""
    pos = _WS(text, pos + 1).end()
    if text.startswith("]", pos):
        return pos + 1
    while True:
        pos = _WS(text, item(pos)).end()
        if text.startswith(",", pos):
            pos = _WS(text, pos + 1).end()
            continue
        if text.startswith("]", pos):
            return pos + 1
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
