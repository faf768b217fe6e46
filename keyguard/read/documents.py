"""Bytes -> documents made of text segments, each remembering where it came from.

A Python file or a text file is one segment. A notebook (keyguard.read.notebook) is one segment per
cell source and per text output. Detectors see segments; positions found in a segment are
mapped back to the file with `Document.raw_position`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import NamedTuple

PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
NOTEBOOK_SUFFIXES = (".ipynb",)


class Segment(NamedTuple):
    """A piece of text to scan.

    text: what the token detector scans (for notebook code cells: the cell source as written,
        magics included).
    python: source for the syntax-tree detector, or None when the segment is not Python. For
        notebook cells, IPython magics and `!shell` lines are masked (same line count, same
        columns elsewhere), so a parse sees valid Python.
    cell / part / output_index: notebook origin (None for plain files); part is "source" or
        "output".
    raw_lines: raw_lines[i] is the 1-based line of the file holding segment line i + 1; empty
        for plain files, where segment lines are file lines.
    context: extra text whose keywords count as context for matches in this segment (for a
        notebook output: its cell's source).
    tags: the notebook cell's tags (a `keyguard-ignore` tag skips the cell).
    """

    text: str
    python: str | None = None
    cell: int | None = None
    part: str | None = None
    output_index: int | None = None
    raw_lines: tuple[int, ...] = ()
    context: str = ""
    tags: tuple[str, ...] = ()

    def raw_line(self, line: int) -> int:
        """Map a 1-based segment line to the 1-based file line."""
        if not self.raw_lines:
            return line
        index = min(max(line - 1, 0), len(self.raw_lines) - 1)
        return self.raw_lines[index]


@dataclass
class Document:
    """A decoded file: its segments, the raw text, and notes for the user (never secrets).

    kind: "python", "notebook" or "text". `notes` are short messages such as "syntax error
    at line 3: scanned with the token detector only" shown in the summary.
    """

    path: str
    kind: str
    raw_text: str
    segments: list[Segment]
    notes: list[str] = field(default_factory=list)
    # Extra notebook state for the fixer (the parsed notebook); None for plain files. May be
    # given as a `Lazy`: it is then built on first access (see the `notebook` property below).
    notebook: object | None = None
    # False for a notebook read without raw JSON lines (`read_document(locate=False)`): its
    # segments then carry no file positions, so it can say what is found but not where.
    located: bool = True

    def _raw_lines(self) -> list[str]:
        # Lines as git and GitHub count them: "\n" only (splitlines() also splits on \u2028).
        cached = self.__dict__.get("_lines")
        if cached is None:
            cached = self.raw_text.split("\n")
            self.__dict__["_lines"] = cached
        return cached

    def raw_position(self, segment: Segment, line: int, column: int, secret: str) -> tuple[int, int]:
        """1-based (line, column) in the raw file of a match at segment (line, column).

        For a plain file it is the same position. For a notebook it is the JSON line the
        segment line maps to, and the column where `secret` sits on that line (1 when the
        JSON escaping hides it).
        """
        if not segment.raw_lines:
            return line, column
        raw_line = segment.raw_line(line)
        lines = self._raw_lines()
        if 0 < raw_line <= len(lines):
            found = lines[raw_line - 1].find(secret)
            if found >= 0:
                return raw_line, found + 1
        return raw_line, 1


class Lazy:
    """A value built on first use: `Document(..., notebook=Lazy(build))`.

    Detection never needs the nbformat tree of a notebook; building it imports nbformat and
    jsonschema (~160 ms), which a pre-commit run over one notebook must not pay.
    """

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], object]) -> None:
        self.build = build


def _get_notebook(self: Document) -> object | None:
    value = self.__dict__.get("_notebook")
    if isinstance(value, Lazy):
        value = self.__dict__["_notebook"] = value.build()
    return value


def _set_notebook(self: Document, value: object | None) -> None:
    self.__dict__["_notebook"] = value


# After the dataclass is made: its __init__, __eq__ and __repr__ go through the property.
Document.notebook = property(_get_notebook, _set_notebook)  # type: ignore[assignment,method-assign]


def segment_line(segment: Segment, line: int) -> str:
    """Text of 1-based `line` of the segment ('' when out of range). Lines are split once
    per segment and cached: callers ask once per finding."""
    lines = _SEGMENT_LINES.get(id(segment))
    if lines is None or lines[0] is not segment:
        lines = (segment, segment.text.split("\n"))
        _SEGMENT_LINES[id(segment)] = lines
        if len(_SEGMENT_LINES) > 64:  # segments of earlier documents
            _SEGMENT_LINES.pop(next(iter(_SEGMENT_LINES)))
    text_lines = lines[1]
    return text_lines[line - 1] if 0 < line <= len(text_lines) else ""


_SEGMENT_LINES: dict[int, tuple[Segment, list[str]]] = {}


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode file bytes as UTF-8 (BOM allowed).

    Returns (text, note). Invalid UTF-8 does not lose the file: it is decoded with
    replacement characters (keys are ASCII, so none is lost) and the note says so.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        note = f"not valid UTF-8 (byte {exc.start}): scanned with undecodable bytes replaced"
        return data.decode("utf-8", errors="replace"), note


def ascii_lower(text: str) -> str:
    """`text` with A-Z lowered and every other character kept: the same length, so an offset
    into it is an offset into `text` (`str.lower` lengthens some, 'İ' -> 'i̇'). Keywords and
    context words are ASCII. For text with any non-ASCII character this is also ~3.5x faster
    than `str.lower` (bytes.lower is a table lookup, str.lower a Unicode case mapping)."""
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def document_kind(path: str) -> str:
    suffix = PurePath(path).suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return "python"
    if suffix in NOTEBOOK_SUFFIXES:
        return "notebook"
    return "text"


_LONE_CR = re.compile(r"\r(?!\n)")


def _lone_cr_as_newline(text: str) -> str:
    """`text` with each lone `\r` (old Mac line end) read as `\n`: the same length, so every
    offset and column stays valid, while the token detector (which counts `\n`) and `ast`
    (which counts `\r` too) agree on line numbers and report a key once, at its line."""
    return _LONE_CR.sub("\n", text) if "\r" in text else text


def read_document(path: str, data: bytes, locate: bool = True) -> Document:
    """Build the Document for `path` from its bytes. Never raises for bad content.

    locate=False: a notebook's segments get no raw JSON lines (3x faster to read; the
    segments are otherwise the same). A scan that finds something reads it again located.
    """
    text, note = decode(data)
    kind = document_kind(path)
    if kind == "notebook":
        from keyguard.read.notebook import read_notebook  # nbformat is imported only for notebooks

        doc = read_notebook(path, text, locate=locate)
    else:
        lines = _lone_cr_as_newline(text)
        segment = Segment(text=lines, python=lines) if kind == "python" else Segment(text=lines)
        doc = Document(path, kind, text, [segment])
    if note:
        doc.notes.append(note)
    return doc
