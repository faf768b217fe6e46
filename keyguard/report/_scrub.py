"""Last line of defence for machine outputs: no raw secret ever leaves a reporter.

Reporters build their text from redacted fields only; `scrub` additionally replaces any raw
secret value of the run's findings that slipped into a string (a detector message quoting
the literal, a path or cell content that contains the key) with its redacted form.
"""

from __future__ import annotations

from collections.abc import Iterable

from keyguard.model import Finding


def secret_map(findings: Iterable[Finding]) -> dict[str, str]:
    """Raw secret -> redacted form, longest first so a key inside a longer key is not split.

    This is an audited `reveal()` call site: the values are used only to remove themselves.
    """
    pairs = {}
    for finding in findings:
        if not finding.is_secret:  # a KG205 notice matched `os.environ[...]`: not a secret
            continue
        raw = finding.secret.reveal()
        # Very short values (a persist rule's placeholder, an empty literal) would mangle
        # ordinary words; real credentials are far longer than 8 characters.
        if len(raw) >= 8:
            pairs[raw] = finding.secret.redacted
    return dict(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def scrub(text: str, secrets: dict[str, str]) -> str:
    """`text` with every raw secret of `secrets` replaced by its redacted form."""
    for raw, redacted in secrets.items():
        if raw in text:
            text = text.replace(raw, redacted)
    return text
