"""The pipeline: discover -> read -> prefilter -> detect -> findings; a process pool for trees.

`scan_bytes` is the unit of work (one file's bytes to findings) and never raises for bad
content. `scan_paths` discovers files and runs `scan_bytes` over them, in this process for a
handful of files (the pre-commit case: no pool start-up) and in a process pool otherwise.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from typing import TYPE_CHECKING, Any

from keyguard.config import Config
from keyguard.config import is_excluded as _config_excluded
from keyguard.detect.tokens import Hit, any_anchor_in, find_tokens
from keyguard.model import Finding, Location
from keyguard.prefilter.keywords import Keywords
from keyguard.read.documents import Document, Segment, ascii_lower, read_document, segment_line
from keyguard.read.pyparse import file_scope
from keyguard.report.advice import behaviour, is_fixable
from keyguard.rulepack.load import Rule, RuleSet, load_ruleset
from keyguard.sources.tree import discover

if TYPE_CHECKING:
    from keyguard.detect.python import PythonDetector
    from keyguard.pipeline.cache import CacheView, ScanCache
    from keyguard.pipeline.progress import Progress

# Below this many files a scan stays in-process: starting workers costs more than it saves.
POOL_MIN_FILES = 48
# Files are sent to workers in batches of about this many bytes (fewer round trips).
BATCH_BYTES = 4 * 1024 * 1024
_SNIFF = 8192


@dataclass
class FileResult:
    """Outcome for one file: findings, notes for the user, or the reason it was skipped."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    document: Document | None = None
    # Findings suppressed by inline comments or a cell tag, with the reason (--show-ignored).
    ignored: list[tuple[Finding, str]] = field(default_factory=list)
    # A fresh result's entry for the findings cache (keyguard.pipeline.cache); never holds a secret.
    cache_entry: dict[str, Any] | None = None


@dataclass
class ScanResult:
    """Outcome of a whole scan. `skipped` counts files per reason; `errors` are messages.

    `scanned_files` and `skipped_files` ((path, reason)) name the files (`--verbose`, SARIF
    notifications); `excluded_named` lists files named on the command line that `exclude`
    matches and that were scanned anyway (no `force_exclude`). A scan with `errors` did not
    complete: some path the user asked for was not scanned.
    """

    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored: list[tuple[Finding, str]] = field(default_factory=list)
    scanned_files: list[str] = field(default_factory=list)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    excluded_named: list[str] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count


