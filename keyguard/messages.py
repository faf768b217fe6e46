"""The human message of a finding: what was found, where it sits, and exactly what to do.

Messages never contain the secret: they are built from rule data and positions only.
"""

from __future__ import annotations

from keyguard.detect.tokens import Hit
from keyguard.documents import Document, Segment, segment_line
from keyguard.rulepack import Provider

SAVED_ACCOUNT_FILE = "~/.qiskit/qiskit-ibm.json"




def finding_message(hit: Hit, document: Document, segment: Segment, provider: Provider, env_var: str | None) -> str:
    """One or two sentences: '<credential> <where>: <fix>; revoke it at <where>.'"""
    rule = hit.rule
    head = f"{rule.title} {hit.where}"
    if rule.type == "identifier":
        return (
            f"{head}: an identifier, not a secret, but it discloses the account and instance ids;"
            f" consider reading it from the environment variable {env_var}."
        )
    if rule.type == "persist":
        return (
            f"{hit.where} writes the token in plain text to {SAVED_ACCOUNT_FILE}: pass"
            f' token=os.environ["{env_var}"] when you create the service instead (or rely on'
            f" {env_var}), and keep ~/.qiskit out of backups and repositories."
        )
    revoke = f"revoke this key at {provider.revoke}"
    if segment.part == "output":
        action = "clear the cell output (the notebook file stores it)"
    elif hit.where.startswith("set with the %env magic"):
        action = f"set {env_var} outside the notebook (your shell or a git-ignored .env file)"
    elif segment.cell is not None and segment_line(segment, hit.line).lstrip().startswith("!"):
        action = (
            f"set {env_var} outside the notebook (your shell or a git-ignored .env file) and"
            f" write ${env_var} in the command"
        )
    elif segment.cell is not None and segment.python is None:
        action = "remove it from the cell"
    elif segment.python is not None and "comment" in hit.where:
        action = "delete the comment"
    elif segment.python is not None:
        action = f'read it from the environment instead: os.environ["{env_var}"]'
    else:
        action = (
            f"keep it out of the repository: set {env_var} in your shell, CI secret store or a"
            " git-ignored .env file"
        )
    return f"{head}: {action}; {revoke}."
