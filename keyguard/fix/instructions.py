"""What to tell the user to do by hand: where to revoke a key, how to fix what `--fix` cannot."""

from __future__ import annotations

from pathlib import PurePath

from keyguard.model import Finding
from keyguard.report.advice import Facts, manual_instruction, revoke_clause
from keyguard.rulepack.load import Provider, RuleSet


def provider_of(f: Finding, rules: RuleSet) -> Provider | None:
    """The finding's provider: through its rule, else by id or display name."""
    rule = rules.rules.get(f.rule_id)
    if rule is not None and rule.provider in rules.providers:
        return rules.providers[rule.provider]
    return next((p for p in rules.providers.values() if f.provider in (p.id, p.name)), None)


def revoke_where(f: Finding, rules: RuleSet) -> str:
    """Where the finding's key is revoked (the provider's console page)."""
    provider = provider_of(f, rules)
    return provider.revoke if provider else "the provider's console"


def revoke_text(f: Finding, rules: RuleSet) -> str:
    """The closing clause of every instruction: a leaked key must be revoked (or the rule's
    own words, e.g. for a platform where it no longer can be)."""
    rule = rules.rules.get(f.rule_id)
    facts = facts_of(f, rules)
    if rule is not None and facts is not None:
        return revoke_clause(rule, facts).replace("revoke this key at", "revoke the key at", 1)
    return f"revoke the key at {revoke_where(f, rules)}"


def facts_of(f: Finding, rules: RuleSet) -> Facts | None:
    """What the advice texts of `f`'s rule may name (None: a rule outside the rule set)."""
    rule = rules.rules.get(f.rule_id)
    provider = provider_of(f, rules)
    if rule is None or provider is None:
        return None
    return Facts(provider, f.env_var or rule.env_var, f.saves_to)


def not_a_secret_instruction(f: Finding, rules: RuleSet) -> str:
    """What to do by hand about a finding `--fix` does not rewrite by its rule: a notice, an
    identifier, or a secret whose rule says it must not move to the environment."""
    rule = rules.rules.get(f.rule_id)
    facts = facts_of(f, rules)
    if rule is None or facts is None:
        return f"delete it from line {f.location.line}; {revoke_text(f, rules)}"
    return manual_instruction(rule, facts)


def text_file_instruction(f: Finding, env: str, rules: RuleSet) -> tuple[str, str]:
    """(instruction, reason) for a key in a file that is neither Python nor a notebook."""
    path = f.location.path
    name = PurePath(path).name
    lower = path.replace("\\", "/").lower()
    slashed = path.replace("\\", "/")
    line = f.location.line
    revoke = revoke_text(f, rules)
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return (
            f"dotenv file inside the repository: keep it out of git: add `{name}` to .gitignore "
            f"and run `git rm --cached {path}`; the key reached git history, so {revoke}",
            "dotenv",
        )
    if any(cf.matches(slashed) for p in rules.providers.values() for cf in p.credential_files):
        return (
            f"saved-account file committed to the repository: run `git rm --cached {path}`, add "
            f"`{name}` to .gitignore and provide the token through {env}; {revoke}",
            "saved-account-file",
        )
    if (
        "/.github/workflows/" in f"/{lower}"
        or "/.circleci/" in f"/{lower}"
        or name in (".gitlab-ci.yml", "azure-pipelines.yml", ".travis.yml", "bitbucket-pipelines.yml")
    ):
        return (
            f"CI configuration: delete the key from line {line}, store it as a secret of the CI "
            f"system and reference it (e.g. `{env}: ${{{{ secrets.{env} }}}}`); {revoke}",
            "ci-config",
        )
    suffix = PurePath(name).suffix.lower()
    if suffix in (".sh", ".bash", ".zsh", ".fish", ".ps1") or name in (".bashrc", ".zshrc", ".profile", "profile"):
        return (
            f"shell script: replace the key on line {line} with \"${env}\" and export {env} from "
            f"outside the repository (your shell profile or a secret manager); {revoke}",
            "shell",
        )
    if suffix in (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".http", ".properties"):
        return (
            f"config file: delete the key from line {line} and provide it through the "
            f"environment variable {env} (`export {env}=...` or a git-ignored .env file); {revoke}",
            "config-file",
        )
    if suffix in (".md", ".rst", ".txt", ".html", ".adoc", ""):
        return (
            f"text/documentation: replace the key on line {line} with a placeholder such as "
            f"`<your-{env}>`; {revoke}",
            "text-file",
        )
    return (
        f"not a Python file: delete the key from line {line} and read it from {env} instead; {revoke}",
        "text-file",
    )
