"""`keyguard scan --fix / --diff`: rewrite leaked credential literals into environment reads.

The fixer is a libcst codemod over Python files and notebook code cells. For each finding of a
secret rule it locates the string literal holding the secret (by position, PositionProvider)
and rewrites only that expression:

  token="<44>"                      -> token=os.environ["QISKIT_IBM_TOKEN"]
  IonQProvider("<32>")              -> IonQProvider(os.environ["IONQ_API_KEY"])
  TOKEN = "<44>" (used later)       -> TOKEN = os.environ["QISKIT_IBM_TOKEN"]   (once, at the literal)
  def f(key="<32>")                 -> def f(key=os.environ.get("IONQ_API_KEY"))
  "apiKey <32>"                     -> f"apiKey {os.environ['IONQ_API_KEY']}"
  os.getenv("X", "<32>")            -> os.getenv("X")
  os.environ["X"] = "<32>"          -> statement removed (set X outside the code)
  os.environ.setdefault("X", "<32>") / os.putenv("X", "<32>") as a statement -> removed

Function defaults use `os.environ.get(...)`: a default is evaluated once, when the `def` runs
(at import). `os.environ["X"]` there would make importing the module fail with KeyError when X
is unset, even for callers that pass the key explicitly; `.get` yields None instead, and None is
the "not given" value of every supported SDK (cirq_ionq.Service, QiskitRuntimeService, ...), so
the SDK reads its own environment variable or saved account, or raises its own clear error.
Module constants and class attributes keep `os.environ["X"]`: they already ran at import, and a
KeyError naming the variable is the clearest failure there.

`import os` is added only when needed, with libcst's AddImportsVisitor (after the docstring and
`__future__` imports, after the top import block; the blank line libcst would add after it is
suppressed so no other byte moves). An existing `import os` / `import os as X` binding is reused
when nothing else in the module binds that name; when `os` is bound to something else anywhere,
`import os as _os` is added instead, because rebinding the user's `os` would change their code.

Everything else is left to the user with a precise instruction (`Unfixable`): comments,
docstrings, Markdown, config and text files, keys split over several string parts, keys partly
inside an f-string expression, files with a syntax error (left untouched).

Notebooks: code cells go through the same codemod with IPython magic and shell lines masked by
unique placeholders that are put back byte for byte afterwards; `%env NAME=<key>` (and
`%set_env`, `!export NAME=<key>`) lines become a comment telling the user to set NAME outside the
notebook; outputs that contain a reported secret are removed; the notebook is written back with
nbformat (same nbformat version, metadata and cell ids).

Writes are atomic (temporary file in the same directory, then os.replace), keep the file mode,
and refuse to overwrite a file whose bytes changed since `plan_fixes` read it.

libcst and nbformat are imported inside functions: scanning never pays for them.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import difflib
import io
import json
import os
import re
import secrets as _secrets
import stat
import tempfile
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from keyguard.documents import Document
from keyguard.model import Finding, redact
from keyguard.rulepack import Provider, RuleSet, load_ruleset

__all__ = [
    "FileChangedError",
    "FixPlan",
    "FixRun",
    "Unfixable",
    "apply",
    "fix_findings",
    "plan_fixes",
    "summarize",
    "unified_diff",
]


class FileChangedError(RuntimeError):
    """The file on disk is not the one `plan_fixes` read; nothing was written."""


class Unfixable(NamedTuple):
    """A finding `--fix` leaves alone: `instruction` says exactly what to do by hand.

    `reason` is a short machine-friendly category: comment, docstring, markdown, dotenv,
    config-file, ci-config, saved-account-file, shell, text-file, split-string,
    partial-fstring, escaped, bytes, syntax-error, not-a-literal, magic, metadata,
    not-a-secret, changed, undecodable.
    """

    finding: Finding
    instruction: str
    reason: str


@dataclass
class FixPlan:
    """What `--fix` would do to one file.

    original: the file's bytes as read (None for documents not read from disk: nothing to write).
    new: the rewritten bytes, or None when nothing changes.
    stat: (st_mtime_ns, st_size, st_mode) of the file when read.
    fixed: findings the rewrite removes. unfixable: the others, each with an instruction.
    env_vars: environment variable -> provider id, for every variable the new code reads or the
        user must now set (removed `os.environ[...] = ...` lines, replaced `%env` magics).
    redact_values: values shown redacted in diffs (every finding's value except persist
        notices, whose value is code); never printed.
    notes: short messages for the summary (never secrets).
    """

    path: str
    kind: str
    original: bytes | None = None
    new: bytes | None = None
    stat: tuple[int, int, int] | None = None
    fixed: list[Finding] = field(default_factory=list)
    unfixable: list[Unfixable] = field(default_factory=list)
    env_vars: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    redact_values: set[str] = field(default_factory=set, repr=False)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.original is not None and self.new != self.original


# --------------------------------------------------------------------------------------------
# Public API


def plan_fixes(
    document: Document,
    findings: Iterable[Finding],
    *,
    ruleset: RuleSet | None = None,
    data: bytes | None = None,
) -> FixPlan:
    """Work out the fix for one document; writes nothing.

    `findings` are the scanner's findings for `document` (others are ignored by path). `data`
    are the file's bytes; by default they are read from `document.path`. When those bytes no
    longer decode to the scanned text, every finding is reported as unfixable ("changed").
    Never raises for file content; OSError only if the file cannot be read at all.
    """
    rules = ruleset if ruleset is not None else load_ruleset()
    items = sorted(
        (f for f in findings if f.location.path == document.path), key=lambda f: f.sort_key()
    )
    plan = FixPlan(path=document.path, kind=document.kind)
    plan.redact_values = {
        f.secret.reveal() for f in items
        if (rule := rules.rules.get(f.rule_id)) is None or rule.type != "persist"
    }
    secret_items: list[Finding] = []
    for f in items:
        rule = rules.rules.get(f.rule_id)
        if rule is not None and not rule.is_secret:
            plan.unfixable.append(Unfixable(f, _not_a_secret_instruction(f, rules), "not-a-secret"))
        else:
            secret_items.append(f)
    if not secret_items:
        return plan
    namer = _EnvNamer(rules)
    if document.kind == "python":
        _plan_python(plan, document, secret_items, namer, rules, data)
    elif document.kind == "notebook":
        _plan_notebook(plan, document, secret_items, namer, rules, data)
    else:
        for f in secret_items:
            instruction, reason = _text_file_instruction(f, namer.suggest(f), rules)
            plan.unfixable.append(Unfixable(f, instruction, reason))
    plan.env_vars.update(namer.used)
    return plan


def unified_diff(plan: FixPlan, *, show_secrets: bool = False) -> str:
    """A unified diff (`a/path`, `b/path`) of the planned change; "" when nothing changes.

    The removed lines hold the leaked keys, and diffs end up in CI logs: every secret of the
    plan is shown redacted (`ab12…(44 chars)`) unless `show_secrets`. A redacted diff is for
    reading, not for `patch`.
    """
    if not plan.changed or plan.original is None or plan.new is None:
        return ""
    old = _decode_for_diff(plan.original, plan.encoding)
    new = _decode_for_diff(plan.new, plan.encoding)
    if not show_secrets:
        for value in sorted(plan.redact_values, key=len, reverse=True):
            old = old.replace(value, redact(value))
            new = new.replace(value, redact(value))
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, f"a/{plan.path}", f"b/{plan.path}"):
        if line.startswith(("---", "+++", "@@")):
            out.append(line if line.endswith("\n") else line + "\n")
            continue
        if line.endswith("\r\n"):
            out.append(line[:-2] + "\n")
        elif line.endswith(("\n", "\r")):
            out.append(line[:-1] + "\n")
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def apply(plan: FixPlan) -> bool:
    """Write `plan.new` atomically; True when the file was written, False when nothing changed.

    Same directory temporary file, fsync, the original permission bits, then os.replace (a
    symlink is followed: its target is rewritten, the link stays). Raises FileChangedError,
    writing nothing, when the file's bytes differ from those `plan_fixes` read; OSError on I/O
    failure (the temporary file is removed).
    """
    if not plan.changed or plan.new is None:
        return False
    target = Path(os.path.realpath(plan.path))
    try:
        current = target.read_bytes()
        st = target.stat()
    except FileNotFoundError:
        raise FileChangedError(f"{plan.path}: file disappeared since it was read; not written") from None
    if current != plan.original:
        raise FileChangedError(f"{plan.path}: file changed on disk since it was read; not written")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".keyguard-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(plan.new)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        # Last look right before the rename: a writer that raced us since the first check wins.
        if target.stat().st_mtime_ns != st.st_mtime_ns or target.read_bytes() != plan.original:
            raise FileChangedError(f"{plan.path}: file changed on disk while fixing; not written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


@dataclass
class FixRun:
    """Outcome of `fix_findings` over many files.

    plans: one per file with findings. changed: files written (write=True) or that would
    change (write=False). remaining: the findings still in the code afterwards (not fixable,
    or in a file that could not be written). diff: the unified diff of every change.
    errors: messages for files that could not be read or written (never secrets).
    """

    plans: list[FixPlan] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    diff: str = ""
    errors: list[str] = field(default_factory=list)


def fix_findings(
    findings: Iterable[Finding],
    *,
    write: bool,
    ruleset: RuleSet | None = None,
    show_secrets: bool = False,
) -> FixRun:
    """Plan (and with `write`, apply) the fixes for scanner findings, file by file.

    Each file is read again and re-decoded; a file that changed since it was read is never
    overwritten (its findings stay in `remaining`, with an error).
    """
    from keyguard.documents import read_document

    rules = ruleset if ruleset is not None else load_ruleset()
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.location.path, []).append(f)
    run = FixRun()
    diffs: list[str] = []
    for path in sorted(by_path):
        items = by_path[path]
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            run.errors.append(f"{path}: cannot read for --fix ({exc.strerror or type(exc).__name__})")
            run.remaining.extend(items)
            continue
        plan = plan_fixes(read_document(path, data), items, ruleset=rules, data=data)
        run.plans.append(plan)
        if plan.changed:
            if write:
                try:
                    apply(plan)
                except (FileChangedError, OSError) as exc:
                    run.errors.append(str(exc) if isinstance(exc, FileChangedError)
                                      else f"{path}: cannot write ({exc.strerror or type(exc).__name__})")
                    run.remaining.extend(items)
                    plan.fixed.clear()
                    continue
            run.changed.append(path)
            diffs.append(unified_diff(plan, show_secrets=show_secrets))
        else:
            run.remaining.extend(plan.fixed)  # nothing was written, so nothing was fixed
            plan.fixed.clear()
        run.remaining.extend(u.finding for u in plan.unfixable)
    run.remaining.sort(key=Finding.sort_key)
    run.diff = "".join(diffs)
    return run


def summarize(plans: Sequence[FixPlan], ruleset: RuleSet | None = None, *, applied: bool = True) -> str:
    """The after-fix summary for stderr: what was fixed, what to revoke where, what to set.

    `applied` False words it for `--diff` ("would fix"). Never contains a secret (redacted
    values only).
    """
    rules = ruleset if ruleset is not None else load_ruleset()
    fixed = [
        (p, f) for p in plans for f in p.fixed
        if (rule := rules.rules.get(f.rule_id)) is None or rule.is_secret
    ]
    manual = [(p, u) for p in plans for u in p.unfixable]
    lines: list[str] = []
    files = sorted({p.path for p, _ in fixed})
    if fixed:
        verb = "Fixed" if applied else "Would fix (run with --fix)"
        lines.append(f"{verb} {len(fixed)} credential finding(s) in {len(files)} file(s).")
        grouped: dict[tuple[str, str], set[str]] = {}
        for _, f in fixed:
            provider = _provider(f, rules)
            name = provider.name if provider else f.provider
            where = provider.revoke if provider else "the provider's console"
            grouped.setdefault((name, where), set()).add(f.secret.redacted)
        lines.append(
            "Each fixed key was exposed (it is still in your git history and in every copy "
            "of the file) and must be revoked:"
        )
        for (name, where), keys in sorted(grouped.items()):
            lines.append(f"  - {name}: revoke {', '.join(sorted(keys))} at {where}")
        env: dict[str, set[str]] = {}
        for p in plans:
            if p.fixed:
                for name in p.env_vars:
                    env.setdefault(name, set()).add(p.path)
        if env:
            lines.append("Set these environment variables (export NAME=... or a git-ignored .env file):")
            for name in sorted(env):
                lines.append(f"  - {name} (read by {', '.join(sorted(env[name]))})")
    if manual:
        lines.append(f"{len(manual)} finding(s) need a manual fix:")
        for _, u in sorted(manual, key=lambda pu: pu[1].finding.sort_key()):
            lines.append(f"  {u.finding.location.display()}: {u.finding.rule_id} {u.instruction}")
    return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------------------------
# Environment variable names


class _EnvNamer:
    """Chooses the environment variable for each secret of one document.

    The finding's `env_var`, else its rule's, else the provider's first. Two different secrets
    that would share a name get NAME_2, NAME_3, ... so a rewrite never merges two keys.
    """

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        self._by_secret: dict[str, str] = {}
        self._owner: dict[str, str] = {}
        self.used: dict[str, str] = {}

    def base(self, f: Finding) -> str:
        if f.env_var:
            return f.env_var
        rule = self._rules.rules.get(f.rule_id)
        if rule is not None and rule.env_var:
            return rule.env_var
        provider = _provider(f, self._rules)
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
        self._owner[name] = value
        self._by_secret[value] = name
        return name

    def suggest(self, f: Finding) -> str:
        """The name for instructions: the one already chosen for this secret, else the base."""
        return self._by_secret.get(f.secret.reveal(), self.base(f))

    def env_for(self, f: Finding) -> str:
        value = f.secret.reveal()
        if value in self._by_secret:
            return self._by_secret[value]
        base = self.base(f)
        name, n = base, 1
        while self._owner.get(name, value) != value:
            n += 1
            name = f"{base}_{n}"
        self._owner[name] = value
        self._by_secret[value] = name
        return name

    def use(self, name: str, f: Finding) -> None:
        self.used[name] = f.provider


# --------------------------------------------------------------------------------------------
# Instructions for what cannot be fixed


def _provider(f: Finding, rules: RuleSet) -> Provider | None:
    """The finding's provider: through its rule, else by id or display name."""
    rule = rules.rules.get(f.rule_id)
    if rule is not None and rule.provider in rules.providers:
        return rules.providers[rule.provider]
    return next((p for p in rules.providers.values() if f.provider in (p.id, p.name)), None)


