"""IPython magics in notebook code cells: masked by placeholders so `ast` can parse the cell,
put back byte for byte afterwards; `%env NAME=value` lines recognised."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A logical line that IPython transforms: `%magic`, `!shell`, `x = !cmd`, `x = %magic`.
_MAGIC_LINE = re.compile(r"^\s*(?:[%!]|[A-Za-z_][\w.,\s\[\]]*=\s*[%!](?!=))")
_HELP_LINE = re.compile(r"^\s*[\w.]+\?\??\s*$|^\s*\?\??[\w.]+\s*$")
# Cell magics whose body is Python.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_ENV_MAGIC = re.compile(
    r"^(?P<indent>\s*)(?:%env\s+(?P<n1>[A-Za-z_]\w*)\s*[=\s]\s*(?P<v1>\S.*?)"
    r"|%set_env\s+(?P<n2>[A-Za-z_]\w*)\s*[=\s]\s*(?P<v2>\S.*?)"
    r"|!\s*export\s+(?P<n3>[A-Za-z_]\w*)=(?P<v3>[^\s;&|]+))\s*$"
)
_MARKER_LINE = re.compile(r"^\s*(?:import |# )(__keyguard_magic_\w+?_(\d+)__)\s*$")


def env_magic(line: str) -> tuple[str, str, str] | None:
    """(indent, NAME, value) when `line` sets an environment variable via a magic."""
    m = _ENV_MAGIC.match(line.rstrip("\r\n"))
    if not m:
        return None
    for i in "123":
        if m.group("n" + i):
            return m.group("indent"), m.group("n" + i), m.group("v" + i)
    return None


def marker(nonce: str, index: int) -> str:
    """The placeholder for the magic on 0-based line `index` of a cell."""
    return f"__keyguard_magic_{nonce}_{index}__"


@dataclass
class Masked:
    """A code cell with its magic lines replaced by unique placeholders."""

    code: str
    originals: dict[str, str]  # marker -> original line (without line end)
    magic_lines: set[int]  # 1-based lines that are magics (not Python)


def mask_cell(source: str, nonce: str) -> Masked | None:
    """Mask IPython magics so `ast` parses the cell; None for a non-Python cell magic."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    originals: dict[str, str] = {}
    magic: set[int] = set()
    start = 0
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(None, 1)[0] if first[2:].split() else ""
        if name not in _PYTHON_CELL_MAGICS:
            return None
        start = 1
    continuing = False
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        is_magic = i < start or continuing or bool(_MAGIC_LINE.match(body)) or bool(_HELP_LINE.match(body))
        if is_magic:
            placeholder = marker(nonce, i)
            originals[placeholder] = body
            magic.add(i + 1)
            if continuing or i < start:
                out.append(f"# {placeholder}{end}")
            else:
                indent = body[: len(body) - len(body.lstrip())]
                # An import statement: valid wherever a statement is, and AddImportsVisitor
                # then counts leading magics as part of the import block (`import os` goes
                # after `%matplotlib inline`, not above it).
                out.append(f"{indent}import {placeholder}{end}")
            continuing = body.endswith("\\")
        else:
            out.append(line)
    return Masked("".join(out), originals, magic)


def unmask(code: str, masked: Masked, replacements: dict[int, str]) -> str | None:
    """Put the magic lines back (or their replacement, by 1-based line); None if one got lost."""
    lines = code.splitlines(keepends=True)
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        body = line.rstrip("\r\n")
        m = _MARKER_LINE.match(body)
        if m and m.group(1) in masked.originals:
            seen.add(m.group(1))
            original_line = int(m.group(2)) + 1
            text = replacements.get(original_line, masked.originals[m.group(1)])
            out.append(text + line[len(body):])
        else:
            if "__keyguard_magic_" in body:
                return None
            out.append(line)
    if seen != set(masked.originals):
        return None
    return "".join(out)
