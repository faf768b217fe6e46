"""Load and validate rule packs (`rules/*.toml`) into typed, immutable rules.

A rule pack is data: one provider, its rules, SDK call sites, credential-name assignments and
examples. The schema is documented in docs/rule-packs.md. Every error is a
`RulePackError` naming the file and the offending key; nothing here raises anything else.

Rule types:
  token       a format-exact regex with a named group `secret` (IonQ key, IBM key, JWT, ...)
  identifier  like token, but an identifier rather than a secret (CRN); never fixed or verified
  literal     a credential literal of unexpected shape at a known credential site (no regex)
  persist     a call that writes a credential to disk (save_account with a non-literal token)
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, NamedTuple

# rtoml (Rust) parses the 20 built-in packs in ~2 ms where tomllib took ~24 ms: a tenth of a
# pre-commit run. Its error messages name line and column and never quote the file.
import rtoml

from keyguard.model import Severity
from keyguard.report.advice import TYPES

RULE_ID = re.compile(r"^KG[0-9]{3}$")
RULE_TYPES = tuple(TYPES)


class RulePackError(ValueError):
    """A rule pack file is unreadable or does not follow the schema."""


class VerifySpec(NamedTuple):
    """How to ask a provider whether a secret is live (executed by keyguard.verify.http).

    `raw` keeps the TOML table as loaded (method, url, headers, form, json_body, responses,
    legacy); the verifier validates the parts it executes.
    """

    method: str
    url: str
    raw: Mapping[str, Any]


class Rule(NamedTuple):
    """One rule of a pack. `regex` is None for literal and persist rules."""

    id: str
    type: str
    provider: str
    kind: str
    title: str
    severity: Severity
    env_var: str | None
    description: str
    source: str
    regex: re.Pattern[str] | None = None
    keywords: tuple[str, ...] = ()
    min_entropy: float = 0.0
    mixed_case: bool = False
    requires_context: bool = False
    # Words that, on the match's line, mark a look-alike (e.g. "sha512" next to 128 hex).
    deny_context: tuple[str, ...] = ()
    verify: VerifySpec | None = None
    # Advice (see docs/rule-packs.md): whether --fix may rewrite it into an environment read,
    # what to do instead of that rewrite, what to say instead of "revoke it at <provider>",
    # and the rotation steps of the rule's help (None: the provider's, else the default).
    fixable: bool = True
    action: str | None = None
    revoke: str | None = None
    rotation: tuple[str, ...] | None = None

    @property
    def is_secret(self) -> bool:
        """Whether the value is a credential (keyguard.report.advice says per type)."""
        return TYPES[self.type].secret


class CallSite(NamedTuple):
    """An SDK callable and the argument that carries a credential.

    `callees` are fully qualified names as libcst/ast alias resolution produces them.
    `position` is the 0-based positional index (None: keyword-only). `rules` are the token
    rules a literal there is classified with; a non-matching literal gets the provider's
    literal rule. `persist_rule` (save_account) fires when the argument is not a literal.
    """

    provider: str
    callees: tuple[str, ...]
    argument: str
    position: int | None
    rules: tuple[str, ...]
    when_first_arg_startswith: str | None = None
    persist_rule: str | None = None
    # The file a persisting call writes (`~/.qiskit/qiskitrc`), shown in its notice.
    saves_to: str | None = None
    # The environment variable this call's SDK reads, when it differs from the rule's.
    env_var: str | None = None


class AssignmentRule(NamedTuple):
    """A target name that marks its literal value as a credential (`ionq_key = "..."`).

    With `literal` True, a literal of unexpected shape is reported too (Qconfig `APItoken`).
    """

    provider: str
    name_regex: re.Pattern[str]
    rules: tuple[str, ...]
    literal: bool = False
    # Case-sensitive words whose presence makes a literal-shape check worth a parse.
    keywords: tuple[str, ...] = ()


class Example(NamedTuple):
    """An embedded example: `code` with {{fake}} markers, expected `RULE@line` hits, optional fix."""

    pack: str
    name: str
    file: str
    code: str
    expect: tuple[tuple[str, int], ...]
    fixed: str | None = None


class CredentialFile(NamedTuple):
    """A file an SDK keeps credentials in (`qiskitrc`, `dwave.conf`, `.qcs/secrets.toml`).

    `name` is matched against the end of a scanned path, whole components only
    (`.quantuminspire/config.json` matches `home/.quantuminspire/config.json`). A file of that
    name passes the prefilter and has the provider's context; the value of a key in `keys`
    is a credential (the token rules in `rules` classify it, else the provider's literal
    rule). `format` says how a `key = value` line is written: ini, toml, json, env or text.
    `path` is where the SDK writes it (for messages).
    """

    provider: str
    name: str
    format: str
    path: str
    keys: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        """Whether `path` (any separators) ends with this file name, whole components."""
        normal = "/" + path.replace("\\", "/").lstrip("/")
        return normal.endswith("/" + self.name)


class Provider(NamedTuple):
    id: str
    name: str
    keywords: tuple[str, ...]
    context: tuple[str, ...]
    env_vars: tuple[str, ...]
    literal_rule: str | None
    revoke: str
    placeholders: frozenset[str]
    # Phrases starting with a context keyword that are not provider context (a font named
    # after the company: "ibm plex"), lower case.
    not_context: tuple[str, ...] = ()
    # The provider's page for API keys (create, delete, last use), linked in every help text.
    keys_url: str | None = None
    # Where the provider shows when a key was last used (a rotation step), if it does.
    last_used: str | None = None
    # Rotation steps replacing the default ones (docs/rule-packs.md "Advice").
    rotation: tuple[str, ...] | None = None
    # Call names (`save_account`, `IBMQ.save_account`) that identify this provider's SDK even
    # when their import is not visible (a star import, an instance, another module).
    distinctive_calls: tuple[str, ...] = ()
    credential_files: tuple[CredentialFile, ...] = ()


class RulePack(NamedTuple):
    path: str
    provider: Provider
    rules: tuple[Rule, ...]
    call_sites: tuple[CallSite, ...]
    assignments: tuple[AssignmentRule, ...]
    examples: tuple[Example, ...]
    # `[fake.NAME]` marker declarations (keyguard.rulepack.fake_specs.FakeSpec): fake keys for examples/tests.
    fakes: tuple[Any, ...] = ()


class RuleSet(NamedTuple):
    """All loaded packs, with the indexes the detectors need (`build_ruleset` makes them)."""

    packs: tuple[RulePack, ...]
    rules: Mapping[str, Rule]
    providers: Mapping[str, Provider]

    @property
    def call_sites(self) -> tuple[CallSite, ...]:
        return tuple(cs for pack in self.packs for cs in pack.call_sites)

    @property
    def assignments(self) -> tuple[AssignmentRule, ...]:
        return tuple(a for pack in self.packs for a in pack.assignments)

    @property
    def examples(self) -> tuple[Example, ...]:
        return tuple(e for pack in self.packs for e in pack.examples)

    def provider_of(self, rule_id: str) -> Provider:
        return self.providers[self.rules[rule_id].provider]

    def env_var_provider(self) -> dict[str, Provider]:
        """Environment variable name -> the provider whose credential it holds."""
        return {name: p for p in self.providers.values() for name in p.env_vars}

    def select(self, selected: Iterable[str] | None, ignored: Iterable[str] | None) -> frozenset[str]:
        """Rule ids enabled by `--select`/`--ignore` (prefixes allowed: `KG1`, `KG20`)."""
        ids = set(self.rules)
        if selected:
            ids = {r for r in ids if any(r.startswith(p) for p in selected)}
        if ignored:
            ids = {r for r in ids if not any(r.startswith(p) for p in ignored)}
        return frozenset(ids)


def _require(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise RulePackError(f"{where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise RulePackError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulePackError(f"{where}: {key!r} must be a list of strings")
    return tuple(value)


def _words(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of match words, lowered: ASCII only, since text is matched ignoring ASCII case
    (keyguard.read.documents.ascii_lower keeps every offset of the text)."""
    words = _strings(table, key, where)
    for word in words:
        if not word.isascii():
            raise RulePackError(f"{where}: {key!r} words must be ASCII (matched ignoring case), got {word!r}")
    return tuple(w.lower() for w in words)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RulePackError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")