@dataclass(frozen=True)
class Engine:
    """Rules prepared for scanning: the selection, the prefilter and the rule groups."""

    ruleset: RuleSet
    selected: frozenset[str]
    token_rules: tuple[Rule, ...]
    prefilter: tuple[str, ...] | None  # None: some rule needs every file

    @classmethod
    def build(cls, ruleset: RuleSet, selected: frozenset[str]) -> Engine:
        token_rules = tuple(
            r for r in ruleset.rules.values()
            if r.id in selected and behaviour(r).regex
        )
        unanchored = any(not r.requires_context and not r.keywords for r in token_rules)
        keywords: set[str] = set()
        for provider in ruleset.providers.values():
            keywords.update(provider.keywords)
            # A file that names a credential file (`dwave.conf`) may hold what it holds.
            keywords.update(_credential_file_word(cf.name) for cf in provider.credential_files)
        for rule in token_rules:
            keywords.update(rule.keywords)
        # A call site's module is enough: a file calling it names every part of its path up
        # to the call (in the import or the call), so a callee whose path holds none of its
        # provider's keywords adds its root module (`cirq.ionq.Service` is covered by "ionq";
        # a root like `cirq` alone would let every Cirq file through).
        for cs in ruleset.call_sites:
            own = ruleset.providers[cs.provider].keywords
            for callee in cs.callees:
                named = f"{callee} {cs.when_first_arg_startswith or ''}".lower()
                if not any(k in named for k in own):
                    keywords.add(callee.split(".")[0].lower())
        prefilter = None if unanchored else _without_superstrings(keywords)
        return cls(ruleset, selected, token_rules, prefilter)

    @cached_property
    def assignment_regexes(self) -> tuple[re.Pattern[str], ...]:
        return tuple(a.name_regex for a in self.ruleset.assignments)

    @cached_property
    def credential_file_names(self) -> tuple[str, ...]:
        """Last path components of the packs' credential files (a cheap first check)."""
        return tuple(sorted({
            cf.name.rsplit("/", 1)[-1] for p in self.ruleset.providers.values() for cf in p.credential_files
        }))

    def is_credential_file(self, path: str) -> bool:
        """Whether `path` is one of the packs' credential files (it passes by name)."""
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        if name not in self.credential_file_names:
            return False
        from keyguard.detect.credential_files import matching_files

        return bool(matching_files(self.ruleset, path))

    @cached_property
    def python_detector(self) -> PythonDetector:
        from keyguard.detect.python import PythonDetector

        return PythonDetector(self.ruleset, self.selected)

    def prepare(self) -> None:
        """Build now what scanning builds on first use: the token rules' regexes (compiled
        lazily, keyguard.rulepack.lazyregex), the Python detector and the modules a scan
        imports when it first needs them. For a process about to fork workers that scan
        while it scans too: forked after this, they share one copy instead of each
        building its own (8 modules, the token and assignment rules' regexes, the bare rules'
        shapes and the detector: ~20-30 ms per process)."""
        import hashlib  # noqa: F401  (fingerprints)

        import keyguard.filter.ignores
        import keyguard.read.notebook
        import keyguard.report.messages
        import keyguard.report.redact
        import keyguard.rulepack.sre  # noqa: F401
        from keyguard.detect.bare import bare_plan

        for pattern in (*(rule.regex for rule in self.token_rules), *self.assignment_regexes):
            compiled = getattr(pattern, "compiled", None)  # a LazyPattern
            if compiled is not None:
                compiled()
        for bare in bare_plan(self.token_rules).rules:  # their own compiled regex and shape
            bare.shape  # noqa: B018  (cached properties: built here)
        self.python_detector  # noqa: B018

    @cached_property
    def _prefilter_words(self) -> Keywords | None:
        return None if self.prefilter is None else Keywords(self.prefilter)

    def passes_prefilter(self, lowered: bytes) -> bool:
        """Whether the lower-cased file holds any prefilter keyword: one Aho-Corasick pass
        (keyguard.prefilter.keywords), over a growing prefix so that it stops near the first
        keyword."""
        words = self._prefilter_words
        return words is None or words.any_in(lowered)


def _credential_file_word(name: str) -> str:
    """The prefilter word for a credential file: its name with its folder (`aws/credentials`,
    `quantuminspire/config.json`), since a bare `credentials` or `config.json` is in every
    other file; a name without a folder as it is (`dwave.conf`)."""
    parts = name.lower().replace("\\", "/").split("/")
    return "/".join(parts[-2:]).lstrip(".")


def _without_superstrings(keywords: set[str]) -> tuple[str, ...]:
    """The keywords minus those containing another one (`qi_token` goes when `token` is
    there): the same verdict with a smaller automaton. Sorted, for stable output."""
    ordered = sorted(keywords, key=len)
    kept: list[str] = []
    for word in ordered:
        if not any(short in word for short in kept):
            kept.append(word)
    return tuple(sorted(kept))


@lru_cache(maxsize=4)
def _engine(extra_rules: tuple[str, ...], selected: frozenset[str]) -> Engine:
    return Engine.build(load_ruleset(extra_rules), selected)


