"""Findings cache for repeated scans (CI re-runs, `pre-commit run --all-files`, editor saves).

Like ruff's cache: a file's result is reused when its content and the rule set are unchanged.

Layout: `<cache dir>/v1/<rule-set key>/<shard>.json`, 64 shards per rule set, a file's entry
in the shard picked by a hash of its path (a pre-commit run over 5 files reads at most 5
small shards; a whole-tree scan reads all of them once). An entry is
`{"h": content hash, "f": findings, "i": ignored findings, "n": notes, "st": file state}`
and holds no secret:
each finding is stored with its fingerprint and the position of the secret in the file's
decoded text (`o` offset, `n` length). On a hit the secret is read back from the file's
current bytes (which are hashed anyway) and the finding is rebuilt; if the rebuilt
fingerprint differs, the file is simply scanned again. A file whose size, mtime, ctime and
inode still match its entry's (`file_state`, with git's guard against racily clean
timestamps) and whose result holds no finding is not even read: an unchanged tree is
answered from stat calls, as `git status` does.

The rule-set key hashes keyguard's version, the source files of the `keyguard` package (by
size and modification time: a changed detector invalidates the cache in a development
checkout), the text of every rule pack, the selected rule ids and the settings that can
change a file's result. Writes are atomic (a temporary file in the same folder, then
`os.replace`), and a shard is merged with what is on disk just before it is written, so
concurrent runs never see a torn file and lose at most each other's newest entries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keyguard.model import Confidence, Finding, Location, Secret, Severity

if TYPE_CHECKING:
    from keyguard.config import Config
    from keyguard.pipeline.scan import FileResult

CACHE_VERSION = 1
SHARDS = 64
DEFAULT_DIR_NAME = ".keyguard_cache"
ENV_VAR = "KEYGUARD_CACHE_DIR"
# Config fields that cannot change what one file's scan returns.
_NEUTRAL_SETTINGS = frozenset({"jobs", "fail_on", "baseline", "config_file"})
# Finding fields stored as they are (JSON values); others are handled by name below.
_SPECIAL = frozenset({"secret", "location", "severity", "confidence", "verification"})

Entry = dict[str, Any]


def cache_directory(config: Config, flag: str | None = None) -> Path:
    """Where the cache lives: `--cache-dir`, else $KEYGUARD_CACHE_DIR, else the `cache-dir`
    setting (relative to the config file), else `.keyguard_cache` in the config root."""
    chosen = flag or os.environ.get(ENV_VAR) or getattr(config, "cache_dir", None)
    if chosen:
        return Path(os.path.abspath(chosen))
    return Path(os.path.abspath(config.root)) / DEFAULT_DIR_NAME


def content_hash(data: bytes) -> str:
    """128-bit BLAKE2b of a file's bytes, hex (about 1 GB/s: far cheaper than a scan)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def ruleset_key(pack_texts: Iterable[bytes], selected: Iterable[str], config: Config) -> str:
    """Hex key of everything besides a file's bytes and path that decides its result."""
    import keyguard

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"keyguard {keyguard.__version__} cache {CACHE_VERSION}\0".encode())
    package = os.path.dirname(os.path.abspath(keyguard.__file__))
    for folder, names in _package_sources(package):
        for name in names:
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            digest.update(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    for text in pack_texts:
        digest.update(hashlib.blake2b(text, digest_size=16).digest())
    digest.update(",".join(sorted(selected)).encode() + b"\0")
    settings = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in _NEUTRAL_SETTINGS
    }
    digest.update(repr(sorted(settings.items(), key=lambda kv: kv[0])).encode())
    return digest.hexdigest()


def _package_sources(package: str) -> list[tuple[str, list[str]]]:
    """(folder, sorted .py names) for keyguard's package and its sub-packages."""
    found = []
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.append((folder, sorted(n for n in names if n.endswith(".py"))))
    return found


def _shard_of(key: str) -> int:
    return hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=2).digest()[0] % SHARDS


def _entry_key(path: str) -> str:
    # The path as reported (findings carry it) and where it is (the same relative path in
    # another folder is another file).
    return f"{os.path.abspath(path)}\0{path}"


