"""The stdlib's regex parser, which the rule-shape readers use (fake keys from a rule's regex,
where a bare rule can match, a rule's literal prefix).

`re._parser` and `re._constants` on Python 3.11+, `sre_parse` and `sre_constants` on 3.10:
private modules, but stable in what is read here (parse trees of opcodes and arguments).
Opcodes that 3.10 lacks are None here, so comparisons with them are simply false.
"""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as constants
    from re import _parser as parser
else:  # pragma: no cover - Python 3.10
    import sre_constants as constants
    import sre_parse as parser

POSSESSIVE_REPEAT: Any = getattr(constants, "POSSESSIVE_REPEAT", None)  # 3.11+
ATOMIC_GROUP: Any = getattr(constants, "ATOMIC_GROUP", None)  # 3.11+
REPEATS: tuple[Any, ...] = tuple(
    op for op in (constants.MAX_REPEAT, constants.MIN_REPEAT, POSSESSIVE_REPEAT) if op is not None)

__all__ = ["ATOMIC_GROUP", "POSSESSIVE_REPEAT", "REPEATS", "constants", "parser"]