def scan_document(document: Document, engine: Engine, anchors: bool = True) -> list[Finding]:
    """Run both detectors over a document and turn their hits into findings. `anchors`
    False: no keyword of a keyword-anchored rule is in the file (`any_anchor_in` of its
    lower-cased bytes), which spares each notebook cell its own keyword search."""
    hits: list[Hit] = []
    candidates: list[str] = []
    document_lower: str | Callable[[], str]
    if document.kind == "notebook":  # the JSON text, images and all: lowered only if needed
        document_lower = _lowered(document)
    else:
        document_lower = ascii_lower(document.raw_text)
    for i, segment in enumerate(document.segments):
        # A notebook that is not JSON is read as one plain segment: lower it here.
        lower = document_lower if segment.text is document.raw_text and isinstance(document_lower, str) else None
        hits.extend(
            find_tokens(
                segment, i, document.path, engine.ruleset, engine.token_rules, document_lower, candidates, lower,
                anchors,
            )
        )
    python_hits: list[Hit] = []
    if engine.is_credential_file(document.path):
        from keyguard.detect.credential_files import find_credential_values, matching_files

        files = matching_files(engine.ruleset, document.path)
        try:
            for i, segment in enumerate(document.segments):
                python_hits.extend(find_credential_values(segment, i, files, engine.ruleset, engine.selected))
        except (RecursionError, MemoryError, Exception) as exc:
            document.notes.append(_detector_failed(exc, "credential-file analysis"))
    if any(seg.python is not None for seg in document.segments):
        detector = engine.python_detector
        # The parse is the expensive step (~4 MB/s): only where it can change the answer.
        plain = document.kind == "python"
        if (
            candidates and _parse_can_matter(hits, candidates, document, engine)
        ) or detector.wants(document.segments, document_lower if plain else None):
            try:
                found, notes = detector.run(document.segments)
            except (RecursionError, MemoryError, Exception) as exc:
                # One detector's failure never costs the file: the other detectors' hits stand.
                found, notes = [], [_detector_failed(exc)]
            python_hits.extend(found)
            document.notes.extend(notes)
    hits = _merge(python_hits, hits)
    return [_to_finding(hit, document, engine.ruleset) for hit in hits if hit.rule.id in engine.selected]


def _detector_failed(exc: BaseException, what: str = "syntax-tree analysis") -> str:
    """The note for a detector that failed; names the exception type only (its text may
    quote scanned content)."""
    why = "too deeply nested" if isinstance(exc, RecursionError) else f"failed ({exc.__class__.__name__})"
    return f"{what} {why}: scanned with the other detectors"


def _lowered(document: Document) -> Callable[[], str]:
    cache: list[str] = []

    def lowered() -> str:
        if not cache:
            cache.append(ascii_lower(document.raw_text))
        return cache[0]

    return lowered


def _parse_can_matter(hits: list[Hit], candidates: list[str], document: Document,
                      engine: Engine) -> bool:
    """Whether the syntax tree can add to what the token detector found, given key-shaped
    `candidates` (and when `PythonDetector.wants` is False: no call-site call, no
    environment write, no assignment keyword in the document).

    Then the tree only refines a token hit (call-site message, fixability) or names a
    key through a credential-named assignment (`ibmtoken = "<key>"`, no context word). A
    document whose candidates are all context-less look-alikes (digests, base64 test data)
    outside such assignments gives the same findings unparsed: most of a quantum code base.
    """
    if any(behaviour(hit.rule).plausibility for hit in hits):  # a candidate became a hit
        return True
    regexes = engine.assignment_regexes
    if not regexes:
        return False
    # One Aho-Corasick pass per segment finds every candidate's occurrences: a `find` from
    # the start per candidate was quadratic (thousands of look-alikes in one file).
    values = Keywords(candidates)
    searches = [regex.search for regex in regexes]  # resolved once, not per name
    verdicts: dict[str, bool] = {}  # per identifier: a window holds three lines, seen thrice

    def credential_named(name: str) -> bool:
        verdict = verdicts.get(name)
        if verdict is None:
            verdict = verdicts[name] = any(search(name) for search in searches)
        return verdict

    for segment in document.segments:
        if segment.python is None:
            continue
        text = segment.text
        next_free: dict[str, int] = {}  # per value: occurrences do not overlap, as `find` steps
        for value, at in values.occurrences(text):
            if at < next_free.get(value, 0):
                continue
            next_free[value] = at + len(value)
            # The statement's start: this line and two before (a parenthesised value).
            start = at
            for _ in range(3):
                start = text.rfind("\n", 0, start) if start > 0 else -1
                if start < 0:
                    break
            if any(map(credential_named, _IDENTIFIER.findall(text, start + 1, at))):
                return True
    return False


