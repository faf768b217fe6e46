"""keyguard.read.notebook: notebook JSON -> segments with raw line mapping and masked IPython.

Notebooks are built at run time with nbformat; fake keys come from keyguard.rulepack.fakes.FakeKeys.
The labeled and real corpus under shared/ are used when present.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import nbformat
import nbformat.reader
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat import v3
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from keyguard.read.documents import Document, Segment, read_document
from keyguard.read.notebook import mask_ipython, read_notebook
from keyguard.rulepack.fakes import FakeKeys

ROOT_DIR = Path(__file__).resolve().parents[1]
SHARED = ROOT_DIR.parent / "shared"
CORPUS = SHARED / "corpus"
LABELED = CORPUS / "labeled"
needs_corpus = pytest.mark.skipif(
    not (LABELED / "LABELS.json").is_file(),
    reason=f"labeled corpus not found at {LABELED} (shared/ sits beside the repository)",
)


def corpus_notebooks() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    real = sorted((CORPUS / "real").rglob("*.ipynb"))
    return real + sorted((LABELED / "lab-notebooks").glob("*.ipynb"))


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def raw_line_of(text: str, needle: str) -> int:
    """1-based line of the raw text holding `needle` (which must occur exactly once)."""
    hits = [n for n, line in enumerate(text.split("\n"), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def segment_line_of(segment: Segment, needle: str) -> int:
    hits = [n for n, line in enumerate(segment.text.split("\n"), 1) if needle in line]
    assert len(hits) == 1, hits
    return hits[0]


def only(segments: list[Segment], **fields: Any) -> Segment:
    found = [s for s in segments if all(getattr(s, k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, found)
    return found[0]


def assert_maps(doc: Document, segment: Segment, secret: str) -> None:
    """The secret's segment line maps to the raw line (and column) where it is written."""
    line = segment_line_of(segment, secret)
    raw = raw_line_of(doc.raw_text, secret)
    assert segment.raw_line(line) == raw
    column = segment.text.split("\n")[line - 1].index(secret) + 1
    raw_line, raw_column = doc.raw_position(segment, line, column, secret)
    assert (raw_line, raw_column) == (raw, doc.raw_text.split("\n")[raw - 1].index(secret) + 1)


def check_invariants(doc: Document) -> None:
    """Shape every notebook document must have, whatever its content."""
    assert doc.kind == "notebook"
    for segment in doc.segments:
        assert len(segment.raw_lines) == segment.text.count("\n") + 1
        assert all(1 <= line <= doc.raw_text.count("\n") + 1 for line in segment.raw_lines)
        if segment.python is not None:
            assert segment.python.count("\n") == segment.text.count("\n")


def read(nb: Any, path: str = "nb.ipynb") -> Document:
    text = nbformat.writes(nb)
    doc = read_notebook(path, text)
    assert doc.notes == []
    check_invariants(doc)
    return doc


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys(20240611)


# --------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------


def test_cells_give_source_segments_with_raw_lines(keys: FakeKeys) -> None:
    ionq, ibm = keys.ionq_key(), keys.ibm_key()
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# Setup\n\nUse the key `{ibm}` for IBM."),
            new_code_cell(""),  # empty cells give no segment but keep the numbering
            new_code_cell(
                f'from qiskit_ionq import IonQProvider\n\nprovider = IonQProvider("{ionq}")\n'
            ),
            new_raw_cell("raw text"),
        ]
    )
    doc = read(nb)
    assert [(s.cell, s.part) for s in doc.segments] == [(0, "source"), (2, "source"), (3, "source")]
    markdown, code, raw = doc.segments
    assert markdown.python is None and raw.python is None
    assert code.python == code.text == nb.cells[2].source
    assert code.context == "" and code.output_index is None
    assert segment_line_of(code, ionq) == 3
    assert_maps(doc, code, ionq)
    assert_maps(doc, markdown, ibm)
    assert doc.notebook == nbformat.reader.reads(nbformat.writes(nb))