def _revoke(f: Finding, rules: RuleSet) -> str:
    provider = _provider(f, rules)
    return provider.revoke if provider else "the provider's console"


def _not_a_secret_instruction(f: Finding, rules: RuleSet) -> str:
    rule = rules.rules.get(f.rule_id)
    if rule is not None and rule.type == "persist":
        return (
            "not a literal: save_account() writes the token to ~/.qiskit/qiskit-ibm.json in "
            "plain text; drop the call and pass the token from the environment instead"
        )
    env = (rule.env_var if rule else None) or f.env_var or "an environment variable"
    return f"not a credential (identifier); nothing to revoke. To keep it private, read it from {env}"


def _text_file_instruction(f: Finding, env: str, rules: RuleSet) -> tuple[str, str]:
    path = f.location.path
    name = PurePath(path).name
    lower = path.replace("\\", "/").lower()
    line = f.location.line
    revoke = f"revoke the key at {_revoke(f, rules)}"
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return (
            f"dotenv file inside the repository: keep it out of git: add `{name}` to .gitignore "
            f"and run `git rm --cached {path}`; the key reached git history, so {revoke}",
            "dotenv",
        )
    if name in ("qiskit-ibm.json", "qiskitrc") or lower.endswith("/.qiskit/qiskit-ibm.json"):
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


