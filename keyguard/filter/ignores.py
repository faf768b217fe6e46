"""Inline ignores: comments and notebook cell tags that suppress findings.

What suppresses a finding:

* `# keyguard: ignore` (every rule) or `# keyguard: ignore[KG101,KG2]` (those rule ids or id
  prefixes, as in `--select`) in a comment on the finding's line, or, for Python, on the first
  line of the (multi-line) statement holding it::

      service = QiskitRuntimeService(   # keyguard: ignore[KG201]
          token="...",
      )

* detect-secrets' `pragma: allowlist secret` on the line, and `pragma: allowlist nextline
  secret` alone on the line before (so teams can switch tools without touching comments).
* a notebook cell tag `keyguard-ignore`: every finding in that cell's source and outputs.

Comment syntax: Python code (files and notebook code cells) takes `#` comments only, and only
real comments (a `#` inside a string literal does not count). Other text files take `#`,
`//`, `/*`, `<!--` and `;` (INI), so the same directive works in .env, YAML, shell, JSON-with-
comments, Markdown and INI. Brackets that name no valid rule id suppress nothing: a typo must
not silently widen an ignore. Findings in notebook outputs can only be ignored by the cell tag
(an output cannot carry a comment).

The statement map uses the stdlib `ast` (fast); libcst is for the fixer only. Parses and
comment scans are cached per segment source and only happen for segments with findings.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from keyguard.config import Config, ignored_rules_for
from keyguard.model import Finding
from keyguard.read.documents import Document, Segment

IGNORE_TAG = "keyguard-ignore"

_DIRECTIVE = re.compile(
    r"(?P<lead>\#|//|/\*|<!--|;)\s*"
    r"(?:"
    r"(?P<kg>keyguard:\s*ignore(?![\w-])(?:\[(?P<codes>[^\]\n]*)\])?)"
    r"|(?P<next>pragma:\s*(?:allowlist|whitelist)\s+nextline\s+secret)"
    r"|(?P<pragma>pragma:\s*(?:allowlist|whitelist)\s+secret)"
    r")",
    re.IGNORECASE,
)
_CODE = re.compile(r"^KG[0-9]{0,3}$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Directive(NamedTuple):
    """One suppression comment.

    kind: "ignore" (keyguard: ignore), "pragma" (allowlist secret) or "nextline".
    codes: rule id prefixes for `ignore[...]`; None means every rule.
    text: the normalised comment, e.g. `# keyguard: ignore[KG201]`, used in reasons.
    """

    kind: str
    codes: tuple[str, ...] | None
    text: str
    comment_only: bool = False

    def covers(self, rule_id: str) -> bool:
        return self.codes is None or any(rule_id.startswith(code) for code in self.codes)


def _parse_codes(raw: str) -> tuple[str, ...]:
    """`KG101, kg2` -> ("KG101", "KG2"); anything not a KG id prefix is dropped."""
    items = (item.strip().upper() for item in re.split(r"[,\s]+", raw))
    return tuple(item for item in items if _CODE.match(item))


def parse_directives(comment: str, *, leads: str | None = None) -> list[Directive]:
    """Directives in a piece of text (a comment, or a whole text line).

    leads: the comment starters allowed (None: all of `# // /* <!-- ;`).
    """
    out = []
    for match in _DIRECTIVE.finditer(comment):
        lead = match.group("lead")
        if leads is not None and lead not in leads:
            continue
        comment_only = not comment[: match.start()].strip()
        if match.group("kg") is not None:
            raw = match.group("codes")
            codes = None if raw is None else _parse_codes(raw)
            text = f"{lead} keyguard: ignore" + ("" if codes is None else f"[{','.join(codes)}]")
            out.append(Directive("ignore", codes, text, comment_only))
        elif match.group("next") is not None:
            out.append(Directive("nextline", None, f"{lead} pragma: allowlist nextline secret",
                                 comment_only))
        else:
            out.append(Directive("pragma", None, f"{lead} pragma: allowlist secret", comment_only))
    return out


def _split_lines(text: str) -> list[str]:
    # Python's (and the detectors') notion of a line: \n, \r\n or \r, not str.splitlines().
    return _LINE_BREAK.split(text)


@lru_cache(maxsize=32)
def _python_comments(source: str) -> dict[int, str] | None:
    """1-based line -> the text of the real `#` comment on it; None when tokenizing fails."""
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return comments


class StatementMap(NamedTuple):
    """Line facts of one Python source, from one parse and one walk.

    starts: 1-based line -> first line of the innermost statement whose own lines include it.
        Only lines that are not themselves a statement's first line are listed. A compound
        statement (def, if, with, ...) owns its header lines (decorators included), not its
        body, so an ignore on `if x:` never covers the block under it.
    string_ends: 1-based line inside a multi-line string literal -> last line of its
        innermost statement. A comment cannot sit inside a triple-quoted string, and its
        statement's first line often cannot hold one either (`x = \'\'\'` opens the
        string), so for these lines the statement's last line counts too, as ruff does for
        `noqa`.
    Both are empty when the source does not parse.
    """

    starts: dict[int, int]
    string_ends: dict[int, int]


_COMPOUND_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


@lru_cache(maxsize=8)
def statement_map(source: str) -> StatementMap:
    """The StatementMap of `source`: linear in its size, whatever the nesting (an explicit
    stack, not recursion; an elif chain of 2,000 branches is 2,000 levels deep)."""
    from keyguard.read.pyparse import parse

    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return StatementMap({}, {})
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    # (node, end line of the innermost enclosing multi-line statement, or 0)
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, owner_end = stack.pop()
        if isinstance(node, ast.stmt):
            first = node.lineno
            for decorator in getattr(node, "decorator_list", None) or ():
                first = min(first, decorator.lineno)
            last = node.end_lineno or node.lineno
            if last != node.lineno:
                owner_end = last
            nested = [
                getattr(item, "pattern", item).lineno  # match_case has no lineno itself
                for name in _COMPOUND_FIELDS
                for item in getattr(node, name, None) or ()
            ]
            if nested:  # compound: own only the header, up to the first nested line
                last = min(last, min(nested) - 1)
            for line in range(first + 1, last + 1):
                starts[line] = first  # parents are popped before children: innermost wins
        elif (
            owner_end
            and isinstance(node, (ast.Constant, ast.JoinedStr))
            and (isinstance(node, ast.JoinedStr) or isinstance(node.value, str))
            and node.end_lineno is not None
            and node.end_lineno > node.lineno
        ):
            for line in range(node.lineno, node.end_lineno + 1):
                ends[line] = owner_end
        stack.extend((child, owner_end) for child in ast.iter_child_nodes(node))
    return StatementMap(starts, ends)


def statement_starts(source: str) -> dict[int, int]:
    """`statement_map(source).starts` (see StatementMap)."""
    return statement_map(source).starts


def string_statement_ends(source: str) -> dict[int, int]:
    """`statement_map(source).string_ends` (see StatementMap)."""
    return statement_map(source).string_ends


class _SegmentIndex:
    """Directives per line of one segment, computed on first use."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self._lines: list[str] | None = None
        self._python_lines: list[str] | None = None
        self._cache: dict[int, list[Directive]] = {}
        self.is_python = segment.python is not None
        self._has_directives: bool | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _split_lines(self.segment.text)
        return self._lines

    @property
    def python_lines(self) -> list[str]:
        # Split once per segment: per finding would make a file of many findings quadratic.
        if self._python_lines is None:
            self._python_lines = _split_lines(self.segment.python or "")
        return self._python_lines

    def directives(self, line: int) -> list[Directive]:
        if line in self._cache:
            return self._cache[line]
        found: list[Directive] = []
        if 1 <= line <= len(self.lines):
            text_line = self.lines[line - 1]
            if self.is_python:
                found = self._python_directives(line, text_line)
            else:
                found = parse_directives(text_line)
        self._cache[line] = found
        return found

    def _python_directives(self, line: int, text_line: str) -> list[Directive]:
        python = self.segment.python or ""
        comments = _python_comments(python)
        python_lines = self.python_lines
        masked = line > len(python_lines) or python_lines[line - 1] != text_line
        if comments is None or masked:
            # Unparsable source, or a masked IPython magic / !shell line: fall back to the
            # raw line, `#` comments only.
            return parse_directives(text_line, leads="#")
        comment = comments.get(line)
        if comment is None:
            return []
        comment_only = not text_line[: text_line.rfind(comment)].strip()
        return [
            Directive(d.kind, d.codes, d.text, comment_only)
            for d in parse_directives(comment, leads="#")
        ]

    @property
    def has_directives(self) -> bool:
        """Whether any directive text is in the segment at all: without one nothing can be
        ignored, and no tokenizing or parsing is needed (the common case)."""
        if self._has_directives is None:
            self._has_directives = _DIRECTIVE.search(self.segment.text) is not None
        return self._has_directives

    def statement_start(self, line: int) -> int:
        if not self.is_python:
            return line
        return statement_map(self.segment.python or "").starts.get(line, line)

    def string_statement_end(self, line: int) -> int:
        if not self.is_python:
            return line
        return statement_map(self.segment.python or "").string_ends.get(line, line)