def test_source_stored_as_one_string(keys: FakeKeys) -> None:
    """Some tools write the source unsplit: every segment line maps to that one raw line."""
    secret = keys.ionq_key()
    nb = new_notebook(cells=[new_code_cell(f'import os\nos.environ["IONQ_API_KEY"] = "{secret}"\nx = 1')])
    raw = json.loads(nbformat.writes(nb))
    raw["cells"][0]["source"] = nb.cells[0].source  # a string, not a list
    text = json.dumps(raw, indent=2)
    doc = read_notebook("nb.ipynb", text)
    check_invariants(doc)
    segment = only(doc.segments, part="source")
    line = raw_line_of(text, secret)
    assert segment.text == nb.cells[0].source
    assert segment.raw_lines == (line, line, line)
    assert_maps(doc, segment, secret)


def test_unsorted_keys_no_indentation_and_escapes(keys: FakeKeys) -> None:
    """Key order and layout are free; quotes, backslashes and unicode escapes are decoded."""
    secret = keys.ibm_key()
    source = (
        'msg = "say \\"hi\\" \\\\ \\u00e9t\u00e9 \u2603"\n'
        "path = 'C:\\\\temp\\\\new'\t# tab\n"
        f'QiskitRuntimeService(token="{secret}")\n'
        "print('\u00fcber \\n done')"
    )
    cell = {
        "source": source.splitlines(keepends=True),
        "cell_type": "code",
        "outputs": [{"text": ["\u00e9\n", f"{secret}\n"], "output_type": "stream", "name": "stdout"}],
        "metadata": {"tags": ["setup"]},
        "execution_count": 1,
    }
    raw = {"nbformat_minor": 5, "nbformat": 4, "metadata": {}, "cells": [cell]}
    for text in (
        json.dumps(raw, indent=4, ensure_ascii=True),
        json.dumps(raw, indent="\t", ensure_ascii=False),
        json.dumps(raw, separators=(",", ":")),  # one line
        json.dumps(raw, indent=1).replace("\n", "\r\n"),
    ):
        doc = read_notebook("nb.ipynb", text)
        check_invariants(doc)
        src = only(doc.segments, part="source")
        out = only(doc.segments, part="output")
        assert src.text == source and out.text == f"\u00e9\n{secret}\n"
        assert src.tags == out.tags == ("setup",)
        for segment in (src, out):
            line = segment.raw_line(segment_line_of(segment, secret))
            assert secret in text.split("\n")[line - 1]
        assert doc.notebook == nbformat.reader.reads(text)


def test_tags_and_empty_metadata(keys: FakeKeys) -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("y = 2")])
    nb.cells[0].metadata["tags"] = ["keyguard-ignore", "parameters"]
    nb.cells[0].outputs = [new_output("stream", name="stdout", text="1\n")]
    doc = read(nb)
    assert only(doc.segments, cell=0, part="source").tags == ("keyguard-ignore", "parameters")
    assert only(doc.segments, cell=0, part="output").tags == ("keyguard-ignore", "parameters")
    assert only(doc.segments, cell=1).tags == ()


def test_cell_numbering_counts_all_cells() -> None:
    nb = new_notebook(
        cells=[new_markdown_cell("a"), new_raw_cell("b"), new_markdown_cell("c"), new_code_cell("d")]
    )
    assert [s.cell for s in read(nb).segments] == [0, 1, 2, 3]


# --------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------


