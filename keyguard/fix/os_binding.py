"""How rewritten code spells the os module without shadowing any binding of the user's code.

An existing module-level `import os` / `import os as X` is reused when nothing else binds that
name; when `os` is bound to something else anywhere, `import os as _os` is added instead,
because rebinding the user's `os` would change their code.

Imports libcst at module level: import this module only inside functions (see keyguard.fix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider
from libcst.metadata.scope_provider import GlobalScope, ImportAssignment


@dataclass
class OsAccess:
    """How rewritten code reaches the os module: `name.environ[...]`."""

    name: str
    needs_import: bool
    asname: str | None


def os_access(modules: Sequence[cst.Module]) -> OsAccess:
    """Pick how to spell `os` across `modules` (one namespace, e.g. a notebook's cells)."""
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
        return OsAccess("os", False, None)
    if usable:
        return OsAccess(usable[0], False, None)
    if "os" not in bound_other:
        return OsAccess("os", True, None)
    alias, n = "_os", 1
    while alias in identifiers:
        n += 1
        alias = f"_os{n}"
    return OsAccess(alias, True, alias)


def binds_os(module: cst.Module, name: str) -> bool:
    """True if this module (cell) itself imports os under `name` at top level."""
    for stmt in module.body:
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Import()])):
            for small in stmt.body:
                if isinstance(small, cst.Import) and _imports_os_as(small, name):
                    return True
    return False


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