def _merge(preferred: list[Hit], others: list[Hit]) -> list[Hit]:
    """Python hits win over token hits at the same place; hits inside a longer hit go
    (a 44-character slice of a JWT is not an IBM key).

    Per line, hits are swept in column order against the widest span seen so far, so a line
    of thousands of hits costs n log n, not n^2. Notices (`persist`, a save_account() call)
    span a whole call and hide nothing.
    """
    taken = {(h.segment, h.line, h.column) for h in preferred}
    merged = preferred + [h for h in others if (h.segment, h.line, h.column) not in taken]
    by_line: dict[tuple[int, int], list[Hit]] = {}
    for hit in merged:
        by_line.setdefault((hit.segment, hit.line), []).append(hit)
    hidden: set[int] = set()
    for same_line in by_line.values():
        if len(same_line) > 1:
            hidden.update(id(h) for h in _inside_longer(same_line))
    return [hit for hit in merged if id(hit) not in hidden]


def _inside_longer(same_line: list[Hit]) -> list[Hit]:
    """The hits of one line that lie inside a strictly longer one-line hit.

    Containers sorted by start column with a running "reaches furthest right" maximum: the
    best container of a hit is that maximum among the containers starting at or before it
    (ties: the earlier start, which is the longer). O(n log n) for n hits.
    """
    spans = sorted(
        # A notice about a call (its value is code) spans the call and hides nothing.
        (h for h in same_line if not behaviour(h.rule).value_is_code and h.end_line == h.line),
        key=lambda h: h.column,
    )
    if not spans:
        return []
    starts = [h.column for h in spans]
    reach: list[Hit] = []
    best = spans[0]
    for span in spans:
        if span.end_column > best.end_column:
            best = span
        reach.append(best)
    inside = []
    for hit in same_line:
        count = bisect.bisect_right(starts, hit.column)
        if count == 0:
            continue
        container = reach[count - 1]
        if container.end_column >= hit.end_column and (
            container.end_column - container.column > hit.end_column - hit.column
        ):
            inside.append(hit)
    return inside


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _without_key_shapes(text: str) -> str:
    """`text` (built from the scanned file: a variable name, a callee) with any key-shaped
    word redacted, so a message can never carry a secret found elsewhere on the line.
    Names made of words (PYTKET_REMOTE_IONQ_API_KEY, QiskitRuntimeService, run_2024.py) stay."""
    from keyguard.report.redact import redact_keys

    return redact_keys(text)


def _to_finding(hit: Hit, document: Document, ruleset: RuleSet) -> Finding:
    from keyguard.model import Secret
    from keyguard.report.messages import finding_message  # small module; keeps this one about flow

    segment = document.segments[hit.segment]
    raw_line, raw_column = document.raw_position(segment, hit.line, hit.column, hit.value)
    hit = hit._replace(where=_without_key_shapes(hit.where))
    env_var = hit.env_var
    if env_var is None and hit.where.startswith("assigned to "):
        name = hit.where.removeprefix("assigned to ").split(" ")[0]
        if name in ruleset.env_var_provider():
            env_var = name
    env_var = env_var or hit.rule.env_var
    location = Location(
        path=document.path,
        line=hit.line,
        column=hit.column,
        end_line=hit.end_line,
        end_column=hit.end_column,
        raw_line=raw_line,
        raw_column=raw_column,
        cell=segment.cell,
        part=segment.part,
        output_index=segment.output_index,
    )
    provider = ruleset.providers[hit.rule.provider]
    return Finding(
        rule_id=hit.rule.id,
        provider=provider.name,
        kind=hit.rule.kind,
        title=hit.rule.title,
        severity=hit.rule.severity,
        confidence=hit.confidence,
        location=location,
        secret=Secret(hit.value),
        message=finding_message(hit, document, segment, provider, env_var),
        env_var=env_var,
        context=hit.where,
        fixable=_fixable(hit, segment),
        saves_to=hit.saves_to,
        is_secret=not behaviour(hit.rule).value_is_code,
    )


