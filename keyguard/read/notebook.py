"""Jupyter notebook -> Document: one segment per cell source and per text output.

The notebook JSON is walked once by a small locator built on the stdlib JSON scanner (C
speed): it produces the tree `json.loads` would (plain dicts), and on the
way records the raw JSON line of every string that becomes segment text (cell sources,
stream text, `text/plain`, error fields). Everything else (images, widget state, metadata)
is decoded by the C scanner in one call and never looked at again: no copy of, and no
regex over, image data. The tree is finished with the same steps `nbformat.reader.reads`
applies after its json.loads (rejoin_lines, strip_transient; no schema validation, no
version conversion) on first access of `Document.notebook`, so detection never imports
nbformat.

Code cell sources also get a `python` form in which IPython syntax (`%magic`, `!shell`,
`obj?`, `x = !cmd`, `%%time` ...) is masked, so `ast.parse` sees valid Python with the same
line count and unchanged columns on every other line (see `mask_ipython`).

Anything that is not a readable notebook (bad JSON, no cells, unsupported version, cells
missing keys) becomes one plain-text segment over the whole file plus a note; this module
never raises for bad content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.decoder import scanstring
from typing import Any

from keyguard.read.documents import Document, Lazy, Segment

__all__ = ["PYTHON_CELL_MAGICS", "mask_ipython", "read_notebook"]

# Cell magics whose body is still Python run in the kernel: only their first line is masked.
# (`%%python`/`%%python3` run the body in a subprocess, but it is Python all the same.)
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "python", "python3"})

_MAX_NOTE_ITEM = 60  # longest piece of file content quoted in a note

# --------------------------------------------------------------------------------------
# Raw JSON locator
# --------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*").match  # JSON whitespace, exactly what json.decoder skips
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*").match
_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*').match  # key without escapes
_DELIMITER = re.compile(r"[ \t\n\r]*([,}\]])[ \t\n\r]*").match  # what may follow a value
# One JSON string token (no raw newline can occur in one); only run over text arrays.
_STRING_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"').finditer

# What the locator walks into; every other value is decoded in one C call. A schema maps a
# key to a schema for its value, or to _STRS for "a string or a list of strings whose raw
# lines we want". Lists are walked item by item with the same schema for each item.
_STRS = "strs"
_MIME: dict[str, Any] = {"text/plain": _STRS}
_OUTPUT: dict[str, Any] = {
    "text": _STRS,  # v4 stream, v3 stream and pyout
    "data": _MIME,  # v4 execute_result / display_data
    "ename": _STRS,
    "evalue": _STRS,
    "traceback": _STRS,
}
_CELL: dict[str, Any] = {"source": _STRS, "input": _STRS, "outputs": _OUTPUT}
_ROOT: dict[str, Any] = {"cells": _CELL, "worksheets": {"cells": _CELL}}

# Raw line info of one _STRS value: an int for a string, a list for a list of strings (empty
# when the value is neither).
LineInfo = int | list[int]


class _Locator:
    """One forward pass over the raw text: the parsed value plus raw lines of wanted strings.

    Produces what `json.loads(text, object_hook=node)` would (objects built by `node`), and
    `lines[id(obj)][key]`, the LineInfo of `obj[key]` for every walked object whose schema
    marks `key` as _STRS. Positions are visited in increasing order, so lines are counted
    incrementally (one `str.count` over each stretch of text, no copies). Raises
    json.JSONDecodeError (a ValueError) like json.loads for invalid JSON.
    """

    def __init__(self, text: str, node: Callable[[dict[str, Any]], Any] = dict) -> None:
        self.text = text
        self.node = node
        self.lines: dict[int, dict[str, LineInfo]] = {}
        hook = None if node is dict else node
        self.decode = json.JSONDecoder(object_hook=hook).raw_decode
        self._pos = 0
        self._line = 1

    def parse(self) -> Any:
        text = self.text
        pos = _WS(text, 1 if text.startswith("\ufeff") else 0).end()
        value, pos = self._value(pos, _ROOT)
        pos = _WS(text, pos).end()
        if pos != len(text):
            raise json.JSONDecodeError("Extra data", text, pos)
        return value

    def _value(self, pos: int, schema: dict[str, Any] | None) -> tuple[Any, int]:
        if schema is not None:
            char = self.text[pos : pos + 1]
            if char == "{":
                return self._object(pos, schema)
            if char == "[":
                return self._array(pos, schema)
        return self.decode(self.text, pos)

    def _object(self, pos: int, schema: dict[str, Any]) -> tuple[Any, int]:
        text = self.text
        result: dict[str, Any] = {}
        infos: dict[str, LineInfo] = {}
        pos = _WS(text, pos + 1).end()
        closing = text[pos : pos + 1]
        if closing == "}":
            pos += 1
        while closing != "}":
            key_match = _KEY(text, pos)  # plain key and colon in one step (the usual case)
            if key_match is not None:
                key = key_match.group(1)
                pos = key_match.end()
            else:
                if text[pos : pos + 1] != '"':
                    raise json.JSONDecodeError(
                        "Expecting property name enclosed in double quotes", text, pos
                    )
                key, pos = scanstring(text, pos + 1)
                colon = _COLON(text, pos)
                if colon is None:
                    raise json.JSONDecodeError("Expecting ':' delimiter", text, _WS(text, pos).end())
                pos = colon.end()
            sub = schema.get(key)
            if sub is None:
                result[key], pos = self.decode(text, pos)
            elif sub is _STRS:
                result[key], pos, infos[key] = self._strings(pos)
            else:
                result[key], pos = self._value(pos, sub)
            delimiter = _DELIMITER(text, pos)
            closing = delimiter.group(1) if delimiter is not None else ""
            if closing not in (",", "}"):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, _WS(text, pos).end())
            pos = delimiter.end()
        obj = result if self.node is dict else self.node(result)
        if infos:
            self.lines[id(obj)] = infos
        return obj, pos

    def _array(self, pos: int, schema: dict[str, Any]) -> tuple[list[Any], int]:
        text = self.text
        result: list[Any] = []
        pos = _WS(text, pos + 1).end()
        closing = text[pos : pos + 1]
        if closing == "]":
            pos += 1
        while closing != "]":
            value, pos = self._value(pos, schema)
            result.append(value)
            delimiter = _DELIMITER(text, pos)
            closing = delimiter.group(1) if delimiter is not None else ""
            if closing not in (",", "]"):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, _WS(text, pos).end())
            pos = delimiter.end()
        return result, pos

    def _strings(self, pos: int) -> tuple[Any, int, LineInfo]:
        """A string (its line) or a list of strings (their lines); other values decoded."""
        text = self.text
        char = text[pos : pos + 1]
        if char == '"':
            self._line += text.count("\n", self._pos, pos)
            self._pos = pos
            value, end = scanstring(text, pos + 1)
            return value, end, self._line
        value, end = self.decode(text, pos)
        lines: list[int] = []
        if char == "[" and set(map(type, value)) <= {str}:
            # Only string tokens, commas and whitespace lie between the brackets, so the
            # tokens found there are the items, in order.
            at, line = self._pos, self._line
            for token in _STRING_TOKENS(text, pos, end):
                start = token.start()
                line += text.count("\n", at, start)
                at = start
                lines.append(line)
            self._pos, self._line = at, line
        return value, end, lines


# --------------------------------------------------------------------------------------
# Segment building
# --------------------------------------------------------------------------------------


class _NotNotebook(Exception):
    """The JSON is not a notebook this module can read; the message goes into the note."""


Pieces = list[tuple[str, int]]
_UNLOCATED: Any = object()  # LineInfo of every string of a tree read without raw lines


class _UnlocatedFields(dict):  # type: ignore[type-arg]
    """The field infos of an object read without raw lines: every field is _UNLOCATED."""

    def get(self, key: Any, default: Any = None) -> Any:
        return _UNLOCATED


_UNLOCATED_FIELDS = _UnlocatedFields()


class _NoLines(dict):  # type: ignore[type-arg]
    """The `lines` of a tree read without raw lines (json.loads): every object's field
    infos are _UNLOCATED_FIELDS, so the segment builders run unchanged."""

    def get(self, key: Any, default: Any = None) -> Any:
        return _UNLOCATED_FIELDS


def _pieces(value: Any, info: LineInfo | None, where: str, v3: bool = False) -> Pieces:
    """(string, raw line) pieces of a string-or-list-of-strings field; _NotNotebook if not.

    info _UNLOCATED: the tree was read without raw lines (every piece gets line 0).
    v3: the list was maybe written by a bare `splitlines()`: nbformat's v3 reader then
    joins it with "\n" (see nbformat.v3.rwbase._join_lines), so the pieces do the same.
    """
    if isinstance(value, str):
        return [(value, info if isinstance(info, int) else 1)]
    if info is _UNLOCATED and isinstance(value, list) and all(isinstance(v, str) for v in value):
        info = [0] * len(value)  # the locator's rule: a list of strings only
    if not isinstance(value, list) or not isinstance(info, list) or len(info) != len(value):
        raise _NotNotebook(f"{where} is not text")
    if v3 and value and not value[0].endswith(("\n", "\r")):
        pieces: Pieces = []
        for item, line in zip(value, info, strict=True):
            if pieces:
                pieces.append(("\n", line))
            pieces.append((item, line))
        return pieces
    return list(zip(value, info, strict=True))


def _join_field(value: Any, info: LineInfo | None, where: str, v3: bool = False
                ) -> tuple[str, tuple[int, ...]]:
    """`_join(_pieces(value, info, where, v3))`, without building the pieces for a list of
    strings read without raw lines (the common case: every notebook is first read so):
    every line is then raw line 0, so only the count of lines is needed."""
    if info is not _UNLOCATED or not isinstance(value, list) or not all(
            isinstance(v, str) for v in value):
        return _join(_pieces(value, info, where, v3))
    joined = v3 and value and not value[0].endswith(("\n", "\r"))
    text = "\n".join(value) if joined else "".join(value)
    if not text:
        return text, ()
    newlines = text.count("\n")
    if len(value) == 1:  # _join's single-piece rule: the last (even empty) line counts
        return text, (0,) * (newlines + 1)
    # _join's rule for several pieces at line 0: a final empty line is not listed
    return text, (0,) * (newlines + (0 if text.endswith("\n") else 1))


def _join(pieces: Pieces) -> tuple[str, tuple[int, ...]]:
    """Concatenate pieces; raw_lines[i] = raw line where segment line i + 1 starts.

    Lines are "\n"-separated (as `ast` and git count them). A text ending in "\n" has a
    last, empty line, mapped to the raw line of the last piece.
    """
    if len(pieces) == 1:  # a single string: every line sits on its one raw line
        string, line = pieces[0]
        return string, (line,) * (string.count("\n") + 1) if string else ()
    raw: list[int] = []
    pending = True  # the next character starts a new segment line
    last = 0
    for string, line in pieces:
        if not string:
            continue
        if pending:
            raw.append(line)
        newlines = string.count("\n")
        pending = string[-1] == "\n"
        if pending:
            newlines -= 1  # that line starts in the next piece
        if newlines:
            raw.extend([line] * newlines)
        last = line
    if pending and last:
        raw.append(last)
    return "".join([string for string, _ in pieces]), tuple(raw)


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def _error_pieces(output: dict[str, Any], info: dict[str, LineInfo], where: str) -> Pieces:
    """`ename: evalue` then one line group per traceback entry, ANSI colour codes stripped."""
    ename = _pieces(output.get("ename", ""), info.get("ename"), f"{where} ename")
    evalue = _pieces(output.get("evalue", ""), info.get("evalue"), f"{where} evalue")
    pieces: Pieces = []
    if any(s for s, _ in ename) or any(s for s, _ in evalue):
        # The header line maps to the evalue's raw line: that is where a leaked key would be.
        value_line = next((line for s, line in evalue if s), ename[0][1])
        pieces = [*((s, value_line) for s, _ in ename), (": ", value_line), *evalue]
    if "traceback" in output:
        for entry, line in _pieces(output["traceback"], info.get("traceback"), where):
            if pieces:
                pieces.append(("\n", line))
            pieces.append((entry, line))
    # Escape sequences hold no newline, so stripping keeps the line structure.
    return [(_ANSI.sub("", s) if "\x1b" in s else s, line) for s, line in pieces]


def _tags(cell: dict[str, Any]) -> tuple[str, ...]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    if not isinstance(tags, list):
        return ()
    return tuple(tag for tag in tags if isinstance(tag, str))


def _is_python_kernel(metadata: Any) -> bool:
    """False only when the notebook says its language is something else (R, Julia ...)."""
    if not isinstance(metadata, dict):
        return True
    for outer, inner in (("language_info", "name"), ("kernelspec", "language")):
        block = metadata.get(outer)
        language = block.get(inner) if isinstance(block, dict) else None
        if isinstance(language, str) and language.strip():
            return language.strip().lower().startswith(("python", "ipython"))
    language = metadata.get("language")  # v3 notebooks
    if isinstance(language, str) and language.strip():
        return language.strip().lower().startswith(("python", "ipython"))
    return True


def _cell_segments(
    index: int,
    cell: Any,
    lines: dict[int, dict[str, LineInfo]],
    major: int,
    python_kernel: bool,
) -> list[Segment]:
    if not isinstance(cell, dict):
        raise _NotNotebook(f"cell {index + 1} is not an object")
    cell_type = cell.get("cell_type")
    if not isinstance(cell_type, str):
        raise _NotNotebook(f"cell {index + 1} has no cell_type")
    if major == 4 and not isinstance(cell.get("metadata"), dict):
        raise _NotNotebook(f"cell {index + 1} has no metadata")  # nbformat needs it
    info = lines.get(id(cell), {})
    # v3 code cells keep their source under "input".
    key = "input" if major == 3 and cell_type == "code" else "source"
    if key not in cell:
        raise _NotNotebook(f"cell {index + 1} has no {key}")
    v3 = major == 3
    source, raw_lines = _join_field(cell[key], info.get(key), f"cell {index + 1} {key}", v3)
    tags = _tags(cell)
    segments: list[Segment] = []
    if source:
        python = None
        if cell_type == "code" and python_kernel:
            python = mask_ipython(source)
        segments.append(Segment(source, python, index, "source", None, raw_lines, "", tags))
    if cell_type != "code":
        return segments
    outputs = cell.get("outputs", [] if major == 4 else None)
    if not isinstance(outputs, list):
        raise _NotNotebook(f"cell {index + 1} has no outputs list")
    for number, output in enumerate(outputs):
        where = f"cell {index + 1} output {number + 1}"
        if not isinstance(output, dict) or not isinstance(output.get("output_type", ""), str):
            raise _NotNotebook(f"{where} is not an output object")
        out_info = lines.get(id(output), {})
        # Take every text form an output can carry, whatever its output_type says.
        found: list[tuple[str, tuple[int, ...]]] = []
        if "text" in output:
            found.append(_join_field(output["text"], out_info.get("text"), where, v3))
        data = output.get("data", {})
        if not isinstance(data, dict):
            raise _NotNotebook(f"{where} data is not an object")
        if "text/plain" in data:
            plain_info = lines.get(id(data), {}).get("text/plain")
            found.append(_join_field(data["text/plain"], plain_info, f"{where} text/plain"))
        if "ename" in output or "evalue" in output or "traceback" in output:
            found.append(_join(_error_pieces(output, out_info, where)))
        for text, out_lines in found:
            if text:
                segments.append(
                    Segment(text, None, index, "output", number, out_lines, source, tags)
                )
    return segments


def _plain(path: str, text: str, why: str) -> Document:
    note = f"not a valid notebook ({why}): scanned as plain text"
    return Document(path, "notebook", text, [Segment(text=text)], [note])


def _clip(value: object) -> str:
    from keyguard.report.redact import redact_keys  # before clipping: a cut key is still a key

    shown = redact_keys(repr(value))
    return shown if len(shown) <= _MAX_NOTE_ITEM else shown[: _MAX_NOTE_ITEM - 3] + "..."


def read_notebook(path: str, text: str, *, locate: bool = True) -> Document:
    """Read a notebook's text into a Document of kind "notebook".

    path: the file path (stored, not opened). text: the decoded file content.

    Returns one Segment per non-empty cell source (`part="source"`; `python` set for code
    cells of Python notebooks, IPython syntax masked; None for markdown/raw cells and
    non-Python cell magics) and one per text output of a code cell (`part="output"`,
    `output_index` = index in the cell's outputs, `context` = the cell source): stream text,
    `text/plain` of results and displays, `ename: evalue` plus the ANSI-stripped traceback of
    errors. Images, HTML and widget data are never segments. Each segment's `raw_lines` maps
    its lines to 1-based lines of `text`. nbformat v4 and v3 are read; `Document.notebook`
    is the NotebookNode as `nbformat.reader.reads` would return it (same major version as the
    file, not validated).

    Never raises for bad content: invalid JSON, JSON that is not a notebook, an unsupported
    nbformat version or a malformed cell gives a single plain-text segment over the whole
    text (file positions, no raw_lines) and a note saying why.
    """
    # Plain dicts: the C scanner builds them; the nbformat tree (whose import costs more than
    # a small notebook's whole scan) is built only when `Document.notebook` is read.
    # locate=False: json.loads builds the same tree 3x faster, without raw lines.
    locator = _Locator(text) if locate else None
    lines: dict[int, dict[str, LineInfo]] = locator.lines if locator is not None else _NoLines()
    try:
        raw = locator.parse() if locator is not None else json.loads(text)
    except json.JSONDecodeError as exc:
        return _plain(path, text, f"invalid JSON at line {exc.lineno}")
    except ValueError as exc:  # e.g. an integer literal longer than Python accepts
        return _plain(path, text, f"invalid JSON: {type(exc).__name__}")
    except RecursionError:
        return _plain(path, text, "JSON nested too deeply")
    if not isinstance(raw, dict):
        return _plain(path, text, f"JSON {type(raw).__name__}, not an object")
    if "nbformat" not in raw:
        return _plain(path, text, "no nbformat version")
    major = raw["nbformat"]
    if isinstance(major, bool) or major not in (3, 4):
        return _plain(path, text, f"unsupported nbformat version {_clip(major)}")
    try:
        if major == 4:
            cells = raw.get("cells")
        else:
            worksheets = raw.get("worksheets")
            if not isinstance(worksheets, list):
                raise _NotNotebook("no worksheets")
            cells = []
            for sheet in worksheets:
                sheet_cells = sheet.get("cells") if isinstance(sheet, dict) else None
                if not isinstance(sheet_cells, list):
                    raise _NotNotebook("a worksheet has no cells")
                cells.extend(sheet_cells)  # nbformat's v3 -> v4 upgrade flattens them too
        if not isinstance(cells, list):
            raise _NotNotebook("no cells")
        metadata = raw.get("metadata")
        if not isinstance(metadata, dict):
            raise _NotNotebook("no notebook metadata")  # nbformat needs it
        python_kernel = _is_python_kernel(metadata)
        segments: list[Segment] = []
        for index, cell in enumerate(cells):
            segments.extend(_cell_segments(index, cell, lines, major, python_kernel))
    except _NotNotebook as exc:
        return _plain(path, text, str(exc))
    except Exception as exc:  # bad content must never abort a scan
        return _plain(path, text, f"unreadable notebook structure: {type(exc).__name__}")
    return Document(path, "notebook", text, segments, [], Lazy(lambda: _to_notebook_node(raw, major)),
                    located=locate)


def _to_notebook_node(nb: Any, major: int) -> Any:
    """Finish the walked tree into what `nbformat.reader.reads` returns.

    reader.reads is json.loads + the version's `to_notebook_json`: from_dict, rejoin_lines,
    and for v4 strip_transient. No version conversion, no validation. Runs after the
    segments are built (lazily, on first access), as it replaces split text lists by strings
    in place.
    """
    from nbformat import from_dict

    nb = from_dict(nb)
    if major == 4:
        from nbformat.v4.rwbase import rejoin_lines, strip_transient

        return strip_transient(rejoin_lines(nb))
    from nbformat.v3.rwbase import rejoin_lines as rejoin_v3

    return rejoin_v3(nb)


# --------------------------------------------------------------------------------------
# IPython syntax masking
# --------------------------------------------------------------------------------------

# Cheap pre-filter: a cell matching none of these has nothing to mask.
_MAYBE_IPYTHON = re.compile(r"^[ \t]*[%!?]|=[ \t]*[!%]|\?[ \t]*\r?$", re.MULTILINE)
_CELL_MAGIC = re.compile(r"[ \t]*%%([\w.-]*)")
# `obj?`, `obj.attr??`, `%magic?`, `np.*load*?` (IPython's help-end form).
_HELP_END = re.compile(r"[ \t]*%{0,2}(?!\d)[\w*]+(?:\.[\w*]+)*\?{1,2}[ \t]*\r?$")
# `x = !cmd`, `a, b = %magic args` (IPython's assign_from_system / assign_from_magic).
_ASSIGN_MAGIC = re.compile(r"[ \t]*[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*[ \t]*=[ \t]*[!%]")
_CODE_CHAR = re.compile(r"[#'\"()\[\]{}\\]")
_STRING_END = {
    quote: re.compile(r"(?:[^\\]|\\.)*?" + re.escape(quote), re.DOTALL)
    for quote in ("'", '"', "'''", '"""')
}