def test_outputs_text_only(keys: FakeKeys) -> None:
    stream_key, repr_key, error_key, plain_key = (keys.ionq_key() for _ in range(4))
    image = base64.b64encode(bytes(range(256)) * 8).decode()
    source = "from qiskit_ionq import IonQProvider\nprovider.credentials"
    outputs = [
        new_output("stream", name="stdout", text=f"connecting\n{stream_key}\ndone\n"),
        new_output(
            "display_data",
            data={"image/png": image, "text/html": f"<b>{plain_key}x</b>", "text/plain": "<Figure>"},
        ),
        new_output("execute_result", data={"text/plain": f"{{'token': '{repr_key}'}}"}, execution_count=1),
        new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": keys.hex(32)}},
        ),
        new_output(
            "error",
            ename="ValueError",
            evalue=f"bad key {error_key}",
            traceback=[
                "\x1b[0;31m---------------------------------------------------------\x1b[0m",
                "\x1b[0;31mValueError\x1b[0m  Traceback (most recent call last)\n"
                f"Cell \x1b[0;32mIn[1], line 2\x1b[0m\n----> 2 connect('{error_key}')",
                f"\x1b[0;31mValueError\x1b[0m: bad key {error_key}",
            ],
        ),
    ]
    nb = new_notebook(cells=[new_code_cell(source, outputs=outputs)])
    doc = read(nb)
    outs = [s for s in doc.segments if s.part == "output"]
    assert [s.output_index for s in outs] == [0, 1, 2, 4]
    assert all(s.context == source and s.python is None and s.cell == 0 for s in outs)
    stream, figure, result, error = outs
    assert stream.text == f"connecting\n{stream_key}\ndone\n"
    assert figure.text == "<Figure>"
    assert result.text == f"{{'token': '{repr_key}'}}"
    assert error.text.startswith(f"ValueError: bad key {error_key}\n")
    assert "\x1b" not in error.text and "Traceback (most recent call last)" in error.text
    assert f"----> 2 connect('{error_key}')" in error.text.split("\n")
    for segment in doc.segments:
        assert image[:40] not in segment.text and plain_key not in segment.text
        assert "model_id" not in segment.text
    assert segment_line_of(stream, stream_key) == 2
    assert_maps(doc, stream, stream_key)
    assert_maps(doc, result, repr_key)
    # The error key sits in evalue, in a traceback entry and in the last entry: each
    # segment line maps to the raw line of its own JSON string.
    raw_lines = doc.raw_text.split("\n")
    for number, line in enumerate(error.text.split("\n"), 1):
        if error_key in line:
            assert error_key in raw_lines[error.raw_line(number) - 1]


def test_output_lines_follow_raw_lines(keys: FakeKeys) -> None:
    secret = keys.ibm_key()
    text = "".join(f"line {n}\n" for n in range(10)) + f"token={secret}\n"
    nb = new_notebook(cells=[new_code_cell("print(x)", outputs=[new_output("stream", name="stdout", text=text)])])
    doc = read(nb)
    out = only(doc.segments, part="output")
    assert list(out.raw_lines[:11]) == list(range(out.raw_lines[0], out.raw_lines[0] + 11))
    assert_maps(doc, out, secret)


# --------------------------------------------------------------------------------------
# IPython masking
# --------------------------------------------------------------------------------------

MASKED = [
    ("%matplotlib inline\nimport os", "pass\nimport os"),
    ("!pip install qiskit\nimport qiskit", "pass\nimport qiskit"),
    ("! pip freeze | grep qiskit", "pass"),
    ("files = !ls -la\nout = %sx ls\na, b = !echo 1 2", "pass\npass\npass"),
    ("np.load?\n?np.save\nnp.*load*??\n%timeit?", "pass\npass\npass\npass"),
    ("for f in files:\n    !cp $f /tmp\n", "for f in files:\n    pass\n"),
    ("if x:\n    y = 1\n    %time f()\nelse:\n    !ls", "if x:\n    y = 1\n    pass\nelse:\n    pass"),
    ("!pip install \\\n   qiskit \\\n   numpy\nimport numpy", "pass\n   #\n   #\nimport numpy"),
    ("  %matplotlib inline\nimport os", "  #\nimport os"),  # `pass` would be an unexpected indent
    ("if a:\n        y = 1\n    !ls", "if a:\n        y = 1\n    #"),
    ("%%time\nx = 1\n!ls\n", "pass\nx = 1\npass\n"),
    ("\n%%capture log\n%pip install qiskit-ionq", "\npass\npass"),
    ("%%timeit -n 3\nsum(range(9))", "pass\nsum(range(9))"),
    ("%%prun\nf()", "pass\nf()"),
    ("x = 1\r\n%ls\r\ny = 2\r\n", "x = 1\r\npass\r\ny = 2\r\n"),
    ("%env QISKIT_IBM_TOKEN=abc\n%config A.b = 'c'", "pass\npass"),
]

