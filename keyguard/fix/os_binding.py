"""How rewritten code spells the os module, so that the name is bound before it is used.

An existing `import os` / `import os as X` is reused only when it is a statement of the
module itself (not inside an `if`, `try`, `with`, function or class: those may not run, or bind
a local), it comes before the first rewritten literal, and nothing anywhere binds that name to
anything else. Otherwise an `import os` is added to the module's import block; when `os` is
bound to something else anywhere, `import os as _os` is added instead, because rebinding the
user's `os` would change their code. A function-local `import os` is harmless (it binds the
same module) but never reused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from keyguard.fix.pytree import Walk


@dataclass
class OsAccess:
    """How rewritten code reaches the os module: `name.environ[...]`.

    needs_import: an import binding `name` must be added. asname: the alias to import as
    (None for a plain `import os`). names: every name known to refer to the os module.
    """

    name: str
    needs_import: bool
    asname: str | None
    names: frozenset[str] = frozenset({"os"})


def os_access(walks: Sequence[Walk], texts: Sequence[str], first_use: int | None,
              *, own: Walk | None = None) -> OsAccess:
    """Pick how to spell `os` across modules sharing one namespace (a notebook's cells).

    `first_use`: offset of the first literal to rewrite in `own` (the module being fixed; by
    default the only one). Only `own`'s module-level imports before it are reused.
    """
    own = own if own is not None else (walks[0] if walks else None)
    bound_other: set[str] = set()
    os_names: set[str] = set()
    for w in walks:
        bound_other |= w.bound_other
        os_names |= {name for name, _, _ in w.os_imports}
    os_names -= bound_other
    reusable = sorted({
        name for name, offset, top in (own.os_imports if own is not None else [])
        if top and name not in bound_other and (first_use is None or offset < first_use)
    })
    names = frozenset(os_names | ({"os"} if "os" not in bound_other else set()))
    if "os" in reusable:
        return OsAccess("os", False, None, names)
    if reusable:
        return OsAccess(reusable[0], False, None, names)
    if "os" not in bound_other:
        return OsAccess("os", True, None, names)
    alias, n = "_os", 1
    taken = re.compile(r"\b_os\d*\b")
    used = {m.group(0) for t in texts for m in taken.finditer(t)}
    while alias in used:
        n += 1
        alias = f"_os{n}"
    return OsAccess(alias, True, alias, names | {alias})
