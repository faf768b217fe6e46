"""Planning the fix of a Jupyter notebook: its code cells through the codemod, `%env` magics,
outputs that show a key, and the write-back with nbformat (same version, metadata, cell ids)."""

from __future__ import annotations

import codecs
import secrets
from typing import Any

from keyguard.documents import Document
from keyguard.fix.cell_outputs import clear_outputs
from keyguard.fix.env_names import EnvNamer
from keyguard.fix.instructions import revoke_text
from keyguard.fix.magics import Masked, env_magic, marker, mask_cell, unmask
from keyguard.fix.records import FixPlan, Unfixable, unfix
from keyguard.model import Finding
from keyguard.rulepack import RuleSet


def plan_notebook(
    plan: FixPlan,
    raw: bytes,
    document: Document,
    findings: list[Finding],
    namer: EnvNamer,
    rules: RuleSet,
) -> None:
    """Fill `plan` for a notebook whose bytes as read are `raw`."""
    import nbformat  # here, not at the top: scanning never pays for nbformat

    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        text = raw[len(codecs.BOM_UTF8):].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError:
        unfix(plan, findings, "the notebook is not valid UTF-8; left untouched", "undecodable")
        return
    if text != document.raw_text:
        unfix(plan, findings, "the notebook changed since it was scanned; run the scan again", "changed")
        return
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # nbformat raises many types for bad JSON / schema
        unfix(plan, findings, f"the notebook cannot be read by nbformat ({type(exc).__name__}); left untouched", "syntax-error")
        return
    if nb.get("nbformat", 0) < 4:
        # v3 keeps cells in worksheets; converting would rewrite the whole file, and the fix
        # must keep the notebook's format.
        unfix(plan, findings, f"nbformat {nb.get('nbformat')} notebook: open and save it in a current Jupyter "
                              "(nbformat 4) and run --fix again, or remove the key by hand", "old-format")
        return

    language = _kernel_language(nb)
    if language not in ("python", "python3", "ipython", "ipython3"):
        # An R or Julia cell can parse as Python; rewriting it into os.environ would be wrong.
        kept = []
        for f in findings:
            if f.location.part == "source" and _cell_type(nb, f) == "code":
                unfix(plan, [f], f"code cell {(f.location.cell or 0) + 1} runs in a {language} kernel: "
                                 "keyguard rewrites Python only; read the key from the environment "
                                 f"by hand; {revoke_text(f, rules)}", "not-a-literal")
            else:
                kept.append(f)  # outputs are still cleared, Markdown still reported
        findings = kept

    by_cell: dict[int, list[Finding]] = {}
    outputs: list[Finding] = []
    for f in findings:
        loc = f.location
        if loc.cell is None or not (0 <= loc.cell < len(nb.cells)):
            plan.unfixable.append(Unfixable(
                f, f"notebook metadata: delete the key from line {loc.raw_line} of the notebook "
                   f"by hand (e.g. edit the JSON); {revoke_text(f, rules)}", "metadata"))
        elif loc.part == "output":
            outputs.append(f)
        elif loc.part == "source":
            by_cell.setdefault(loc.cell, []).append(f)
        else:
            plan.unfixable.append(Unfixable(
                f, f"cell {loc.cell + 1} metadata: delete the key from the cell metadata by hand; "
                   f"{revoke_text(f, rules)}", "metadata"))

    changed = _fix_sources(plan, nb, by_cell, namer, rules)
    # Outputs: cleared even when the source was fixed, since a stale output still shows the key.
    changed = clear_outputs(plan, nb, findings, outputs, rules) or changed
    if not changed:
        return
    new_text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    if text.endswith("\n") and not new_text.endswith("\n"):
        new_text += "\n"
    if "\r\n" in text and "\r\n" not in new_text:
        new_text = new_text.replace("\n", "\r\n")
    nbformat.validate(nbformat.reads(new_text, as_version=nbformat.NO_CONVERT))
    plan.new = (codecs.BOM_UTF8 if bom else b"") + new_text.encode("utf-8")


def _fix_sources(
    plan: FixPlan,
    nb: Any,
    by_cell: dict[int, list[Finding]],
    namer: EnvNamer,
    rules: RuleSet,
) -> bool:
    """Rewrite the cells of `by_cell` (cell index -> its source findings); True if one changed."""
    import libcst as cst

    from keyguard.fix.codemod import fix_module
    from keyguard.fix.os_binding import binds_os, os_access

    nonce = secrets.token_hex(4)
    # One `os` decision for the whole notebook: cells share one namespace.
    masked: dict[int, Masked | None] = {}
    modules: dict[int, Any] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        mk = mask_cell(cell.source, nonce)
        masked[index] = mk
        if mk is None:
            continue
        try:
            modules[index] = cst.parse_module(mk.code)
        except cst.ParserSyntaxError:
            modules[index] = None
    access = os_access([m for m in modules.values() if m is not None])

    changed = False
    for index in sorted(by_cell):
        cell = nb.cells[index]
        cell_findings = by_cell[index]
        if cell.get("cell_type") != "code":
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"{cell.get('cell_type', 'non-code')} cell {index + 1}, line {f.location.line}: "
                       f"replace the key with a placeholder such as `<your-{namer.suggest(f)}>` by hand; "
                       f"{revoke_text(f, rules)}", "markdown"))
            continue
        mk = masked.get(index)
        module = modules.get(index)
        if mk is None or module is None:
            why = "a cell magic makes the cell non-Python" if mk is None else "the cell does not parse as Python"
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: {why}; replace the key on line {f.location.line} by hand "
                       f"with a read of {namer.suggest(f)}; {revoke_text(f, rules)}", "syntax-error"))
            continue
        replacements: dict[int, str] = {}
        python_findings = []
        for f in cell_findings:
            line = f.location.line
            if line not in mk.magic_lines:
                python_findings.append(f)
                continue
            env = env_magic(mk.originals.get(marker(nonce, line - 1), ""))
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
            else:
                plan.unfixable.append(Unfixable(
                    f, f"IPython magic / shell line {line} of cell {index + 1}: replace the key "
                       f"with ${namer.suggest(f)} (the shell reads it from the environment) by hand; "
                       f"{revoke_text(f, rules)}", "magic"))
        result = fix_module(
            module, python_findings, namer, access,
            add_import=access.needs_import or not binds_os(module, access.name),
            rules=rules,
        )
        if result.code == mk.code and not replacements:
            plan.unfixable.extend(result.unfixable)
            continue
        new_source = unmask(result.code, mk, replacements)
        if new_source is None:
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: could not rewrite the cell safely; replace the key by hand "
                       f"with a read of {namer.suggest(f)}", "magic"))
            plan.fixed = [f for f in plan.fixed if f not in cell_findings]
            continue
        plan.fixed.extend(result.fixed)
        plan.unfixable.extend(result.unfixable)
        if new_source != cell.source:
            cell.source = new_source
            changed = True
    return changed


def _kernel_language(nb: Any) -> str:
    meta = nb.get("metadata", {})
    return str(
        (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get("name") or "python"
    ).lower()


def _cell_type(nb: Any, f: Finding) -> str | None:
    cell = f.location.cell
    return nb.cells[cell].get("cell_type") if cell is not None and 0 <= cell < len(nb.cells) else None
