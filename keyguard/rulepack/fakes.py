"""Fake credentials of the right shapes, generated at run time from a seed and the rule packs.

keyguard's own repository stores no key-shaped literal (so scanning it, with keyguard or any
other scanner, is clean): tests, rule-pack examples, benchmarks and the `examples/` folder
build their keys here. The values come from a seeded pseudo-random generator and were never
issued by any provider; for a 32-character base62 key the chance that one equals an issued
key is about 2^-190.

Which fakes exist is pack data: each pack declares its markers in `[fake.NAME]` tables
(docs/rule-packs.md, "Fake keys"), one of

  rule = "KG401"                       generated from that rule's regex (its `secret` group),
                                       as gitleaks' `regen` does, then checked against the rule
  alphabet = "hex" / length = 40       random characters; optional prefix, suffix, mixed = true
                                       (both letter cases and two digits)
  jwt = { claims = {...}, header = {...} }   an unsigned-looking JWT with these claims, a random
                                       `jti` and a random signature of `signature_length` chars
  template = "_T_{{quandela_jwt}}"     other markers composed with fixed text

Markers in example code: {{NAME}} is a fresh value each time; {{NAME:1}} repeats the same value
for the same number. `FakeKeys(seed).NAME()` returns one value (tests), `render(template,
fakes)` fills a template. The same seed gives the same values, so examples are reproducible.
Unknown markers and bad declarations are `RulePackError`s naming the file and key.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keyguard.rulepack.fake_specs import (  # noqa: F401  (re-exported: the public names)
    ALPHABETS,
    BASE62,
    BASE64URL,
    HEX,
    MARKER,
    FakeSpec,
    parse_fake_specs,
)
from keyguard.rulepack.sre import ATOMIC_GROUP, REPEATS

if TYPE_CHECKING:
    from keyguard.rulepack.load import Rule, RuleSet

_TRIES = 200


def check_fakes(packs: Iterable[Any], rules: Mapping[str, Rule], generate: Iterable[str] | None = None) -> None:
    """Cross-pack checks at load time: unique marker names, declared markers only (in
    examples and templates), `rule` naming a token rule, no template cycles; and the
    declarations of the packs whose paths are in `generate` (default: all) must generate a
    value, so a bad regex fails at load, not in a test. (The built-in packs' generation is
    covered by the test suite: it stays off the pre-commit hook's path.)"""
    from keyguard.rulepack.load import RulePackError

    packs = tuple(packs)
    specs: dict[str, FakeSpec] = {}
    for pack in packs:
        for spec in pack.fakes:
            first = specs.get(spec.name)
            # The same declaration twice is harmless (a pack copied from a built-in one);
            # two different ones would make an example's keys depend on load order.
            if first is not None and first._replace(where=spec.where) != spec:
                raise RulePackError(f"{spec.where}: marker {spec.name!r} already declared differently in {first.where}")
            specs.setdefault(spec.name, spec)
    for spec in specs.values():
        if spec.rule is not None:
            rule = rules.get(spec.rule)
            if rule is None or rule.regex is None:
                raise RulePackError(f"{spec.where}: 'rule' must name a token or identifier rule, not {spec.rule!r}")
        for marker in spec.markers:
            if marker not in specs:
                raise RulePackError(f"{spec.where}: template uses unknown marker {{{{{marker}}}}}")
    for pack in packs:
        for i, example in enumerate(pack.examples):
            for text, key in ((example.code, "code"), (example.fixed or "", "fixed")):
                for match in MARKER.finditer(text):
                    if match.group(1) not in specs:
                        raise RulePackError(
                            f"{pack.path} [[example]] #{i + 1} {key}: unknown marker {match.group(0)}"
                            " (declare it in a [fake.NAME] table)"
                        )
    generator = FakeKeys(0, _Catalog(specs, rules))
    paths = None if generate is None else set(generate)
    owner = {spec.name: pack.path for pack in packs for spec in pack.fakes}
    for spec in specs.values():
        if paths is not None and owner[spec.name] not in paths:
            continue
        try:
            generator.make(spec.name)
        except (ValueError, RecursionError) as exc:
            raise RulePackError(f"{spec.where}: cannot generate a value: {exc}") from None


@dataclass(frozen=True)
class _Catalog:
    specs: Mapping[str, FakeSpec]
    rules: Mapping[str, Rule]


def _catalog(ruleset: RuleSet | None) -> _Catalog:
    if ruleset is None:
        from keyguard.rulepack.load import load_ruleset

        ruleset = load_ruleset()
    return _Catalog({s.name: s for p in ruleset.packs for s in p.fakes}, ruleset.rules)


class FakeKeys:
    """Seeded generator of the markers the packs declare.

    `FakeKeys(seed).make("dwave_token")` or `FakeKeys(seed).dwave_token()`; `ruleset` defaults
    to the built-in packs. Same seed, same sequence of values.
    """

    def __init__(self, seed: int | str = 0, ruleset: RuleSet | _Catalog | None = None) -> None:
        self._rng = random.Random(seed)
        self._catalog = ruleset if isinstance(ruleset, _Catalog) else _catalog(ruleset)

    def __getattr__(self, name: str) -> Callable[[], str]:
        if name.startswith("_") or name not in self._catalog.specs:
            raise AttributeError(name)
        return lambda: self.make(name)

    @property
    def markers(self) -> tuple[str, ...]:
        return tuple(sorted(self._catalog.specs))

    def hex(self, length: int) -> str:
        return "".join(self._rng.choice(HEX) for _ in range(length))

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def make(self, name: str, _depth: int = 0) -> str:
        """One value for marker `name`. ValueError for an unknown marker."""
        spec = self._catalog.specs.get(name)
        if spec is None:
            raise ValueError(f"no fake generator for {name!r} (declare [fake.{name}] in a pack)")
        if _depth > 8:
            raise ValueError(f"template markers nest too deep at {name!r}")
        if spec.template is not None:
            return MARKER.sub(lambda m: self.make(m.group(1), _depth + 1), spec.template)
        if spec.jwt is not None:
            return self._jwt(spec)
        if spec.alphabet is not None:
            return spec.prefix + self._chars(spec.alphabet, spec.length, spec.mixed) + spec.suffix
        rule = self._catalog.rules[spec.rule or ""]
        return spec.prefix + self._from_rule(rule, spec.mixed) + spec.suffix

    # -- generators ---------------------------------------------------------------------------
    def _chars(self, alphabet: str, length: int, mixed: bool) -> str:
        for _ in range(_TRIES):
            value = "".join(self._rng.choice(alphabet) for _ in range(length))
            if not mixed or _is_mixed(value):
                return value
        raise ValueError("no value with both letter cases and two digits from this alphabet")

    def _jwt(self, spec: FakeSpec) -> str:
        def b64(obj: Mapping[str, Any]) -> str:
            raw = json.dumps(obj, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        assert spec.jwt is not None
        header = {"alg": "HS256", "typ": "JWT", **spec.jwt.get("header", {})}
        claims = {**spec.jwt.get("claims", {}), "jti": self.uuid()}
        return f"{b64(header)}.{b64(claims)}.{self._chars(BASE64URL, spec.signature_length, True)}"

    def _from_rule(self, rule: Rule, mixed: bool) -> str:
        from keyguard.filter.shapes import is_placeholder, is_plausible_token

        assert rule.regex is not None
        tree = _secret_group(rule.regex)
        for _ in range(_TRIES):
            value = _Regen(self._rng).emit(tree)
            match = rule.regex.search(f" {value} ")
            if (
                match is not None
                and match.group("secret") == value
                and (not mixed or _is_mixed(value))
                and (rule.type != "token" or (
                    is_plausible_token(value, min_entropy=rule.min_entropy, mixed_case=rule.mixed_case)
                    and not is_placeholder(value)
                ))
            ):
                return value
        raise ValueError(f"rule {rule.id}'s regex gives no value that passes the rule's own checks")


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


def _is_mixed(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and sum(c.isdigit() for c in value) >= 2
        and len(set(value)) >= min(len(value) // 2, 20)
    )


# -- regex -> random string (the stdlib's own regex parser, like gitleaks' regen) -------------
def _secret_group(pattern: re.Pattern[str]) -> Any:
    from keyguard.rulepack.sre import parser as _parser

    tree = _parser.parse(pattern.pattern, pattern.flags)
    index = pattern.groupindex["secret"]
    found = _find_group(tree, index)
    if found is None:  # pragma: no cover - rulepack guarantees the group
        raise ValueError("no 'secret' group")
    return found


def _find_group(items: Any, index: int) -> Any:
    from keyguard.rulepack.sre import constants as c

    for op, av in items:
        if op is c.SUBPATTERN:
            if av[0] == index:
                return av[3]
            found = _find_group(av[3], index)
        elif op is c.BRANCH:
            found = next((f for f in (_find_group(b, index) for b in av[1]) if f is not None), None)
        elif op in REPEATS:
            found = _find_group(av[2], index)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            found = _find_group(av[1], index)
        else:
            found = None
        if found is not None:
            return found
    return None


class _Regen:
    """Emits one random string matching a parsed regex (no backreferences, lookarounds
    skipped; an open-ended repeat adds up to 8 beyond its minimum)."""

    _PRINTABLE = string.ascii_letters + string.digits + "-_."

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def emit(self, items: Any) -> str:
        from keyguard.rulepack.sre import constants as c

        out: list[str] = []
        for op, av in items:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.NOT_LITERAL:
                out.append(self.rng.choice([ch for ch in self._PRINTABLE if ord(ch) != av]))
            elif op is c.ANY:
                out.append(self.rng.choice(self._PRINTABLE))
            elif op is c.IN:
                out.append(self.rng.choice(self._charset(av)))
            elif op is c.SUBPATTERN:
                out.append(self.emit(av[3]))
            elif op is c.BRANCH:
                out.append(self.emit(self.rng.choice(av[1])))
            elif op in REPEATS:
                low, high, body = av
                high = low + 8 if high is c.MAXREPEAT else high
                out.extend(self.emit(body) for _ in range(self.rng.randint(low, high)))
            elif op is ATOMIC_GROUP:
                out.append(self.emit(av))
            elif op in (c.ASSERT, c.ASSERT_NOT, c.AT):
                continue
            else:
                raise ValueError(f"regex construct {op} is not supported for generated fakes")
        return "".join(out)

    def _charset(self, items: Any) -> str:
        from keyguard.rulepack.sre import constants as c

        chars: set[str] = set()
        negate = False
        categories = {
            c.CATEGORY_DIGIT: string.digits,
            c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
            c.CATEGORY_SPACE: " ",
        }
        for op, av in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                chars.add(chr(av))
            elif op is c.RANGE:
                chars.update(chr(x) for x in range(av[0], av[1] + 1))
            elif op is c.CATEGORY and av in categories:
                chars.update(categories[av])
            else:
                raise ValueError(f"character class item {op} {av} is not supported for generated fakes")
        if negate:
            chars = set(self._PRINTABLE) - chars
        if not chars:
            raise ValueError("empty character class")
        return "".join(sorted(chars))
