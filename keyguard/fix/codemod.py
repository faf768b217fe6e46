"""The codemod: for each finding in one module (or notebook cell), decide how its literal is
rewritten into an environment read, or why it is left to the user (the rewrites are listed
in the keyguard.fix docstring).

Imports libcst at module level: import this module only inside functions (see keyguard.fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
)

from keyguard.fix.env_names import EnvNamer
from keyguard.fix.instructions import revoke_text
from keyguard.fix.literals import env_get, env_subscript, fstring_from_simple, occurrences, quote_of
from keyguard.fix.locate import STRING_TYPES, find_literal
from keyguard.fix.os_binding import OsAccess
from keyguard.fix.records import Unfixable
from keyguard.fix.rewriter import Rewriter, add_os_import
from keyguard.model import Finding
from keyguard.rulepack import RuleSet


@dataclass
class ModuleResult:
    code: str
    fixed: list[Finding]
    unfixable: list[Unfixable]


def fix_module(
    module: cst.Module,
    findings: list[Finding],
    namer: EnvNamer,
    access: OsAccess,
    *,
    add_import: bool,
    rules: RuleSet,
) -> ModuleResult:
    """Rewrite the literals holding the keys of `findings` in `module`."""
    wrapper = MetadataWrapper(module)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    qn = wrapper.resolve(QualifiedNameProvider)
    tree = wrapper.module
    strings = {n: r for n, r in positions.items() if isinstance(n, STRING_TYPES)}
    comments = {n: r for n, r in positions.items() if isinstance(n, cst.Comment)}
    os_name = access.name

    fixed: list[Finding] = []
    unfixable: list[Unfixable] = []
    pending: list[tuple[Finding, str, str]] = []  # not placed yet: (finding, instruction, reason)
    replace: dict[int, Any] = {}
    split: dict[int, list[Any]] = {}
    drop_arg: dict[int, int] = {}
    remove: set[int] = set()
    partial: dict[int, tuple[Any, list[tuple[str, str]], list[Finding]]] = {}
    keep_alive: list[Any] = []  # nodes keyed by id() above must outlive the edit
    needs_os = False
    code_lines = tree.code.splitlines()

    def revoke(f: Finding) -> str:
        return revoke_text(f, rules)

    def add_partial(node: Any, value: str, f: Finding) -> None:
        # The key is part of the literal's text: the literal becomes an f-string reading it.
        env = namer.env_for(f)
        entry = partial.setdefault(id(node), (node, [], []))
        if (value, env) not in entry[1]:
            entry[1].append((value, env))
        entry[2].append(f)

    for f in findings:
        loc = f.location
        line = loc.line
        value = f.secret.reveal()
        node = find_literal(strings, value, (line, loc.column - 1, loc.end_line, loc.end_column - 1))
        if node is None:
            comment = next(
                (c for c, r in comments.items() if r.start.line == line and value in c.value), None
            )
            if comment is not None:
                pending.append((f, f"the key is in a comment (line {line}): delete it from the comment by hand; {revoke(f)}", "comment"))
            elif 0 < line <= len(code_lines) and value in code_lines[line - 1]:
                pending.append((f, f"the key on line {line} is not in a string literal keyguard can rewrite: replace it by hand with a read of {namer.suggest(f)}; {revoke(f)}", "not-a-literal"))
            else:
                pending.append((f, f"line {line} does not hold a string literal with this key (the code is not a literal there, or changed since the scan): read it from {namer.suggest(f)} by hand", "not-a-literal"))
            continue

        if isinstance(node, cst.ConcatenatedString):
            pending.append((f, f"the key on line {line} is split over several concatenated string parts: replace the whole expression by hand with {env_subscript(os_name, namer.suggest(f), chr(34))}; {revoke(f)}", "split-string"))
            continue
        if isinstance(node, cst.FormattedString):
            pending.append((f, f"the key on line {line} is only partly in the f-string's literal text: rewrite the f-string by hand to read {namer.suggest(f)} from os.environ; {revoke(f)}", "partial-fstring"))
            continue

        write = _env_write(node, parents, qn)
        if write is not None:
            stmt, name = write
            if isinstance(stmt, (cst.Assign, cst.Expr)) and not (
                isinstance(stmt, cst.Expr) and "os.environ.update" in _qnames(qn, stmt.value.func)
            ):
                env = namer.claim(f, name) if name else namer.env_for(f)
                remove.add(id(stmt))
                keep_alive.append(stmt)
                namer.use(env, f)
                fixed.append(f)
            else:
                env = name or namer.env_for(f)
                pending.append((f, f"line {line} writes the key into the environment: delete that entry by hand and set {env} outside the code (`export {env}=...` or a git-ignored .env file); {revoke(f)}", "not-a-literal"))
            continue

        if isinstance(node, cst.FormattedStringText):
            add_partial(node, value, f)
            continue

        # A SimpleString holding the key.
        parent = parents.get(node)
        prefix = node.prefix.lower()
        if "b" in prefix:
            pending.append((f, f"the key on line {line} is in a bytes literal: replace it by hand with os.environb[b\"{namer.suggest(f)}\"]; {revoke(f)}", "bytes"))
            continue
        if isinstance(parent, cst.Expr):
            pending.append((f, f"the key on line {line} is in a docstring or string statement: replace it with a placeholder such as `<your-{namer.suggest(f)}>` by hand; {revoke(f)}", "docstring"))
            continue
        try:
            evaluated = node.evaluated_value
        except Exception:
            evaluated = None
        if evaluated == value and not isinstance(parent, cst.ConcatenatedString):
            arg = parent if isinstance(parent, cst.Arg) else None
            call = parents.get(arg) if arg is not None else None
            if (
                isinstance(call, cst.Call)
                and _qnames(qn, call.func) & {"os.getenv", "os.environ.get"}
                and len(call.args) == 2
                and call.args[1] is arg
                and arg.keyword is None
            ):
                drop_arg[id(call)] = 1  # os.getenv("X", "<key>") -> os.getenv("X")
                keep_alive.append(call)
                first = call.args[0].value
                if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
                    env = namer.claim(f, first.evaluated_value)
                else:  # os.getenv(NAME_VARIABLE, "<key>"): the name is not known here
                    env = namer.env_for(f)
                namer.use(env, f)
                fixed.append(f)
                continue
            env = namer.env_for(f)
            if id(node) not in replace:
                quote = quote_of(node.value)
                if isinstance(parent, cst.Param) and parent.default is node:
                    # A default runs once, at `def` time (import): `.get` gives None, the SDKs'
                    # "not given", where `[...]` would make the import fail when X is unset.
                    text = env_get(os_name, env, quote)
                else:
                    text = env_subscript(os_name, env, quote)
                replace[id(node)] = cst.parse_expression(text)
                keep_alive.append(node)
            namer.use(env, f)
            needs_os = True
            fixed.append(f)
            continue
        add_partial(node, value, f)

    for node, pieces, fs in partial.values():
        line = positions[node].start.line
        if isinstance(node, cst.SimpleString):
            text = fstring_from_simple(node.value, pieces, os_name)
            expr = None
            if text is not None:
                try:
                    expr = cst.parse_expression(text)
                except cst.ParserSyntaxError:
                    expr = None
            if expr is None:
                for f in fs:
                    pending.append((f, f"the key on line {line} sits in a string keyguard cannot convert safely (escapes around it): replace it by hand with a read of {namer.suggest(f)}; {revoke(f)}", "escaped"))
                continue
            replace[id(node)] = expr
        else:
            split[id(node)] = _split_fstring_text(node, pieces, parents.get(node), os_name)
        keep_alive.append(node)
        for f in fs:
            namer.use(namer.env_for(f), f)
        needs_os = True
        fixed.extend(fs)

    fixed_values = {f.secret.reveal() for f in fixed}
    for f, instruction, reason in pending:
        if reason == "not-a-literal" and f.secret.reveal() in fixed_values and "writes the key" not in instruction:
            fixed.append(f)  # e.g. reported at a use of a constant whose literal was rewritten
        else:
            unfixable.append(Unfixable(f, instruction, reason))

    if not (replace or split or drop_arg or remove):
        return ModuleResult(module.code, fixed=[], unfixable=unfixable)
    new = tree.visit(Rewriter(replace, drop_arg, remove, split))
    if needs_os and add_import:
        new = add_os_import(new, os_name)
    return ModuleResult(new.code, fixed, unfixable)


def _split_fstring_text(node: cst.FormattedStringText, pieces: list[tuple[str, str]], fstr: Any, os_name: str) -> list[Any]:
    """The parts replacing f-string text `node`: its text with each secret -> {os.environ['ENV']}."""
    quote = fstr.start[-1] if isinstance(fstr, cst.FormattedString) else '"'
    inner = "'" if quote == '"' else '"'
    spans = []
    for value, env in pieces:
        spans += [(o, o + len(value), env) for o in (occurrences(node.value, value, True) or [])]
    spans.sort()
    parts: list[Any] = []
    pos = 0
    for start, end, env in spans:
        if node.value[pos:start]:
            parts.append(cst.FormattedStringText(node.value[pos:start]))
        parts.append(cst.FormattedStringExpression(cst.parse_expression(env_subscript(os_name, env, inner))))
        pos = end
    if node.value[pos:]:
        parts.append(cst.FormattedStringText(node.value[pos:]))
    return parts


def _env_write(node: Any, parents: Any, qn: Any) -> tuple[Any, str | None] | None:
    """(statement to remove, env name) when `node` is the value of an env write."""
    parent = parents.get(node)
    if isinstance(parent, cst.Assign) and parent.value is node:
        for target in parent.targets:
            t = target.target
            if isinstance(t, cst.Subscript) and "os.environ" in _qnames(qn, t.value):
                key = t.slice[0].slice if len(t.slice) == 1 else None
                name = None
                if isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString):
                    name = key.value.evaluated_value if isinstance(key.value.evaluated_value, str) else None
                return parent, name
    if isinstance(parent, cst.Arg):
        call = parents.get(parent)
        if isinstance(call, cst.Call):
            names = _qnames(qn, call.func)
            if names & {"os.environ.setdefault", "os.putenv", "os.environ.update"} and (
                list(call.args).index(parent) == 1 or "os.environ.update" in names
            ):
                first = call.args[0].value if call.args else None
                name = first.evaluated_value if isinstance(first, cst.SimpleString) else None
                stmt = parents.get(call)
                return (stmt if isinstance(stmt, cst.Expr) else call), (name if isinstance(name, str) else None)
    if isinstance(parent, (cst.DictElement, cst.Dict)):
        d = parent if isinstance(parent, cst.Dict) else parents.get(parent)
        arg = parents.get(d)
        call = parents.get(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(call, cst.Call) and _qnames(qn, call.func) & {"os.environ.update"}:
            return call, None
    return None


def _qnames(qn: Any, node: Any) -> set[str]:
    value = qn.get(node, ())
    if callable(value):  # LazyValue: QualifiedNameProvider resolves on demand
        value = value()
    return {q.name for q in value}