# Fields an advice text (`action`, `revoke`, `rotation`, `last_used`) may name: `{env_var}`
# (the variable the fix reads), `{keys_url}` (the provider's API-keys page), `{provider}`.
ADVICE_FIELDS = frozenset({"env_var", "keys_url", "provider"})
CREDENTIAL_FILE_FORMATS = ("ini", "toml", "json", "env", "text")


def _advice(table: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional advice text; `{field}`s must be among ADVICE_FIELDS (`{{` for a brace)."""
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, str):
        raise RulePackError(f"{where}: {key!r} must be a string")
    _check_fields(value, key, where)
    return value


def _check_fields(text: str, key: str, where: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise RulePackError(f"{where}: {key!r}: {exc} (write {{{{ for a literal brace)") from None
    unknown = sorted(fields - ADVICE_FIELDS)
    if unknown:
        raise RulePackError(
            f"{where}: {key!r}: unknown field(s) {', '.join('{' + u + '}' for u in unknown)};"
            f" known: {', '.join('{' + f + '}' for f in sorted(ADVICE_FIELDS))}"
        )


def _rotation(table: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    if "rotation" not in table:
        return None
    steps = _strings(table, "rotation", where)
    for step in steps:
        _check_fields(step, "rotation", where)
    return steps


def _bool(table: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise RulePackError(f"{where}: {key!r} must be true or false")
    return value


# True while the built-in packs load: their regexes compile on first use (keyguard.rulepack.lazyregex).
_lazy_regexes = False
# Paths of the built-in packs loaded so far: tested with the project, not re-checked per run.
_trusted_paths: set[str] = set()


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    if _lazy_regexes:
        from keyguard.rulepack.lazyregex import LazyPattern

        return LazyPattern(pattern)  # type: ignore[return-value]
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise RulePackError(f"{where}: invalid regex: {exc}") from None
    return compiled


def _parse_rule(table: Mapping[str, Any], provider: str, where: str) -> Rule:
    if isinstance(table.get("id"), str):
        where = f"{where} {table['id']}"  # errors name the rule as well as its position
    _check_keys(
        table,
        {"id", "type", "kind", "title", "severity", "env_var", "regex", "keywords", "min_entropy",
         "mixed_case", "requires_context", "deny_context", "source", "description", "verify",
         "fixable", "action", "revoke", "rotation"},
        where,
    )
    rule_id = _require(table, "id", str, where)
    if not RULE_ID.match(rule_id):
        raise RulePackError(f"{where}: rule id must look like KG123")
    rule_type = _require(table, "type", str, where)
    if rule_type not in RULE_TYPES:
        raise RulePackError(f"{where}: type must be one of {', '.join(RULE_TYPES)}")
    try:
        severity = Severity.parse(_require(table, "severity", str, where))
    except ValueError as exc:
        raise RulePackError(f"{where}: {exc}") from None
    regex = None
    if TYPES[rule_type].regex:
        regex = _compile(_require(table, "regex", str, where), where)
        if not _lazy_regexes and "secret" not in regex.groupindex:
            raise RulePackError(f"{where}: regex needs a named group (?P<secret>...)")
    elif "regex" in table:
        raise RulePackError(f"{where}: a {rule_type} rule takes no regex")
    verify = None
    if "verify" in table:
        vw = f"{where} verify"
        vt = _require(table, "verify", dict, where)
        _check_keys(
            vt, {"method", "url", "headers", "form", "json_body", "legacy", "responses"}, vw
        )
        verify = VerifySpec(
            method=_require(vt, "method", str, vw).upper(), url=_require(vt, "url", str, vw), raw=vt
        )
        # The secret travels only in headers / form / JSON body: never in the URL, which
        # ends up in logs and in httpx exception texts.
        if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s{}@?#]*)?", verify.url):
            raise RulePackError(f"{vw}: url must be https://host[:port]/path (no secret/query/@)")
        if verify.method not in ("GET", "POST") or not TYPES[rule_type].secret:
            raise RulePackError(f"{vw}: method must be GET or POST, on a token or literal rule")
        carriers = [vt.get(k, {}) for k in ("headers", "form", "json_body")]
        if not all(isinstance(c, dict) and all(isinstance(v, str) for v in c.values())
                   for c in carriers) or ("form" in vt and "json_body" in vt):
            raise RulePackError(f"{vw}: headers, form, json_body: tables of strings (no form+json)")
        if not any("{secret}" in v for c in carriers for v in c.values()):
            raise RulePackError(f"{vw}: put '{{secret}}' in a header, form or json_body value")
        if not isinstance(vt.get("legacy", False), bool):
            raise RulePackError(f"{vw}: legacy must be true or false")
        responses = _require(vt, "responses", list, vw)
        for i, r in enumerate(responses):
            rw = f"{vw} responses #{i + 1}"
            if not isinstance(r, dict):
                raise RulePackError(f"{rw}: must be a table")
            _check_keys(r, {"status", "state", "json_has", "json_equals", "json_prefix",
                            "detail_fields"}, rw)
            status = _require(r, "status", list, rw)
            # 3xx (never followed) and 429 (retried, then unknown) are the verifier's business.
            if not status or not all(isinstance(c, int) and 200 <= c <= 599 and c != 429
                                     and not 300 <= c < 400 for c in status):
                raise RulePackError(f"{rw}: status must list HTTP codes 200-599 except 3xx, 429")
            if r.get("state") not in ("verified", "unverified", "restricted", "retired", "unknown"):
                raise RulePackError(f"{rw}: state must be verified, unverified, restricted, "
                                    "retired or unknown")
            if not isinstance(r.get("json_has", ""), str) or not all(
                isinstance(r.get(k, {}), dict) for k in ("json_equals", "json_prefix")
            ) or not all(isinstance(v, str) for v in r.get("json_prefix", {}).values()):
                raise RulePackError(f"{rw}: json_has is a string, json_equals / json_prefix tables")
            _strings(r, "detail_fields", rw)
    return Rule(
        id=rule_id,
        type=rule_type,
        provider=provider,
        kind=_require(table, "kind", str, where),
        title=_require(table, "title", str, where),
        severity=severity,
        env_var=table.get("env_var"),
        description=_require(table, "description", str, where),
        source=_require(table, "source", str, where),
        regex=regex,
        keywords=_words(table, "keywords", where),
        min_entropy=float(table.get("min_entropy", 0.0)),
        mixed_case=bool(table.get("mixed_case", False)),
        requires_context=bool(table.get("requires_context", False)),
        deny_context=_words(table, "deny_context", where),
        verify=verify,
        fixable=_bool(table, "fixable", TYPES[rule_type].rewrites, where),
        action=_advice(table, "action", where),
        revoke=_advice(table, "revoke", where),
        rotation=_rotation(table, where),
    )


def _parse_call_site(table: Mapping[str, Any], provider: str, where: str) -> CallSite:
    _check_keys(
        table,
        {"callee", "argument", "position", "rules", "when_first_arg_startswith", "persist_rule",
         "saves_to", "env_var"},
        where,
    )
    position = table.get("position")
    if position is not None and (not isinstance(position, int) or position < 0):
        raise RulePackError(f"{where}: position must be a non-negative integer")
    callees = _strings(table, "callee", where)
    if not callees:
        raise RulePackError(f"{where}: callee must name at least one qualified name")
    persist_rule = table.get("persist_rule")
    saves_to = table.get("saves_to")
    if persist_rule is not None and not isinstance(saves_to, str):
        raise RulePackError(f"{where}: a call site with persist_rule needs saves_to (the file it writes)")
    env_var = table.get("env_var")
    for key in ("persist_rule", "saves_to", "env_var", "when_first_arg_startswith"):
        if key in table and not isinstance(table[key], str):
            raise RulePackError(f"{where}: {key!r} must be a string")
    return CallSite(
        provider=provider,
        callees=callees,
        argument=_require(table, "argument", str, where),
        position=position,
        rules=_strings(table, "rules", where),
        when_first_arg_startswith=table.get("when_first_arg_startswith"),
        persist_rule=persist_rule,
        saves_to=saves_to,
        env_var=env_var,
    )


def _parse_credential_file(table: Mapping[str, Any], provider: str, where: str) -> CredentialFile:
    _check_keys(table, {"name", "format", "path", "keys", "rules"}, where)
    name = _require(table, "name", str, where).replace("\\", "/").strip("/")
    if not name or any(part in ("", ".", "..") or "*" in part for part in name.split("/")):
        raise RulePackError(f"{where}: name must be a file name or a relative path tail, no wildcards")
    fmt = str(table.get("format", "text"))
    if fmt not in CREDENTIAL_FILE_FORMATS:
        raise RulePackError(f"{where}: format must be one of {', '.join(CREDENTIAL_FILE_FORMATS)}")
    path = table.get("path", name)
    if not isinstance(path, str):
        raise RulePackError(f"{where}: 'path' must be a string")
    return CredentialFile(
        provider=provider, name=name, format=fmt, path=path,
        keys=_strings(table, "keys", where), rules=_strings(table, "rules", where),
    )


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    """An array of tables (`[[key]]`); anything else is an error naming the key."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RulePackError(f"{where}: {key!r} must be an array of tables ([[{key}]])")
    return value


def _parse_expect(values: Any, where: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(values, list):
        raise RulePackError(f"{where}: expect must be a list like ['KG101@2']")
    out = []
    for value in values:
        match = re.fullmatch(r"(KG[0-9]{3})@([0-9]+)", str(value))
        if not match:
            raise RulePackError(f"{where}: expect entry {value!r} must look like 'KG101@2'")
        out.append((match.group(1), int(match.group(2))))
    return tuple(out)


def parse_pack(text: str, path: str) -> RulePack:
    """Parse one pack's TOML text. Raises RulePackError with `path` and the key at fault."""
    try:
        data = rtoml.loads(text)
    except rtoml.TomlParsingError as exc:
        raise RulePackError(f"{path}: invalid TOML: {exc}") from None
    _check_keys(
        data,
        {"schema", "provider", "rule", "call_site", "assignment", "example", "credential_file", "fake"},
        path,
    )
    if data.get("schema") != 1:
        raise RulePackError(f"{path}: 'schema = 1' expected")
    pt = _require(data, "provider", dict, path)
    where = f"{path} [provider]"
    _check_keys(
        pt,
        {"id", "name", "keywords", "context", "env_vars", "literal_rule", "revoke", "placeholders",
         "keys_url", "last_used", "rotation", "distinctive_calls", "not_context"},
        where,
    )
    keys_url = pt.get("keys_url")
    if keys_url is not None and not (isinstance(keys_url, str) and keys_url.startswith("https://")):
        raise RulePackError(f"{where}: keys_url must be an https:// URL")
    provider_id = _require(pt, "id", str, where)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", provider_id):
        raise RulePackError(f"{where}: id must be lower-case letters, digits and '-'")
    credential_files = tuple(
        _parse_credential_file(t, provider_id, f"{path} [[credential_file]] #{i + 1}")
        for i, t in enumerate(_tables(data, "credential_file", path))
    )
    provider = Provider(
        id=provider_id,
        name=_require(pt, "name", str, where),
        keywords=_words(pt, "keywords", where),
        context=_words(pt, "context", where),
        env_vars=_strings(pt, "env_vars", where),
        literal_rule=pt.get("literal_rule"),
        revoke=str(pt.get("revoke", "the provider's console")),
        placeholders=frozenset(p.lower() for p in _strings(pt, "placeholders", where)),
        not_context=_words(pt, "not_context", where),
        keys_url=keys_url,
        last_used=_advice(pt, "last_used", where),
        rotation=_rotation(pt, where),
        distinctive_calls=_strings(pt, "distinctive_calls", where),
        credential_files=credential_files,
    )
    rules = tuple(
        _parse_rule(t, provider.id, f"{path} [[rule]] #{i + 1}")
        for i, t in enumerate(_tables(data, "rule", path))
    )
    call_sites = tuple(
        _parse_call_site(t, provider.id, f"{path} [[call_site]] #{i + 1}")
        for i, t in enumerate(_tables(data, "call_site", path))
    )
    assignments = []
    for i, t in enumerate(_tables(data, "assignment", path)):
        where = f"{path} [[assignment]] #{i + 1}"
        _check_keys(t, {"name_regex", "rules", "literal", "keywords"}, where)
        assignments.append(
            AssignmentRule(
                provider=provider.id,
                name_regex=_compile(_require(t, "name_regex", str, where), where),
                rules=_strings(t, "rules", where),
                literal=bool(t.get("literal", False)),
                keywords=_strings(t, "keywords", where),
            )
        )
    examples = []
    for i, t in enumerate(_tables(data, "example", path)):
        where = f"{path} [[example]] #{i + 1}"
        _check_keys(t, {"name", "file", "code", "expect", "fixed"}, where)
        fixed = t.get("fixed")
        examples.append(
            Example(
                pack=provider.id,
                name=_require(t, "name", str, where),
                file=str(t.get("file", "example.py")),
                code=_require(t, "code", str, where),
                expect=_parse_expect(t.get("expect", []), where),
                fixed=fixed if isinstance(fixed, str) else None,
            )
        )
    from keyguard.rulepack.fake_specs import parse_fake_specs

    fakes = parse_fake_specs(data.get("fake", {}), path)
    return RulePack(path, provider, rules, call_sites, tuple(assignments), tuple(examples), fakes)


def build_ruleset(packs: Iterable[RulePack]) -> RuleSet:
    """Index packs and check cross references (unique ids, rules named by call sites exist)."""
    packs = tuple(packs)
    rules: dict[str, Rule] = {}
    providers: dict[str, Provider] = {}
    for pack in packs:
        if pack.provider.id in providers:
            raise RulePackError(f"{pack.path}: provider id {pack.provider.id!r} defined twice")
        providers[pack.provider.id] = pack.provider
        for rule in pack.rules:
            if rule.id in rules:
                raise RulePackError(f"{pack.path}: rule id {rule.id} defined twice")
            rules[rule.id] = rule
    for pack in packs:
        refs = [pack.provider.literal_rule] if pack.provider.literal_rule else []
        for cs in pack.call_sites:
            refs += [*cs.rules, *([cs.persist_rule] if cs.persist_rule else [])]
        for a in pack.assignments:
            refs += list(a.rules)
        for ex in pack.examples:
            refs += [rid for rid, _ in ex.expect]
        for ref in refs:
            if ref not in rules:
                raise RulePackError(f"{pack.path}: refers to unknown rule {ref}")
    ruleset = RuleSet(packs=packs, rules=rules, providers=providers)
    _check_markers(ruleset)
    return ruleset


def _check_markers(ruleset: RuleSet) -> None:
    """Every `{{marker}}` in an example (and in a fake template) must be declared by a pack's
    `[fake.NAME]` table; the declarations must generate values (keyguard.rulepack.fakes.check_fakes).
    GitHub Actions' `${{ secrets.X }}` is not a marker (marker names are `[a-z][a-z0-9_]*`)."""
    # The built-in packs' examples run as tests; checking them again on every run would import
    # the generator (~10 ms of a pre-commit run).
    untrusted = [pack.path for pack in ruleset.packs if pack.path not in _trusted_paths]
    if not untrusted:
        return
    from keyguard.rulepack.fakes import check_fakes

    check_fakes(ruleset.packs, ruleset.rules, generate=untrusted)


def builtin_pack_paths() -> list[Path]:
    """The TOML files shipped as the `keyguard.rules` package (installed or editable).

    A source checkout run without installing (`python -m keyguard` from the repository root,
    which puts ./keyguard first on sys.path) has no `keyguard.rules` package: the packs are
    then read from the checkout's top-level rules/ folder.
    """
    try:
        spec = find_spec("keyguard.rules")
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        entries = list((Path(__file__).resolve().parents[2] / "rules").iterdir())
    elif spec.submodule_search_locations and all(
        os.path.isdir(d) for d in spec.submodule_search_locations
    ):
        # A folder on disk (installed or editable): listed without importlib.resources,
        # whose import (tempfile, zipfile) costs a pre-commit run ~10 ms.
        entries = [Path(d) / name for d in spec.submodule_search_locations for name in os.listdir(d)]
    else:  # pragma: no cover - a zipped install
        from importlib import resources

        entries = [Path(str(entry)) for entry in resources.files("keyguard.rules").iterdir()]
    return sorted(entry for entry in entries if entry.name.endswith(".toml"))


def load_pack_file(path: Path) -> RulePack:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc}") from None
    return parse_pack(text, str(path))


def load_ruleset(extra: Iterable[str] = ()) -> RuleSet:
    """Built-in packs plus `extra` pack files (from `extend-rules`). Cached per process.

    Raises RulePackError naming the file and key when a pack is invalid.
    """
    return _load_ruleset(tuple(extra))


@lru_cache(maxsize=8)
def _load_ruleset(extra: tuple[str, ...]) -> RuleSet:
    # One cache key per set of extra packs, however the caller spelled "none".
    global _lazy_regexes
    _lazy_regexes = True  # the built-in packs: tested, so compiled on first use
    try:
        builtin = [load_pack_file(p) for p in builtin_pack_paths()]
    finally:
        _lazy_regexes = False
    _trusted_paths.update(pack.path for pack in builtin)
    return build_ruleset([*builtin, *(load_pack_file(Path(p)) for p in extra)])