UNCHANGED = [
    "import os\nprint(os.getcwd())",
    's = """\n!not magic\n%not magic\nwhat?\n"""',
    "x = (1\n% 2)",
    "y = 10 % 3\nz = a != b",
    "def f():\n    '''Why?'''\n    return 1  # really?",
    "d = {'a': [1,\n  2]}\nprint('%d' % 3)",
    "x = 1 \\\n  + 2",
]


@pytest.mark.parametrize(("source", "masked"), MASKED)
def test_mask_ipython(source: str, masked: str) -> None:
    result = mask_ipython(source)
    assert result == masked
    ast.parse(result)


@pytest.mark.parametrize("source", UNCHANGED)
def test_mask_leaves_python_alone(source: str) -> None:
    assert mask_ipython(source) == source


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile helpers.py", "%%html", "%%sh", "%%javascript"])
def test_other_cell_magics_are_not_python(magic: str) -> None:
    assert mask_ipython(f"{magic}\necho hi\n") is None


def test_magic_cells_keep_text_for_the_token_detector(keys: FakeKeys) -> None:
    ibm, ionq, curl, timed_key = keys.ibm_key(), keys.ionq_key(), keys.ionq_key(), keys.ionq_key()
    sources = [
        f"%env QISKIT_IBM_TOKEN={ibm}",
        f"!export IONQ_API_KEY={ionq} && python run.py",
        f'%%bash\ncurl -H "Authorization: apiKey {curl}" https://api.ionq.co/v0.4/jobs',
        f"%%time\nimport os\nos.environ['IONQ_API_KEY'] = '{timed_key}'",
    ]
    doc = read(new_notebook(cells=[new_code_cell(s) for s in sources]))
    for segment, source in zip(doc.segments, sources, strict=True):
        assert segment.text == source
    env, export, bash, timed = doc.segments
    assert env.python == "pass" and export.python == "pass" and bash.python is None
    assert timed.python == source.replace("%%time", "pass", 1)
    for segment, secret in ((env, ibm), (export, ionq), (bash, curl), (timed, timed_key)):
        assert_maps(doc, segment, secret)


def test_non_python_kernel_has_no_python() -> None:
    nb = new_notebook(cells=[new_code_cell("x <- c(1, 2)")])
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.metadata["language_info"] = {"name": "R"}
    (segment,) = read(nb).segments
    assert segment.python is None and segment.text == "x <- c(1, 2)"


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


def valid_text() -> str:
    return nbformat.writes(new_notebook(cells=[new_code_cell("x = 1\ny = 2")]))


def without_source() -> str:
    raw = json.loads(valid_text())
    del raw["cells"][0]["source"]
    return json.dumps(raw, indent=1)


def with_bad_source() -> str:
    raw = json.loads(valid_text())
    raw["cells"][0]["source"] = ["x = 1\n", 2]
    return json.dumps(raw, indent=1)


def with_bad_output() -> str:
    raw = json.loads(valid_text())
    raw["cells"][0]["outputs"] = ["not an output"]
    return json.dumps(raw, indent=1)


BAD = [
    ("", "invalid JSON at line 1"),
    ('{\n "cells": [\n  {"source": "x",}\n ]\n}', "invalid JSON at line 3"),
    ("print('hello')\n", "invalid JSON at line 1"),
    ("[1, 2, 3]", "JSON list, not an object"),
    ('{"a": 1}', "no nbformat version"),
    ('{"nbformat": 99, "cells": []}', "unsupported nbformat version 99"),
    ('{"nbformat": "4", "cells": []}', "unsupported nbformat version '4'"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "no cells"),
    ('{"nbformat": 4, "cells": "x"}', "no cells"),
    ('{"nbformat": 4, "nbformat_minor": 5, "cells": []}', "no notebook metadata"),
    (
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": ""}]}',
        "cell 1 has no metadata",
    ),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1]}', "cell 1 is not an object"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{}]}', "cell 1 has no cell_type"),
    ('{"nbformat": 3, "nbformat_minor": 0, "metadata": {}}', "no worksheets"),
    ('{"nbformat": 4, "x": 1} trailing', "invalid JSON at line 1"),
    ("[" * 100_000, "JSON nested too deeply"),
]


