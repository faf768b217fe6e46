"""Redaction for what `--fix` / `--diff` print: the diff (removed, added and context lines,
headers), the fix summary and error messages.

Two layers: the run's known secrets (every finding's value, `redact`ed), then any other
key-shaped word: a context line may show a key that an ignore comment or the baseline
accepted, a file may be named after its key. Key-shaped: 20+ characters of a token alphabet
with letters and digits, not an identifier made of words, and random-looking (Shannon
entropy >= 3.7 bits per character, >= 3.0 for long hex). Names such as
`QISKIT_IBM_TOKEN`, `QiskitRuntimeService` or `run_2024_01_15_results` stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from keyguard.detect.filters import looks_like_words, shannon_entropy
from keyguard.model import redact

_TOKEN = re.compile(r"[A-Za-z0-9_+/=-]{20,}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_PIECE = re.compile(r"(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)?[0-9]*")


def key_shaped(word: str) -> bool:
    """True for a word that may be a credential (see the module docstring)."""
    if len(word) < 20 or looks_like_words(word) or _words_and_numbers(word):
        return False
    if not (any(c.isdigit() for c in word) and any(c.isalpha() for c in word)):
        return False
    if _HEX.fullmatch(word):
        return len(word) >= 32 and shannon_entropy(word) >= 3.0
    return shannon_entropy(word) >= 3.7


def _words_and_numbers(word: str) -> bool:
    """`run_2024_01_15_final`, `test_writes0`: pieces joined by `_`/`-`, each a plain word
    and/or a number."""
    pieces = [p for p in re.split(r"[_-]+", word) if p]
    return len(pieces) >= 2 and all(_PIECE.fullmatch(p) for p in pieces)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each of `secrets` and every other key-shaped word redacted."""
    for value in sorted(set(secrets), key=len, reverse=True):
        if value:
            text = text.replace(value, redact(value))
    return _TOKEN.sub(lambda m: _word(m.group(0)), text)


def _word(word: str) -> str:
    # A path component or URL piece may join a key to other text by '/': judge the parts.
    if "/" in word:
        return "/".join(_word(p) if len(p) >= 20 else p for p in word.split("/"))
    return redact(word) if key_shaped(word) else word
