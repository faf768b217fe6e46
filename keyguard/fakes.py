"""Fake credentials of the right shapes, generated at run time from a seed.

keyguard's own repository stores no key-shaped literal (so scanning it, with keyguard or any
other scanner, is clean): tests, rule-pack examples, benchmarks and the `examples/` folder
build their keys here. None of these values was ever issued by a provider.

Template markers in rule-pack examples: {{ionq_key}}, {{ibm_key}}, {{legacy_token}},
{{iam_jwt}}, {{crn}} (a fresh value each time a marker appears, unless it is numbered like
{{ibm_key:1}}, which repeats the same value for the same number).
"""

from __future__ import annotations

import base64
import json
import random
import re
import string

BASE62 = string.ascii_letters + string.digits
BASE64URL = BASE62 + "-_"
HEX = "0123456789abcdef"


class FakeKeys:
    """Seeded generator. Every key has both letter cases and passes the entropy floors."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(seed)

    def _mixed(self, alphabet: str, length: int) -> str:
        while True:
            value = "".join(self._rng.choice(alphabet) for _ in range(length))
            if (
                any(c.isupper() for c in value)
                and any(c.islower() for c in value)
                and sum(c.isdigit() for c in value) >= 2
                and len(set(value)) >= length // 2
            ):
                return value

    def ionq_key(self) -> str:
        """32 characters [A-Za-z0-9] (IonQ API key shape, research 1.1)."""
        return self._mixed(BASE62, 32)

    def ibm_key(self) -> str:
        """44 characters [A-Za-z0-9_-] (IBM Cloud API key shape, research 2.1)."""
        return self._mixed(BASE64URL, 44)

    def legacy_token(self) -> str:
        """128 lowercase hex (legacy IBM Quantum token shape, research 3.1)."""
        return "".join(self._rng.choice(HEX) for _ in range(128))

    def hex(self, length: int) -> str:
        return "".join(self._rng.choice(HEX) for _ in range(length))

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def crn(self) -> str:
        """An IBM Quantum instance CRN (IBM Cloud CRN grammar, research 4.1)."""
        region = self._rng.choice(["us-east", "eu-de"])
        return f"crn:v1:bluemix:public:quantum-computing:{region}:a/{self.hex(32)}:{self.uuid()}::"

    def iam_jwt(self) -> str:
        """A JWT shaped like an IBM IAM access token (unsigned, random signature)."""

        def b64(obj: dict[str, object]) -> str:
            raw = json.dumps(obj, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = b64({"kid": str(self._rng.randrange(10**8)), "alg": "RS256"})
        payload = b64({"iam_id": "IBMid-" + self._mixed(BASE62, 10), "iss": "https://iam.cloud.ibm.com/identity"})
        return f"{header}.{payload}.{self._mixed(BASE64URL, 86)}"

    def make(self, kind: str) -> str:
        try:
            return getattr(self, kind)()
        except AttributeError:
            raise ValueError(f"no fake generator for {kind!r}") from None


MARKER = re.compile(r"\{\{(ionq_key|ibm_key|legacy_token|iam_jwt|crn)(?::([0-9]+))?\}\}")


def render(template: str, fakes: FakeKeys) -> tuple[str, list[str]]:
    """Replace {{marker}}s with fake values; return the text and the values in order."""
    numbered: dict[tuple[str, str], str] = {}
    values: list[str] = []

    def sub(match: re.Match[str]) -> str:
        kind, number = match.group(1), match.group(2)
        if number is not None:
            value = numbered.setdefault((kind, number), fakes.make(kind))
        else:
            value = fakes.make(kind)
        values.append(value)
        return value

    return MARKER.sub(sub, template), values