@pytest.mark.parametrize(("text", "why"), BAD)
def test_bad_input_is_scanned_as_text(text: str, why: str) -> None:
    doc = read_notebook("broken.ipynb", text)
    assert doc.kind == "notebook" and doc.notebook is None
    assert doc.segments == [Segment(text=text)]
    assert doc.notes == [f"not a valid notebook ({why}): scanned as plain text"]


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (without_source, "cell 1 has no source"),
        (with_bad_source, "cell 1 source is not text"),
        (with_bad_output, "cell 1 output 1 is not an output object"),
        (lambda: valid_text()[:-40], "invalid JSON at line"),
    ],
)
def test_malformed_notebooks_are_scanned_as_text(make: Any, why: str) -> None:
    text = make()
    doc = read_notebook("broken.ipynb", text)
    assert doc.segments == [Segment(text=text)] and doc.notebook is None
    assert len(doc.notes) == 1 and why in doc.notes[0]


def test_read_document_dispatches_notebooks(keys: FakeKeys) -> None:
    secret = keys.ionq_key()
    data = nbformat.writes(new_notebook(cells=[new_code_cell(f"key = '{secret}'")])).encode()
    doc = read_document("lab/a.ipynb", data)
    assert doc.kind == "notebook" and doc.segments[0].text == f"key = '{secret}'"
    bom = read_document("lab/a.ipynb", b"\xef\xbb\xbf" + data)
    assert bom.notes == [] and bom.segments == doc.segments
    bad = read_document("lab/b.ipynb", b"\xff{not json")
    assert bad.kind == "notebook" and len(bad.segments) == 1 and len(bad.notes) == 2


def test_nbformat_v3_notebook(keys: FakeKeys) -> None:
    secret = keys.ionq_key()
    cell = v3.new_code_cell(
        input=f"import os\n%env X=1\nos.environ['IONQ_API_KEY'] = '{secret}'\n",
        outputs=[
            v3.new_output("pyout", output_text=f"'{secret}'", prompt_number=1),
            v3.new_output("stream", output_text=f"hello\n{secret}\n"),
            v3.new_output("pyerr", ename="KeyError", evalue=f"'{secret}'", traceback=["\x1b[31mKeyError\x1b[0m"]),
        ],
    )
    nb = v3.new_notebook(
        worksheets=[v3.new_worksheet(cells=[v3.new_text_cell("markdown", source="# v3"), cell])]
    )
    text = v3.writes_json(nb)
    doc = read_notebook("old.ipynb", text)
    check_invariants(doc)
    assert doc.notes == [] and doc.notebook == nbformat.reader.reads(text)
    assert [(s.cell, s.part, s.output_index) for s in doc.segments] == [
        (0, "source", None),
        (1, "source", None),
        (1, "output", 0),
        (1, "output", 1),
        (1, "output", 2),
    ]
    assert doc.segments[1].python == f"import os\npass\nos.environ['IONQ_API_KEY'] = '{secret}'\n"
    assert doc.segments[4].text == f"KeyError: '{secret}'\nKeyError"
    for segment in doc.segments[1:]:
        line = segment.raw_line(segment_line_of(segment, secret))
        assert secret in text.split("\n")[line - 1]


def test_v3_lines_written_without_newlines_are_joined_like_nbformat() -> None:
    raw = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [{"cells": [{"cell_type": "code", "input": ["a = 1", "b = 2"], "outputs": []}]}],
    }
    text = json.dumps(raw, indent=1)
    doc = read_notebook("old.ipynb", text)
    (segment,) = doc.segments
    assert segment.text == "a = 1\nb = 2" == doc.notebook.worksheets[0].cells[0].input
    assert segment.raw_lines == (raw_line_of(text, "a = 1"), raw_line_of(text, "b = 2"))


