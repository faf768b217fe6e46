"""A key inside the literal text of an existing f-string: the f-string is re-rendered with the
key replaced by `{os.environ['ENV']}`. libcst parses just that one f-string token (a few
hundred bytes at most), which is what it does best; the rest of the file is never given to it.
"""

from __future__ import annotations

from typing import Any

from keyguard.fix.literals import env_subscript, occurrences

_MAX_FSTRING = 100_000  # characters: a longer single f-string is left to the user


def split_fstring(part: str, pieces: list[tuple[str, str]], os_name: str) -> str | None:
    """Source of f-string `part` with each (secret, env) of `pieces` read from os.environ.

    None when a secret is not wholly in the f-string's literal text (it touches a `{...}`
    expression), sits next to an escape, or the f-string cannot be parsed.
    """
    if len(part) > _MAX_FSTRING:
        return None
    import libcst as cst  # here: only files with such a key pay for libcst

    try:
        node = cst.parse_expression(part)
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    if not isinstance(node, cst.FormattedString):
        return None
    quote = node.start[-1]
    inner = "'" if quote == '"' else '"'
    raw = "r" in node.start.lower()
    found = {value: False for value, _ in pieces}
    new_parts: list[Any] = []
    for p in node.parts:
        if not isinstance(p, cst.FormattedStringText):
            new_parts.append(p)
            continue
        spans: list[tuple[int, int, str]] = []
        for value, env in pieces:
            offs = occurrences(p.value, value, raw)
            if offs is None:
                return None
            if offs:
                found[value] = True
                spans += [(o, o + len(value), env) for o in offs]
        spans.sort()
        pos = 0
        for start, end, env in spans:
            if start < pos:
                return None
            if p.value[pos:start]:
                new_parts.append(cst.FormattedStringText(p.value[pos:start]))
            new_parts.append(cst.FormattedStringExpression(
                cst.parse_expression(env_subscript(os_name, env, inner))))
            pos = end
        if p.value[pos:]:
            new_parts.append(cst.FormattedStringText(p.value[pos:]))
    if not all(found.values()):
        return None
    return cst.Module(body=[]).code_for_node(node.with_changes(parts=new_parts))
