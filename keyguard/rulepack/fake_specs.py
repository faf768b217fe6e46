"""`[fake.NAME]` declarations of a rule pack: parsed and checked when the pack loads.

Only the declarations live here (no generator), so loading packs for a scan imports no
random-number or encoding modules; keyguard.rulepack.fakes generates the values.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, NamedTuple

BASE62 = string.ascii_letters + string.digits
BASE64URL = BASE62 + "-_"
HEX = "0123456789abcdef"
ALPHABETS = {
    "hex": HEX,
    "HEX": HEX.upper(),
    "digits": string.digits,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "base62": BASE62,
    "lower-alnum": string.ascii_lowercase + string.digits,
    "upper-alnum": string.ascii_uppercase + string.digits,
    "base64": BASE62 + "+/",
    "base64url": BASE64URL,
    "base32": string.ascii_uppercase + "234567",
}
MARKER = re.compile(r"\{\{([a-z][a-z0-9_]*)(?::([0-9]+))?\}\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SPEC_KEYS = {"rule", "alphabet", "length", "prefix", "suffix", "mixed", "jwt", "template",
              "signature_length", "description"}


class FakeSpec(NamedTuple):
    """One declared marker: how to generate its values (see the module docstring)."""

    name: str
    where: str  # "rules/x.toml [fake.name]", for error messages
    rule: str | None = None
    alphabet: str | None = None
    length: int = 0
    prefix: str = ""
    suffix: str = ""
    mixed: bool = False
    jwt: Mapping[str, Any] | None = None
    template: str | None = None
    signature_length: int = 43
    markers: tuple[str, ...] = ()


def parse_fake_specs(table: Any, path: str) -> tuple[FakeSpec, ...]:
    """The `[fake.*]` tables of one pack. Raises RulePackError naming file and key."""
    from keyguard.rulepack.load import RulePackError

    if not isinstance(table, dict):
        raise RulePackError(f"{path}: 'fake' must be a table of [fake.NAME] tables")
    specs = []
    for name, spec in table.items():
        where = f"{path} [fake.{name}]"
        if not _NAME.match(name):
            raise RulePackError(f"{where}: marker names are lower case, digits and '_'")
        if not isinstance(spec, dict):
            raise RulePackError(f"{where}: must be a table")
        unknown = sorted(set(spec) - _SPEC_KEYS)
        if unknown:
            raise RulePackError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
        kinds = [k for k in ("rule", "alphabet", "jwt", "template") if k in spec]
        if len(kinds) != 1:
            raise RulePackError(f"{where}: give exactly one of 'rule', 'alphabet', 'jwt', 'template'")
        for key in ("rule", "prefix", "suffix", "template"):
            if key in spec and not isinstance(spec[key], str):
                raise RulePackError(f"{where}: {key!r} must be a string")
        alphabet = spec.get("alphabet")
        length = spec.get("length", 0)
        if alphabet is not None:
            if not isinstance(alphabet, str) or not alphabet:
                raise RulePackError(f"{where}: 'alphabet' must be a name ({', '.join(ALPHABETS)}) or characters")
            alphabet = ALPHABETS.get(alphabet, alphabet)
            if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 4096:
                raise RulePackError(f"{where}: 'length' must be an integer 1..4096")
        elif "length" in spec:
            raise RulePackError(f"{where}: 'length' goes with 'alphabet'")
        jwt = spec.get("jwt")
        if jwt is not None and (not isinstance(jwt, dict) or set(jwt) - {"claims", "header"}
                                or not all(isinstance(v, dict) for v in jwt.values())):
            raise RulePackError(f"{where}: 'jwt' must be a table with 'claims' and optional 'header' tables")
        signature_length = spec.get("signature_length", 43)
        if not isinstance(signature_length, int) or not 8 <= signature_length <= 1024:
            raise RulePackError(f"{where}: 'signature_length' must be an integer 8..1024")
        if not isinstance(spec.get("mixed", False), bool):
            raise RulePackError(f"{where}: 'mixed' must be true or false")
        template = spec.get("template")
        specs.append(FakeSpec(
            name=name,
            where=where,
            rule=spec.get("rule"),
            alphabet=alphabet,
            length=length,
            prefix=spec.get("prefix", ""),
            suffix=spec.get("suffix", ""),
            mixed=spec.get("mixed", False),
            jwt=jwt,
            template=template,
            signature_length=signature_length,
            markers=tuple(m.group(1) for m in MARKER.finditer(template or "")),
        ))
    return tuple(specs)