def _fixable(hit: Hit, segment: Segment) -> bool:
    """Estimate of whether `--fix` removes this finding (`--diff` shows exactly).

    A literal the syntax-tree detector attributed (call site, assignment, env write) is
    fixable when it is one plain string; a token in Python code is, unless it sits in a
    comment or a `!shell` line; a `%env` magic is replaced and a notebook output holding a
    key is cleared. Docstrings are the known over-estimate.
    """
    if not is_fixable(hit.rule):
        return False
    if segment.cell is not None and segment.part == "output":
        return True
    if segment.python is None:
        return False
    if hit.origin == "python":
        return hit.fixable
    line = segment_line(segment, hit.line)
    return not line.lstrip().startswith(("#", "!")) and not hit.where.startswith("in a comment")


def scan_bytes(path: str, data: bytes, engine: Engine, keep_document: bool = False) -> FileResult:
    """Scan one file's bytes. Binary content is skipped; nothing raises for bad content."""
    result = FileResult(path)
    if b"\0" in data[:_SNIFF]:
        result.skipped = "binary file"
        return result
    lowered = data.lower()
    if not engine.passes_prefilter(lowered) and not engine.is_credential_file(path):
        return result
    # A notebook is first read without raw JSON lines (3x faster): only a finding needs them,
    # and then it is read again, located, and scanned again (its parses are reused).
    document = read_document(path, data, locate=keep_document)
    anchors = any_anchor_in(engine.token_rules, lowered)
    del lowered  # a 10 MB file's copy need not live through the scan
    with file_scope():  # one parse per Python segment, shared by detection and ignores
        result.findings = scan_document(document, engine, anchors)
        if result.findings and not document.located:
            document = read_document(path, data)
            result.findings = scan_document(document, engine, anchors)
        if result.findings:
            from keyguard.filter.ignores import (
                split_ignored,  # inline `# keyguard: ignore`, cell tags
            )

            result.findings, result.ignored = split_ignored(document, result.findings)
    result.notes = list(document.notes)
    if keep_document:
        result.document = document
    return result


def scan_file(
    path: str, engine: Engine, max_size: int, keep_document: bool = False,
    cache: CacheView | None = None,
) -> FileResult:
    """Read and scan one file; unreadable, vanished, special and oversized files are skipped.

    With `cache`, a file whose bytes are unchanged since the cached scan is not scanned again
    (keyguard.pipeline.cache); a fresh result carries its new cache entry.

    The file is opened without blocking and checked on the open descriptor, so a path that
    turns into a FIFO between discovery and reading cannot hang the scan.
    """
    too_large = f"larger than {max_size // (1024 * 1024)} MB"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return FileResult(path, skipped="vanished before it could be read")
    except OSError as exc:
        return FileResult(path, skipped=f"unreadable ({exc.strerror or exc.__class__.__name__})")
    try:
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                return FileResult(path, skipped="not a regular file")
            if st.st_size > max_size:
                return FileResult(path, skipped=too_large)
            if cache is not None:
                unchanged = cache.unchanged(path, st)
                if unchanged is not None:
                    return unchanged
                read_at = time.time_ns()
            data = handle.read(max_size + 1)
    except OSError as exc:
        return FileResult(path, skipped=f"unreadable ({exc.strerror or exc.__class__.__name__})")
    if len(data) > max_size:
        return FileResult(path, skipped=too_large)
    if cache is not None:
        from keyguard.pipeline.cache import file_state

        return cache.scan(path, data, partial(_scan_bytes_safely, path, data, engine, keep_document),
                          file_state(st, read_at))
    return _scan_bytes_safely(path, data, engine, keep_document)


