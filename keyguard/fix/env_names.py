"""Choosing the environment variable each leaked secret is read from after the fix."""

from __future__ import annotations

from keyguard.fix.instructions import provider_of
from keyguard.model import Finding
from keyguard.rulepack import RuleSet


class EnvNamer:
    """Chooses the environment variable for each secret of one document.

    The finding's `env_var`, else its rule's, else the provider's first. Two different secrets
    that would share a name get NAME_2, NAME_3, ... so a rewrite never merges two keys.
    """

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        self._by_secret: dict[str, str] = {}
        self._owner: dict[str, str] = {}
        self._next: dict[str, int] = {}  # base -> next suffix to try (keeps naming linear)
        self.used: dict[str, str] = {}

    def base(self, f: Finding) -> str:
        if f.env_var:
            return f.env_var
        rule = self._rules.rules.get(f.rule_id)
        if rule is not None and rule.env_var:
            return rule.env_var
        provider = provider_of(f, self._rules)
        if provider is not None and provider.env_vars:
            return provider.env_vars[0]
        return "API_KEY"

    def claim(self, f: Finding, name: str) -> str:
        """Bind the finding's secret to `name` (an existing `os.environ[name] = ...`)."""
        value = f.secret.reveal()
        if value in self._by_secret:
            return self._by_secret[value]
        if self._owner.get(name, value) != value:
            return self.env_for(f)
        return self._bind(name, value)

    def suggest(self, f: Finding) -> str:
        """The name for instructions: the one already chosen for this secret, else the base."""
        return self._by_secret.get(f.secret.reveal(), self.base(f))

    def env_for(self, f: Finding) -> str:
        value = f.secret.reveal()
        if value in self._by_secret:
            return self._by_secret[value]
        base = self.base(f)
        if self._owner.get(base, value) == value:
            return self._bind(base, value)
        n = self._next.get(base, 2)
        while self._owner.get(f"{base}_{n}", value) != value:
            n += 1
        self._next[base] = n + 1
        return self._bind(f"{base}_{n}", value)

    def use(self, name: str, f: Finding) -> None:
        self.used[name] = f.provider

    def _bind(self, name: str, value: str) -> str:
        self._owner[name] = value
        self._by_secret[value] = name
        return name