# --------------------------------------------------------------------------------------------
# Python files


def _read_bytes(document: Document, data: bytes | None) -> tuple[bytes, tuple[int, int, int] | None]:
    if data is not None:
        try:
            st = os.stat(document.path)
            return data, (st.st_mtime_ns, st.st_size, stat.S_IMODE(st.st_mode))
        except OSError:
            return data, None
    path = Path(document.path)
    st = path.stat()
    return path.read_bytes(), (st.st_mtime_ns, st.st_size, stat.S_IMODE(st.st_mode))


def _decode_python(data: bytes) -> tuple[str, str]:
    """Decode Python source bytes per PEP 263 (BOM / coding cookie). UnicodeError/SyntaxError."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def _decode_for_diff(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", errors="replace")


def _unfix_all(plan: FixPlan, findings: Iterable[Finding], instruction: str, reason: str) -> None:
    for f in findings:
        plan.unfixable.append(Unfixable(f, instruction, reason))


def _plan_python(
    plan: FixPlan,
    document: Document,
    findings: list[Finding],
    namer: _EnvNamer,
    rules: RuleSet,
    data: bytes | None,
) -> None:
    raw, st = _read_bytes(document, data)
    plan.original, plan.stat = raw, st
    try:
        text, encoding = _decode_python(raw)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        _unfix_all(
            plan, findings,
            f"the file cannot be decoded ({exc}); it was left untouched: replace the key by hand "
            "with an os.environ[...] read",
            "undecodable",
        )
        return
    plan.encoding = encoding
    if encoding in ("utf-8", "utf-8-sig") and text != document.raw_text:
        _unfix_all(
            plan, findings,
            "the file changed since it was scanned; it was left untouched: run the scan again",
            "changed",
        )
        return
    impl = _impl()
    try:
        module = impl.cst.parse_module(text)
    except impl.cst.ParserSyntaxError as exc:
        _unfix_all(
            plan, findings,
            f"{document.path} has a syntax error at line {exc.raw_line}, column {exc.raw_column + 1}; "
            "the file was left untouched: fix the syntax error and run `keyguard scan --fix` "
            "again, or replace the key by hand with an os.environ[...] read",
            "syntax-error",
        )
        return
    os_access = impl.os_access([module])
    result = impl.fix_module(
        module,
        [(f, (f.location.line, f.location.column - 1, f.location.end_line, f.location.end_column - 1))
         for f in findings],
        namer,
        os_access,
        add_import=os_access.needs_import,
        rules=rules,
    )
    plan.fixed.extend(result.fixed)
    plan.unfixable.extend(result.unfixable)
    if result.code != text:
        # The output must still be Python before anything is written.
        try:
            compile(result.code, document.path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError:  # pragma: no cover - a bug in the codemod, never written
            plan.fixed.clear()
            plan.unfixable[:] = [u for u in plan.unfixable if u.finding not in findings]
            _unfix_all(plan, findings, "internal error: the rewrite did not parse; left untouched (please report)", "syntax-error")
            return
        try:
            plan.new = result.code.encode(encoding)
        except UnicodeEncodeError:
            plan.new = None
            plan.fixed.clear()
            _unfix_all(plan, findings, "the fix cannot be encoded in the file's encoding; left untouched", "undecodable")


# --------------------------------------------------------------------------------------------
# Notebooks

# A logical line that IPython transforms: `%magic`, `!shell`, `x = !cmd`, `x = %magic`.
_MAGIC_LINE = re.compile(r"^\s*(?:[%!]|[A-Za-z_][\w.,\s\[\]]*=\s*[%!](?!=))")
_HELP_LINE = re.compile(r"^\s*[\w.]+\?\??\s*$|^\s*\?\??[\w.]+\s*$")
# Cell magics whose body is Python.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_ENV_MAGIC = re.compile(
    r"^(?P<indent>\s*)(?:%env\s+(?P<n1>[A-Za-z_]\w*)\s*[=\s]\s*(?P<v1>\S.*?)"
    r"|%set_env\s+(?P<n2>[A-Za-z_]\w*)\s*[=\s]\s*(?P<v2>\S.*?)"
    r"|!\s*export\s+(?P<n3>[A-Za-z_]\w*)=(?P<v3>[^\s;&|]+))\s*$"
)


def _env_magic(line: str) -> tuple[str, str, str] | None:
    """(indent, NAME, value) when `line` sets an environment variable via a magic."""
    m = _ENV_MAGIC.match(line.rstrip("\r\n"))
    if not m:
        return None
    for i in "123":
        if m.group("n" + i):
            return m.group("indent"), m.group("n" + i), m.group("v" + i)
    return None


@dataclass
class _Masked:
    """A code cell with its magic lines replaced by unique placeholders."""

    code: str
    originals: dict[str, str]  # marker -> original line (without line end)
    magic_lines: set[int]  # 1-based lines that are magics (not Python)


def _mask_cell(source: str, nonce: str) -> _Masked | None:
    """Mask IPython magics so libcst parses the cell; None for a non-Python cell magic."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    originals: dict[str, str] = {}
    magic: set[int] = set()
    start = 0
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(None, 1)[0] if first[2:].split() else ""
        if name not in _PYTHON_CELL_MAGICS:
            return None
        start = 1
    continuing = False
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        is_magic = i < start or continuing or bool(_MAGIC_LINE.match(body)) or bool(_HELP_LINE.match(body))
        if is_magic:
            marker = f"__keyguard_magic_{nonce}_{i}__"
            originals[marker] = body
            magic.add(i + 1)
            if continuing or i < start:
                out.append(f"# {marker}{end}")
            else:
                indent = body[: len(body) - len(body.lstrip())]
                # An import statement: valid wherever a statement is, and AddImportsVisitor
                # then counts leading magics as part of the import block (`import os` goes
                # after `%matplotlib inline`, not above it).
                out.append(f"{indent}import {marker}{end}")
            continuing = body.endswith("\\")
        else:
            out.append(line)
    return _Masked("".join(out), originals, magic)


