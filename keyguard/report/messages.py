"""The human message of a finding: what was found, where it sits, and exactly what to do.

Messages never contain the secret: they are built from rule data and positions only. The
place decides the action (clear a cell output, read the key from the environment, ...);
keyguard.report.advice decides the rest from the rule's type and pack data.
"""

from __future__ import annotations

from keyguard.detect.tokens import Hit
from keyguard.read.documents import Document, Segment, segment_line
from keyguard.report.advice import Facts
from keyguard.report.advice import finding_message as _compose
from keyguard.rulepack.load import Provider


def finding_message(hit: Hit, document: Document, segment: Segment, provider: Provider, env_var: str | None) -> str:
    """One or two sentences: '<credential> <where>: <fix>; revoke it at <where>.'"""
    action, mentions_env = location_action(hit, segment, env_var)
    facts = Facts(provider, env_var, hit.saves_to)
    return _compose(hit.rule, facts, hit.where, action, mentions_env)


def location_action(hit: Hit, segment: Segment, env_var: str | None) -> tuple[str, bool]:
    """What to do with a secret where it sits, and whether that moves it to `env_var`."""
    if segment.part == "output":
        return "clear the cell output (the notebook file stores it)", False
    if hit.where.startswith("set with the %env magic"):
        return f"set {env_var} outside the notebook (your shell or a git-ignored .env file)", True
    if segment.cell is not None and segment_line(segment, hit.line).lstrip().startswith("!"):
        return (
            f"set {env_var} outside the notebook (your shell or a git-ignored .env file) and"
            f" write ${env_var} in the command"
        ), True
    if segment.cell is not None and segment.python is None:
        return "remove it from the cell", False
    if segment.python is not None and "comment" in hit.where:
        return "delete the comment", False
    if segment.python is not None:
        return f'read it from the environment instead: os.environ["{env_var}"]', True
    return (
        f"keep it out of the repository: set {env_var} in your shell, CI secret store or a"
        " git-ignored .env file"
    ), True
