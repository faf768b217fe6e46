"""The codemod: for each finding in one module (or notebook cell), decide how its literal is
rewritten into an environment read, or why it is left to the user (the rewrites are listed
in the keyguard.fix docstring).

Works on the stdlib `ast` tree and edits text spans (keyguard.fix.pytree says why): each edit
replaces exactly one literal, one call argument, one statement, or inserts one import line;
every other byte of the file is kept.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from keyguard.fix.env_names import EnvNamer
from keyguard.fix.fstrings import split_fstring
from keyguard.fix.imports import import_edit
from keyguard.fix.instructions import revoke_text
from keyguard.fix.literals import env_get, env_subscript, fstring_from_simple
from keyguard.fix.os_binding import OsAccess
from keyguard.fix.pytree import Source, Walk, dotted, walk, word_lines
from keyguard.fix.records import Unfixable
from keyguard.model import Finding
from keyguard.rulepack import RuleSet

Edit = tuple[int, int, str]  # (start, end, replacement) over the module's text

_ENV_WRITES = {"os.environ.setdefault", "os.putenv", "os.environ.update"}
_ENV_READS = {"os.getenv", "os.environ.get"}


@dataclass
class Prepared:
    """One module analysed for its findings: where each key sits, and the bounded walk."""

    source: Source
    tree: ast.Module
    walk: Walk
    offsets: list[int | None]  # per finding: offset of its key in the text (None: not there)
    positions: list[int]  # per finding: offset of its reported position
    first_use: int | None  # offset of the first literal that may be rewritten
    starts: list[int] = field(default_factory=list)  # string node starts, for bisect

    def string_at(self, start: int, end: int) -> tuple[int, int, Any] | None:
        i = bisect_right(self.starts, start) - 1
        if i >= 0:
            s = self.walk.strings[i]
            if s[0] <= start and end <= s[1]:
                return s
        return None


def prepare(text: str, tree: ast.Module, findings: list[Finding]) -> Prepared:
    """Locate each finding's key in `text` and walk the statements around them (and the
    lines that name `os`)."""
    source = Source(text)
    offsets = [_occurrence(source, f) for f in findings]
    positions = [_position(source, f) for f in findings]
    lines: set[int] = set(word_lines(source, ["os"]))
    for f, o, p in zip(findings, offsets, positions, strict=True):
        if o is not None:
            lines.add(source.line_of(o))
            lines.add(source.line_of(o + len(f.secret)))
        lines.add(source.line_of(p))
    w = walk(tree, source, lines, {"os"})
    aliases = {name for name, _, _ in w.os_imports} - {"os"}
    if aliases:
        # Is an `import os as X` usable? Only if nothing else binds X.
        w.bound_other |= walk(tree, source, word_lines(source, aliases), aliases).bound_other
    prep = Prepared(source, tree, w, offsets, positions, None, [s[0] for s in w.strings])
    uses = [s[0] for o, f in zip(offsets, findings, strict=True) if o is not None
            and (s := prep.string_at(o, o + len(f.secret))) is not None]
    prep.first_use = min(uses) if uses else None
    return prep


@dataclass
class ModuleResult:
    code: str
    fixed: list[Finding]
    unfixable: list[Unfixable]


def fix_module(
    prep: Prepared,
    findings: list[Finding],
    namer: EnvNamer,
    access: OsAccess,
    *,
    add_import: bool,
    rules: RuleSet,
    skip_imports: frozenset[str] = frozenset(),
) -> ModuleResult:
    """Rewrite the literals holding the keys of `findings` (those `prep` was made for)."""
    source, w = prep.source, prep.walk
    text = source.text
    os_name = access.name
    members = w.os_members
    os_names = set(access.names) | {os_name}

    fixed: list[Finding] = []
    pending: list[tuple[Finding, str, str]] = []  # not placed yet: (finding, instruction, reason)
    edits: list[Edit] = []
    whole: dict[int, str] = {}  # node start -> env, for literals replaced whole
    plain_parts: dict[tuple[int, int], tuple[list[tuple[str, str]], list[Finding]]] = {}
    f_parts: dict[tuple[int, int], tuple[list[tuple[str, str]], list[Finding]]] = {}
    removals: dict[int, Any] = {}
    needs_os = False

    def revoke(f: Finding) -> str:
        return revoke_text(f, rules)

    for f, o, p in zip(findings, prep.offsets, prep.positions, strict=True):
        value = f.secret.reveal()
        line = f.location.line
        hit = prep.string_at(o, o + len(value)) if o is not None else None
        if hit is None:
            around = prep.string_at(p, p + 1)
            node = around[2] if around is not None else None
            if o is None and isinstance(node, ast.JoinedStr):
                pending.append((f, f"the key on line {line} is only partly in the f-string's literal text: rewrite the f-string by hand to read {namer.suggest(f)} from os.environ; {revoke(f)}", "partial-fstring"))
            elif o is None and around is not None and len(_parts(text[around[0]:around[1]])) > 1:
                pending.append((f, f"the key on line {line} is split over several concatenated string parts: replace the whole expression by hand with {env_subscript(os_name, namer.suggest(f), chr(34))}; {revoke(f)}", "split-string"))
            elif o is not None and "#" in text[source.line_start(o):o]:
                pending.append((f, f"the key is in a comment (line {line}): delete it from the comment by hand; {revoke(f)}", "comment"))
            elif o is not None:
                pending.append((f, f"the key on line {line} is not in a string literal keyguard can rewrite: replace it by hand with a read of {namer.suggest(f)}; {revoke(f)}", "not-a-literal"))
            else:
                pending.append((f, f"line {line} does not hold a string literal with this key (the code is not a literal there, or changed since the scan): read it from {namer.suggest(f)} by hand", "not-a-literal"))
            continue
        start, end, node = hit
        parent = w.parents.get(id(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            pending.append((f, f"the key on line {line} is in a bytes literal: replace it by hand with os.environb[b\"{namer.suggest(f)}\"]; {revoke(f)}", "bytes"))
            continue
        if isinstance(parent, ast.Expr):
            pending.append((f, f"the key on line {line} is in a docstring or string statement: replace it with a placeholder such as `<your-{namer.suggest(f)}>` by hand; {revoke(f)}", "docstring"))
            continue
        write = _env_write(node, w.parents, members, os_names)
        if write is not None:
            stmt, name, removable = write
            if removable:
                env = namer.claim(f, name) if name else namer.env_for(f)
                removals[id(stmt)] = stmt
                namer.use(env, f)
                fixed.append(f)
            else:
                env = name or namer.env_for(f)
                pending.append((f, f"line {line} writes the key into the environment: delete that entry by hand and set {env} outside the code (`export {env}=...` or a git-ignored .env file); {revoke(f)}", "not-a-literal"))
            continue
        if isinstance(parent, ast.MatchValue):
            pending.append((f, f"the key on line {line} is a `case` pattern: compare with a read of {namer.suggest(f)} by hand; {revoke(f)}", "not-a-literal"))
            continue
        parts = _parts(text[start:end])
        rel = (o - start, o - start + len(value))
        part = next(((a, b) for a, b in parts if a <= rel[0] and rel[1] <= b), None)
        if part is None:
            pending.append((f, f"the key on line {line} is split over several concatenated string parts: replace the whole expression by hand with {env_subscript(os_name, namer.suggest(f), chr(34))}; {revoke(f)}", "split-string"))
            continue
        part_text = text[start + part[0]:start + part[1]]
        is_f = "f" in part_text[: len(part_text) - len(part_text.lstrip("rRbBuUfF"))].lower()
        if isinstance(node, ast.Constant) and node.value == value and len(parts) == 1:
            if (isinstance(parent, ast.Call) and dotted(parent.func, members, os_names) in _ENV_READS
                    and len(parent.args) == 2 and parent.args[1] is node and not parent.keywords):
                # os.getenv("X", "<key>") -> os.getenv("X")
                first = parent.args[0]
                _, first_end = source.span(first)
                edits.append((first_end, end, ""))
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    env = namer.claim(f, first.value)
                else:  # os.getenv(NAME_VARIABLE, "<key>"): the name is not known here
                    env = namer.env_for(f)
                namer.use(env, f)
                fixed.append(f)
                continue
            env = namer.env_for(f)
            if start not in whole:
                whole[start] = env
                quote = _quote(text[start:end])
                if isinstance(parent, ast.arguments) and (
                    any(d is node for d in parent.defaults) or any(d is node for d in parent.kw_defaults)
                ):
                    # A default runs once, at `def` time (import): `.get` gives None, the SDKs'
                    # "not given", where `[...]` would make the import fail when X is unset.
                    new = env_get(os_name, env, quote)
                else:
                    new = env_subscript(os_name, env, quote)
                edits.append((start, end, _spaced(text, start, new)))
            namer.use(env, f)
            needs_os = True
            fixed.append(f)
            continue
        env = namer.env_for(f)
        bucket = f_parts if is_f else plain_parts
        entry = bucket.setdefault((start + part[0], start + part[1]), ([], []))
        if (value, env) not in entry[0]:
            entry[0].append((value, env))
        entry[1].append(f)

    for (a, b), (pieces, fs) in plain_parts.items():
        new = fstring_from_simple(text[a:b], pieces, os_name)
        if new is None or not _is_expression(new):
            for f in fs:
                pending.append((f, f"the key on line {f.location.line} sits in a string keyguard cannot convert safely (escapes around it): replace it by hand with a read of {namer.suggest(f)}; {revoke_text(f, rules)}", "escaped"))
            continue
        edits.append((a, b, _spaced(text, a, new)))
        for f in fs:
            namer.use(namer.env_for(f), f)
        needs_os = True
        fixed.extend(fs)
    for (a, b), (pieces, fs) in f_parts.items():
        new = split_fstring(text[a:b], pieces, os_name)
        if new is None:
            for f in fs:
                pending.append((f, f"the key on line {f.location.line} is only partly in the f-string's literal text: rewrite the f-string by hand to read {namer.suggest(f)} from os.environ; {revoke_text(f, rules)}", "partial-fstring"))
            continue
        edits.append((a, b, new))
        for f in fs:
            namer.use(namer.env_for(f), f)
        needs_os = True
        fixed.extend(fs)
    edits += _removal_edits(list(removals.values()), w.parents, source)

    fixed_values = {f.secret.reveal() for f in fixed}
    unfixable: list[Unfixable] = []
    for f, instruction, reason in pending:
        if reason == "not-a-literal" and f.secret.reveal() in fixed_values and "writes the key" not in instruction:
            fixed.append(f)  # e.g. reported at a use of a constant whose literal was rewritten
        else:
            unfixable.append(Unfixable(f, instruction, reason))
    if not edits:
        return ModuleResult(text, fixed=[], unfixable=unfixable)
    if needs_os and add_import:
        edits.append(import_edit(prep.tree, source, os_name, skip=skip_imports))
    return ModuleResult(apply_edits(text, edits), fixed, unfixable)


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with each (start, end, new) applied; an edit inside an earlier one is dropped
    (a literal inside a removed statement)."""
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _occurrence(source: Source, f: Finding) -> int | None:
    """Offset of the finding's key in the text, at its reported line (either line count)."""
    value = f.secret.reveal()
    text = source.text
    line, col = f.location.line, f.location.column - 1
    for starts in (source.starts, source.nl_starts):
        if 0 < line <= len(starts):
            o = starts[line - 1] + col
            if col >= 0 and text.startswith(value, o):
                return o
    for starts in (source.starts, source.nl_starts):
        if 0 < line <= len(starts):
            begin = starts[line - 1]
            stop = starts[line] if line < len(starts) else len(text)
            o = text.find(value, begin, stop + len(value))
            if o >= 0:
                return o
    return None