def _unmask(code: str, masked: _Masked, replacements: dict[int, str]) -> str | None:
    """Put the magic lines back (or their replacement, by 1-based line); None if one got lost."""
    lines = code.splitlines(keepends=True)
    seen: set[str] = set()
    out: list[str] = []
    marker_line = re.compile(r"^\s*(?:import |# )(__keyguard_magic_\w+?_(\d+)__)\s*$")
    for line in lines:
        body = line.rstrip("\r\n")
        m = marker_line.match(body)
        if m and m.group(1) in masked.originals:
            seen.add(m.group(1))
            original_line = int(m.group(2)) + 1
            text = replacements.get(original_line, masked.originals[m.group(1)])
            out.append(text + line[len(body):])
        else:
            if "__keyguard_magic_" in body:
                return None
            out.append(line)
    if seen != set(masked.originals):
        return None
    return "".join(out)


def _plan_notebook(
    plan: FixPlan,
    document: Document,
    findings: list[Finding],
    namer: _EnvNamer,
    rules: RuleSet,
    data: bytes | None,
) -> None:
    import nbformat

    raw, st = _read_bytes(document, data)
    plan.original, plan.stat = raw, st
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        text = raw[len(codecs.BOM_UTF8):].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError:
        _unfix_all(plan, findings, "the notebook is not valid UTF-8; left untouched", "undecodable")
        return
    if text != document.raw_text:
        _unfix_all(plan, findings, "the notebook changed since it was scanned; run the scan again", "changed")
        return
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # nbformat raises many types for bad JSON / schema
        _unfix_all(plan, findings, f"the notebook cannot be read by nbformat ({type(exc).__name__}); left untouched", "syntax-error")
        return

    meta = nb.get("metadata", {})
    language = str(
        (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name") or "python"
    ).lower()
    if language not in ("python", "python3", "ipython", "ipython3"):
        # An R or Julia cell can parse as Python; rewriting it into os.environ would be wrong.
        kept = []
        for f in findings:
            if f.location.part == "source" and _cell_type(nb, f) == "code":
                _unfix(plan, f, f"code cell {(f.location.cell or 0) + 1} runs in a {language} kernel: "
                                "keyguard rewrites Python only; read the key from the environment "
                                f"by hand; {_revoke_text(f, rules)}", "not-a-literal")
            else:
                kept.append(f)  # outputs are still cleared, Markdown still reported
        findings = kept

    impl = _impl()
    nonce = _secrets.token_hex(4)
    by_cell: dict[int, list[Finding]] = {}
    outputs: list[Finding] = []
    for f in findings:
        loc = f.location
        if loc.cell is None or not (0 <= loc.cell < len(nb.cells)):
            plan.unfixable.append(Unfixable(
                f, f"notebook metadata: delete the key from line {loc.raw_line} of the notebook "
                   f"by hand (e.g. edit the JSON); {_revoke_text(f, rules)}", "metadata"))
        elif loc.part == "output":
            outputs.append(f)
        elif loc.part == "source":
            by_cell.setdefault(loc.cell, []).append(f)
        else:
            plan.unfixable.append(Unfixable(
                f, f"cell {loc.cell + 1} metadata: delete the key from the cell metadata by hand; "
                   f"{_revoke_text(f, rules)}", "metadata"))

    # One `os` decision for the whole notebook: cells share one namespace.
    masked: dict[int, _Masked | None] = {}
    modules: dict[int, Any] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        mk = _mask_cell(cell.source, nonce)
        masked[index] = mk
        if mk is None:
            continue
        try:
            modules[index] = impl.cst.parse_module(mk.code)
        except impl.cst.ParserSyntaxError:
            modules[index] = None
    os_access = impl.os_access([m for m in modules.values() if m is not None])

    changed = False
    fixed_secrets: set[str] = set()
    for index in sorted(by_cell):
        cell = nb.cells[index]
        cell_findings = by_cell[index]
        if cell.get("cell_type") != "code":
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"{cell.get('cell_type', 'non-code')} cell {index + 1}, line {f.location.line}: "
                       f"replace the key with a placeholder such as `<your-{namer.suggest(f)}>` by hand; "
                       f"{_revoke_text(f, rules)}", "markdown"))
            continue
        mk = masked.get(index)
        module = modules.get(index)
        if mk is None or module is None:
            why = "a cell magic makes the cell non-Python" if mk is None else "the cell does not parse as Python"
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: {why}; replace the key on line {f.location.line} by hand "
                       f"with a read of {namer.suggest(f)}; {_revoke_text(f, rules)}", "syntax-error"))
            continue
        replacements: dict[int, str] = {}
        python_items = []
        for f in cell_findings:
            line = f.location.line
            if line in mk.magic_lines:
                original = mk.originals.get(f"__keyguard_magic_{nonce}_{line - 1}__", "")
                env = _env_magic(original)
                if env is not None and f.secret.reveal() in env[2]:
                    indent, name, _ = env
                    name = namer.claim(f, name)
                    namer.use(name, f)
                    replacements[line] = (
                        f"{indent}# keyguard: {name} was set here with a literal key; set {name} "
                        f"outside the notebook (`export {name}=...` before starting Jupyter, or a "
                        "git-ignored .env file)"
                    )
                    plan.fixed.append(f)
                    fixed_secrets.add(f.secret.reveal())
                else:
                    plan.unfixable.append(Unfixable(
                        f, f"IPython magic / shell line {line} of cell {index + 1}: replace the key "
                           f"with ${namer.suggest(f)} (the shell reads it from the environment) by hand; "
                           f"{_revoke_text(f, rules)}", "magic"))
                continue
            python_items.append(
                (f, (f.location.line, f.location.column - 1, f.location.end_line, f.location.end_column - 1))
            )
        result = impl.fix_module(
            module, python_items, namer, os_access,
            add_import=os_access.needs_import or not impl.binds_os(module, os_access.name),
            rules=rules,
        )
        if result.code == mk.code and not replacements:
            plan.unfixable.extend(result.unfixable)
            continue
        new_source = _unmask(result.code, mk, replacements)
        if new_source is None:
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: could not rewrite the cell safely; replace the key by hand "
                       f"with a read of {namer.suggest(f)}", "magic"))
            plan.fixed = [f for f in plan.fixed if f not in cell_findings]
            continue
        plan.fixed.extend(result.fixed)
        plan.unfixable.extend(result.unfixable)
        fixed_secrets.update(f.secret.reveal() for f in result.fixed)
        if new_source != cell.source:
            cell.source = new_source
            changed = True

    # Outputs: any output that shows a reported secret is removed (the key is exposed there even
    # when the source was fixed, and a stale output would still leak it).
    all_values = {f.secret.reveal() for f in findings}
    cleared: set[tuple[int, int]] = set()
    for index, cell in enumerate(nb.cells):
        outs = cell.get("outputs")
        if not outs:
            continue
        keep = []
        for oi, out in enumerate(outs):
            blob = json.dumps(out, ensure_ascii=False)
            if any(v in blob for v in all_values):
                cleared.add((index, oi))
            else:
                keep.append(out)
        if len(keep) != len(outs):
            cell.outputs = keep
            changed = True
    # Identifier/notice findings that sat in a cleared output are gone too.
    for u in [u for u in plan.unfixable if u.reason == "not-a-secret"]:
        loc = u.finding.location
        if loc.part == "output" and (loc.cell, loc.output_index) in cleared:
            plan.unfixable.remove(u)
            plan.fixed.append(u.finding)
    for f in outputs:
        loc = f.location
        if (loc.cell, loc.output_index) in cleared or (
            loc.output_index is None and any(c == loc.cell for c, _ in cleared)
        ):
            plan.fixed.append(f)
        else:
            plan.unfixable.append(Unfixable(
                f, f"output of cell {(loc.cell or 0) + 1}: clear the cell's outputs by hand; "
                   f"{_revoke_text(f, rules)}", "metadata"))

    if not changed:
        return
    new_text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    if text.endswith("\n") and not new_text.endswith("\n"):
        new_text += "\n"
    if "\r\n" in text and "\r\n" not in new_text:
        new_text = new_text.replace("\n", "\r\n")
    nbformat.validate(nbformat.reads(new_text, as_version=nbformat.NO_CONVERT))
    plan.new = (codecs.BOM_UTF8 if bom else b"") + new_text.encode("utf-8")