def test_importing_keyguard_does_not_import_nbformat() -> None:
    code = "import sys, keyguard, keyguard.read.documents, keyguard.read.notebook; print('nbformat' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------------------
# property: raw line mapping for arbitrary text
# --------------------------------------------------------------------------------------

# Line pieces that stress the JSON escaping: quotes, backslashes, unicode (escaped or not),
# control characters, and separators nbformat's splitlines() cuts at (\r, \u2028).
TEXT = st.lists(
    st.sampled_from([*"ab \t\"'\\/{}[]:,#%!?é☃\u2028\x1b\r", "\\n", "\\u00e9"]), max_size=20
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(TEXT, max_size=6),
    after=st.lists(TEXT, max_size=4),
    layout=st.sampled_from(["nbformat", "compact", "indent4-ascii"]),
)
def test_secret_maps_to_its_raw_line(
    keys: FakeKeys, before: list[str], after: list[str], layout: str
) -> None:
    secret = keys.ionq_key()
    lines = [*before, f"key = '{secret}'", *after]
    source = "\n".join(line.replace("\n", " ") for line in lines)
    nb = new_notebook(
        cells=[
            new_markdown_cell("\n".join(before)),
            new_code_cell(source, outputs=[new_output("stream", name="stdout", text=source)]),
        ]
    )
    if layout == "nbformat":
        text = nbformat.writes(nb)
    elif layout == "compact":
        text = json.dumps(json.loads(nbformat.writes(nb)), separators=(",", ":"))
    else:
        text = json.dumps(json.loads(nbformat.writes(nb)), indent=4, ensure_ascii=True)
    doc = read_notebook("nb.ipynb", text)
    assert doc.notes == []
    check_invariants(doc)
    raw_lines = text.split("\n")
    for part in ("source", "output"):
        segment = only(doc.segments, cell=1, part=part)
        assert segment.text == source
        number = next(n for n, line in enumerate(source.split("\n"), 1) if secret in line)
        assert secret in raw_lines[segment.raw_line(number) - 1]


# --------------------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------------------


def value_on(line: str, sha256: str, length: int) -> bool:
    """Is the labeled value (known by its hash and length) somewhere on this line?"""
    return any(
        hashlib.sha256(line[i : i + length].encode()).hexdigest() == sha256
        for i in range(len(line) - length + 1)
    )


@needs_corpus
def test_labels_map_to_raw_lines() -> None:
    labels = json.loads((LABELED / "LABELS.json").read_text(encoding="utf-8"))
    checked = 0
    for label in labels:
        if not label["file"].endswith(".ipynb") or label["part"] not in ("source", "output"):
            continue
        text = (LABELED / label["file"]).read_text(encoding="utf-8")
        doc = read_notebook(label["file"], text)
        assert doc.notes == [], label["file"]
        check_invariants(doc)
        if label["part"] == "source" and label["cell_line"]:
            segment = only(doc.segments, cell=label["cell"], part="source")
            number = label["cell_line"]
        elif label["part"] == "output" and label["output_line"]:
            segments = [
                s
                for s in doc.segments
                if (s.cell, s.part, s.output_index) == (label["cell"], "output", label["output_index"])
            ]
            number = label["output_line"]
            holding = [
                s
                for s in segments
                if number <= len(s.text.split("\n"))
                and value_on(s.text.split("\n")[number - 1], label["sha256"], label["length"])
            ]
            if not holding:
                # Not text: e.g. base64 image/png data, which is never a segment.
                output = doc.notebook.cells[label["cell"]].outputs[label["output_index"]]
                assert set(output.get("data", {})) - {"text/plain"}, label
                assert all(not value_on(s.text, label["sha256"], label["length"]) for s in segments)
                continue
            (segment,) = holding
        else:
            continue
        assert segment.raw_line(number) == label["line"], label
        if "sha256" in label:
            assert value_on(segment.text.split("\n")[number - 1], label["sha256"], label["length"])
        checked += 1
    assert checked >= 12