def _is_ipython_line(stripped: str, line: str) -> bool:
    return (
        stripped[:1] in ("%", "!", "?")
        or _HELP_END.match(line) is not None
        or _ASSIGN_MAGIC.match(line) is not None
    )


def mask_ipython(source: str) -> str | None:
    """Python view of a code cell: IPython syntax masked, or None if the cell is not Python.

    source: the cell source as written. Returns a string with exactly the same number of
    "\\n"-separated lines, where every line holding IPython syntax at the start of a
    statement (`%magic`, `!cmd`, `?obj`, `obj?`, `x = !cmd`, `x = %magic`, and backslash
    continuations of those) is replaced by its indentation + `pass`, or by `#` where a
    `pass` would break the block structure; all other lines are unchanged. Lines inside
    strings or brackets are never touched. A cell magic (`%%name` on the first line) of
    PYTHON_CELL_MAGICS has only that line masked; any other (`%%bash`, `%%writefile`,
    `%%html` ...) makes the cell not Python: None. The result need not parse (the cell may
    simply have a syntax error).
    """
    first = source.lstrip("\r\n \t")
    if first.startswith("%%"):
        match = _CELL_MAGIC.match(first)
        if match is None or match.group(1) not in PYTHON_CELL_MAGICS:
            return None
    elif _MAYBE_IPYTHON.search(source) is None:
        return source  # fast path: most cells
    return _Masker(source.split("\n")).run()


