"""Credential-file detector: the files SDKs keep keys in, named by the packs.

A pack's `[[credential_file]]` names a file (`qiskitrc`, `dwave.conf`,
`.quantuminspire/config.json`), its format and the keys whose value is the credential. In a
file of that name, such a value is a finding whatever its shape: a token rule of the entry
classifies it when its format matches, else the provider's literal rule does (unless it is a
placeholder or has no plausible key shape). One regex per format finds `key = value` lines:
the files are small, hand- or SDK-written, and a value on a line is what the fixer's manual
instruction and the message point at.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from keyguard.detect.tokens import Hit, LineIndex
from keyguard.filter.shapes import is_placeholder, is_plausible_literal, is_plausible_token
from keyguard.model import Confidence
from keyguard.read.documents import Segment
from keyguard.report.advice import behaviour
from keyguard.rulepack.load import CredentialFile, Rule, RuleSet

# `{keys}` is an alternation of the entry's key names; group `v` is the value.
_FORMATS = {
    "ini": r"^[ \t]*(?:{keys})[ \t]*[=:][ \t]*[\"']?(?P<v>[^\s\"';#]+)",
    "env": r"^[ \t]*(?:export[ \t]+)?(?:{keys})[ \t]*=[ \t]*[\"']?(?P<v>[^\s\"'#]+)",
    "toml": r"^[ \t]*[\"']?(?:{keys})[\"']?[ \t]*=[ \t]*[\"'](?P<v>[^\"'\n]+)[\"']",
    "json": r"\"(?:{keys})\"\s*:\s*\"(?P<v>[^\"\\\n]+)\"",
    "text": r"^[ \t]*(?P<v>[^\s#][^\s]*)[ \t]*$",
}


@lru_cache(maxsize=64)
def _pattern(fmt: str, keys: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(k) for k in keys) or "(?!)"
    return re.compile(_FORMATS[fmt].replace("{keys}", alternation), re.MULTILINE | re.IGNORECASE)


def matching_files(ruleset: RuleSet, path: str) -> list[CredentialFile]:
    """The credential files of all packs that `path` is (by name, whole components)."""
    return [cf for p in ruleset.providers.values() for cf in p.credential_files if cf.matches(path)]


def find_credential_values(
    segment: Segment, segment_index: int, files: Sequence[CredentialFile], ruleset: RuleSet,
    selected: frozenset[str],
) -> list[Hit]:
    """Hits for the credential values of `segment`, a credential file's text."""
    hits: list[Hit] = []
    index: LineIndex | None = None
    for cf in files:
        if not cf.keys and cf.format != "text":
            continue
        provider = ruleset.providers[cf.provider]
        env_names = frozenset(provider.env_vars)
        for match in _pattern(cf.format, tuple(cf.keys)).finditer(segment.text):
            value = match.group("v")
            found = _classify(value, cf, ruleset, selected, env_names)
            if found is None:
                continue
            rule, secret, offset = found
            index = index or LineIndex(segment.text)
            line, column = index.position(match.start("v") + offset)
            hits.append(Hit(
                segment=segment_index, line=line, column=column, end_line=line,
                end_column=column + len(secret), value=secret, rule=rule,
                where=f"in {cf.name}, the credential file its SDK keeps at {cf.path}",
                confidence=Confidence.HIGH,
            ))
    return hits


def _classify(
    value: str, cf: CredentialFile, ruleset: RuleSet, selected: frozenset[str],
    env_names: frozenset[str],
) -> tuple[Rule, str, int] | None:
    """(rule, secret, offset of the secret in the value), or None for a placeholder."""
    provider = ruleset.providers[cf.provider]
    for rule_id in cf.rules:
        rule = ruleset.rules[rule_id]
        if rule_id not in selected or rule.regex is None:
            continue
        match = rule.regex.search(value)
        if match is None:
            continue
        secret = match.group("secret")
        if behaviour(rule).plausibility and not is_plausible_token(
            secret, min_entropy=rule.min_entropy, mixed_case=rule.mixed_case
        ):
            continue
        if is_placeholder(secret, provider.placeholders, env_names):
            return None
        return rule, secret, match.start("secret")
    literal = provider.literal_rule
    if literal is None or literal not in selected:
        return None
    if is_placeholder(value, provider.placeholders, env_names) or not is_plausible_literal(value):
        return None
    return ruleset.rules[literal], value, 0