@needs_corpus
@pytest.mark.parametrize("path", corpus_notebooks(), ids=lambda p: p.name)
def test_corpus_notebooks_read_and_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = read_notebook(str(path), text)
    assert doc.notes == []
    check_invariants(doc)
    assert doc.notebook == nbformat.reader.reads(text)
    nb = doc.notebook
    sources = [s for s in doc.segments if s.part == "source"]
    assert [s.text for s in sources] == [c.source for c in nb.cells if c.source]
    for segment in sources:
        cell = nb.cells[segment.cell]
        if cell.cell_type != "code":
            assert segment.python is None
        elif segment.python is not None:
            with warnings.catch_warnings():  # old notebooks have "\\o"-style escapes
                warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
                ast.parse(segment.python)  # every Python cell parses once magics are masked
        else:
            assert segment.text.lstrip().startswith("%%"), segment.text[:40]
    for segment in doc.segments:
        assert "iVBORw0KGgo" not in segment.text  # no PNG data in any segment


def _without_lines(doc: Document) -> tuple:
    return (doc.kind, doc.notes, [(s.text, s.python, s.cell, s.part, s.output_index, s.context, s.tags)
                                  for s in doc.segments])


_ODD_NOTEBOOKS = [
    '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
    '"metadata": {}, "source": ["x = 1\\n", 2], "outputs": []}]}',  # a list item that is not text
    '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
    '"metadata": {}, "source": 7, "outputs": []}]}',
    '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
    '"metadata": {}, "source": [], "outputs": [{"output_type": "error", "ename": "E", '
    '"evalue": ["a", "b"], "traceback": ["\\u001b[31mx\\u001b[0m", "y"]}]}]}',
    '{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": '
    '[{"cell_type": "code", "input": ["a = 1", "b = 2"], "outputs": [{"output_type": "pyout", '
    '"text": ["1", "2"]}]}]}]}',
    '{"nbformat": 4, "metadata": {}, "cells": [}',  # invalid JSON
    '[1, 2]',
]


@pytest.mark.parametrize("path", [*corpus_notebooks(), *sorted((ROOT_DIR / "examples").glob("*.ipynb"))],
                         ids=lambda p: p.name)
def test_unlocated_read_gives_the_same_segments(path: Path) -> None:
    # locate=False (json.loads, no raw lines) is what a scan reads first: the same segments.
    data = path.read_bytes()
    assert _without_lines(read_document(str(path), data, locate=False)) == _without_lines(
        read_document(str(path), data))


@pytest.mark.parametrize("text", _ODD_NOTEBOOKS)
def test_unlocated_read_of_odd_notebooks(text: str) -> None:
    data = text.encode()
    located = read_document("odd.ipynb", data)
    assert _without_lines(read_document("odd.ipynb", data, locate=False)) == _without_lines(located)


def test_a_finding_in_an_unlocated_notebook_is_reported_at_its_raw_line(tmp_path: Path,
                                                                        keys: FakeKeys) -> None:
    from keyguard.config import Config
    from keyguard.pipeline.scan import scan_paths

    key = keys.ionq_key()
    nb = new_notebook(cells=[new_markdown_cell("# title"), new_code_cell(
        f'from qiskit_ionq import IonQProvider\n\nprovider = IonQProvider("{key}")')])
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    [finding] = scan_paths([str(path)], Config(jobs=1)).findings
    raw = path.read_text(encoding="utf-8").split("\n")
    assert key in raw[finding.location.raw_line - 1]
    assert raw[finding.location.raw_line - 1].find(key) + 1 == finding.location.raw_column


@settings(max_examples=400)
@given(st.lists(st.text(alphabet="a\n\r", max_size=4), max_size=6), st.booleans())
def test_fields_read_without_raw_lines_join_as_their_pieces_do(value, v3) -> None:
    # The unlocated fast path gives exactly what building the pieces would.
    from keyguard.read.notebook import _UNLOCATED, _join, _join_field, _pieces

    assert _join_field(value, _UNLOCATED, "cell 1 source", v3) == _join(
        _pieces(value, _UNLOCATED, "cell 1 source", v3))
