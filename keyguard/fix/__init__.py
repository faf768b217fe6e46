"""`keyguard scan --fix / --diff`: rewrite leaked credential literals into environment reads.

For each finding of a secret rule the fixer locates the string literal holding the secret
with the stdlib `ast` (keyguard.fix.pytree says why not a whole-file libcst round trip) and
replaces that literal's span of the original text, nothing else:

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

`import os` is added only when needed, as one line in the standard-library import section where
isort/ruff put it (keyguard.fix.imports). An existing `import os` / `import os as X` is reused
only when it is a module-level statement before the first rewritten literal and nothing else
binds that name (keyguard.fix.os_binding); when `os` is bound to something else anywhere,
`import os as _os` is added instead, because rebinding the user's `os` would change their code.

Everything else is left to the user with a precise instruction (`Unfixable`): comments,
docstrings, Markdown, config and text files, keys split over several string parts, keys partly
inside an f-string expression, files with a syntax error or nested deeper than CPython's parser
accepts (left untouched; every finding still reported).

Notebooks: code cells go through the same codemod with IPython magic and shell lines masked by
unique placeholders that are put back byte for byte afterwards; `%env NAME=<key>` (and
`%set_env`, `!export NAME=<key>`) lines become a comment telling the user to set NAME outside the
notebook; outputs that contain a reported secret are removed. The notebook's JSON text is
edited in place (keyguard.fix.nbjson): only those cells' `source` and `outputs` change.

Writes (keyguard.fix.disk) are atomic, only of files a fix changed, inside the scanned paths,
keep the file mode, and refuse to overwrite a file whose bytes changed since `plan_fixes` read
it. Diffs and summaries redact keys and key-shaped words (keyguard.fix.redaction); the summary
asks git whether a commit holds a fixed key (keyguard.fix.history).

libcst is imported only to rewrite a key inside an existing f-string (keyguard.fix.fstrings);
importing keyguard.fix imports neither libcst nor nbformat.

Modules: plan (plan_fixes, routing by kind), python_file, notebook (+ nbjson, magics,
cell_outputs), codemod (+ pytree, imports, literals, fstrings, os_binding), env_names,
instructions, records, diff, redaction, history, disk (read, atomic write), run
(fix_findings), summary.
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
