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


class Scrubber:
    """Redacts a fixed set of secrets, and every other key-shaped word, in many texts.

    Built once per run (the set-up is linear in the secrets); each call is linear in the text,
    whatever the number of secrets: up to `_FEW` secrets one C-speed `str.replace` each, more
    through one pass over the runs of the characters secrets are made of, with set lookups of
    their windows of each secret length.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.values = {v for v in secrets if v}
        self.ordered = sorted(self.values, key=len, reverse=True)
        self.runs: re.Pattern[str] | None = None
        self.lengths: list[int] = []
        if len(self.values) > _FEW:
            chars = "".join(sorted({c for v in self.values for c in v}))
            shortest = min(map(len, self.values))
            self.runs = re.compile("[" + re.escape(chars) + "]{" + str(shortest) + ",}")
            self.lengths = sorted({len(v) for v in self.values}, reverse=True)

    def __call__(self, text: str) -> str:
        if self.runs is None:
            for value in self.ordered:
                if value in text:
                    text = text.replace(value, redact(value))
        else:
            out, pos = [], 0
            for start, end in self.spans(text):
                out += [text[pos:start], redact(text[start:end])]
                pos = end
            text = "".join(out) + text[pos:]
        return _TOKEN.sub(lambda m: _word(m.group(0)), text)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) of the secrets in `text`, longest first."""
        if self.runs is None:
            found = []
            for value in self.ordered:
                start = text.find(value)
                while start >= 0:
                    found.append((start, start + len(value)))
                    start = text.find(value, start + len(value))
            return sorted(found)
        spans: list[tuple[int, int]] = []
        for m in self.runs.finditer(text):
            run, base = m.group(0), m.start()
            if run in self.values:
                spans.append((base, base + len(run)))
                continue
            i = 0
            while i < len(run):
                for n in self.lengths:
                    if run[i:i + n] in self.values:
                        spans.append((base + i, base + i + n))
                        i += n
                        break
                else:
                    i += 1
        return spans


_FEW = 64


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each of `secrets` and every other key-shaped word redacted (one-off use;
    build a `Scrubber` to redact many texts)."""
    return Scrubber(secrets)(text)


def _word(word: str) -> str:
    # A path component or URL piece may join a key to other text by '/': judge the parts.
    if "/" in word:
        return "/".join(_word(p) if len(p) >= 20 else p for p in word.split("/"))
    return redact(word) if key_shaped(word) else word