class ScanCache:
    """The cache of one rule set in one cache directory (main process only).

    `entries(paths)` -> the stored entries of those paths (for the workers); `update(path,
    entry)` records a fresh result; `save()` writes the shards that changed. Nothing here
    raises for an unreadable, corrupt or unwritable cache: it is then just empty or unsaved.
    """

    def __init__(self, directory: Path, key: str) -> None:
        self.root = Path(directory)
        self.folder = self.root / f"v{CACHE_VERSION}" / key
        self._shards: dict[int, dict[str, Entry]] = {}
        self._dirty: dict[int, dict[str, Entry]] = {}
        self.save_errors: list[str] = []

    def _shard(self, index: int) -> dict[str, Entry]:
        shard = self._shards.get(index)
        if shard is None:
            shard = self._shards[index] = _read_shard(self.folder / f"{index:02x}.json")
        return shard

    def entries(self, paths: Iterable[str]) -> dict[str, Entry]:
        found = {}
        for path in paths:
            key = _entry_key(path)
            entry = self._shard(_shard_of(key)).get(key)
            if entry is not None:
                found[path] = entry
        return found

    def view(self, paths: Iterable[str]) -> CacheView:
        """The entries of `paths`, for the process that scans them."""
        return CacheView(self.entries(paths))

    def update(self, path: str, entry: Entry) -> None:
        key = _entry_key(path)
        index = _shard_of(key)
        self._shard(index)[key] = entry
        self._dirty.setdefault(index, {})[key] = entry

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _mark_cache_root(self.root)
        except OSError as exc:
            self.save_errors.append(f"cache not written to {self.root}: {exc.strerror or exc}")
            return
        for index, fresh in self._dirty.items():
            target = self.folder / f"{index:02x}.json"
            merged = _read_shard(target)  # another run may have written it meanwhile
            merged.update(fresh)
            try:
                _atomic_write(target, json.dumps(merged, separators=(",", ":")))
            except OSError as exc:
                self.save_errors.append(f"cache not written to {self.root}: {exc.strerror or exc}")
                return
        self._dirty.clear()


def _read_shard(path: Path) -> dict[str, Entry]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _atomic_write(target: Path, text: str) -> None:
    import tempfile  # ~5 ms of imports: only when something is written

    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mark_cache_root(root: Path) -> None:
    """A `.gitignore` of `*` (git and keyguard's discovery skip the folder) and a
    CACHEDIR.TAG (backup tools skip it), as ruff does."""
    ignore = root / ".gitignore"
    if not ignore.exists():
        _atomic_write(ignore, "# Automatically created by keyguard.\n*\n")
    tag = root / "CACHEDIR.TAG"
    if not tag.exists():
        _atomic_write(
            tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n"
            "# This file is a cache directory tag created by keyguard.\n",
        )


# ------------------------------------------------------------------ in the workers


# File timestamps are trusted only when older than the read by more than this: a write in
# the same tick of a coarse clock (FAT keeps 2 s) leaves mtime unchanged (git's "racily
# clean" entries).
_RACY_NS = 2_000_000_000


def file_state(st: os.stat_result, read_at_ns: int) -> list[int] | None:
    """What a later run compares to skip reading a file: [size, mtime, ctime, inode] (ns),
    or None when the file was touched too near `read_at_ns` (wall clock, ns) to tell a
    later same-tick write from no change. ctime is part of it because tools that restore
    an old mtime (`cp -p`, `rsync -t`, tar) cannot restore ctime (on Windows st_ctime is
    the creation time, so there an in-place rewrite with its old mtime put back is missed,
    as git misses it)."""
    if max(st.st_mtime_ns, st.st_ctime_ns) + _RACY_NS > read_at_ns:
        return None
    return _state(st)


