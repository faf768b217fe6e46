"""Source text of string literals: their quotes, where a key sits in them, and the
`os.environ` reads that replace it (plain text; no libcst needed)."""

from __future__ import annotations


def quote_of(literal: str) -> str:
    """The quote of a literal's source: `'`, `"`, `'''` or `\"\"\"`."""
    body = literal.lstrip("rRbBuUfF")
    return body[:3] if body[:3] in ('"""', "'''") else body[:1]


def env_subscript(os_name: str, env: str, quote: str) -> str:
    """`os.environ["ENV"]`, in single quotes when `quote` is one."""
    return f"{os_name}.environ[{_quoted(env, quote)}]"


def env_get(os_name: str, env: str, quote: str) -> str:
    """`os.environ.get("ENV")`, in single quotes when `quote` is one."""
    return f"{os_name}.environ.get({_quoted(env, quote)})"


def _quoted(env: str, quote: str) -> str:
    q = "'" if quote == "'" else '"'
    return f"{q}{env}{q}"


def occurrences(text: str, value: str, raw: bool) -> list[int] | None:
    """Start offsets of `value` in literal source text; None if one is escape-affected."""
    found, start = [], 0
    while (i := text.find(value, start)) >= 0:
        if not raw:
            backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
            if backslashes % 2:
                return None
        found.append(i)
        start = i + len(value)
    return found


def fstring_from_simple(literal: str, pieces: list[tuple[str, str]], os_name: str) -> str | None:
    """Source of an f-string equal to the plain string `literal` with each secret -> {os.environ['ENV']}.

    `pieces` are (secret, env) pairs. None when the literal cannot be converted safely.
    """
    quote = quote_of(literal)
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
    if "b" in prefix.lower() or "f" in prefix.lower():
        return None
    raw = "r" in prefix.lower()
    body = literal[len(prefix) + len(quote): len(literal) - len(quote)]
    if not raw and "\\N{" in body:
        return None  # \N{...} escapes contain braces that must not be doubled
    spans: list[tuple[int, int, str]] = []
    for value, env in pieces:
        offs = occurrences(body, value, raw)
        if not offs:
            return None
        spans += [(o, o + len(value), env) for o in offs]
    spans.sort()
    inner = "'" if quote[0] == '"' else '"'
    out, pos = [], 0
    for start, end, env in spans:
        if start < pos:
            return None
        out.append(body[pos:start].replace("{", "{{").replace("}", "}}"))
        out.append("{" + env_subscript(os_name, env, inner) + "}")
        pos = end
    out.append(body[pos:].replace("{", "{{").replace("}", "}}"))
    new_prefix = ("r" if "r" in prefix else "R" if "R" in prefix else "") + "f"
    return f"{new_prefix}{quote}{''.join(out)}{quote}"
