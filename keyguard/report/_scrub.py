"""Last line of defence for every output: no raw secret, no key shape, no control character.

Reporters build their text from redacted fields; a `Scrubber` made from the run's findings
then passes every string through two nets before it is written:

* the run's real secrets (`secret_map`): the raw value of every finding whose rule reports a
  secret is replaced by its redacted form wherever it appears (a path or cell content that
  holds the key, a message quoting a literal of unusual shape). Notices (a save_account()
  call, whose `secret` is code like `os.environ["QISKIT_IBM_TOKEN"]`) and identifiers (CRNs)
  are not secrets: their values are never scrubbed from other text;
* `keyguard.report.redact.safe_text`: every key-shaped token redacted (whatever its source) and
  control characters escaped.

Machine locations (a SARIF artifact URI, a GitHub annotation's `file`) get only the first
net and the escaping: GitHub must find the file by that name, and the repository already
publishes it; a key found in the scan is still redacted there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keyguard.model import Finding
from keyguard.report.redact import escape_controls, safe_text


def secret_map(findings: Iterable[Finding]) -> dict[str, str]:
    """Raw secret -> redacted form, longest first so a key inside a longer key is not split.

    Only findings with `is_secret` count. This is an audited `reveal()` call site: the values
    are used only to remove themselves.
    """
    pairs = {}
    for finding in findings:
        if not finding.is_secret:  # a KG205 notice matched `os.environ[...]`: not a secret
            continue
        raw = finding.secret.reveal()
        # Very short values (an empty literal) would mangle ordinary words; real
        # credentials are far longer than 8 characters.
        if len(raw) >= 8:
            pairs[raw] = finding.secret.redacted
    return dict(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def scrub(text: str, secrets: dict[str, str]) -> str:
    """`text` with every raw secret of `secrets` replaced by its redacted form."""
    return _SecretIndex(secrets).scrub(text) if secrets else text


_PREFIX = 8  # every secret in a secret_map is at least this long


class _SecretIndex:
    """Secrets by their first 8 characters: scrubbing a text costs one dictionary look-up
    per position, whatever the number of secrets (8,000 keys in one file must not make
    every output quadratic). At each position the longest secret starting there wins."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.by_prefix: dict[str, list[tuple[str, str]]] = {}
        for raw, redacted in sorted(secrets.items(), key=lambda kv: -len(kv[0])):
            self.by_prefix.setdefault(raw[:_PREFIX], []).append((raw, redacted))

    def scrub(self, text: str) -> str:
        if not self.by_prefix or len(text) < _PREFIX:
            return text
        pieces: list[str] = []
        last = i = 0
        end = len(text) - _PREFIX
        lookup = self.by_prefix.get
        while i <= end:
            candidates = lookup(text[i:i + _PREFIX])
            if candidates:
                for raw, redacted in candidates:
                    if text.startswith(raw, i):
                        pieces += (text[last:i], redacted)
                        i = last = i + len(raw)
                        break
                else:
                    i += 1
            else:
                i += 1
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)


class Scrubber:
    """Both nets for one run's output. With `show_secrets` (the user asked for raw values)
    nothing is redacted, but control characters are still escaped."""

    def __init__(self, findings: Iterable[Finding] = (), *, show_secrets: bool = False) -> None:
        self.show_secrets = show_secrets
        self.secrets = {} if show_secrets else secret_map(findings)
        self._index = _SecretIndex(self.secrets)
        # Findings repeat their paths and messages: each distinct string is scrubbed once.
        self._texts: dict[str, str] = {}

    def scrub(self, value: str) -> str:
        """`value` with the run's secrets redacted (nothing else changed)."""
        return self._index.scrub(value)

    def text(self, value: str) -> str:
        """A message, note, path in human output: both nets and escaping."""
        done = self._texts.get(value)
        if done is None:
            done = safe_text(self._index.scrub(value), keys=not self.show_secrets)
            if len(self._texts) < 100_000:
                self._texts[value] = done
        return done

    def location(self, value: str) -> str:
        """A file location a machine must resolve: the run's secrets and escaping only."""
        return escape_controls(self._index.scrub(value))

    def tree(self, node: Any, keep: frozenset[str] = frozenset()) -> Any:
        """`text` over every string of a JSON-like tree; values under a key in `keep`
        (fingerprints, the secret field itself) are left as they are."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {
                self.text(k) if isinstance(k, str) else k: v if k in keep else self.tree(v, keep)
                for k, v in node.items()
            }
        if isinstance(node, (list, tuple)):
            return [self.tree(v, keep) for v in node]
        return node