def _position(source: Source, f: Finding) -> int:
    starts = source.starts
    line = min(max(f.location.line, 1), len(starts))
    return min(starts[line - 1] + max(f.location.column - 1, 0), len(source.text))


def _parts(segment: str) -> list[tuple[int, int]]:
    """(start, end) of each string token of a literal's source (implicit concatenation)."""
    wrapped = "(" + segment + ")"
    line_starts = [0]
    for i, c in enumerate(wrapped):
        if c == "\n":
            line_starts.append(i + 1)
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(wrapped).readline):
            if tok.type == tokenize.STRING:
                a = line_starts[tok.start[0] - 1] + tok.start[1] - 1
                b = line_starts[tok.end[0] - 1] + tok.end[1] - 1
                out.append((a, b))
    except (tokenize.TokenError, SyntaxError):
        return [(0, len(segment))]
    return out or [(0, len(segment))]


def _quote(literal: str) -> str:
    from keyguard.fix.literals import quote_of

    return quote_of(literal)


def _spaced(text: str, start: int, new: str) -> str:
    # `not"<key>"` -> `not os.environ[...]`: keep a keyword and the new name apart.
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return " " + new
    return new


def _is_expression(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _env_write(node: Any, parents: dict[int, Any], members: dict[str, str],
               os_names: set[str]) -> tuple[Any, str | None, bool] | None:
    """(statement, env name, removable) when `node` is the value of an environment write."""
    parent = parents.get(id(node))
    if isinstance(parent, ast.Assign) and parent.value is node:
        for t in parent.targets:
            if isinstance(t, ast.Subscript) and dotted(t.value, members, os_names) == "os.environ":
                key = t.slice
                name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                return parent, name, True
    call, in_dict = None, False
    if isinstance(parent, ast.Call) and any(a is node for a in parent.args):
        call = parent
    elif isinstance(parent, ast.keyword):
        call = parents.get(id(parent))
    elif isinstance(parent, ast.Dict):
        arg_of = parents.get(id(parent))
        call, in_dict = (arg_of, True) if isinstance(arg_of, ast.Call) else (None, False)
    if not isinstance(call, ast.Call):
        return None
    name_of = dotted(call.func, members, os_names)
    if name_of not in _ENV_WRITES:
        return None
    if name_of == "os.environ.update":
        return call, None, False
    if in_dict or not (len(call.args) >= 2 and call.args[1] is node):
        return None
    first = call.args[0]
    name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    stmt = parents.get(id(call))
    if isinstance(stmt, ast.Expr):
        return stmt, name, True
    return call, name, False


def _removal_edits(stmts: list[Any], parents: dict[int, Any], source: Source) -> list[Edit]:
    """Edits deleting whole statements; a block left empty keeps one `pass`."""
    text = source.text
    by_body: dict[int, tuple[list[Any], list[Any]]] = {}
    for stmt in stmts:
        body = _body_of(stmt, parents.get(id(stmt)))
        by_body.setdefault(id(body), (body, []))[1].append(stmt)
    edits: list[Edit] = []
    for body, removed in by_body.values():
        removed.sort(key=lambda s: (s.lineno, s.col_offset))
        keep_pass = len(removed) == len(body) and not isinstance(parents.get(id(removed[0])), ast.Module)
        for i, stmt in enumerate(removed):
            start, end = source.span(stmt)
            if keep_pass and i == 0:
                edits.append((start, end, "pass"))
                continue
            line_start = source.line_start(start)
            line_end_no = source.line_of(end)
            next_start = source.starts[line_end_no] if line_end_no < len(source.starts) else len(text)
            before = text[line_start:start]
            after = text[end:next_start].rstrip("\r\n")
            rest = after.lstrip(" \t")
            if rest.startswith(";"):
                # `a = 1; <stmt>; b = 2`: drop the statement and its semicolon.
                semi = end + (len(after) - len(rest)) + 1
                while semi < len(text) and text[semi] in " \t":
                    semi += 1
                edits.append((start, semi, ""))
            elif before.strip() == "" and (rest == "" or rest.startswith("#")):
                if next_start == len(text) and not text.endswith(("\n", "\r")) and line_start > 0:
                    # The last line, without a line end: the one before it loses its line end.
                    line_start -= 2 if text[line_start - 2:line_start] == "\r\n" else 1
                edits.append((line_start, next_start, ""))
            elif before.rstrip(" \t").endswith(";"):
                semi = len(before.rstrip(" \t")) - 1 + line_start
                edits.append((semi, end, ""))
            else:  # `if x: <stmt>` with nothing else in the suite
                edits.append((start, end, "pass"))
    return edits


def _body_of(stmt: Any, parent: Any) -> list[Any]:
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(v is stmt for v in value):
            return value
    return [stmt]
