"""Text that is safe to print: no key-shaped token, no control character.

Every output path (text, JSON, SARIF, GitHub annotations, baselines, notes, errors) passes
the strings it did not build from rule data through `safe_text`, whatever their source: a
file or folder named after the key it holds, a notebook field quoted in a note, a value a
configuration or baseline error repeats, a provider's free text.

Key-shaped (`redact_keys`): a run of `[A-Za-z0-9_+/-]` cut into pieces at `/` and chunks
at `_ + -`. A chunk of 4+ characters is a *word* when it has at most three letter/digit
runs (`run2024`, `abc123def`) whose letter runs read as words: lower case, UPPER CASE or
CamelCase whose segments average 3.5+ letters, two-letter segments being real words
(`setUpClass`), lower-case segments of 3+ letters having a vowel (a few abbreviations like
`http`, `cfg` excepted) and no five consonants in a row. Shorter chunks are neutral; every
other chunk is *noise*. A piece is redacted whole when noise and neutral chunks between
words make a stretch of MIN_KEY (20) characters, or when noise (counting mixed-case chunks
with digits, `VSowI43`) is 20+ characters and 60 % of the piece; a run with `/` that is
half noise is redacted from its first to its last noisy piece (a standard base64 key may
hold `/`), plain path components around it kept. UUIDs are always redacted.

Measured (bench/redact_recall.py, 20,000 generated keys per shape): no key standing alone
(bare, quoted, a path component) of the packs' shapes keeps more than 8 characters visible
(32/64 base62, 44/86 base64url, 40/128 hex, UUID, `DEV-` + 40 hex); a 44-char base64url key
glued to a word in one file name (`notes_<key>.ipynb`) does in 1 of 20,000, a 40-char
standard-base64 key with `/` in 1.4e-2 (no pack reports that shape). Of the 5,621 file
paths of the five real repositories under /work/real, 14 change (11 are 32-hex hashed font
assets), and 44 of their 9,600 distinct Python identifiers of 20+ characters (31 of them
protobuf's serialized `x12…` descriptor bytes); `test_verify_429_backoff.py`,
`QISKIT_IBM_TOKEN`, reno's `name-<16 hex>.yaml`, `alembic/versions/3f2a9b8c7d6e_add_users.py`,
dates and URLs stay readable. The scan's own findings are redacted exactly besides
(`keyguard.report._scrub`).

Control characters: C0, DEL, C1, the Unicode bidirectional controls ("Trojan source") and
the surrogate escapes Python uses for undecodable bytes in file names become visible
escapes (`\\n`, `\\x1b`, `\\u202e`, `\\xff` for the byte 0xff), so a crafted name can neither
split a finding line, move the cursor, nor end UTF-8 output with UnicodeEncodeError.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_KEY = 20  # characters; the shortest key of the packs is 32 (IonQ); reno notes end in 16 hex
_NOISE_SHARE = 0.5  # of a run with `/`
_PIECE_NOISE_SHARE = 0.5  # of a piece without `/`

_RUN = re.compile(rf"[A-Za-z0-9_+/-]{{{MIN_KEY},}}")
# UUIDs are credentials for some clouds (AQT's legacy tokens): always redacted.
_UUID = re.compile(r"(?i)(?<![0-9a-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-z])")
_SEPARATORS = re.compile(r"([_+/-]+)")
_ALNUM_RUNS = re.compile(r"[A-Za-z]+|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
# Vowel-less words common in names (`XMLHttpRequest`, `parseJsonCfg`).
_NO_VOWEL = frozenset({
    "http", "https", "html", "xml", "sql", "css", "std", "cfg", "pkg", "src", "dst", "tmp",
    "ctx", "msg", "mgr", "cnt", "rng", "svg", "png", "jpg", "pdf", "csv", "tsv", "cmd", "str",
    "dfs", "bfs", "gcd", "lcm", "sqrt", "nth", "fwd", "bwd", "ptr", "pwd", "rpc", "grpc",
    "crn", "jwt",
})
_MIN_SEGMENT_MEAN = 3.5
_TWO_LETTER_WORDS = frozenset({
    "Is", "Up", "On", "At", "By", "Of", "To", "In", "Or", "As", "If", "No", "Do", "Go", "Id",
    "Ok", "Be", "My", "We", "It", "An", "Me", "So", "Us", "Op", "Ch", "Io", "Qc", "Nd",
})
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5}")
_VOWELS = re.compile(r"[aeiouyAEIOUY]")
_PLAIN_CHUNK = re.compile(r"(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)?[0-9]*(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)?")
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _wordish_letters(run: str) -> bool:
    """A letter run that reads as a word or a CamelCase / acronym name (segments `XML`,
    `Http`, `Request`); random letters seldom do (`wtgTIvcxYYBRY`, `MTQxaOpziYIY`)."""
    if not (run.islower() or run.isupper()):
        segments = _CAMEL.findall(run)
        # A capital and one small letter is a word only when it is one (`setUpClass`).
        if any(len(seg) == 2 and seg[1].islower() and seg not in _TWO_LETTER_WORDS
               for seg in segments):
            return False
        # Random case flips cut letters into segments of about 3; CamelCase names have
        # longer ones (`ModelViewProjection` 6.3, `assertIsNotNone` 3.75).
        if len(run) >= 8 and len(run) < _MIN_SEGMENT_MEAN * len(segments):
            return False
    else:
        segments = [run]
    for seg in segments:
        vowels = len(_VOWELS.findall(seg))
        if seg.isupper():
            if len(seg) >= 5 and not vowels:
                return False
        elif len(seg) >= 3 and not vowels and seg.lower() not in _NO_VOWEL:
            return False
        # Five consonants in a row are rare in words (`lengths`), common in random letters
        # (`Ufszkgbwi`); capitals-only segments are acronyms and spared.
        if not seg.isupper() and _CONSONANTS.search(seg):
            return False
    return True


def _is_word(chunk: str) -> bool:
    runs = _ALNUM_RUNS.findall(chunk)
    if len(runs) > 3:
        return False
    letters = [r for r in runs if r.isalpha()]
    if len(runs) == 3 and any(len(r) < 3 for r in letters):
        return False  # `e89b`, `12d3`: hex pieces, not `abc123def`
    return all(_wordish_letters(r) for r in letters)


def _redacted(value: str) -> str:
    from keyguard.model import redact

    return redact(value)


def _kind(chunk: str) -> str:
    if len(chunk) < 4:
        return "neutral"
    return "word" if _is_word(chunk) else "noise"


def _noise_length(chunk: str) -> int:
    """The chunk's length when it counts as noise for a run's noise share, else 0."""
    kind = _kind(chunk)
    if kind == "noise":
        return len(chunk)
    if not _PLAIN_CHUNK.fullmatch(chunk) and (
        any(c.isdigit() for c in chunk) or kind == "neutral" or len(chunk) < 8
    ):
        return len(chunk)  # `VSowI43`, `3Q2`, `rIg`, `YWmoPP`: not plain, not long CamelCase
    return 0


def _redact_piece(piece: str) -> str:
    """One `/`-free piece: redacted whole when it holds a noise stretch of MIN_KEY or more
    characters (noise and neutral chunks between words, without neutral ends), or when it
    is mostly noise; else unchanged. Whole: a word next to a key may be part of the key."""
    parts = _SEPARATORS.split(piece)  # chunk, sep, chunk, ..., chunk
    kinds = [_kind(p) if i % 2 == 0 else "sep" for i, p in enumerate(parts)]
    if "noise" not in kinds:
        return piece
    noise = sum(_noise_length(p) for p in parts[::2])
    if noise >= MIN_KEY and noise >= _PIECE_NOISE_SHARE * len(piece):
        return _redacted(piece)
    stretch = longest = 0
    pending = 0  # neutral chunks and separators after the last noise chunk
    for part, kind in zip(parts, kinds):
        if kind == "word":
            stretch = pending = 0
        elif kind == "noise":
            stretch += pending + len(part) if stretch else len(part)
            pending = 0
            longest = max(longest, stretch)
        elif stretch:
            pending += len(part)
    return _redacted(piece) if longest >= MIN_KEY else piece


def _plain_piece(piece: str, min_length: int = 1) -> bool:
    """A path component of plain words (`data`, `run2024`, `test_utils`): never absorbed
    into the stretch of a key it stands next to."""
    return all(
        _PLAIN_CHUNK.fullmatch(c) for c in _SEPARATORS.split(piece)[::2] if c
    ) and any(c.isalpha() for c in piece) and len(piece) >= min_length


@lru_cache(maxsize=4096)
def _redact_run(run: str) -> str:
    pieces = run.split("/")
    if len(pieces) > 1:
        # A base64 key may hold `/`: a run that is mostly noise is one stretch, from the
        # first piece with noise to the last, widened over pieces that are not plain
        # words; the plain path components around it stay readable.
        chunks = [_SEPARATORS.split(p)[::2] for p in pieces]
        noisy = [i for i, cs in enumerate(chunks) if any(_kind(c) == "noise" for c in cs)]
        noise = sum(_noise_length(c) for cs in chunks for c in cs)
        if noisy and noise >= MIN_KEY and noise >= _NOISE_SHARE * len(run):
            first, last = noisy[0], noisy[-1]
            while first > 0 and not _plain_piece(pieces[first - 1], 4):
                first -= 1
            while last < len(pieces) - 1 and not _plain_piece(pieces[last + 1], 4):
                last += 1
            body = "/".join(pieces[first:last + 1])
            return "/".join([*pieces[:first], _redacted(body), *pieces[last + 1:]])
    return "/".join(_redact_piece(p) for p in pieces)


def is_key_shaped(token: str) -> bool:
    """Whether `redact_keys` would change `token` (a run of key characters)."""
    return redact_keys(token) != token


def redact_keys(text: str) -> str:
    """`text` with every key-shaped stretch replaced by its redacted form (`ab12…(44 chars)`).

    Linear in len(text); idempotent (a redacted form is never key-shaped again).
    """
    if len(text) < MIN_KEY:
        return text
    text = _UUID.sub(lambda m: _redacted(m.group(0)), text)
    return _RUN.sub(lambda m: _redact_run(m.group(0)), text)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape of an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with control, bidi-control and surrogate characters as visible escapes."""
    return _CONTROL.sub(_escape, text)


def safe_text(text: str, *, keys: bool = True) -> str:
    """`text` ready for any output: key-shaped tokens redacted (unless `keys` is False, for
    `--show-secrets`), control characters escaped. The one function every reporter uses."""
    if keys:
        text = redact_keys(text)
    return escape_controls(text)
