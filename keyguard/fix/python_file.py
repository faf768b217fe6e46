"""Planning the fix of a Python file: decode it per PEP 263, run the codemod, re-encode it."""

from __future__ import annotations

import ast
import io
import tokenize

from keyguard.documents import Document
from keyguard.fix.env_names import EnvNamer
from keyguard.fix.records import FixPlan, unfix
from keyguard.model import Finding
from keyguard.rulepack import RuleSet


def plan_python(
    plan: FixPlan,
    raw: bytes,
    document: Document,
    findings: list[Finding],
    namer: EnvNamer,
    rules: RuleSet,
) -> None:
    """Fill `plan` for a Python source file whose bytes as read are `raw`."""
    from keyguard.fix.codemod import fix_module, prepare
    from keyguard.fix.os_binding import os_access
    from keyguard.fix.pytree import NotParsed, parse

    try:
        text, encoding = _decode_python(raw)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        unfix(
            plan, findings,
            f"the file cannot be decoded ({exc}); it was left untouched: replace the key by hand "
            "with an os.environ[...] read",
            "undecodable",
        )
        return
    plan.encoding = encoding
    if encoding in ("utf-8", "utf-8-sig") and text != document.raw_text:
        unfix(
            plan, findings,
            "the file changed since it was scanned; it was left untouched: run the scan again",
            "changed",
        )
        return
    try:
        tree = parse(text)
    except NotParsed as exc:
        if exc.line is not None:
            unfix(
                plan, findings,
                f"the file has a {exc.reason}; it was left untouched: fix the syntax "
                "error and run `keyguard scan --fix` again, or replace the key by hand with an "
                "os.environ[...] read",
                "syntax-error",
            )
        else:
            unfix(
                plan, findings,
                f"not fixable: {exc.reason}; the file was left untouched (every finding is "
                "still reported): replace the key by hand with an os.environ[...] read",
                "too-deep",
            )
        return
    prep = prepare(text, tree, findings)
    access = os_access([prep.walk], [text], prep.first_use)
    result = fix_module(prep, findings, namer, access, add_import=access.needs_import, rules=rules)
    plan.fixed.extend(result.fixed)
    plan.unfixable.extend(result.unfixable)
    if result.code != text:
        # The output must still be Python before anything is written.
        try:
            compile(result.code, document.path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # a codemod bug: never written
            plan.fixed.clear()
            plan.unfixable[:] = [u for u in plan.unfixable if u.finding not in findings]
            unfix(plan, findings, "internal error: the rewrite did not parse; left untouched (please report)", "syntax-error")
            return
        try:
            plan.new = result.code.encode(encoding)
        except UnicodeEncodeError:
            plan.new = None
            plan.fixed.clear()
            unfix(plan, findings, "the fix cannot be encoded in the file's encoding; left untouched", "undecodable")


def _decode_python(data: bytes) -> tuple[str, str]:
    """Decode Python source bytes per PEP 263 (BOM / coding cookie). UnicodeError/SyntaxError."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding
