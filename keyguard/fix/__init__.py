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

libcst and nbformat are imported inside functions: scanning never pays for them. The modules
that import libcst at their top (codemod, locate, os_binding, rewriter) are themselves imported
only inside the planners' functions; importing keyguard.fix imports neither.

Modules: plan (plan_fixes, routing by kind), python_file, notebook (+ magics, cell_outputs),
codemod (+ locate, literals, os_binding, rewriter), env_names, instructions, records,
diff, disk (read, atomic write), run (fix_findings), summary.
"""

from keyguard.fix.diff import unified_diff
from keyguard.fix.disk import FileChangedError, apply
from keyguard.fix.plan import plan_fixes
from keyguard.fix.records import FixPlan, FixRun, Unfixable
from keyguard.fix.run import fix_findings
from keyguard.fix.summary import summarize

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
