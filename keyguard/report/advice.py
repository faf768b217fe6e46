"""What each rule type means and what to tell the user about it: the one place for both.

Four rule types (keyguard.rulepack.load): `token` (a format-exact secret), `literal` (a credential
literal of unexpected shape at a known credential site), `identifier` (not a secret, e.g. a
CRN) and `persist` (a call that writes a credential to disk; its "value" is code). Every
module asks `behaviour(rule)` what a type does (is it a secret, may `--fix` rewrite it, how
precise is it) and calls the functions here for the words: the finding message, the
one-line fix of `keyguard rules`, the SARIF help with rotation steps, and the manual
instruction `--fix` prints when it leaves a finding alone.

The words come from the packs: the provider's `revoke`, `keys_url`, `last_used` and
`rotation`; a rule's `action`, `revoke`, `rotation` and `fixable`; a call site's `saves_to`
and `env_var` (docs/rule-packs.md "Advice"). Nothing here names a provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # keyguard.rulepack.load asks this module what a type is: no import cycle
    from keyguard.rulepack.load import Provider, Rule


class Behaviour(NamedTuple):
    """The engine's facts about one rule type.

    secret: the value is a credential (revoke, rotate, redact, verify).
    regex: the type is found by its regex in any text (token, identifier).
    value_is_code: the finding's value is source code, not a string from the file (a call).
    rewrites: `--fix` may rewrite a finding of this type into an environment read (the rule's
        `fixable` may still say no).
    plausibility: a match must pass the key-shape checks (entropy, mixed case, placeholders).
    precision: GitHub code scanning's `precision` of the type (before context).
    not_secret: why a value of a non-secret type is not verified ("" for secrets).
    """

    name: str
    secret: bool
    regex: bool
    value_is_code: bool
    rewrites: bool
    plausibility: bool
    precision: str
    not_secret: str = ""

    @property
    def name_suffix(self) -> str:
        """Appended to a rule's kind for its SARIF name (two rules may share a kind)."""
        return "" if self.name == "token" else self.name.capitalize()


TYPES: dict[str, Behaviour] = {
    "token": Behaviour("token", True, True, False, True, True, "high"),
    "literal": Behaviour("literal", True, False, False, True, False, "medium"),
    "identifier": Behaviour("identifier", False, True, False, False, False, "high",
                            "identifier, not a secret"),
    "persist": Behaviour("persist", False, False, True, False, False, "very-high",
                         "no check for this kind"),
}


def behaviour(rule: Rule) -> Behaviour:
    """The behaviour of `rule`'s type (KeyError cannot happen: the loader checks types)."""
    return TYPES[rule.type]


def is_fixable(rule: Rule) -> bool:
    """Whether `--fix` may rewrite a finding of `rule` into an environment-variable read."""
    return behaviour(rule).rewrites and rule.fixable


def precision(rule: Rule) -> str:
    """GitHub `precision`: how often results of this rule are true positives."""
    kind = behaviour(rule)
    if kind.precision == "high" and rule.requires_context:
        return "medium"  # shape alone is not enough; context decides
    return kind.precision


class Facts(NamedTuple):
    """What the advice texts may name: the provider, the variable to read, the file written."""

    provider: Provider
    env_var: str | None
    saves_to: str | None = None

    @property
    def var(self) -> str:
        return self.env_var or "an environment variable"

    def fill(self, text: str) -> str:
        """A pack text with its `{env_var}`, `{keys_url}`, `{provider}` fields filled."""
        return text.format_map({
            "env_var": self.var,
            "keys_url": self.provider.keys_url or self.provider.revoke,
            "provider": self.provider.name,
        })


def revoke_clause(rule: Rule, facts: Facts) -> str:
    """The closing clause of a secret's message: 'revoke this key at <where>' or the rule's."""
    if rule.revoke is not None:
        return facts.fill(rule.revoke)
    return f"revoke this key at {facts.provider.revoke}"


def action(rule: Rule, facts: Facts, location_action: str, mentions_env: bool) -> str:
    """What to do about a secret where it sits. `location_action` is the place's own advice
    (clear the output, read it from the environment, ...); `mentions_env` says it moves the
    key into a variable, which a rule that must not be stored (`fixable = false`) replaces
    with its `action`."""
    if mentions_env and not rule.fixable:
        return facts.fill(rule.action) if rule.action else "delete it from the code"
    return location_action


def finding_message(rule: Rule, facts: Facts, where: str, location_action: str,
                    mentions_env: bool) -> str:
    """One or two sentences: '<title> <where>: <what to do>; <revoke clause>.'"""
    head = f"{rule.title} {where}"
    if rule.type == "identifier":
        return (
            f"{head}: an identifier, not a secret, but it discloses the account and instance ids;"
            f" consider reading it from the environment variable {facts.var}."
        )
    if rule.type == "persist":
        written = facts.saves_to or "a file in the home directory"
        return (
            f"{where} writes the token in plain text to {written}: pass"
            f' token=os.environ["{facts.var}"] when you create the client instead (or rely on'
            f" {facts.var}), and keep {written} out of backups and repositories."
        )
    return f"{head}: {action(rule, facts, location_action, mentions_env)}; {revoke_clause(rule, facts)}."


