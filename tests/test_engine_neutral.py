"""The engine knows no provider: provider knowledge lives in the rule packs (rules/*.toml).

The forbidden words come from the packs themselves: provider ids and names, the root modules
and distinctive names of their call sites, credential file names and environment variables.
Code is read with `tokenize` (comments dropped) and `ast` (docstrings dropped), so a comment
may say why (`# a save_account() notice spans a call`) but no string or name the engine runs
may name a provider.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from keyguard.rulepack.load import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "keyguard"
# Words of provider names and ids that are plain English, not a provider's name.
GENERIC = {"cloud", "quantum", "platform", "legacy", "experience", "computing", "api", "service", "apikey",
           "device", "register", "save", "token", "key", "client", "job", "auth", "sdk"}
# Not engine code: the seeded fake-key generator, whose shapes move to pack data in the
# `providers` work (tests and examples use it; the scanner never imports it). Remove it from
# here once its generators are derived from the packs.
NOT_ENGINE = {"fakes.py"}
# Phrases of the engine that contain a pack word but name something else, with the reason.
NOT_A_PROVIDER = {
    "azure-pipelines.yml": "Azure Pipelines' CI file (the CI instruction), not a quantum cloud",
}


def _camel_humps(name: str) -> int:
    return len(re.findall(r"[A-Z][a-z0-9]+|[A-Z]+(?![a-z])", name))


def forbidden_words() -> set[str]:
    """Lower-cased words the engine's code must not contain, derived from the packs.

    Provider ids and names (whole, and single-word ones alone: `ionq`, `qbraid`), prefilter
    keywords (`qiskit`, `dwave`, `pyquil`), environment variables, credential file names,
    distinctive call names, call sites' SDK modules and SDK-looking callee names. A word of a
    longer name is forbidden only when it is a keyword too: `Origin Quantum` does not make
    `origin` a provider's name, nor `Azure Quantum` the CI file `azure-pipelines.yml`.
    """
    ruleset = load_ruleset()
    words: set[str] = set()
    for provider in ruleset.providers.values():
        words.add(provider.id.lower())
        name = provider.name.lower()
        words.add(re.sub(r"\s*\(.*\)", "", name).strip())
        if re.fullmatch(r"[a-z0-9_-]+", name.split(" (")[0]):
            words.add(name.split(" (")[0])
        words.update(k.strip("_") for k in provider.keywords if len(k.strip("_")) >= 3)
        words.update(v.lower() for v in provider.env_vars)
        for cf in provider.credential_files:
            words.add(cf.name.rsplit("/", 1)[-1].lower())
        words.update(name.split(".")[-1].lower() for name in provider.distinctive_calls)
    for cs in ruleset.call_sites:
        keywords = ruleset.providers[cs.provider].keywords
        for callee in cs.callees:
            parts = callee.split(".")
            # The SDK's module: the shortest prefix naming a provider keyword (`azure.quantum`,
            # not the `azure` namespace; `cirq.ionq`, not all of `cirq`), else the root.
            prefixes = [".".join(parts[:k]).lower() for k in range(1, len(parts))] or [parts[0].lower()]
            words.add(next((p for p in prefixes if any(k in p for k in keywords)), parts[0].lower()))
            last = parts[-1].lstrip("_")
            # Names a reader recognises as an SDK's (`QiskitRuntimeService`, `save_account`);
            # generic ones (`Service`, `device`, `save`) are ordinary words.
            if _camel_humps(last) >= 2 or ("_" in last and len(last) >= 8):
                words.add(last.lower())
    return {w for w in words if w not in GENERIC}


def code_text(source: str) -> str:
    """`source` without comments and docstrings: the code and string literals it runs."""
    tree = ast.parse(source)
    docstrings: set[tuple[int, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                docstrings.add((body[0].lineno, body[0].col_offset))
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start in docstrings):
            continue
        kept.append(tok.string)
    return " ".join(kept)


def engine_files() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p.name not in NOT_ENGINE)


def test_forbidden_words_come_from_the_packs():
    words = forbidden_words()
    # The packs' own vocabulary, not a list kept by hand.
    assert {"ionq", "qiskit", "qiskit_ibm_runtime", "save_account", "qiskitrc", "qe_token"} <= words
    assert "service" not in words and "cloud" not in words


def test_code_text_drops_comments_and_docstrings_only():
    source = '"""Mentions Acme."""\nx = 1  # acme here\ndef f():\n    """acme"""\n    return "acme-sdk"\n'
    text = code_text(source)
    assert text.count("acme") == 1 and "acme-sdk" in text


def test_the_engine_names_no_provider_sdk_call_or_credential_file():
    words = forbidden_words()
    pattern = re.compile(
        r"(?<![a-z0-9])(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")(?![a-z0-9])"
    )
    offenders = []
    for path in engine_files():
        text = code_text(path.read_text(encoding="utf-8")).lower()
        for phrase in NOT_A_PROVIDER:
            text = text.replace(phrase, " ")
        for match in pattern.finditer(text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(1)!r} in ...{text[max(match.start() - 40, 0): match.end() + 40]}...")
    assert offenders == [], "\n".join(offenders)


def test_rule_types_are_compared_in_one_place():
    """What a rule type means (message, fix, SARIF help, manual instruction, secret or not)
    is decided in keyguard/report/advice.py; other modules ask it (`behaviour(rule)`)."""
    comparison = re.compile(r"\.\s*type\s*(==|!=|\bin\b|\bnot\s+in\b)")
    offenders = []
    for path in engine_files():
        if path.name == "advice.py":
            continue
        text = code_text(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in comparison.finditer(text)
                      if "tok . type" not in text[max(m.start() - 6, 0): m.end()]]
    assert offenders == []


def test_every_stage_folder_is_packaged():
    # A stage folder missing from pyproject's package list installs without it: the CLI then
    # fails with ModuleNotFoundError everywhere but in an editable install.
    import rtoml

    config = rtoml.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packaged = set(config["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "keyguard").rglob("__init__.py")
    }
    assert folders - packaged == set()
