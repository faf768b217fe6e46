"""Syntax-tree detector for Python sources (files and notebook code cells).

It knows the SDK call sites of the rule packs: which argument of which callable carries a
credential, by keyword and by position, through import aliases. It follows simple indirection
inside one document (module constants, class attributes, function defaults, dict literals
expanded with `**`), environment-variable writes and credential-named assignments.

The parser is the stdlib `ast`, not libcst: on 73 MB of real Python `ast.parse` took 19 s
against libcst's 280 s (peak 342 MB vs 2.9 GB), and `import ast` is nearly free while
`import libcst` costs ~280 ms (shared/design.md). libcst is used where source must
round-trip: the fixer. Work per segment is bounded by `MAX_PARSE_CHARS`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from keyguard.detect.tokens import Hit
from keyguard.filter.shapes import is_placeholder, is_plausible_literal, is_plausible_token
from keyguard.model import Confidence
from keyguard.prefilter.keywords import Keywords
from keyguard.read.documents import Segment
from keyguard.read.pyparse import parse as parse_python
from keyguard.report.advice import behaviour
from keyguard.rulepack.load import CallSite, Rule, RuleSet

MAX_PARSE_CHARS = 2_000_000
_ENV_READERS = {"os.getenv", "os.environ.get", "os.environ.__getitem__", "os.environ.pop"}
_ENV_WRITERS = {"os.environ.setdefault", "os.putenv"}
_ENV_WRITE = re.compile(r"environ\s*\[[^\]\n]+\]\s*=(?!=)|setdefault\(|putenv\(|environ\.update\(")


class _Literal(NamedTuple):
    """A string constant and where its node sits (segment index, ast node)."""

    value: str
    segment: int
    node: ast.expr
    simple: bool  # one plain string token: the fixer can replace it


@dataclass
class _Tables:
    """Document-wide facts gathered before the call-site pass."""

    aliases: dict[str, str] = field(default_factory=dict)
    constants: dict[str, list[_Literal]] = field(default_factory=dict)
    dicts: dict[str, dict[str, ast.expr]] = field(default_factory=dict)
    dict_segments: dict[str, int] = field(default_factory=dict)
    # Names the document defines itself (def, async def, class): a call of one is its own.
    defined: set[str] = field(default_factory=set)


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """Dotted name of `node` with the first component resolved through imports."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _string_value(node: ast.expr) -> tuple[str, bool] | None:
    """Constant string value of `node` and whether it is one simple string token.

    Folds implicit concatenation (already folded by ast), `+` of constants and f-strings
    whose parts are all constants. Iterative: a 2,000-term sum (a Hamiltonian written out)
    is a left-deep tree that would exhaust the recursion limit.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        # Flatten the + chain left to right with an explicit stack.
        parts: list[str] = []
        stack: list[ast.expr] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
                stack.append(item.right)
                stack.append(item.left)
                continue
            value = _string_value(item) if not isinstance(item, ast.BinOp) else None
            if value is None:
                return None
            parts.append(value[0])
        return "".join(parts), False
    if isinstance(node, ast.JoinedStr) and all(
        isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values
    ):
        return "".join(v.value for v in node.values), False  # type: ignore[attr-defined]
    return None


def _is_env_read(node: ast.expr, aliases: dict[str, str]) -> bool:
    if isinstance(node, ast.Call):
        return _qualified(node.func, aliases) in _ENV_READERS
    if isinstance(node, ast.Subscript):
        return _qualified(node.value, aliases) == "os.environ"
    return False


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Attribute):
        yield target.attr
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)


class PythonDetector:
    """Finds credentials in the Python segments of one document.

    Usage: `PythonDetector(ruleset, selected).run(segments) -> (hits, notes)`; `segments`
    are all segments of the document (non-Python ones are skipped), so a notebook's imports
    and constants in one cell resolve calls in another.
    """

    def __init__(self, ruleset: RuleSet, selected: frozenset[str]) -> None:
        self.ruleset = ruleset
        self.selected = selected
        # Exact qualified names -> call sites (a callee may carry two credentials: user, password).
        self.by_callee: dict[str, list[CallSite]] = {}
        # Distinctive tails (`save_account`, `IBMQ.save_account`) -> call sites, for names
        # whose import is not visible; resolved per provider, never across providers.
        self.by_tail: dict[str, list[CallSite]] = {}
        # Provider id -> the root modules of its call sites (`qiskit_ibm_runtime`).
        self.module_roots: dict[str, frozenset[str]] = {}
        roots: dict[str, set[str]] = {}
        for cs in ruleset.call_sites:
            distinctive = set(ruleset.providers[cs.provider].distinctive_calls)
            for callee in cs.callees:
                self.by_callee.setdefault(callee, []).append(cs)
                parts = callee.split(".")
                roots.setdefault(cs.provider, set()).add(parts[0])
                for tail in {".".join(parts[-2:]) if len(parts) >= 2 else None, parts[-1]} - {None}:
                    if tail in distinctive and cs not in self.by_tail.get(tail, []):  # type: ignore[arg-type]
                        self.by_tail.setdefault(tail, []).append(cs)  # type: ignore[arg-type]
        self.module_roots = {p: frozenset(r) for p, r in roots.items()}
        # The last name part of every call that can mean something (a call site's callee or
        # tail, an environment write): a call with another tail is never resolved.
        self.call_tails = frozenset(
            name.rsplit(".", 1)[-1] for name in [*self.by_callee, *self.by_tail, *_ENV_WRITERS, "environ.update"])
        self.env_providers = ruleset.env_var_provider()
        self.token_rules = [r for r in ruleset.rules.values() if behaviour(r).plausibility]
        # Cheap gates (see `wants`): a call of a call-site name, an env write, a keyword.
        # Per callee: its name, the root module that must also appear when the name is
        # generic (`save(` alone is everywhere), and a pattern for a call of it. One pattern
        # per name: sre finds a literal prefix fast, an alternation slowly.
        # Patterns are kept as text and compiled on first use (re's own cache): a hook run
        # that sees none of ~100 call names must not pay ~100 compiles at start-up.
        gates: dict[tuple[str, str], tuple[bool, str]] = {}
        # A generic name (`register`, `save`) resolves to a call site only through an import
        # of it or of its parent (`qiskit.register`, `AccountManager.save`): see `_bound`.
        self.generic_parents: dict[str, set[str]] = {}
        for cs in ruleset.call_sites:
            distinctive = ruleset.providers[cs.provider].distinctive_calls
            for callee in cs.callees:
                parts = callee.split(".")
                # A call with at least one argument: `IonQProvider()` reads the environment.
                call = re.escape(parts[-1]) + r"\s*\(\s*[^)\s]"
                distinct = parts[-1] in distinctive or ".".join(parts[-2:]) in distinctive
                old = gates.get((parts[-1], parts[0]))
                gates[(parts[-1], parts[0])] = (distinct or bool(old and old[0]), call)
                if not distinct and len(parts) >= 2:
                    self.generic_parents.setdefault(parts[-1], set()).add(parts[-2])
        self.call_gates = [(name, root, distinct, pattern) for (name, root), (distinct, pattern) in gates.items()]
        self.gates_by_name: dict[str, list[tuple[str, bool, str]]] = {}
        for name, root, distinct, pattern in self.call_gates:
            self.gates_by_name.setdefault(name, []).append((root, distinct, pattern))
        self.literal_keywords = tuple(
            k for a in ruleset.assignments if a.literal for k in a.keywords
        )
        # Every hint `wants` looks for, found in one pass over the text.
        self.hint_words = Keywords([*self.gates_by_name, *self.env_providers, *self.literal_keywords])

    def wants(self, segments: Sequence[Segment], lower: str | None = None) -> bool:
        """Whether a parse can find anything the token detector cannot.

        True when a Python segment calls a call-site name (a literal of unusual shape there is
        a finding; save_account notices), writes a provider's environment variable, or holds
        an assignment keyword (`APItoken`). Key-shaped strings are gated by the caller. Parsing
        costs ~4 MB/s, so files without these hints are not parsed at all. `lower` (the
        lower-cased text, which callers pass) is no longer needed: names are case-sensitive.
        """
        texts = [seg.python for seg in segments if seg.python is not None]
        text = texts[0] if len(texts) == 1 else "\n".join(texts)
        # One Aho-Corasick pass finds the call-site names, environment variable names and
        # assignment keywords present (one `in` per word cost a pass each: 50 providers'
        # names doubled the gate's time).
        hints = self.hint_words.present(text)
        if not hints:
            return False
        for name in hints.intersection(self.gates_by_name):
            for root, distinct, pattern in self.gates_by_name[name]:
                if (
                    (distinct or root in text)
                    and (_called(text, name, _cached_regex(pattern)) or _aliased_call(text, name))
                    and (distinct or self._bound(name, text))
                ):
                    return True
        # Environment writes only (reads are everywhere in good code).
        if (
            ("environ" in text or "putenv" in text)
            and not hints.isdisjoint(self.env_providers)
            and _ENV_WRITE.search(text)
        ):
            return True
        return not hints.isdisjoint(self.literal_keywords)

    def _bound(self, name: str, text: str) -> bool:
        """Whether a generic call-site name can resolve to its SDK callable in `text`.

        `_call_site` matches a generic name only by its full qualified name, so the name is
        imported (`from qiskit import register`, in a parenthesised list too), or called on
        its parent (`qiskit.register(`, `AccountManager.save(`), or on an alias of the parent
        (`import qiskit as q` ... `q.register(`). Quantum code mentions `qiskit` everywhere;
        `atexit.register(f)` must not cost a parse.
        """
        word = re.escape(name)
        for parent in self.generic_parents.get(name, ()):
            dotted = re.escape(parent)
            call = _cached_regex(rf"{dotted}\s*\.\s*{word}\s*\(")
            if next(_word_matches(text, parent, call), None):
                return True
            for alias in _word_matches(text, parent, _cached_regex(rf"{dotted}\s+as\s+(\w+)")):
                name_call = _cached_regex(rf"{re.escape(alias.group(1))}\s*\.\s*{word}\s*\(")
                if next(_word_matches(text, alias.group(1), name_call), None):
                    return True
        imported = _cached_regex(rf"import\s*\(?[\w\s,\\]*?\b{word}\b")
        return next(_word_matches(text, "import", imported), None) is not None

    # -- public -------------------------------------------------------------------------
    def run(self, segments: Sequence[Segment]) -> tuple[list[Hit], list[str]]:
        notes: list[str] = []
        trees: list[tuple[int, ast.Module]] = []
        for i, seg in enumerate(segments):
            if seg.python is None:
                continue
            if len(seg.python) > MAX_PARSE_CHARS:
                notes.append(
                    f"{_where(seg)}larger than {MAX_PARSE_CHARS // 1_000_000} MB: "
                    "scanned with the token detector only"
                )
                continue
            try:
                trees.append((i, parse_python(seg.python)))  # shared with the ignore analysis
            except (RecursionError, MemoryError):
                notes.append(f"{_where(seg)}too deeply nested to parse: scanned with the token detector only")
            except (SyntaxError, ValueError) as exc:
                line = getattr(exc, "lineno", None)
                at = f" at line {line}" if line else ""
                notes.append(f"{_where(seg)}Python syntax error{at}: scanned with the token detector only")
        if not trees:
            return [], notes
        self.segments = segments
        self._split: dict[int, list[str]] = {}
        tables = self._gather(trees)
        hits: list[Hit] = []
        seen: set[tuple[int, int, int, str]] = set()
        for hit in self._visit(tables):
            key = (hit.segment, hit.line, hit.column, hit.rule.id)
            if key not in seen:
                seen.add(key)
                hits.append(hit)
        return hits, notes

    # -- pass 1: imports, constants, dicts --------------------------------------------------
    def _gather(self, trees: Sequence[tuple[int, ast.Module]]) -> _Tables:
        """One walk per tree: imports, constants and dicts into tables; calls and
        assignments kept for the second pass (walking twice doubled the cost)."""
        tables = _Tables()
        self._pending: list[tuple[int, ast.AST]] = []
        pending, tails = self._pending.append, self.call_tails
        for seg_index, tree in trees:
            for node in _walk(tree):
                cls = node.__class__
                if cls is ast.Call:
                    # An attribute call's tail is known now (`x.save_account`); a plain name's
                    # waits for the imports (`QRS(...)` after `import ... as QRS`).
                    func = node.func
                    if func.__class__ is not ast.Attribute or func.attr in tails:
                        pending((seg_index, node))
                elif cls is ast.Import:
                    for alias in node.names:
                        if alias.asname:
                            tables.aliases[alias.asname] = alias.name
                        else:
                            top = alias.name.split(".")[0]
                            tables.aliases.setdefault(top, top)
                elif cls is ast.ImportFrom and node.module and not node.level:
                    for alias in node.names:
                        if alias.name != "*":
                            tables.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                elif cls is ast.Assign or cls is ast.AnnAssign:
                    value = node.value
                    if value is None:
                        continue
                    targets = node.targets if cls is ast.Assign else [node.target]
                    literal = _string_value(value)
                    # The second pass reads literal assignments and `os.environ[...] =` only.
                    if literal is not None or any(t.__class__ is ast.Subscript for t in targets):
                        pending((seg_index, node))
                    self._record(tables, seg_index, targets, value, literal)
                elif cls is ast.ClassDef:
                    tables.defined.add(node.name)
                elif cls is ast.FunctionDef or cls is ast.AsyncFunctionDef or cls is ast.Lambda:
                    if cls is not ast.Lambda:
                        tables.defined.add(node.name)
                    args = node.args
                    positional = [*args.posonlyargs, *args.args]
                    for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
                        self._record(tables, seg_index, [ast.Name(id=arg.arg)], default, _string_value(default))
                    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
                        if kw_default is not None:
                            self._record(tables, seg_index, [ast.Name(id=arg.arg)], kw_default,
                                         _string_value(kw_default))
        return tables

    def _record(self, tables: _Tables, seg_index: int, targets: Sequence[ast.expr], value: ast.expr,
                literal: tuple[str, bool] | None) -> None:
        """Remember what `targets = value` binds: a string constant (`literal`, from
        `_string_value(value)`), a dict literal or a `dict(...)` call's keywords."""
        if literal is not None:
            for name in [n for t in targets for n in _target_names(t)]:
                tables.constants.setdefault(name, []).append(_Literal(literal[0], seg_index, value, literal[1]))
        elif value.__class__ is ast.Dict:
            entries = {
                k.value: v for k, v in zip(value.keys, value.values)  # type: ignore[attr-defined]
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
            for name in [n for t in targets for n in _target_names(t)]:
                tables.dicts[name] = entries
                tables.dict_segments[name] = seg_index
        elif (value.__class__ is ast.Call and value.func.__class__ is ast.Name  # type: ignore[attr-defined]
              and value.func.id == "dict"):  # type: ignore[attr-defined]
            for name in [n for t in targets for n in _target_names(t)]:
                tables.dicts[name] = {kw.arg: kw.value for kw in value.keywords if kw.arg}  # type: ignore[attr-defined]
                tables.dict_segments[name] = seg_index

    # -- pass 2: call sites, env writes, assignments ---------------------------------------
    def _visit(self, tables: _Tables) -> Iterator[Hit]:
        tails, aliases = self.call_tails, tables.aliases
        for seg_index, node in self._pending:
            self._current_segment = seg_index
            if node.__class__ is ast.Call:
                func = node.func
                if func.__class__ is ast.Attribute:
                    tail = func.attr
                elif func.__class__ is ast.Name:
                    tail = aliases.get(func.id, func.id).rsplit(".", 1)[-1]
                else:
                    continue  # `f()(...)`, `d[k](...)`: no qualified name, never resolved
                if tail in tails:
                    yield from self._call(seg_index, node, tables)
            else:
                yield from self._assignment(seg_index, node, tables)

    def _call_sites(self, node: ast.Call, tables: _Tables) -> list[CallSite]:
        """The call sites a call resolves to: by its qualified name through the imports,
        else by a distinctive tail of one provider only.

        A name whose first part is imported belongs to the module it came from: a tail
        matches only call sites of a provider with that root module (a re-export), so
        `save_account` imported from another SDK is never this provider's. A name nothing
        imports (another module, a star import, an instance) matches a tail when one
        provider claims it, or when exactly one of the claimants has a module imported here,
        unless the document defines that name itself (an SDK's own credentials module that
        defines `save_account` and calls it is calling itself, not another SDK).
        """
        name = _qualified(node.func, tables.aliases)
        if name is None:
            return []
        exact = self.by_callee.get(name)
        if exact is not None:
            return exact
        parts = name.split(".")
        candidates = self.by_tail.get(".".join(parts[-2:]), []) if len(parts) >= 2 else []
        if not candidates:
            candidates = self.by_tail.get(parts[-1], [])
        if not candidates:
            return []
        base = node.func
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in tables.aliases:
            root = parts[0]
            return [cs for cs in candidates if root in self.module_roots.get(cs.provider, ())]
        if parts[-1] in tables.defined:
            return []
        providers = {cs.provider for cs in candidates}
        if len(providers) > 1:
            imported = {module.split(".")[0] for module in tables.aliases.values()}
            providers = {p for p in providers if self.module_roots.get(p, frozenset()) & imported}
            if len(providers) != 1:
                return []
        return [cs for cs in candidates if cs.provider in providers]

    def _call(self, seg_index: int, node: ast.Call, tables: _Tables) -> Iterator[Hit]:
        name = _qualified(node.func, tables.aliases)
        if name in _ENV_WRITERS or (name and name.endswith("environ.update")):
            yield from self._env_write_call(seg_index, node, name, tables)
            return
        for site in self._call_sites(node, tables):
            yield from self._site(seg_index, node, site, tables)

    def _site(self, seg_index: int, node: ast.Call, site: CallSite, tables: _Tables) -> Iterator[Hit]:
        if site.when_first_arg_startswith is not None:
            first = node.args[0] if node.args else next(
                (kw.value for kw in node.keywords if kw.arg == "name"), None
            )
            value = _string_value(first) if first is not None else None
            if value is None or not value[0].startswith(site.when_first_arg_startswith):
                return
        arg, how = self._credential_argument(node, site, tables)
        if arg is None:
            return
        shown = f"{_short_name(_qualified(node.func, tables.aliases) or site.callees[0])}{how}"
        literals = self._resolve(arg, tables)
        if literals:
            for literal, via in literals:
                where = f"passed to {shown}" if not via else f"assigned to {via} and passed to {shown}"
                hit = self._classify(literal, site.rules, site.provider, where, fallback=True)
                if hit:
                    yield hit._replace(env_var=site.env_var) if site.env_var else hit
        elif site.persist_rule and site.persist_rule in self.selected:
            yield self._persist_hit(seg_index, node, arg, site, tables)

    def _credential_argument(self, node: ast.Call, site: CallSite, tables: _Tables) -> tuple[ast.expr | None, str]:
        for kw in node.keywords:
            if kw.arg == site.argument:
                return kw.value, f"({site.argument}=...)"
        # A *args before the position makes the index meaningless.
        if (
            site.position is not None
            and len(node.args) > site.position
            and not any(isinstance(a, ast.Starred) for a in node.args[: site.position + 1])
        ):
            ordinal = site.position + 1
            return node.args[site.position], f"(...) as positional argument {ordinal} ({site.argument})"
        for kw in node.keywords:
            if kw.arg is None:  # **mapping
                entries = None
                if isinstance(kw.value, ast.Dict):
                    entries = {
                        k.value: v for k, v in zip(kw.value.keys, kw.value.values)
                        if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    }
                elif isinstance(kw.value, ast.Name):
                    entries = tables.dicts.get(kw.value.id)
                if entries and site.argument in entries:
                    return entries[site.argument], f"(**{{{site.argument!r}: ...}})"
        return None, ""

    def _resolve(self, expr: ast.expr, tables: _Tables, depth: int = 0) -> list[tuple[_Literal, str]]:
        """Literal strings an expression may hold, with the variable they came through.

        A literal written in place belongs to the segment being visited.
        """
        literal = _string_value(expr)
        if literal is not None:
            return [(_Literal(literal[0], self._current_segment, expr, literal[1]), "")]
        if depth > 3:
            return []
        name = None
        if isinstance(expr, ast.Name):
            name = expr.id
        elif isinstance(expr, ast.Attribute):
            name = expr.attr
        elif isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
            key = expr.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                entries = tables.dicts.get(expr.value.id, {})
                if key.value in entries:
                    seg = tables.dict_segments.get(expr.value.id, self._current_segment)
                    return [
                        (_Literal(lit.value, seg, lit.node, lit.simple), via or expr.value.id)
                        for lit, via in self._resolve(entries[key.value], tables, depth + 1)
                    ]
        if name is None:
            return []
        return [(lit, name) for lit in tables.constants.get(name, [])]

    def _classify(
        self,
        literal: _Literal,
        rule_ids: Sequence[str],
        provider_id: str,
        where: str,
        *,
        fallback: bool,
    ) -> Hit | None:
        """Turn a literal at a credential site into a hit (token rule, or the literal rule)."""
        provider = self.ruleset.providers[provider_id]
        seg_index = literal.segment
        value = literal.value
        env_names = frozenset(provider.env_vars)
        for rule_id in rule_ids:
            rule = self.ruleset.rules[rule_id]
            if rule_id not in self.selected or rule.regex is None:
                continue
            match = rule.regex.search(value)
            if (
                match
                and behaviour(rule).plausibility
                and is_plausible_token(match.group("secret"), min_entropy=rule.min_entropy, mixed_case=rule.mixed_case)
                and not is_placeholder(match.group("secret"), provider.placeholders, env_names)
            ):
                secret = match.group("secret")
                return self._hit(seg_index, literal, secret, rule, where, fixable=literal.simple)
        rule_id = provider.literal_rule
        if not fallback or rule_id is None or rule_id not in self.selected:
            return None
        if is_placeholder(value, provider.placeholders, env_names) or not is_plausible_literal(value):
            return None
        return self._hit(seg_index, literal, value, self.ruleset.rules[rule_id], where, fixable=literal.simple)

    def _hit(self, seg_index: int, literal: _Literal, secret: str, rule: Rule, where: str, *, fixable: bool) -> Hit:
        line, column, end_line, end_column = self._locate(seg_index, literal.node, secret)
        return Hit(
            segment=seg_index,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            value=secret,
            rule=rule,
            where=where,
            confidence=Confidence.HIGH,
            fixable=fixable,
            origin="python",
        )

    def _lines(self, seg_index: int) -> list[str]:
        """The segment's source lines, split once per run (per hit made 8,000 keys in one
        file quadratic)."""
        lines = self._split.get(seg_index)
        if lines is None:
            lines = self._split[seg_index] = _source_lines(self.segments[seg_index].python or "")
        return lines

    def _locate(self, seg_index: int, node: ast.expr, secret: str) -> tuple[int, int, int, int]:
        """1-based (line, col, end_line, end_col) of `secret` inside the node's source.

        Only the node's own lines are joined and searched: cost is the literal's size.
        """
        lines = self._lines(seg_index)
        line = node.lineno
        col = _char_col(lines, line, node.col_offset)
        end_line = node.end_lineno or line
        end_col = _char_col(lines, end_line, node.end_col_offset or 0)
        snippet = "".join(lines[line - 1: end_line])
        start_in_snippet = col
        end_in_snippet = len(snippet) - len(lines[end_line - 1]) + end_col if end_line <= len(lines) else len(snippet)
        found = snippet.find(secret, start_in_snippet, max(end_in_snippet, start_in_snippet))
        if found < 0:
            return line, col + 1, end_line, end_col + 1
        before = snippet[:found]
        rel_line = before.count("\n")
        abs_line = line + rel_line
        abs_col = found - (before.rfind("\n") + 1) + 1
        return abs_line, abs_col, abs_line, abs_col + len(secret)

    def _persist_hit(self, seg_index: int, node: ast.Call, arg: ast.expr, site: CallSite, tables: _Tables) -> Hit:
        rule = self.ruleset.rules[site.persist_rule or ""]
        source = self.segments[seg_index].python or ""
        # Not ast.unparse: it recurses, and a deep argument would fail the whole file.
        expr = ast.get_source_segment(source, arg) or ""
        if _is_env_read(arg, tables.aliases):
            origin = "from the environment"
        elif isinstance(arg, (ast.Name, ast.Attribute)) and len(expr) <= 60:
            origin = f"from `{expr}`"
        else:
            # Never quote other code in a message: it may hold a key (decode("<key>")).
            origin = "from an expression"
        lines = self._lines(seg_index)
        col = _char_col(lines, node.lineno, node.col_offset)
        end_col = _char_col(lines, node.end_lineno or node.lineno, node.end_col_offset or 0)
        return Hit(
            segment=seg_index,
            line=node.lineno,
            column=col + 1,
            end_line=node.end_lineno or node.lineno,
            end_column=end_col + 1,
            value=expr,
            rule=rule,
            where=f"{_short_name(_qualified(node.func, tables.aliases) or site.callees[0])}() with the token {origin}",
            confidence=Confidence.HIGH,
            origin="python",
            env_var=site.env_var,
            saves_to=site.saves_to,
        )

    def _env_write_call(self, seg_index: int, node: ast.Call, name: str, tables: _Tables) -> Iterator[Hit]:
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if name in _ENV_WRITERS and len(node.args) >= 2:
            pairs.append((node.args[0], node.args[1]))
        elif name.endswith("environ.update"):
            if node.args and isinstance(node.args[0], ast.Dict):
                pairs.extend((k, v) for k, v in zip(node.args[0].keys, node.args[0].values) if k is not None)
            pairs.extend((ast.Constant(kw.arg), kw.value) for kw in node.keywords if kw.arg)
        verb = name.rsplit(".", 1)[-1]
        for key, value in pairs:
            yield from self._env_write(seg_index, key, value, f"written to the environment with {verb}()", tables)

    def _env_write(self, seg_index: int, key: ast.expr, value: ast.expr, how: str, tables: _Tables) -> Iterator[Hit]:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return
        provider = self.env_providers.get(key.value)
        if provider is None:
            return
        # The variable's own provider's rules first: `DEV-<40 hex>` also has the shape of
        # another provider's 44-character key.
        rules = sorted((r.id for r in self.token_rules), key=lambda rid: self.ruleset.rules[rid].provider != provider.id)
        for literal, via in self._resolve(value, tables):
            where = f"{how} as {key.value}" + (f" (through {via})" if via else "")
            hit = self._classify(literal, rules, provider.id, where, fallback=True)
            if hit:
                yield hit._replace(env_var=key.value)

    def _assignment(self, seg_index: int, node: ast.Assign | ast.AnnAssign, tables: _Tables) -> Iterator[Hit]:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:
            return
        for target in targets:
            if isinstance(target, ast.Subscript) and _qualified(target.value, tables.aliases) == "os.environ":
                yield from self._env_write(seg_index, target.slice, value, "written to os.environ", tables)
                continue
            literal = _string_value(value)
            if literal is None:
                continue
            for name in _target_names(target):
                for rule in self.ruleset.assignments:
                    if rule.name_regex.search(name):
                        lit = _Literal(literal[0], seg_index, value, literal[1])
                        hit = self._classify(lit, rule.rules, rule.provider, f"assigned to {name}", fallback=rule.literal)
                        if hit:
                            yield hit
                        break

    _current_segment = 0


# Fields that never hold a node worth visiting: names and flags (str, int), `ctx`
# (Load/Store) and operators (singleton leaves).
_NO_NODE_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "name", "asname", "module", "level",
                             "arg", "type_comment", "kind", "conversion", "is_async", "simple"})