def fix_line(rule: Rule, facts: Facts) -> str:
    """The one-line fix of `keyguard rules` (no trailing period)."""
    if rule.type == "identifier":
        return f"not a secret; optionally read it from {facts.var}"
    if rule.type == "persist":
        return f'pass the token at run time (os.environ["{facts.var}"]) instead of saving it'
    if not rule.fixable:
        return f"{facts.fill(rule.action) if rule.action else 'delete it from the code'}; {revoke_clause(rule, facts)}"
    return f'read it from os.environ["{facts.var}"]; {revoke_clause(rule, facts)}'


def rotation_steps(rule: Rule, facts: Facts) -> tuple[str, ...]:
    """Rotation steps for a leaked secret of `rule`: the rule's, the provider's, or these."""
    if rule.rotation is not None:
        return tuple(facts.fill(step) for step in rule.rotation)
    if not behaviour(rule).secret:
        return ()
    provider = facts.provider
    if provider.rotation is not None:
        return tuple(facts.fill(step) for step in provider.rotation)
    page = provider.keys_url or provider.revoke
    last_used = (
        f"Check {facts.fill(provider.last_used)} for use you do not recognise."
        if provider.last_used
        else f"Check whether {provider.name} shows when the old key was last used, and look for use you do not recognise."
    )
    return (
        f"Create a new key at {page}.",
        f"Put the new key everywhere the old one was read from: CI secrets, .env files and {facts.var} in shells and notebooks.",
        f"Delete the old key at {page}.",
        last_used,
        "If the repository is public (or ever was), purge the key from the git history (git filter-repo) too: "
        "deleting the key is what protects you, purging removes the copies.",
    )


def help_texts(rule: Rule, facts: Facts) -> tuple[str, str]:
    """(plain text, markdown) help of a rule (SARIF `help`, `keyguard rules ID`)."""
    var = facts.var
    if rule.type == "identifier":
        text = (
            f"This is an identifier, not a secret: it cannot authenticate. Keep it out of "
            f"shared code anyway by reading it from {var}."
        )
        md = (
            f"This is an identifier, not a secret: it cannot authenticate. Keep it out of "
            f"shared code anyway: read it with `os.environ[\"{var}\"]`."
        )
        return text, md
    if rule.type == "persist":
        text = (
            "Do not save the token from shared code: the call writes it in plain text to the "
            f"home directory (each call's file is named in the finding). Let the SDK read the "
            f"token from {var} instead."
        )
        md = (
            "Do not save the token from shared code: the call writes it in plain text to the "
            "home directory (each call's file is named in the finding). Let the SDK read the "
            f"token from `{var}` instead."
        )
        return text, md
    if rule.fixable:
        first = (
            f"Read the credential from the environment variable {var} (os.environ[\"{var}\"]) "
            "instead of the literal; `keyguard scan --fix` rewrites Python files and notebooks."
        )
        first_md = (
            f"Read the credential from the environment instead of the literal: "
            f"`os.environ[\"{var}\"]` (`keyguard scan --fix` rewrites Python files and notebooks)."
        )
    else:
        first = first_md = (facts.fill(rule.action) if rule.action else "Delete it from the code") + "."
        first = first[:1].upper() + first[1:]
        first_md = first
    steps = rotation_steps(rule, facts)
    closing = revoke_clause(rule, facts)
    closing = closing[:1].upper() + closing[1:] + "."
    text = f"Fix: {first} {closing}"
    md = f"**Fix**\n\n{first_md} {closing}\n"
    if steps:
        text += " Rotation: " + " ".join(f"({i}) {s}" for i, s in enumerate(steps, 1))
        md += "\n**Rotation**\n\n" + "".join(f"{i}. {s}\n" for i, s in enumerate(steps, 1))
    return text, md


def manual_instruction(rule: Rule, facts: Facts) -> str:
    """What to do by hand when `--fix` leaves a finding of `rule` (not a secret, or a rule
    whose value must not move to the environment)."""
    if rule.type == "persist":
        written = facts.saves_to or "a file in the home directory"
        return (
            f"not a literal: the call writes the token to {written} in plain text; drop the "
            "call and pass the token from the environment instead"
        )
    if rule.type == "identifier":
        return (
            "not a credential (identifier); nothing to revoke. To keep it private, read it "
            f"from {facts.var}"
        )
    return f"{action(rule, facts, '', True)}; {revoke_clause(rule, facts)}"