def _cell_type(nb: Any, f: Finding) -> str | None:
    cell = f.location.cell
    return nb.cells[cell].get("cell_type") if cell is not None and 0 <= cell < len(nb.cells) else None


def _unfix(plan: FixPlan, f: Finding, instruction: str, reason: str) -> None:
    plan.unfixable.append(Unfixable(f, instruction, reason))


def _revoke_text(f: Finding, rules: RuleSet) -> str:
    return f"revoke the key at {_revoke(f, rules)}"


# --------------------------------------------------------------------------------------------
# The libcst part (imported lazily)


@dataclass
class _OsAccess:
    """How rewritten code reaches the os module: `name.environ[...]`."""

    name: str
    needs_import: bool
    asname: str | None


@dataclass
class _ModuleResult:
    code: str
    fixed: list[Finding]
    unfixable: list[Unfixable]


@cache
def _impl() -> Any:
    """Build the libcst-based machinery on first use (keeps `import libcst` off the scan path)."""
    import libcst as cst
    import libcst.matchers as m
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, ImportItem
    from libcst.metadata import (
        MetadataWrapper,
        ParentNodeProvider,
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )
    from libcst.metadata.scope_provider import GlobalScope, ImportAssignment

    class QuietAddImports(AddImportsVisitor):
        """AddImportsVisitor without its extra blank line after the import block.

        libcst inserts an empty line before the first statement after the imports (PEP 8
        style); keyguard promises that only the added import line and the rewritten
        expressions differ from the original.
        """

        def _insert_empty_line(self, statements: list[Any]) -> list[Any]:
            return statements

    string_types = (cst.SimpleString, cst.FormattedString, cst.FormattedStringText, cst.ConcatenatedString)

    def os_access(modules: Sequence[cst.Module]) -> _OsAccess:
        """Pick how to spell `os` so no existing binding is shadowed (see module docstring)."""
        bound_other: set[str] = set()  # names bound to anything but an `import os`
        os_imports: set[str] = set()  # names bound by a module-level `import os[ as X]`
        identifiers: set[str] = set()
        for module in modules:
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
            scopes = {s for s in wrapper.resolve(ScopeProvider).values() if s is not None}
            for scope in scopes:
                for assignment in scope.assignments:
                    name = assignment.name
                    identifiers.add(name.split(".")[0])
                    if (
                        isinstance(scope, GlobalScope)
                        and isinstance(assignment, ImportAssignment)
                        and isinstance(assignment.node, cst.Import)
                        and _imports_os_as(assignment.node, name)
                    ):
                        if "." not in name:
                            os_imports.add(name)
                    else:
                        bound_other.add(name.split(".")[0])
            for node in m.findall(module, m.Name()):
                identifiers.add(node.value)
        usable = sorted(os_imports - bound_other)
        if "os" in usable:
            return _OsAccess("os", False, None)
        if usable:
            return _OsAccess(usable[0], False, None)
        if "os" not in bound_other:
            return _OsAccess("os", True, None)
        alias, n = "_os", 1
        while alias in identifiers:
            n += 1
            alias = f"_os{n}"
        return _OsAccess(alias, True, alias)

    def _imports_os_as(node: cst.Import, name: str) -> bool:
        for alias in node.names:
            dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                asname = alias.asname.name
                if isinstance(asname, cst.Name) and asname.value == name and dotted == "os":
                    return True
            elif dotted.split(".")[0] == "os" and name in (dotted, "os"):
                # `import os` and `import os.path` both bind the os module to `os`.
                return True
        return False

    def binds_os(module: cst.Module, name: str) -> bool:
        """True if this module (cell) itself imports os under `name` at top level."""
        for stmt in module.body:
            if m.matches(stmt, m.SimpleStatementLine(body=[m.Import()])):
                for small in stmt.body:
                    if isinstance(small, cst.Import) and _imports_os_as(small, name):
                        return True
        return False

    def quote_of(literal: str) -> str:
        body = literal.lstrip("rRbBuUfF")
        return body[:3] if body[:3] in ('"""', "'''") else body[:1]

    def env_subscript(os_name: str, env: str, quote: str) -> str:
        q = "'" if quote == "'" else '"'
        return f"{os_name}.environ[{q}{env}{q}]"

    def env_get(os_name: str, env: str, quote: str) -> str:
        q = "'" if quote == "'" else '"'
        return f"{os_name}.environ.get({q}{env}{q})"

    def occurrences(text: str, value: str, raw: bool) -> list[int] | None:
        """Start offsets of `value` in literal source text; None if one is escape-affected."""
        found, start = [], 0
        while (i := text.find(value, start)) >= 0:
            if not raw:
                backslashes = len(text[:i]) - len(text[:i].rstrip("\\"))
                if backslashes % 2:
                    return None
            found.append(i)
            start = i + len(value)
        return found

    def fstring_from_simple(node: cst.SimpleString, pieces: list[tuple[str, str]], os_name: str) -> str | None:
        """Source of an f-string equal to `node` with each secret -> {os.environ['ENV']}.

        `pieces` are (secret, env) pairs. None when the literal cannot be converted safely.
        """
        literal = node.value
        quote = quote_of(literal)
        prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
        if "b" in prefix.lower() or "f" in prefix.lower():
            return None
        raw = "r" in prefix.lower()
        body = literal[len(prefix) + len(quote): len(literal) - len(quote)]
        if not raw and "\\N{" in body:
            return None  # \N{...} escapes contain braces that must not be doubled
        spans: list[tuple[int, int, str]] = []
        for value, env in pieces:
            offs = occurrences(body, value, raw)
            if not offs:
                return None
            spans += [(o, o + len(value), env) for o in offs]
        spans.sort()
        inner = "'" if quote[0] == '"' else '"'
        out, pos = [], 0
        for start, end, env in spans:
            if start < pos:
                return None
            out.append(body[pos:start].replace("{", "{{").replace("}", "}}"))
            out.append("{" + f"{os_name}.environ[{inner}{env}{inner}]" + "}")
            pos = end
        out.append(body[pos:].replace("{", "{{").replace("}", "}}"))
        new_prefix = ("r" if "r" in prefix else "R" if "R" in prefix else "") + "f"
        return f"{new_prefix}{quote}{''.join(out)}{quote}"

    class Rewriter(cst.CSTTransformer):
        def __init__(self, replace: dict[int, Any], drop_arg: dict[int, int], remove: set[int], split: dict[int, list[Any]]) -> None:
            super().__init__()
            self.replace = replace
            self.drop_arg = drop_arg
            self.remove = remove
            self.split = split
            self.dropped: set[int] = set()

        def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> Any:
            new = self.replace.get(id(original))
            if new is None:
                return updated
            # Keep the literal's parentheses: `("<key>")` -> `(os.environ["X"])`.
            return new.with_changes(lpar=updated.lpar, rpar=updated.rpar)

        def leave_FormattedStringText(self, original: cst.FormattedStringText, updated: cst.FormattedStringText) -> Any:
            parts = self.split.get(id(original))
            return cst.FlattenSentinel(parts) if parts is not None else updated

        def leave_Call(self, original: cst.Call, updated: cst.Call) -> Any:
            index = self.drop_arg.get(id(original))
            if index is None:
                return updated
            args = list(updated.args)
            del args[index]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=args)

        def _filter_small(self, original: Any, updated: Any) -> list[Any]:
            keep = [
                new for old, new in zip(original.body, updated.body, strict=True)
                if id(old) not in self.remove
            ]
            if keep and len(keep) != len(updated.body):
                keep[-1] = keep[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            return keep

        def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine) -> Any:
            if not any(id(s) in self.remove for s in original.body):
                return updated
            keep = self._filter_small(original, updated)
            if keep:
                return updated.with_changes(body=keep)
            line = updated.with_changes(body=[cst.Pass()])
            self.dropped.add(id(line))
            return line

        def leave_SimpleStatementSuite(self, original: cst.SimpleStatementSuite, updated: cst.SimpleStatementSuite) -> Any:
            if not any(id(s) in self.remove for s in original.body):
                return updated
            return updated.with_changes(body=self._filter_small(original, updated) or [cst.Pass()])

        def _drop(self, body: Sequence[Any], footer: Sequence[Any]) -> tuple[list[Any], list[Any]] | None:
            if not any(id(s) in self.dropped for s in body):
                return None
            out: list[Any] = []
            carry: list[Any] = []
            for stmt in body:
                if id(stmt) in self.dropped:
                    carry += list(stmt.leading_lines)
                    continue
                if carry:
                    stmt = stmt.with_changes(leading_lines=[*carry, *stmt.leading_lines])
                    carry = []
                out.append(stmt)
            return out, [*carry, *footer]

        def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> Any:
            dropped = self._drop(updated.body, updated.footer)
            if dropped is None:
                return updated
            body, footer = dropped
            if not body:
                # Keep one `pass` so the block stays valid; its comments stay with it.
                first = next(s for s in updated.body if id(s) in self.dropped)
                return updated.with_changes(body=[first])
            return updated.with_changes(body=body, footer=footer)

        def leave_Module(self, original: cst.Module, updated: cst.Module) -> Any:
            dropped = self._drop(updated.body, updated.footer)
            if dropped is None:
                return updated
            body, footer = dropped
            return updated.with_changes(body=body, footer=footer)

    def innermost(ranges: dict[Any, Any], line: int, col: int, end_line: int, end_col: int) -> Any:
        best, best_key = None, None
        for node, rng in ranges.items():
            if (rng.start.line, rng.start.column) <= (line, col) and (end_line, end_col) <= (rng.end.line, rng.end.column):
                key = (rng.start.line, rng.start.column, -rng.end.line, -rng.end.column)
                if best_key is None or key > best_key:
                    best, best_key = node, key
        return best

    def qnames(qn: Any, node: Any) -> set[str]:
        value = qn.get(node, ())
        if callable(value):  # LazyValue: QualifiedNameProvider resolves on demand
            value = value()
        return {q.name for q in value}

    def fix_module(
        module: cst.Module,
        items: list[tuple[Finding, tuple[int, int, int, int]]],
        namer: _EnvNamer,
        access: _OsAccess,
        *,
        add_import: bool,
        rules: RuleSet,
    ) -> _ModuleResult:
        """Rewrite the literals of `items` (finding, (line, col0, end_line, end_col0)) in `module`."""
        wrapper = MetadataWrapper(module)
        positions = wrapper.resolve(PositionProvider)
        parents = wrapper.resolve(ParentNodeProvider)
        qn = wrapper.resolve(QualifiedNameProvider)
        tree = wrapper.module
        strings = {n: r for n, r in positions.items() if isinstance(n, string_types)}
        comments = {n: r for n, r in positions.items() if isinstance(n, cst.Comment)}
        os_name = access.name

        fixed: list[Finding] = []
        unfixable: list[Unfixable] = []
        pending: list[tuple[Finding, str, str]] = []  # not placed yet: (finding, instruction, reason)
        replace: dict[int, Any] = {}
        split: dict[int, list[Any]] = {}
        drop_arg: dict[int, int] = {}
        remove: set[int] = set()
        partial: dict[int, tuple[Any, list[tuple[str, str]], list[Finding]]] = {}
        keep_alive: list[Any] = []
        needs_os = False
        code_lines = tree.code.splitlines()

        def revoke(f: Finding) -> str:
            return _revoke_text(f, rules)

        def env_write(node: Any) -> tuple[Any, str | None] | None:
            """(statement to remove, env name) when `node` is the value of an env write."""
            parent = parents.get(node)
            if isinstance(parent, cst.Assign) and parent.value is node:
                for target in parent.targets:
                    t = target.target
                    if isinstance(t, cst.Subscript) and "os.environ" in qnames(qn, t.value):
                        key = t.slice[0].slice if len(t.slice) == 1 else None
                        name = None
                        if isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString):
                            name = key.value.evaluated_value if isinstance(key.value.evaluated_value, str) else None
                        return parent, name
            if isinstance(parent, cst.Arg):
                call = parents.get(parent)
                if isinstance(call, cst.Call):
                    names = qnames(qn, call.func)
                    if names & {"os.environ.setdefault", "os.putenv", "os.environ.update"} and (
                        list(call.args).index(parent) == 1 or "os.environ.update" in names
                    ):
                        first = call.args[0].value if call.args else None
                        name = first.evaluated_value if isinstance(first, cst.SimpleString) else None
                        stmt = parents.get(call)
                        return (stmt if isinstance(stmt, cst.Expr) else call), (name if isinstance(name, str) else None)
            if isinstance(parent, (cst.DictElement, cst.Dict)):
                d = parent if isinstance(parent, cst.Dict) else parents.get(parent)
                arg = parents.get(d)
                call = parents.get(arg) if isinstance(arg, cst.Arg) else None
                if isinstance(call, cst.Call) and qnames(qn, call.func) & {"os.environ.update"}:
                    return call, None
            return None

        for f, (line, col, end_line, end_col) in items:
            value = f.secret.reveal()
            node = innermost(strings, line, col, end_line, end_col)
            if isinstance(node, (cst.SimpleString, cst.FormattedStringText)) and value not in _node_text(node):
                node = None
            if node is None:
                # Positions may be off (e.g. byte columns): any literal on that line holding it.
                candidates = [
                    n for n, r in strings.items()
                    if r.start.line <= line <= r.end.line and value in _node_text(n)
                ]
                node = min(candidates, key=lambda n: len(_node_text(n))) if candidates else None
            if node is None:
                comment = next(
                    (c for c, r in comments.items() if r.start.line == line and value in c.value), None
                )
                if comment is not None:
                    pending.append((f, f"the key is in a comment (line {line}): delete it from the comment by hand; {revoke(f)}", "comment"))
                elif 0 < line <= len(code_lines) and value in code_lines[line - 1]:
                    pending.append((f, f"the key on line {line} is not in a string literal keyguard can rewrite: replace it by hand with a read of {namer.suggest(f)}; {revoke(f)}", "not-a-literal"))
                else:
                    pending.append((f, f"line {line} does not hold a string literal with this key (the code is not a literal there, or changed since the scan): read it from {namer.suggest(f)} by hand", "not-a-literal"))
                continue

            if isinstance(node, cst.ConcatenatedString):
                pending.append((f, f"the key on line {line} is split over several concatenated string parts: replace the whole expression by hand with {env_subscript(os_name, namer.suggest(f), chr(34))}; {revoke(f)}", "split-string"))
                continue
            if isinstance(node, cst.FormattedString):
                pending.append((f, f"the key on line {line} is only partly in the f-string's literal text: rewrite the f-string by hand to read {namer.suggest(f)} from os.environ; {revoke(f)}", "partial-fstring"))
                continue

            write = env_write(node)
            if write is not None:
                stmt, name = write
                if isinstance(stmt, (cst.Assign, cst.Expr)) and not (
                    isinstance(stmt, cst.Expr) and "os.environ.update" in qnames(qn, stmt.value.func)
                ):
                    env = namer.claim(f, name) if name else namer.env_for(f)
                    remove.add(id(stmt))
                    keep_alive.append(stmt)
                    namer.use(env, f)
                    fixed.append(f)
                else:
                    env = name or namer.env_for(f)
                    pending.append((f, f"line {line} writes the key into the environment: delete that entry by hand and set {env} outside the code (`export {env}=...` or a git-ignored .env file); {revoke(f)}", "not-a-literal"))
                continue

            if isinstance(node, cst.FormattedStringText):
                env = namer.env_for(f)
                entry = partial.setdefault(id(node), (node, [], []))
                if (value, env) not in entry[1]:
                    entry[1].append((value, env))
                entry[2].append(f)
                continue

            # A SimpleString holding the key.
            parent = parents.get(node)
            prefix = node.prefix.lower()
            if "b" in prefix:
                pending.append((f, f"the key on line {line} is in a bytes literal: replace it by hand with os.environb[b\"{namer.suggest(f)}\"]; {revoke(f)}", "bytes"))
                continue
            if isinstance(parent, cst.Expr):
                pending.append((f, f"the key on line {line} is in a docstring or string statement: replace it with a placeholder such as `<your-{namer.suggest(f)}>` by hand; {revoke(f)}", "docstring"))
                continue
            try:
                evaluated = node.evaluated_value
            except Exception:
                evaluated = None
            if evaluated == value and not isinstance(parent, cst.ConcatenatedString):
                arg = parent if isinstance(parent, cst.Arg) else None
                call = parents.get(arg) if arg is not None else None
                if (
                    isinstance(call, cst.Call)
                    and qnames(qn, call.func) & {"os.getenv", "os.environ.get"}
                    and len(call.args) == 2
                    and call.args[1] is arg
                    and arg.keyword is None
                ):
                    drop_arg[id(call)] = 1  # os.getenv("X", "<key>") -> os.getenv("X")
                    keep_alive.append(call)
                    first = call.args[0].value
                    if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
                        env = namer.claim(f, first.evaluated_value)
                    namer.use(env, f)
                    fixed.append(f)
                    continue
                env = namer.env_for(f)
                if id(node) not in replace:
                    quote = quote_of(node.value)
                    if isinstance(parent, cst.Param) and parent.default is node:
                        text = env_get(os_name, env, quote)
                    else:
                        text = env_subscript(os_name, env, quote)
                    replace[id(node)] = cst.parse_expression(text)
                    keep_alive.append(node)
                namer.use(env, f)
                needs_os = True
                fixed.append(f)
                continue
            env = namer.env_for(f)
            entry = partial.setdefault(id(node), (node, [], []))
            if (value, env) not in entry[1]:
                entry[1].append((value, env))
            entry[2].append(f)

        for node, pieces, fs in partial.values():
            line = positions[node].start.line
            if isinstance(node, cst.SimpleString):
                text = fstring_from_simple(node, pieces, os_name)
                expr = None
                if text is not None:
                    try:
                        expr = cst.parse_expression(text)
                    except cst.ParserSyntaxError:
                        expr = None
                if expr is None:
                    for f in fs:
                        pending.append((f, f"the key on line {line} sits in a string keyguard cannot convert safely (escapes around it): replace it by hand with a read of {namer.suggest(f)}; {revoke(f)}", "escaped"))
                    continue
                replace[id(node)] = expr
            else:
                fstr = parents.get(node)
                quote = fstr.start[-1] if isinstance(fstr, cst.FormattedString) else '"'
                inner = "'" if quote == '"' else '"'
                spans = []
                for value, env in pieces:
                    spans += [(o, o + len(value), env) for o in (occurrences(node.value, value, True) or [])]
                spans.sort()
                parts: list[Any] = []
                pos = 0
                for start, end, env in spans:
                    if node.value[pos:start]:
                        parts.append(cst.FormattedStringText(node.value[pos:start]))
                    parts.append(cst.FormattedStringExpression(
                        cst.parse_expression(f"{os_name}.environ[{inner}{env}{inner}]")))
                    pos = end
                if node.value[pos:]:
                    parts.append(cst.FormattedStringText(node.value[pos:]))
                split[id(node)] = parts
            keep_alive.append(node)
            for f in fs:
                namer.use(namer.env_for(f), f)
            needs_os = True
            fixed.extend(fs)

        fixed_values = {f.secret.reveal() for f in fixed}
        for f, instruction, reason in pending:
            if reason == "not-a-literal" and f.secret.reveal() in fixed_values and "writes the key" not in instruction:
                fixed.append(f)  # e.g. reported at a use of a constant whose literal was rewritten
            else:
                unfixable.append(Unfixable(f, instruction, reason))

        if not (replace or split or drop_arg or remove):
            return _ModuleResult(module.code, fixed=[], unfixable=unfixable)
        new = tree.visit(Rewriter(replace, drop_arg, remove, split))
        if needs_os and add_import:
            ctx = CodemodContext()
            # Bind exactly the name the rewritten code uses (`os`, or an alias such as `_os`).
            item = ImportItem("os", None, None if os_name == "os" else os_name)
            new = QuietAddImports(ctx, [item]).transform_module(new)
        return _ModuleResult(new.code, fixed, unfixable)

    def _node_text(node: Any) -> str:
        if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
            return node.value
        if isinstance(node, cst.Comment):
            return node.value
        return cst.Module(body=[]).code_for_node(node)

    return _Namespace(
        cst=cst,
        os_access=os_access,
        binds_os=binds_os,
        fix_module=fix_module,
    )


class _Namespace:
    """Attribute bag for the lazily built libcst helpers."""

    def __init__(self, **kwargs: Callable[..., Any] | Any) -> None:
        self.__dict__.update(kwargs)