_FIELDS: dict[type, tuple[str, ...]] = {}
# Per class: whether its nodes are pushed at all. Names and constants are leaves nothing
# here reads from the walk (their parents are read instead); they are about half of a tree.
_PUSHED: dict[type, bool] = {}


def _learn(cls: type) -> bool:
    pushed = _PUSHED[cls] = issubclass(cls, ast.AST) and cls not in (ast.Name, ast.Constant)
    return pushed


def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` but the leaves (names, constants, operators, `ctx`), depth first
    from a stack, about three times as fast as ast.walk: no generator per node, and no leaf
    ever pushed. Leaving leaves out keeps the other nodes' relative order."""
    stack = [tree]
    pop, push = stack.pop, stack.append
    pushed = _PUSHED
    while stack:
        node = pop()
        cls = node.__class__
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _NO_NODE_FIELDS)
        yield node
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    ok = pushed.get(item.__class__)
                    if ok or (ok is None and _learn(item.__class__)):
                        push(item)
            else:
                ok = pushed.get(value.__class__)
                if ok or (ok is None and _learn(value.__class__)):
                    push(value)


def _called(text: str, name: str, pattern: re.Pattern[str]) -> bool:
    """Whether `pattern` (a call of `name`) matches where `name` starts a word: a call of
    `QiskitRuntimeService` is no call of `Service`, and a name is resolved whole."""
    return next(_word_matches(text, name, pattern), None) is not None


def _word_matches(text: str, word: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """Matches of `pattern` (which starts with the literal `word`) where `word` starts a word:
    like searching `\\b` + pattern, but found by str.find (sre has no fast scan for a pattern
    that starts with `\\b`)."""
    pos = text.find(word)
    while pos >= 0:
        if pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_"):
            match = pattern.match(text, pos)
            if match:
                yield match
        pos = text.find(word, pos + 1)


@lru_cache(maxsize=256)
def _cached_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _short_name(qualified: str) -> str:
    """`QiskitRuntimeService`, `IBMQ.save_account`, `cirq_ionq.Service`: short but clear."""
    parts = qualified.split(".")
    last = parts[-1]
    if len(parts) >= 2 and (last[:1].islower() or len(last) <= 8):
        return f"{parts[-2]}.{last}"
    return last


def _aliased_call(text: str, name: str) -> bool:
    """Whether `text` imports `name` under another name and calls that (`... import
    QiskitRuntimeService as QRS` then `QRS(token=...)`, or `QRS.save_account(...)`)."""
    imported_as = _cached_regex(rf"{re.escape(name)}\s+as\s+([A-Za-z_][A-Za-z0-9_]*)")
    for match in _word_matches(text, name, imported_as):  # str.find, not a \b-led scan
        alias = re.escape(match.group(1))
        if re.search(rf"(?<![A-Za-z0-9_.]){alias}(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*\(\s*[^)\s]", text):
            return True
    return False


def _where(segment: Segment) -> str:
    return f"cell {segment.cell + 1}: " if segment.cell is not None else ""


def _source_lines(source: str) -> list[str]:
    """Lines as `ast` numbers them, ends kept. Not str.splitlines(): that also splits on form
    feed, FS/GS/RS, NEL and the Unicode line/paragraph separators, shifting later lines."""
    parts = source.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _char_col(lines: Sequence[str], line: int, byte_col: int) -> int:
    """ast columns are UTF-8 byte offsets; convert to a 0-based character column."""
    if not 0 < line <= len(lines):
        return byte_col
    text = lines[line - 1]
    if text.isascii():
        return byte_col
    return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
