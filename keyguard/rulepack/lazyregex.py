"""A regex compiled on first use, for the built-in rule packs.

A pre-commit run over a few files needs only the rules those files can match (the token
detector runs a keyword-anchored rule only where its keyword occurs); compiling every pack
regex at start-up cost ~0.8 ms per regex, the biggest item of a hook run once packs hold
~100 of them. Built-in packs are validated by the test suite (every rule's examples run),
so their regexes are compiled lazily; packs from `extend-rules` are still compiled and
validated when loaded (keyguard.rulepack.load).
"""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """Stands in for `re.compile(pattern, flags)`: `pattern` and `flags` are known at once,
    everything else (search, finditer, groupindex, ...) compiles on first access.
    Equal to a LazyPattern or compiled pattern of the same source and flags."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
            self.flags = self._compiled.flags
        return self._compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)

    def __eq__(self, other: object) -> bool:
        # Equal to the compiled pattern of the same source too (a pack loaded eagerly).
        if isinstance(other, (LazyPattern, re.Pattern)):
            return other.pattern == self.pattern and (other.flags | re.UNICODE) == (
                self.flags | re.UNICODE
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("LazyPattern", self.pattern))

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"

    def __reduce__(self) -> tuple[type[LazyPattern], tuple[str, int]]:
        return (LazyPattern, (self.pattern, self.flags))
