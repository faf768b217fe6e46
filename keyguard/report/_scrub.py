"""Last line of defence for every output: no raw secret, no key shape, no control character.

Reporters build their text from redacted fields; a `Scrubber` made from the run's findings
then passes every string through two nets before it is written:

* the run's real secrets (`secret_map`): the raw value of every finding whose rule reports a
  secret is replaced by its redacted form wherever it appears (a path or cell content that
  holds the key, a message quoting a literal of unusual shape). Notices (a save_account()
  call, whose `secret` is code like `os.environ["QISKIT_IBM_TOKEN"]`) and identifiers (CRNs)
  are not secrets: their values are never scrubbed from other text;
* `keyguard.redact.safe_text`: every key-shaped token redacted (whatever its source) and
  control characters escaped.

Machine locations (a SARIF artifact URI, a GitHub annotation's `file`) get only the first
net and the escaping: GitHub must find the file by that name, and the repository already
publishes it; a key found in the scan is still redacted there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keyguard.model import Finding
from keyguard.redact import escape_controls, safe_text


def secret_map(findings: Iterable[Finding]) -> dict[str, str]:
    """Raw secret -> redacted form, longest first so a key inside a longer key is not split.

    Only findings with `is_secret` count. This is an audited `reveal()` call site: the values
    are used only to remove themselves.
    """
    pairs = {}
    for finding in findings:
        if not finding.is_secret:
            continue
        raw = finding.secret.reveal()
        # Very short values (an empty literal) would mangle ordinary words; real
        # credentials are far longer than 8 characters.
        if len(raw) >= 8:
            pairs[raw] = finding.secret.redacted
    return dict(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def scrub(text: str, secrets: dict[str, str]) -> str:
    """`text` with every raw secret of `secrets` replaced by its redacted form."""
    for raw, redacted in secrets.items():
        if raw in text:
            text = text.replace(raw, redacted)
    return text


class Scrubber:
    """Both nets for one run's output. With `show_secrets` (the user asked for raw values)
    nothing is redacted, but control characters are still escaped."""

    def __init__(self, findings: Iterable[Finding] = (), *, show_secrets: bool = False) -> None:
        self.show_secrets = show_secrets
        self.secrets = {} if show_secrets else secret_map(findings)

    def text(self, value: str) -> str:
        """A message, note, path in human output: both nets and escaping."""
        return safe_text(scrub(value, self.secrets), keys=not self.show_secrets)

    def location(self, value: str) -> str:
        """A file location a machine must resolve: the run's secrets and escaping only."""
        return escape_controls(scrub(value, self.secrets))

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
