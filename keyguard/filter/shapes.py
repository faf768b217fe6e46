"""Cheap filters that decide whether a string is a real credential or a placeholder.

Placeholder heuristics follow shared/research/secret-formats.md section 6 (documented
placeholders of the IonQ and IBM docs, SDK tests and tutorials) and trufflehog's default
false-positive words. Entropy floors follow the measured distributions in sections 1.1, 2.1 and
3.1 (random IonQ keys: min 3.90 bits/char; IBM keys: min 4.30; legacy tokens: min 3.71).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import pairwise

# Values that start or end like documentation ("your_api_key", "API TOKEN GOES HERE").
_PLACEHOLDER_PREFIX = re.compile(
    r"(?i)^(?:your|my|insert|paste|enter|replace|example|sample|dummy|fake|test|temp|xxx+|"
    r"placeholder|changeme|todo|none|null|put|add|api[_ -]?key|token)(?:[_\-\s.:]|$)"
)
_PLACEHOLDER_SUFFIX = re.compile(r"(?i)(?:here|goes|_token|-token|api[_ -]?key|_key|-key)$")
# Words that never occur in an issued key but often in docs and fixtures.
_PLACEHOLDER_WORDS = (
    "example", "sample", "dummy", "placeholder", "changeme", "redacted", "xxxxx", "your_",
    "your-", "<", ">", "{", "}", "${", "...", "…", "****", "####",
)
_ONLY_WORDS = re.compile(r"^[A-Za-z]+(?:[_\- ][A-Za-z]+)*$")
_CAMEL_WORDS = re.compile(r"^[a-z]*(?:[A-Z][a-z]+)+$|^[a-z]+(?:_[a-z]+)+$|^[A-Z]+(?:_[A-Z]+)+$")
_SEPARATORS = re.compile(r"[_\-\s.:!]+")
_LONE_LOWER = re.compile(r"(?:^|[A-Z])[a-z](?:[A-Z]|$)")
_HEX_ONLY = re.compile(r"^(?:[0-9a-f]+|[0-9A-F]+)$")
_ALNUM_SEQUENCE = "0123456789abcdefghijklmnopqrstuvwxyz"
_CYCLE = _ALNUM_SEQUENCE + _ALNUM_SEQUENCE[0]  # every neighbour pair, the wrap 'z0' included
_SUCCESSOR = dict(pairwise(_CYCLE))
# A run this long of neighbours in that order ('01234567', '3456789a', 'hgfedcba') marks a
# typed fixture, not an issued key: in a random hex key a given 8-character stretch is such
# a run with probability 2 * 16**-7, so about 1 in 4 million 40-character hex keys holds one
# anywhere (fewer than 1 in 300 million base-62 keys of that length).
SEQUENCE_RUN = 8


def shannon_entropy(value: str) -> float:
    """Shannon entropy in bits per character (detect-secrets' formula). 0.0 for ''."""
    if not value:
        return 0.0
    length = len(value)
    return -sum((n / length) * math.log2(n / length) for n in Counter(value).values())


def is_repetitive(value: str) -> bool:
    """True for runs like 0000..., xxxx..., abcdabcd... (any period up to half the length,
    at most 64, a short tail allowed) and for strings where one character makes up >= 40 %
    of the value."""
    if not value:
        return True
    most = Counter(value).most_common(1)[0][1]
    if most / len(value) >= 0.4:
        return True
    lowered = value.lower()
    longest = min(len(lowered) // 2, 64)
    if len(lowered) >= 12:
        # Only periods where the first 4 characters recur can qualify (a repeated prefix that
        # covers 80 % of 12+ characters holds them again at the period): try just those.
        head = lowered[:4]
        periods: Iterable[int] = _recurrences(lowered, head, longest)
    else:
        periods = range(1, longest + 1)
    for period in periods:
        unit = lowered[:period]
        repeats = len(lowered) // period
        # The repeated prefix covers >= 80 % of the value: the detect-secrets fixture is
        # period 8 plus a `--__` tail.
        if repeats >= 2 and lowered.startswith(unit * repeats) and repeats * period >= 0.8 * len(value):
            return True
    return _is_sequential(lowered)


def _recurrences(text: str, head: str, longest: int) -> Iterator[int]:
    pos = text.find(head, 1, longest + len(head))
    while 0 < pos <= longest:
        yield pos
        pos = text.find(head, pos + 1, longest + len(head))


def _is_sequential(value: str) -> bool:
    """'123456', 'abcdef', '0123456789abcdef...' and the like."""
    if len(value) < 4:
        return False
    # Both tests below need the first two characters to be neighbours: a cheap exit for keys.
    first = value[:2]
    if abs(ord(first[1]) - ord(first[0])) != 1 and first not in _CYCLE and first[::-1] not in _CYCLE:
        return False
    steps = {ord(b) - ord(a) for a, b in pairwise(value)}
    if steps <= {1} or steps <= {-1}:
        return True
    # Runs across the digit/letter gap: '0123456789abcdefghij...', 'zyx...3210'.
    cycle = _ALNUM_SEQUENCE * (len(value) // len(_ALNUM_SEQUENCE) + 2)
    return value in cycle or value[::-1] in cycle


def has_sequence_run(lowered: str, length: int = SEQUENCE_RUN) -> bool:
    """Whether lower-cased `lowered` holds `length` or more characters in a row that count
    up or down the cycle 0-9a-z ('AB-0123456789...', 'c0f3456789...', 'zyxw...'): a test
    fixture's typed-out sequence (an SDK's token-format tests)."""
    up = down = 1
    successor = _SUCCESSOR
    for a, b in pairwise(lowered):
        up = up + 1 if successor.get(a) == b else 1
        down = down + 1 if successor.get(b) == a else 1
        if up >= length or down >= length:
            return True
    return False


def _is_wordy(value: str) -> bool:
    """Every part between separators is a plain word (letters only, one case or Capitalised)."""
    parts = [p for p in _SEPARATORS.split(value) if p]
    return bool(parts) and all(p.isalpha() and (p.islower() or p.isupper() or p.istitle()) for p in parts)


@lru_cache(maxsize=8192)  # pure; both detectors test the same values, often many times
def is_placeholder(value: str, known: frozenset[str] = frozenset(), env_vars: frozenset[str] = frozenset()) -> bool:
    """Whether a candidate value is a documented placeholder, template or dummy.

    `known` holds the providers' documented placeholders (lower case), `env_vars` the
    environment variable names (a value equal to one is a name, not a key).
    """
    stripped = value.strip().strip("'\"`")
    if not stripped:
        return True
    lowered = stripped.lower()
    if lowered in known or stripped.upper() in env_vars:
        return True
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    if any(ch.isspace() for ch in stripped):
        return True
    # "your_api_key", "MY_IBM_QUANTUM_TOKEN", "API TOKEN GOES HERE": words only. A random key
    # can start with "My_" or end with "-key" (about 1 in 25,000 IBM keys): its other
    # parts carry digits or mixed-case noise, so the prefix alone must not hide it.
    if (_PLACEHOLDER_PREFIX.match(stripped) or _PLACEHOLDER_SUFFIX.search(stripped)) and _is_wordy(stripped):
        return True
    return has_sequence_run(lowered) or is_repetitive(stripped)


def looks_like_words(value: str) -> bool:
    """Whether `value` is an identifier made of words, not a key.

    CamelCase, snake_case or CONSTANT_CASE names; letter-only names with acronyms
    (`UICollectionViewCompositionalLayout`); and words joined by `_`, `-` or `--` in any mix
    (`duo--ProgressIndicatorStep--bgWrapper--black`, `gl_ModelViewProjectionMatrixInverseTranspose`,
    `Get_Seq_Rot_Unitary_Part_circuits_MEMORY_EFF`). See `looks_like_identifier`.
    """
    if _CAMEL_WORDS.match(value):
        return True
    return looks_like_identifier(value)


_PIECES = re.compile(r"[_-]+")


def looks_like_identifier(value: str) -> bool:
    """Pieces between `_`/`-` runs are each ASCII letters only, with no lower-case letter
    standing alone between capitals (or at a piece's edge next to one): words, CamelCase,
    acronyms.

    Why this keeps the recall of random keys: an issued key is random over its alphabet. A
    random 44-character [A-Za-z0-9_-] key has no digit with probability (54/64)^44 = 5.7e-4,
    and then its letters must also avoid every lone lower-case letter; a random 32-character
    [A-Za-z0-9] key has no digit with probability 3.6e-3. bench/identifier_recall.py measures
    the fraction of 1,000,000 random keys of each shape this test rejects (< 1e-4 required;
    the figures are in its docstring). A value with a digit is never an identifier here.
    """
    pieces = [piece for piece in _PIECES.split(value) if piece]
    if not pieces:
        return False
    for piece in pieces:
        if not (piece.isascii() and piece.isalpha()) or _LONE_LOWER.search(piece):
            return False
    return True


@lru_cache(maxsize=8192)  # pure, see is_placeholder
def is_plausible_token(value: str, *, min_entropy: float, mixed_case: bool) -> bool:
    """Format-level checks for a regex match of a token rule (after the regex itself)."""
    if mixed_case:
        if not (any(c.isupper() for c in value) and any(c.islower() for c in value)):
            return False
        if _HEX_ONLY.match(value):
            return False
    if looks_like_words(value):
        return False
    return shannon_entropy(value) >= min_entropy


# An environment-variable style name: capitals and digits in `_`-joined pieces, one of them a
# word of three or more letters.
_ENV_NAME = re.compile(r"(?=[A-Z0-9_]*[A-Z]{3})[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def is_plausible_literal(value: str) -> bool:
    """Whether a literal of unexpected shape at a credential site looks like a real secret.

    Placeholders in any language and style are not: plain words ('tomyheart', 'to_my_heart',
    'MY_APIKEY', '_ENTER_TOKEN_HERE_', 'your-Token'), text with non-ASCII characters
    ('ここにトークンをいれる', 'ここにAPItokenを書く': issued keys and tokens are ASCII), and short
    strings. Issued secrets carry digits or mixed-case noise.
    """
    stripped = value.strip()
    if len(stripped) < 8:
        return False
    if not stripped.isascii():
        return False
    if _ONLY_WORDS.match(stripped) and not any(c.isdigit() for c in stripped):
        return False
    if looks_like_identifier(stripped.strip("_-.*<>[](){}#$%")):
        return False
    if _ENV_NAME.fullmatch(stripped):
        # `API2_TOKEN`, `IBMQ_TOKEN_V2`: the name of a variable, not its value (real public
        # test code passes such names as stand-in tokens); issued secrets are not all caps.
        return False
    return shannon_entropy(stripped) >= 2.5