def segment_key(segment: Segment) -> tuple[int | None, str | None, int | None]:
    """(cell, part, output_index) of a segment; (None, None, None) for a plain file."""
    return segment.cell, segment.part, segment.output_index


def finding_key(finding: Finding) -> tuple[int | None, str | None, int | None]:
    """(cell, part, output_index) of a finding's location, comparable with `segment_key`."""
    loc = finding.location
    return loc.cell, loc.part, loc.output_index


def segment_for(document: Document, finding: Finding) -> Segment | None:
    """The segment a finding was found in, or None when the document has no such segment.

    Plain files have one segment. Notebook segments are told apart by (cell, part,
    output_index); a finding without `part` in a notebook cell matches the cell's source.
    """
    key = finding_key(finding)
    for segment in document.segments:
        if segment_key(segment) == key:
            return segment
    cell, part, _ = key
    if part is None:
        for segment in document.segments:
            if segment.cell == cell and segment.part in (None, "source"):
                return segment
    return None


def _where(segment: Segment, line: int) -> str:
    if segment.cell is None:
        return f"line {line}"
    return f"cell {segment.cell + 1} line {line}"


def _reason(finding: Finding, index: _SegmentIndex) -> str | None:
    """Why `finding` is ignored by a comment in its segment, or None."""
    if not index.has_directives:
        return None
    line = finding.location.line
    segment = index.segment
    candidates = [line]
    start = index.statement_start(line)
    if start != line:
        candidates.append(start)
    end = index.string_statement_end(line)
    if end != line:
        candidates.append(end)
    for candidate in candidates:
        for directive in index.directives(candidate):
            if directive.kind != "nextline" and directive.covers(finding.rule_id):
                return f"{directive.text} at {_where(segment, candidate)}"
    if line > 1:
        for directive in index.directives(line - 1):
            if directive.kind == "nextline" and directive.comment_only:
                return f"{directive.text} at {_where(segment, line - 1)}"
    return None


