"""Planning the fix of a Jupyter notebook: its code cells through the codemod, `%env` magics,
outputs that show a key, written back by editing the notebook's JSON text in place
(keyguard.fix.nbjson): only the edited cells' `source` and `outputs` change, every other byte
of the file (layout, key order, images, metadata) stays. nbformat is not needed: a notebook
that fails nbformat's validation is fixed all the same.
"""

from __future__ import annotations

import codecs
import json
import re
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
    from keyguard.fix import nbjson

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
        nb = json.loads(text)
        spans = nbjson.locate(text)
    except (ValueError, RecursionError) as exc:
        unfix(plan, findings, f"the notebook is not valid JSON ({type(exc).__name__}); left untouched: "
                              "remove the key by hand", "syntax-error")
        return
    version = nb.get("nbformat") if isinstance(nb, dict) else None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(version, int) or version < 4 or not isinstance(cells, list) or len(cells) != len(spans):
        # v3 keeps cells in worksheets; converting would rewrite the whole file, and the fix
        # must keep the notebook's format.
        shown = version if isinstance(version, int) else "unknown"
        unfix(plan, findings, f"nbformat {shown} notebook: open and save it in a current Jupyter "
                              "(nbformat 4) and run --fix again, or remove the key by hand", "old-format")
        return
    cells = [c if isinstance(c, dict) else {} for c in cells]

    language = _kernel_language(nb)
    if language not in ("python", "python3", "ipython", "ipython3"):
        # An R or Julia cell can parse as Python; rewriting it into os.environ would be wrong.
        kept = []
        for f in findings:
            if f.location.part == "source" and _cell_type(cells, f) == "code":
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
        if loc.cell is None or not (0 <= loc.cell < len(cells)):
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

    new_sources = _fix_sources(plan, cells, by_cell, namer, rules)
    # Outputs: cleared even when the source was fixed, since a stale output still shows the key.
    cleared = clear_outputs(plan, cells, findings, outputs, rules)
    edits: list[tuple[int, int, str]] = []
    for index, new_source in new_sources.items():
        span = spans[index].source
        if span is None:
            continue
        edits.append((span[0], span[1], nbjson.render_source(text[span[0]:span[1]], new_source)))
    for index in sorted({c for c, _ in cleared}):
        cell_spans = spans[index]
        if cell_spans.outputs is None:
            continue
        a, b = cell_spans.outputs
        relative = [(x - a, y - a) for x, y in cell_spans.output_items]
        drop = {o for c, o in cleared if c == index}
        edits.append((a, b, nbjson.remove_items(text[a:b], relative, drop)))
    if not edits:
        return
    new_text = _apply(text, edits)
    if not _check(new_text, cells, new_sources, cleared):
        fixed_here = set(map(id, plan.fixed))
        plan.fixed = []
        for f in findings:
            if id(f) in fixed_here:
                plan.unfixable.append(Unfixable(
                    f, "the notebook could not be edited safely; left untouched: remove the key by hand "
                       f"(internal check failed, please report); {revoke_text(f, rules)}", "syntax-error"))
        return
    plan.new = (codecs.BOM_UTF8 if bom else b"") + new_text.encode("utf-8")


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for a, b, new in sorted(edits):
        out += [text[pos:a], new]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _check(new_text: str, cells: list[dict[str, Any]], sources: dict[int, str],
           cleared: set[tuple[int, int]]) -> bool:
    """The edited JSON parses, the edited cells hold what was meant, nothing else moved."""
    from keyguard.fix.nbjson import source_text

    try:
        after = json.loads(new_text)["cells"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return False
    if not isinstance(after, list) or len(after) != len(cells):
        return False
    for index, (old, new) in enumerate(zip(cells, after, strict=True)):
        if not isinstance(new, dict):
            return False
        want = sources.get(index)
        if source_text(new.get("source")) != (want if want is not None else source_text(old.get("source"))):
            return False
        outs = old.get("outputs")
        if isinstance(outs, list):
            kept = [o for i, o in enumerate(outs) if (index, i) not in cleared]
            if new.get("outputs") != kept:
                return False
    return True


def _fix_sources(
    plan: FixPlan,
    cells: list[dict[str, Any]],
    by_cell: dict[int, list[Finding]],
    namer: EnvNamer,
    rules: RuleSet,
) -> dict[int, str]:
    """Rewrite the cells of `by_cell` (cell index -> its source findings): index -> new source."""
    from keyguard.fix.codemod import Prepared, fix_module, prepare
    from keyguard.fix.nbjson import source_text
    from keyguard.fix.os_binding import os_access
    from keyguard.fix.pytree import NotParsed, parse

    nonce = secrets.token_hex(4)
    # One `os` decision for the whole notebook: cells share one namespace.
    masked: dict[int, Masked | None] = {}
    preps: dict[int, Prepared | None] = {}
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = source_text(cell.get("source"))
        if index not in by_cell and not _NAMES_OS.search(source):
            continue  # nothing to fix and no `os` binding to know of: no parse needed
        mk = mask_cell(source, nonce)
        masked[index] = mk
        if mk is None:
            continue
        try:
            tree = parse(mk.code)
        except NotParsed:
            preps[index] = None
            continue
        cell_findings = [f for f in by_cell.get(index, []) if f.location.line not in mk.magic_lines]
        preps[index] = prepare(mk.code, tree, cell_findings)
    walks = [p.walk for p in preps.values() if p is not None]
    texts = [p.source.text for p in preps.values() if p is not None]

    new_sources: dict[int, str] = {}
    for index in sorted(by_cell):
        cell = cells[index]
        cell_findings = by_cell[index]
        if cell.get("cell_type") != "code":
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"{cell.get('cell_type', 'non-code')} cell {index + 1}, line {f.location.line}: "
                       f"replace the key with a placeholder such as `<your-{namer.suggest(f)}>` by hand; "
                       f"{revoke_text(f, rules)}", "markdown"))
            continue
        mk = masked.get(index)
        prep = preps.get(index)
        if mk is None or prep is None:
            why = "a cell magic makes the cell non-Python" if mk is None else "the cell does not parse as Python"
            for f in cell_findings:
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: {why}; replace the key on line {f.location.line} by hand "
                       f"with a read of {namer.suggest(f)}; {revoke_text(f, rules)}", "syntax-error"))
            continue
        replacements: dict[int, str] = {}
        python_findings = []
        magic_fixed: list[Finding] = []
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
                magic_fixed.append(f)
            else:
                plan.unfixable.append(Unfixable(
                    f, f"IPython magic / shell line {line} of cell {index + 1}: replace the key "
                       f"with ${namer.suggest(f)} (the shell reads it from the environment) by hand; "
                       f"{revoke_text(f, rules)}", "magic"))
        # Cells may run in any order: the cell itself binds the name before its first use.
        access = os_access(walks, texts, prep.first_use, own=prep.walk)
        result = fix_module(
            prep, python_findings, namer, access, add_import=access.needs_import, rules=rules,
            skip_imports=frozenset(mk.originals),
        )
        if result.code == mk.code and not replacements:
            plan.unfixable.extend(result.unfixable)
            continue
        new_source = unmask(result.code, mk, replacements)
        if new_source is None:
            for f in cell_findings:
                if f in plan.unfixable:
                    continue
                plan.unfixable.append(Unfixable(
                    f, f"cell {index + 1}: could not rewrite the cell safely; replace the key by hand "
                       f"with a read of {namer.suggest(f)}", "magic"))
            continue
        plan.fixed.extend(magic_fixed)
        plan.fixed.extend(result.fixed)
        plan.unfixable.extend(result.unfixable)
        if new_source != source_text(cell.get("source")):
            new_sources[index] = new_source
    return new_sources


_NAMES_OS = re.compile(r"(?<![\w.])_?os\d*\b")


def _kernel_language(nb: Any) -> str:
    meta = nb.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    spec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
    info = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
    return str(spec.get("language") or info.get("name") or "python").lower()


def _cell_type(cells: list[dict[str, Any]], f: Finding) -> str | None:
    cell = f.location.cell
    return cells[cell].get("cell_type") if cell is not None and 0 <= cell < len(cells) else None
