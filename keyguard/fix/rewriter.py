"""Applying the decided edits to a libcst tree: replaced literals, dropped call arguments,
removed statements, and the `import os` line.

Imports libcst at module level: import this module only inside functions (see keyguard.fix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, ImportItem


class QuietAddImports(AddImportsVisitor):
    """AddImportsVisitor without its extra blank line after the import block.

    libcst inserts an empty line before the first statement after the imports (PEP 8
    style); keyguard promises that only the added import line and the rewritten
    expressions differ from the original.
    """

    def _insert_empty_line(self, statements: list[Any]) -> list[Any]:
        return statements


def add_os_import(module: cst.Module, os_name: str) -> cst.Module:
    """`module` with `import os` (or `import os as <os_name>`) where libcst places imports."""
    # Bind exactly the name the rewritten code uses (`os`, or an alias such as `_os`).
    item = ImportItem("os", None, None if os_name == "os" else os_name)
    return QuietAddImports(CodemodContext(), [item]).transform_module(module)


class Rewriter(cst.CSTTransformer):
    """Edits nodes by identity (`id()` of the original node).

    replace: SimpleString -> new expression. split: FormattedStringText -> the parts replacing
    it. drop_arg: Call -> index of the argument to delete. remove: small statements to delete
    (a line left empty becomes `pass`, then dropped from its block when the block keeps others).
    """

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