def _state(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclasses.dataclass
class CacheView:
    """What a worker needs: the stored entries of its files. `unchanged` answers from the
    file's stat alone; `scan` reuses or refreshes."""

    entries: Mapping[str, Entry]

    def unchanged(self, path: str, st: os.stat_result) -> FileResult | None:
        """The cached result of a file whose stat matches its entry's, without reading the
        file: only for results that hold no secret to read back (no findings), since those
        are rebuilt from the file's bytes. None: read the file and call `scan`."""
        entry = self._answerable(path)
        if entry is None or entry["st"] != _state(st):
            return None
        return restore(path, b"", entry)

    def to_read(self, paths: Iterable[str], enough: int) -> int:
        """How many of `paths` `unchanged` cannot answer from their stat (counting stops at
        `enough`)."""
        count = 0
        for path in paths:
            entry = self._answerable(path)
            if entry is not None:
                try:
                    if entry["st"] == _state(os.stat(path)):
                        continue
                except OSError:
                    pass
            count += 1
            if count >= enough:
                break
        return count

    def _answerable(self, path: str) -> Entry | None:
        """The entry of `path` when its stored state may answer for the file: it has one,
        and no finding whose secret would have to be read back."""
        entry = self.entries.get(path)
        if entry is None or entry.get("f") or entry.get("i") or "st" not in entry:
            return None
        return entry

    def scan(self, path: str, data: bytes, scan: Callable[[], FileResult],
             state: list[int] | None = None) -> FileResult:
        """The result for `path` with bytes `data`: rebuilt from the cache when the content
        hash matches and every secret reads back with its fingerprint, else `scan()` with
        the fresh entry attached as `cache_entry` (None when the result cannot be cached).
        `state` (`file_state` of the read) is stored with the entry; a hit whose stored
        state differs carries the entry with the new state, so the next run needs no read."""
        digest = content_hash(data)
        entry = self.entries.get(path)
        if entry is not None and entry.get("h") == digest:
            restored = restore(path, data, entry)
            if restored is not None:
                if state is not None and entry.get("st") != state:
                    restored.cache_entry = {**entry, "st": state}
                return restored
        result = scan()
        result.cache_entry = make_entry(digest, data, result)
        if result.cache_entry is not None and state is not None:
            result.cache_entry["st"] = state
        return result


def _decoded(data: bytes) -> str:
    from keyguard.read.documents import decode

    return decode(data)[0]


def make_entry(digest: str, data: bytes, result: FileResult) -> Entry | None:
    """The cache entry of a fresh result, or None when a secret cannot be located verbatim
    in the decoded text (a notebook whose JSON escapes it): such files are always scanned."""
    if result.skipped is not None:
        return {"h": digest, "s": result.skipped}
    text: str | None = None
    if result.findings or result.ignored:
        text = _decoded(data)
    starts = _line_starts(text or "")  # once per file: per finding made 10,000 findings quadratic
    findings = []
    for finding in result.findings:
        stored = _dump(finding, text or "", starts)
        if stored is None:
            return None
        findings.append(stored)
    ignored = []
    for finding, reason in result.ignored:
        stored = _dump(finding, text or "", starts)
        if stored is None:
            return None
        ignored.append([stored, reason])
    return {"h": digest, "f": findings, "i": ignored, "n": list(result.notes)}


def restore(path: str, data: bytes, entry: Entry) -> FileResult | None:
    """Rebuild the FileResult of a cache hit, or None when anything does not check out."""
    from keyguard.pipeline.scan import FileResult

    try:
        if "s" in entry:
            return FileResult(path, skipped=str(entry["s"]))
        text = _decoded(data) if entry.get("f") or entry.get("i") else ""
        findings = [_load(stored, text) for stored in entry["f"]]
        ignored = [(_load(stored, text), str(reason)) for stored, reason in entry["i"]]
        notes = [str(n) for n in entry["n"]]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if any(f is None for f in findings) or any(f is None for f, _ in ignored):
        return None
    return FileResult(path, findings=findings, notes=notes, ignored=ignored)  # type: ignore[arg-type]


def _line_starts(text: str) -> list[int]:
    """Offsets of the starts of text's lines ("\n" only, as raw_line counts them)."""
    starts = [0]
    find = text.find
    found = find("\n")
    while found >= 0:
        starts.append(found + 1)
        found = find("\n", found + 1)
    return starts


def _line_offset(starts: list[int], line: int) -> int:
    """Offset of 1-based `line`; past the end: the start of the last line."""
    return starts[min(line, len(starts)) - 1]


def _dump(finding: Finding, text: str, starts: list[int]) -> dict[str, Any] | None:
    value = finding.secret.reveal()
    loc = finding.location
    start = _line_offset(starts, max(loc.raw_line, 1))
    guess = start + max(loc.raw_column, 1) - 1
    if value and text[guess: guess + len(value)] == value:
        offset = guess
    else:  # any verbatim occurrence reads back the same value
        offset = text.find(value, start) if value else 0
        if offset < 0:
            offset = text.find(value)
        if offset < 0:
            return None
    stored: dict[str, Any] = {}
    for f in dataclasses.fields(finding):
        if f.name in _SPECIAL:
            continue
        item = getattr(finding, f.name)
        if item is not None and not isinstance(item, (str, int, float, bool)):
            return None  # a field this cache does not know how to store: do not cache
        stored[f.name] = item
    stored["severity"] = int(finding.severity)
    stored["confidence"] = int(finding.confidence)
    stored["location"] = loc._asdict()
    stored["o"], stored["n"] = offset, len(value)
    return stored


def _load(stored: dict[str, Any], text: str) -> Finding | None:
    fields = {k: v for k, v in stored.items() if k not in ("o", "n")}
    offset, length = int(stored["o"]), int(stored["n"])
    fields["secret"] = Secret(text[offset: offset + length])
    fields["severity"] = Severity(fields["severity"])
    fields["confidence"] = Confidence(fields["confidence"])
    fields["location"] = Location(**fields["location"])
    expected = fields.pop("fingerprint", "")
    finding = Finding(**fields)
    return finding if finding.fingerprint == expected else None