def _scan_bytes_safely(path: str, data: bytes, engine: Engine, keep_document: bool) -> FileResult:
    try:
        return scan_bytes(path, data, engine, keep_document)
    except RecursionError:
        return FileResult(path, skipped="too deeply nested to analyse")


_Batch = tuple[tuple[str, ...], frozenset[str], list[str], int, "CacheView | None"]


def _scan_batch(args: _Batch) -> list[FileResult]:
    extra, selected, paths, max_size, cache = args
    engine = _engine(extra, selected)
    return [scan_file(p, engine, max_size, cache=cache) for p in paths]


def _batches(paths: Sequence[str], parts: int) -> Iterable[list[str]]:
    """Group files into batches of about BATCH_BYTES, at least `parts` * 4 of them."""
    sizes = []
    for p in paths:
        try:
            sizes.append(os.path.getsize(p))
        except OSError:
            sizes.append(0)
    total = sum(sizes)
    limit = max(min(BATCH_BYTES, total // (parts * 4) + 1), 1)
    batch: list[str] = []
    size = 0
    for path, n in zip(paths, sizes):
        batch.append(path)
        size += n
        if size >= limit or len(batch) >= 256:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def scan_paths(
    paths: Sequence[str], config: Config, *, keep_documents: bool = False,
    force_exclude: bool = False,
    cache_dir: str | os.PathLike[str] | None = None, progress: Progress | None = None,
) -> ScanResult:
    """Discover and scan `paths` with `config`. Errors are collected, never raised.

    force_exclude: apply `exclude` to paths named in `paths` too (see `discover`).
    cache_dir: folder of the findings cache (keyguard.pipeline.cache); None scans every file. Not
    used with `keep_documents` (the fixer needs each file's document). progress: told of
    each finished file (keyguard.pipeline.progress), on a terminal only.
    """
    ruleset = load_ruleset(tuple(config.extend_rules))
    selected = ruleset.select(config.select, config.ignore)
    engine = _engine(tuple(config.extend_rules), selected)
    found = discover(paths, partial(_is_excluded, config=config) if config.exclude else None,
                     force_exclude=force_exclude)
    result = ScanResult(errors=list(found.errors), skipped_files=list(found.skipped_files),
                        excluded_named=list(found.excluded_named))
    result.notes.extend((text.split(": ", 1)[0], text.split(": ", 1)[1]) for text in found.problems)
    for reason, count in found.skipped.items():
        result.skip(reason, count)
    cache = None
    if cache_dir is not None and not keep_documents:
        cache = _open_cache(cache_dir, ruleset, selected, config)
    if progress is not None:
        progress.start(found.files)
    jobs = config.jobs or os.cpu_count() or 1
    view = cache.view(found.files) if cache is not None else None
    if keep_documents or jobs == 1 or len(found.files) < POOL_MIN_FILES or (
            view is not None and view.to_read(found.files, POOL_MIN_FILES) < POOL_MIN_FILES):
        # (An unchanged tree is answered from stat calls: a pool would only add its start.)
        file_results: Iterable[FileResult] = (
            scan_file(p, engine, config.max_file_size, keep_documents, view) for p in found.files
        )
        _collect(result, file_results, cache, progress)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor  # not on the pre-commit path

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        tasks: list[_Batch] = [
            (tuple(config.extend_rules), selected, batch, config.max_file_size,
             cache.view(batch) if cache is not None else None)
            for batch in _batches(found.files, jobs)
        ]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for batch_result in pool.map(_scan_batch, tasks):
                _collect(result, batch_result, cache, progress)
    if progress is not None:
        progress.close()
    if cache is not None:
        cache.save()
        result.notes.extend((str(cache.root), error) for error in cache.save_errors)
    if config.per_file_ignores:
        from keyguard.filter.ignores import apply_per_file_ignores

        result.findings, per_file = apply_per_file_ignores(result.findings, config)
        result.ignored.extend(per_file)
    result.findings.sort(key=Finding.sort_key)
    result.ignored.sort(key=lambda item: item[0].sort_key())
    _nothing_scanned(result)
    return result


# Skip reasons that mean "this file may hold a key and was not read": when every file was
# skipped for one of them, the run failed (README "Exit codes": 2, nothing could be scanned).
_UNSCANNED = ("larger than", "unreadable")


def _nothing_scanned(result: ScanResult) -> None:
    """Add an error when files were found but none could be read (all over --max-file-size,
    or unreadable); a run that only met binary or excluded files stays clean."""
    if result.files_scanned or result.errors:
        return
    missed = {r: n for r, n in result.skipped.items() if r.startswith(_UNSCANNED)}
    if not missed:
        return
    parts = ", ".join(f"{n} file{'s' if n != 1 else ''} {reason}" for reason, n in missed.items())
    hint = " (raise --max-file-size to scan them)" if any(
        r.startswith("larger than") for r in missed) else ""
    result.errors.append(f"nothing could be scanned: {parts}{hint}")


def scan_stdin(data: bytes, name: str, config: Config, *, force_exclude: bool = False) -> ScanResult:
    """Scan `data` (standard input) as if it were the file `name` (`keyguard scan -`).

    `name` picks the file type and is the reported path; `exclude` applies to it only with
    `force_exclude` (ruff's `--stdin-filename` rules), `per-file-ignores` always.
    """
    ruleset = load_ruleset(tuple(config.extend_rules))
    engine = _engine(tuple(config.extend_rules), ruleset.select(config.select, config.ignore))
    result = ScanResult()
    if config.exclude and _config_excluded(name, config):
        if force_exclude:
            result.skip("excluded by configuration")
            result.skipped_files.append((name, "excluded by configuration"))
            return result
        result.excluded_named.append(name)
    try:
        file_result = scan_bytes(name, data, engine)
    except RecursionError:
        file_result = FileResult(name, skipped="too deeply nested to analyse")
    _collect(result, [file_result])
    if config.per_file_ignores:
        from keyguard.filter.ignores import apply_per_file_ignores

        result.findings, per_file = apply_per_file_ignores(result.findings, config)
        result.ignored.extend(per_file)
    result.findings.sort(key=Finding.sort_key)
    return result


def _is_excluded(path: str, is_dir: bool, *, config: Config) -> bool:
    return _config_excluded(path, config, is_dir=is_dir)


def _open_cache(directory: str | os.PathLike[str], ruleset: RuleSet, selected: frozenset[str],
                config: Config) -> ScanCache:
    from pathlib import Path

    from keyguard.pipeline.cache import ScanCache, ruleset_key

    texts = []
    for pack in ruleset.packs:
        try:
            texts.append(Path(pack.path).read_bytes())
        except OSError:
            texts.append(pack.path.encode())
    return ScanCache(Path(directory), ruleset_key(texts, selected, config))


def _collect(result: ScanResult, file_results: Iterable[FileResult],
             cache: ScanCache | None = None, progress: Progress | None = None) -> None:
    for fr in file_results:
        if progress is not None:
            progress.advance(fr.path)
        if cache is not None and fr.cache_entry is not None:
            cache.update(fr.path, fr.cache_entry)
            fr.cache_entry = None
        if fr.skipped:
            result.skip(fr.skipped)
            result.skipped_files.append((fr.path, fr.skipped))
            if fr.skipped.startswith(("unreadable", "vanished", "not a regular", "too deeply")):
                result.notes.append((fr.path, f"skipped, {fr.skipped}"))
            continue
        result.files_scanned += 1
        result.scanned_files.append(fr.path)
        result.findings.extend(fr.findings)
        result.ignored.extend(fr.ignored)
        result.notes.extend((fr.path, note) for note in fr.notes)