def split_ignored(
    document: Document, findings: Sequence[Finding]
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Split a document's findings into (kept, ignored-with-reason), each in input order.

    Reasons are short and never contain the secret, e.g. "# keyguard: ignore[KG201] at line
    3", "# pragma: allowlist secret at cell 2 line 1", "cell tag keyguard-ignore".
    """
    kept: list[Finding] = []
    ignored: list[tuple[Finding, str]] = []
    if not findings:
        return kept, ignored
    ignored_cells = {
        seg.cell for seg in document.segments if seg.cell is not None and IGNORE_TAG in seg.tags
    }
    indexes: dict[int, _SegmentIndex] = {}
    for finding in findings:
        if finding.location.cell is not None and finding.location.cell in ignored_cells:
            ignored.append((finding, f"cell tag {IGNORE_TAG}"))
            continue
        segment = segment_for(document, finding)
        # Outputs cannot carry comments: only the cell tag above applies to them.
        if segment is None or segment.part == "output":
            kept.append(finding)
            continue
        index = indexes.get(id(segment))
        if index is None:
            index = indexes[id(segment)] = _SegmentIndex(segment)
        reason = _reason(finding, index)
        if reason is None:
            kept.append(finding)
        else:
            ignored.append((finding, reason))
    return kept, ignored


def apply_per_file_ignores(
    findings: Sequence[Finding], config: Config
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Split findings by the config's `per-file-ignores` into (kept, ignored-with-reason).

    The reason names the pattern's rule prefix and the config file, e.g.
    "per-file-ignores KG1 (pyproject.toml)".
    """
    if not config.per_file_ignores:
        return list(findings), []
    where = os.path.basename(config.config_file) if config.config_file else "config"
    kept: list[Finding] = []
    ignored: list[tuple[Finding, str]] = []
    for finding in findings:
        prefixes = ignored_rules_for(finding.location.path, config)
        prefix = next((p for p in prefixes if finding.rule_id.startswith(p)), None)
        if prefix is None:
            kept.append(finding)
        else:
            ignored.append((finding, f"per-file-ignores {prefix} ({where})"))
    return kept, ignored
