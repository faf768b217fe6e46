"""Token detector: format-exact regexes of the rule packs over any text segment.

Speed: Python's `re` has no literal prefilter for alternations, so running every rule over
every byte costs one pass per rule. Keyword-less token rules (the bare key shapes) are instead
run only where they can match (`detect/bare.py`); rules with keywords (`crn:v1:`, `eyJ`) run
only on segments containing a keyword.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from keyguard.detect.bare import bare_plan
from keyguard.filter.shapes import is_placeholder, is_plausible_token
from keyguard.model import Confidence
from keyguard.prefilter.keywords import Keywords
from keyguard.read.documents import Segment, ascii_lower
from keyguard.report.advice import behaviour
from keyguard.rulepack.load import Provider, Rule, RuleSet

_ASSIGNED_TO = re.compile(r"""([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:|:=|=>)\s*["']?$""")
_CONTEXT_LINES = 3
_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGEST_LINE = re.compile(r"\s*[0-9a-fA-F]{32,}\s+\*?[^\s=:,;\"']+\s*$")
# Generic words that say "this is a credential" on the match's line; with provider context
# anywhere in the document they are enough ("API key: <44>" in a notebook's Markdown cell).
_CREDENTIAL_CUE = re.compile(r"api[ _-]?key|token|secret|passw|credential|\bkey\b")


class Hit(NamedTuple):
    """A detected secret in one segment, before it becomes a Finding.

    Positions are 1-based segment coordinates; `end_column` is exclusive. `where` is the
    human phrase for where it sits ("passed to IonQProvider(token=...)").
    """

    segment: int
    line: int
    column: int
    end_line: int
    end_column: int
    value: str
    rule: Rule
    where: str
    confidence: Confidence
    fixable: bool = False
    env_var: str | None = None
    origin: str = "token"  # "token" or "python": which detector produced it
    saves_to: str | None = None  # the file a persisting call writes (its call site's saves_to)


class LineIndex:
    """Offsets <-> 1-based (line, column) for one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        find = text.find
        pos = find("\n")
        while pos >= 0:
            self.starts.append(pos + 1)
            pos = find("\n", pos + 1)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end]

    def span(self, first_line: int, last_line: int) -> tuple[int, int]:
        """Offsets covering lines first_line..last_line (clamped)."""
        first = max(first_line, 1)
        last = min(last_line, len(self.starts))
        end = self.starts[last] if last < len(self.starts) else len(self.text)
        return self.starts[first - 1], end


@dataclass
class ContextProbe:
    """Decides whether provider context surrounds a match in one segment.

    Context is one of the provider's context keywords (or environment variable names),
    case-insensitive: on the match's line (high confidence), within three lines (medium), in
    the segment's extra context such as a notebook output's cell source, or in the path; or
    a generic credential word on the line with the provider named anywhere in the document.
    """

    lower: str
    index: LineIndex
    extra_lower: str
    path_lower: str
    # The whole document lower-cased, or a function giving it (a notebook's JSON with its
    # images is lowered only if a match ever needs document-wide context).
    document_lower: str | Callable[[], str] = ""
    document_context: dict[str, bool] = field(default_factory=dict)
    by_line: dict[tuple[str, int], Confidence | None] = field(default_factory=dict)

    def confidence(self, provider: Provider, offset: int) -> Confidence | None:
        line, _ = self.index.position(offset)
        # Everything below depends on the line only: once per (provider, line), so a line of
        # thousands of matches (a minified file) is not searched once per match.
        key = (provider.id, line)
        if key not in self.by_line:
            self.by_line[key] = self._line_confidence(provider, line)
        return self.by_line[key]

    def _line_confidence(self, provider: Provider, line: int) -> Confidence | None:
        keywords = _context_keywords(provider)
        skip = provider.not_context
        start, end = self.index.span(line, line)
        if has_keyword(self.lower, keywords, start, end, skip):
            return Confidence.HIGH
        start, end = self.index.span(line - _CONTEXT_LINES, line + _CONTEXT_LINES)
        if has_keyword(self.lower, keywords, start, end, skip):
            return Confidence.MEDIUM
        if has_keyword(self.extra_lower, keywords, exclude=skip) or has_keyword(self.path_lower, keywords):
            return Confidence.MEDIUM
        start, end = self.index.span(line, line)
        if _CREDENTIAL_CUE.search(self.lower, start, end) and self._in_document(provider, keywords):
            return Confidence.MEDIUM
        return None

    def _in_document(self, provider: Provider, keywords: Sequence[str]) -> bool:
        # Once per provider and document: a file of many matches must stay linear.
        cached = self.document_context.get(provider.id)
        if cached is None:
            if callable(self.document_lower):
                self.document_lower = self.document_lower()
            cached = has_keyword(self.document_lower, keywords, exclude=provider.not_context)
            self.document_context[provider.id] = cached
        return cached


class _LineFacts:
    """Per-line facts of one segment, computed once per line however many matches it has."""

    def __init__(self, text: str, lower: str, index: LineIndex) -> None:
        self._text, self._lower, self._index = text, lower, index
        self._cache: dict[tuple[str, int], object] = {}

    def text(self, line: int) -> str:
        key = ("text", line)
        if key not in self._cache:
            self._cache[key] = self._index.line_text(line)
        return self._cache[key]  # type: ignore[return-value]

    def lower(self, line: int) -> str:
        key = ("lower", line)
        if key not in self._cache:
            start, end = self._index.span(line, line)
            self._cache[key] = self._lower[start:end]
        return self._cache[key]  # type: ignore[return-value]

    def first_hash(self, line: int) -> int:
        """0-based column of the line's first '#', or -1."""
        key = ("hash", line)
        if key not in self._cache:
            start, end = self._index.span(line, line)
            found = self._text.find("#", start, end)
            self._cache[key] = found - start if found >= 0 else -1
        return self._cache[key]  # type: ignore[return-value]


def index_line(text: str, offset: int) -> str:
    """The whole line of `text` containing `offset`."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start: end if end >= 0 else len(text)]


def has_keyword(
    text: str, keywords: Sequence[str], start: int = 0, end: int | None = None, exclude: Sequence[str] = ()
) -> bool:
    """Whether a keyword occurs in text[start:end] at the start of a word.

    A keyword that begins with a letter must not follow another letter: "ionq" counts in
    `IonQProvider` and `cirq_ionq` but not in `CorrelationQuery` (long generated identifier
    lists would otherwise give every key-shaped string there provider context). An
    occurrence that starts one of the `exclude` phrases ("ibm plex", a font) does not count.
    """
    end = len(text) if end is None else end
    for keyword in keywords:
        pos = text.find(keyword, start, end)
        if pos < 0:
            continue
        if not keyword[0].isalpha() and not exclude:
            return True
        while pos >= 0:
            if (
                (pos == 0 or not text[pos - 1].isalpha() or not keyword[0].isalpha())
                and not any(text.startswith(phrase, pos) for phrase in exclude)
                and not _in_blob(text, pos, len(keyword))
            ):
                return True
            pos = text.find(keyword, pos + 1, end)
    return False


# Without "=": padding only ends base64 data, and `QE_TOKEN=<128 hex>` is a keyword, an
# operator and a key, not one blob.
_BLOB_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
# A run of base64 characters this long around a keyword is encoded data (a notebook's PNG, a
# font), not a word: "+aqt" inside an image must not give a nearby hex id provider context.
_BLOB_RUN = 100


def _in_blob(text: str, pos: int, length: int) -> bool:
    """Whether text[pos:pos + length] sits in a run of >= _BLOB_RUN base64 characters.
    Looks at most _BLOB_RUN characters each way, so the cost per occurrence is bounded."""
    left = pos
    while left > 0 and pos - left < _BLOB_RUN and text[left - 1] in _BLOB_CHARS:
        left -= 1
    right = pos + length
    stop = min(len(text), right + _BLOB_RUN)
    while right < stop and text[right] in _BLOB_CHARS:
        right += 1
    return right - left >= _BLOB_RUN


_KEYWORD_CACHE: dict[str, tuple[str, ...]] = {}


def _context_keywords(provider: Provider) -> tuple[str, ...]:
    cached = _KEYWORD_CACHE.get(provider.id)
    if cached is None:
        cached = tuple(dict.fromkeys([
            *provider.context, *(v.lower() for v in provider.env_vars),
            # A credential file's name (in the path or the text) is the provider's context.
            *(cf.name.rsplit("/", 1)[-1].lower() for cf in provider.credential_files),
        ]))
        _KEYWORD_CACHE[provider.id] = cached
    return cached


def describe_where(line_prefix: str, segment: Segment, is_comment: bool, path: str) -> str:
    """Human phrase for where a bare match sits, from the text before it on its line."""
    # Only the end of the prefix matters; a bounded tail keeps the `$`-anchored searches
    # linear on minified or generated one-line files.
    line_prefix = line_prefix[-200:]
    lowered = line_prefix.lower()
    stripped = line_prefix.lstrip()
    if segment.cell is not None and segment.part == "source":
        magic = re.match(r"%env\s+([A-Za-z_][A-Za-z0-9_]*)", stripped)
        if magic:
            return f"set with the %env magic as {magic.group(1)}"
        if stripped.startswith("!") and "apikey" not in lowered and "bearer" not in lowered:
            return "in a shell command (!...) of the cell"
    if re.search(r"apikey\s+$", lowered):
        return "in an `Authorization: apiKey` header"
    if re.search(r"apikey[\"']?\s*[=:]\s*[\"']?$", lowered):
        return "in an `apikey` field"
    if re.search(r"bearer\s+$", lowered):
        return "in an `Authorization: Bearer` header"
    if segment.part == "output":
        return f"in the output of cell {(segment.cell or 0) + 1}"
    if is_comment:
        return "in a comment"
    assigned = None
    # Both searches need an operator at the end (before quotes and spaces); the regex
    # backtracks through every identifier run of the prefix, so check that first.
    if line_prefix.rstrip(" \t\r\n\f\v\"'").endswith(("=", ":", ">")):
        assigned = _ASSIGNED_TO.search(line_prefix.rstrip("\"' "))
        if assigned is None:
            assigned = _ASSIGNED_TO.search(line_prefix)
    if assigned:
        return f"assigned to {assigned.group(1)}"
    if segment.cell is not None and segment.python is None:
        return f"in cell {segment.cell + 1} (Markdown or non-Python cell)"
    return f"in {path.rsplit('/', 1)[-1]}"


_ANCHOR_PLANS: dict[int, tuple[Sequence[Rule], Keywords, dict[str, tuple[Rule, ...]]]] = {}


def _anchor_plan(rules: Sequence[Rule]) -> tuple[Keywords, dict[str, tuple[Rule, ...]]]:
    """The rules' distinct keywords and, per keyword, the rules it anchors. Cached per rule
    list object (the list stays referenced, so its id stays unique)."""
    cached = _ANCHOR_PLANS.get(id(rules))
    if cached is None or cached[0] is not rules:
        anchors: dict[str, tuple[Rule, ...]] = {}
        for rule in rules:
            for word in rule.keywords:
                anchors[word] = (*anchors.get(word, ()), rule)
        cached = _ANCHOR_PLANS[id(rules)] = (rules, Keywords(anchors), anchors)
    return cached[1], cached[2]


# `(?<!...)(?P<secret>LITERAL...`: a pattern whose secret starts with a fixed literal, or one
# of a few (`(?:AKIA|ASIA)`, which sre parses as `A` then a branch), after at most one
# leading lookbehind. sre cannot use a literal prefix behind a lookbehind and tries the
# pattern at every position; `str.find` of the literals first is many times faster on the
# long segments (notebook outputs) where a keyword such as "eyj" or "asia" turns up by chance.
_PREFIXES: dict[str, tuple[str, ...]] = {}
_MAX_PREFIXES = 16


def _literal_prefixes(pattern: str) -> tuple[str, ...]:
    """The literals one of which every match of `pattern` starts with, each at least 3
    characters long (() when there are none, more than _MAX_PREFIXES, or the pattern has
    another shape). Read from sre's own parse of the pattern."""
    cached = _PREFIXES.get(pattern)
    if cached is None:
        cached = _PREFIXES[pattern] = _parse_prefixes(pattern)
    return cached


def _parse_prefixes(pattern: str) -> tuple[str, ...]:
    from keyguard.rulepack.sre import parser

    try:
        parsed = parser.parse(pattern)
        secret_group = re.compile(pattern).groupindex.get("secret")
    except Exception:  # any shape we do not understand: no shortcut
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    items = list(parsed)
    if items and str(items[0][0]) == "ASSERT_NOT" and items[0][1][0] == -1:
        items = items[1:]  # one leading lookbehind
    # Then the `secret` group itself, with no flags of its own (`(?i:...)` is not literal).
    if not items or str(items[0][0]) != "SUBPATTERN":
        return ()
    group, add_flags, _, sub = items[0][1]
    if group != secret_group or add_flags:
        return ()
    prefixes = [""]
    for op, arg in sub:
        if str(op) == "LITERAL":
            choices = [chr(arg)]
        elif str(op) == "BRANCH" and all(
                branch and all(str(o) == "LITERAL" for o, _ in branch) for branch in arg[1]):
            choices = ["".join(chr(a) for _, a in branch) for branch in arg[1]]
        elif str(op) == "IN" and all(str(o) == "LITERAL" for o, _ in arg):
            choices = [chr(a) for _, a in arg]
        else:
            break
        if len(prefixes) * len(choices) > _MAX_PREFIXES:
            break
        prefixes = [p + c for p in prefixes for c in choices]
    if min(map(len, prefixes)) < 3:
        return ()
    return tuple(dict.fromkeys(prefixes))


def find_all(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """`regex.finditer(text)`, the same matches, tried only where one of the pattern's
    literal prefixes (`_literal_prefixes`) occurs, in order. `match(text, pos)` still sees
    the characters before `pos`, so the lookbehind is checked as in finditer."""
    prefixes = _literal_prefixes(regex.pattern)
    if not prefixes:
        yield from regex.finditer(text)
        return
    find = text.find
    upcoming = {prefix: find(prefix) for prefix in prefixes}  # next occurrence of each
    pos = 0
    while True:
        found = [at for at in upcoming.values() if at >= 0]
        if not found:
            return
        at = min(found)
        match = regex.match(text, at)
        if match is not None:
            yield match
        pos = max(match.end(), at + 1) if match is not None else at + 1
        for prefix, next_at in upcoming.items():
            if 0 <= next_at < pos:
                upcoming[prefix] = find(prefix, pos)


def any_anchor_in(rules: Sequence[Rule], lowered: bytes) -> bool:
    """Whether any keyword of `rules` occurs in `lowered` (a whole file's lower-cased bytes):
    when none does, no segment of the file needs the per-segment keyword search."""
    return _anchor_plan(rules)[0].any_in(lowered)


def _anchored_rules(rules: Sequence[Rule], lower: str) -> list[Rule]:
    """Rules with a keyword in `lower`, in the order of `rules`: one Aho-Corasick pass for
    every keyword at once."""
    words, anchors = _anchor_plan(rules)
    found = words.present(lower)
    if not found:
        return []
    chosen = {id(r) for word in found for r in anchors[word]}
    return [r for r in rules if id(r) in chosen]


def find_tokens(
    segment: Segment,
    segment_index: int,
    path: str,
    ruleset: RuleSet,
    rules: Sequence[Rule],
    document_lower: str | Callable[[], str] = "",
    candidates: list[str] | None = None,
    lower: str | None = None,
    anchors: bool = True,
) -> list[Hit]:
    """Run token and identifier rules over one segment.

    `rules` are the selected token/identifier rules; `document_lower` the whole document's
    lower-cased text (for document-level context). Returns hits that passed the format,
    placeholder and context filters. Values that passed the format and placeholder filters,
    with or without context, are appended to `candidates` (they make a parse worthwhile).
    `lower` is the segment's lower-cased text when the caller already has it. `anchors`
    False: the caller knows no rule keyword is in the file (`any_anchor_in`).
    """
    text = segment.text
    if lower is None:
        lower = ascii_lower(text)
    hits: list[Hit] = []

    anchored = _anchored_rules(rules, lower) if anchors else []
    matches = list(bare_plan(rules).matches(text))
    for rule in anchored:
        assert rule.regex is not None
        matches.extend((rule, m) for m in find_all(rule.regex, text))

    if not matches:
        return hits
    index = LineIndex(text)
    probe = ContextProbe(lower, index, ascii_lower(segment.context), path.lower(), document_lower)
    name_lower = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    lines = _LineFacts(text, lower, index)
    for rule, match in matches:
        value = match.group("secret")
        start = match.start("secret")
        provider = ruleset.providers[rule.provider]
        if behaviour(rule).plausibility:
            if not is_plausible_token(value, min_entropy=rule.min_entropy, mixed_case=rule.mixed_case):
                continue
            env_names = frozenset(provider.env_vars)
            if is_placeholder(value, provider.placeholders, env_names):
                continue
            if candidates is not None:
                candidates.append(value)
        line, column = index.position(start)
        if rule.deny_context:
            line_lower = lines.lower(line)
            # A deny word in the file name counts too (SHA512SUMS, checksums.txt, x.sha512).
            if any(word in line_lower or word in name_lower for word in rule.deny_context):
                continue
        if _HEX.fullmatch(value) and _DIGEST_LINE.match(lines.text(line)):
            # `sha512sum` output ("<hex>  file.tar.gz"): a digest list, whatever the file name.
            continue
        confidence: Confidence | None = Confidence.HIGH
        if rule.requires_context:
            confidence = probe.confidence(provider, start)
            if confidence is None:
                continue
        line_start = index.starts[line - 1]
        # describe_where reads only the end of the prefix; a bounded slice keeps a line of
        # thousands of matches linear.
        line_prefix = text[max(line_start, start - 200): start]
        is_comment = segment.python is not None and 0 <= lines.first_hash(line) < column - 1
        hits.append(
            Hit(
                segment=segment_index,
                line=line,
                column=column,
                end_line=line,
                end_column=column + len(value),
                value=value,
                rule=rule,
                where=describe_where(line_prefix, segment, is_comment, path),
                confidence=confidence,
            )
        )
    return hits