class _Masker:
    """Line scanner that tracks strings, brackets and indentation just enough to know which
    lines start a statement and whether `pass` fits there."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.string: str | None = None  # open triple-quoted string
        self.depth = 0  # open brackets
        self.continued = False  # previous line ended with a backslash
        self.indents = [0]  # indentation stack of the enclosing blocks
        self.opener = False  # the last logical line ended with ":" (a block follows)

    def run(self) -> str:
        out = list(self.lines)
        magic_continues = False
        seen_code = False
        for number, line in enumerate(self.lines):
            body = line[:-1] if line.endswith("\r") else line
            if magic_continues:
                out[number] = self._comment(line)
                magic_continues = body.endswith("\\")
                continue
            at_statement = self.string is None and self.depth == 0 and not self.continued
            stripped = body.lstrip(" \t")
            if not at_statement:
                self._scan(body, 0)
                continue
            if not stripped or stripped.startswith("#"):
                continue
            first_code = not seen_code
            seen_code = True
            indent = len(body[: len(body) - len(stripped)].expandtabs(8))
            if (first_code and stripped.startswith("%%")) or _is_ipython_line(stripped, body):
                out[number] = self._mask(line, body, indent)
                magic_continues = body.endswith("\\")
                continue
            self._enter(indent)
            self._scan(body, len(body) - len(stripped))
        return "\n".join(out)

    def _enter(self, indent: int) -> bool:
        """Account for a statement at `indent`; True if its indentation is valid there."""
        if self.opener:
            if indent <= self.indents[-1]:
                return False
            self.indents.append(indent)
            self.opener = False
            return True
        while len(self.indents) > 1 and indent < self.indents[-1]:
            self.indents.pop()
        return indent == self.indents[-1]

    def _mask(self, line: str, body: str, indent: int) -> str:
        valid = (indent > self.indents[-1]) if self.opener else (indent in self.indents)
        if not valid:
            return self._comment(line)  # a comment ignores indentation
        self._enter(indent)
        ending = "\r" if line.endswith("\r") else ""
        return body[: len(body) - len(body.lstrip(" \t"))] + "pass" + ending

    @staticmethod
    def _comment(line: str) -> str:
        body = line[:-1] if line.endswith("\r") else line
        return body[: len(body) - len(body.lstrip(" \t"))] + "#" + ("\r" if body != line else "")

    def _scan(self, body: str, pos: int) -> None:
        """Advance the string/bracket/continuation state over one physical line."""
        code_end = len(body)
        if self.string is not None:
            end = _STRING_END[self.string].match(body, pos)
            if end is None:
                return  # still inside the triple-quoted string
            self.string = None
            pos = end.end()
        self.continued = False
        while True:
            found = _CODE_CHAR.search(body, pos)
            if found is None:
                break
            char = found.group()
            pos = found.end()
            if char == "#":
                code_end = found.start()
                break
            if char == "\\":
                if pos >= len(body):
                    self.continued = True
                pos += 1
            elif char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(self.depth - 1, 0)
            else:
                quote = char * 3 if body.startswith(char * 3, found.start()) else char
                end = _STRING_END[quote].match(body, found.start() + len(quote))
                if end is None:
                    if len(quote) == 3:
                        self.string = quote
                    elif body.endswith("\\"):
                        self.continued = True  # single-quoted string continued (rare)
                    return
                pos = end.end()
        if self.depth == 0 and not self.continued:
            self.opener = body[:code_end].rstrip().endswith(":")
