"""Settings of a run: `[tool.keyguard]` (pyproject.toml or .keyguard.toml) merged with flags.

Command-line flags win over the file. Loading and validation of the file live here too.

Where the file comes from (ruff's rules, see `find_config`): starting at the common directory
of the scanned paths, walk up to the filesystem root; in each directory `.keyguard.toml` wins
over `pyproject.toml`, and a `pyproject.toml` without a `[tool.keyguard]` table is skipped.
The nearest file wins; files are not merged. A `.git` directory does not stop the walk (ruff
does not stop there either: a monorepo's settings may live above a nested repository).

Keys (TOML spelling; `.keyguard.toml` holds them at top level, pyproject under
`[tool.keyguard]`):

    select = ["KG1", "KG201"]        rule id prefixes to enable (default: every rule)
    ignore = ["KG204"]               rule id prefixes to disable (wins over select)
    exclude = ["examples/", "*.min.js"]      gitignore-style, relative to the config file
    per-file-ignores = {"tests/**" = ["KG1"]}  gitignore-style pattern -> rule id prefixes
    extend-rules = ["rules/acme.toml"]       extra rule packs, relative to the config file
    fail-on = "medium"               lowest severity that makes the exit code 1
    baseline = ".keyguard-baseline.json"     relative to the config file
    cache-dir = ".keyguard_cache"    findings cache folder, relative to the config file
    cache = false                    never read or write the findings cache

Every error is a `ConfigError` whose message names the file and the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

# rtoml (Rust) parses the 20 built-in packs in ~2 ms where tomllib took ~24 ms: a tenth of a
# pre-commit run. Its error messages name line and column and never quote the file.
import rtoml

from keyguard.model import Severity

CONFIG_NAMES = (".keyguard.toml", "pyproject.toml")
FILE_KEYS = (
    "select", "ignore", "exclude", "per-file-ignores", "extend-rules", "fail-on", "baseline",
    "cache-dir", "cache",
)
# A selector is a rule id or a prefix of one: "KG", "KG1", "KG20", "KG201".
SELECTOR = re.compile(r"^KG[0-9]{0,3}$")


class ConfigError(ValueError):
    """Invalid configuration (unknown key, bad value). The CLI exits 2 with this message."""


@dataclass(frozen=True)
class Config:
    """Effective settings.

    select / ignore: rule id prefixes (`KG1`, `KG201`); None selects every rule.
    exclude: gitignore-style patterns, relative to `root`.
    per_file_ignores: gitignore-style pattern -> rule id prefixes ignored in matching files.
    extend_rules: extra rule pack files (absolute paths).
    fail_on: lowest severity that makes the exit code 1.
    baseline: baseline file (absolute path) or None.
    root: directory of the config file (or the current directory when there is none).
    max_file_size: files larger than this (bytes) are skipped with a reason.
    jobs: worker processes (0: one per core).
    config_file: the file the settings came from (absolute path) or None.
    exclude_root: directory `exclude` patterns are relative to when they came from the
        command line (the current directory); None means `root`.
    """

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extend_rules: tuple[str, ...] = ()
    fail_on: Severity = Severity.MEDIUM
    baseline: str | None = None
    root: str = "."
    max_file_size: int = 10 * 1024 * 1024
    jobs: int = 0
    config_file: str | None = None
    exclude_root: str | None = None
    # Findings cache (keyguard.pipeline.cache): its folder (absolute; None: the default) and switch.
    cache_dir: str | None = None
    cache: bool = True


# --------------------------------------------------------------------------- finding the file


def _has_tool_table(path: Path) -> bool:
    """True when `path` (a pyproject.toml) has a `[tool.keyguard]` table. Invalid TOML raises."""
    data = _read_toml(path)
    tool = data.get("tool")
    return isinstance(tool, dict) and "keyguard" in tool


def find_config(start: Path) -> Path | None:
    """The nearest config file at or above `start` (a directory or a file), or None.

    In each directory `.keyguard.toml` wins over a `pyproject.toml` with `[tool.keyguard]`.
    The walk goes up to the filesystem root. Raises ConfigError when a candidate
    pyproject.toml is not valid TOML (ruff does the same: a broken file is not skipped).
    """
    start = Path(os.path.abspath(start))
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        dotfile = candidate_dir / ".keyguard.toml"
        if dotfile.is_file():
            return dotfile
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _common_directory(paths: Sequence[str]) -> Path:
    """The deepest directory containing every path (the current directory when none)."""
    if not paths:
        return Path.cwd()
    absolute = [os.path.abspath(p) for p in paths]
    # A file (or a path that does not exist yet) contributes its parent directory.
    dirs = [p if os.path.isdir(p) else os.path.dirname(p) for p in absolute]
    try:
        return Path(os.path.commonpath(dirs))
    except ValueError:  # different drives on Windows
        return Path.cwd()


# --------------------------------------------------------------------------- reading the file


@lru_cache(maxsize=16)
def _read_toml_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        return rtoml.loads(text)
    except rtoml.TomlParsingError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    return _read_toml_cached(str(path), st.st_mtime_ns, st.st_size)


def read_config_table(path: Path) -> dict[str, Any]:
    """The keyguard settings table of a config file (may be empty).

    pyproject.toml: its `[tool.keyguard]` table. `.keyguard.toml` (or any other name): the
    top-level table; a file holding only `[tool.keyguard]` is accepted too.
    """
    data = _read_toml(path)
    if path.name == "pyproject.toml" or set(data) == {"tool"}:
        tool = data.get("tool", {})
        table = tool.get("keyguard", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.keyguard] must be a table")
        return table
    return data


# --------------------------------------------------------------------------- validation


def _where(source: str, key: str) -> str:
    """`pyproject.toml: [tool.keyguard] fail-on` or `--fail-on` for the command line."""
    if source == "command line":
        return f"--{key}"
    return f"{source}: key {key!r}"


def _string_list(
    value: Any, source: str, key: str, *, split_commas: bool = False
) -> tuple[str, ...]:
    if isinstance(value, str) and split_commas:
        # `--select KG1,KG201` arrives as one string from the command line.
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(
        f"{_where(source, key)}: must be a list of strings, got {type(value).__name__} {value!r}"
    )


def _selectors(value: Any, source: str, key: str) -> tuple[str, ...]:
    items = _string_list(value, source, key, split_commas=source == "command line")
    out = []
    for item in items:
        code = item.strip().upper()
        if not SELECTOR.match(code):
            raise ConfigError(
                f"{_where(source, key)}: {item!r} is not a rule id or prefix (like KG201 or KG2)"
            )
        out.append(code)
    return tuple(out)


def _patterns(value: Any, source: str, key: str) -> tuple[str, ...]:
    items = _string_list(value, source, key, split_commas=False)
    for item in items:
        _compile_spec((item,), f"{_where(source, key)}")
    return items


def _severity(value: Any, source: str, key: str) -> Severity:
    if isinstance(value, Severity):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{_where(source, key)}: must be a string like \"medium\"")
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise ConfigError(f"{_where(source, key)}: {exc}") from None


def _relative_path(value: Any, base: Path, source: str, key: str) -> str:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ConfigError(f"{_where(source, key)}: must be a non-empty path string")
    return os.path.normpath(os.path.join(base, os.fspath(value)))


def _per_file_ignores(value: Any, source: str, key: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{_where(source, key)}: must be a table of pattern = [rule prefixes], "
            f"got {type(value).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for pattern, codes in value.items():
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"{_where(source, key)}: patterns must be non-empty strings")
        sub = f'{key}."{pattern}"'
        _compile_spec((pattern,), _where(source, sub))
        out[pattern] = _selectors(codes, source, sub)
    return out


def _positive_int(value: Any, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{_where(source, key)}: must be a non-negative integer, got {value!r}")
    return value


def _check_rule_selectors(config: Config, source_of: Mapping[str, str]) -> None:
    """Every selector must match at least one loaded rule (ruff rejects unknown codes too)."""
    from keyguard.rulepack.load import RulePackError, load_ruleset

    try:
        ruleset = load_ruleset(config.extend_rules)
    except RulePackError as exc:
        raise ConfigError(f"{_where(source_of['extend-rules'], 'extend-rules')}: {exc}") from None
    ids = ruleset.rules.keys()
    checks: list[tuple[str, tuple[str, ...]]] = [
        ("select", config.select or ()),
        ("ignore", config.ignore),
    ]
    checks += [(f"per-file-ignores.{p!r}", c) for p, c in config.per_file_ignores.items()]
    for key, selectors in checks:
        base_key = key.split(".", 1)[0]
        for sel in selectors:
            if not any(rule_id.startswith(sel) for rule_id in ids):
                raise ConfigError(
                    f"{_where(source_of.get(base_key, 'command line'), key)}: "
                    f"{sel!r} matches no rule (see `keyguard rules`)"
                )


# --------------------------------------------------------------------------- loading


def _normalise_override_key(key: str) -> str:
    return key.replace("_", "-")


# Overrides the command line may pass besides the file keys. `config`: an explicit config file
# (skips the search); `isolated`: ignore every config file.
OVERRIDE_ONLY_KEYS = ("max-file-size", "jobs", "config", "isolated")


def load_config(
    paths: Sequence[str] = (),
    overrides: Mapping[str, object] | None = None,
    *,
    cwd: str | None = None,
) -> Config:
    """Effective Config for scanning `paths`: the nearest config file, then `overrides`.

    paths: the paths given on the command line (relative to the current directory or
        absolute); the search for a config file starts at their common directory.
    overrides: command-line values by key (`select`, `fail_on` or `fail-on`, ...); a value of
        None means "flag not given". A flag replaces the file's value for that key (no
        merging, so what you type is what runs). Paths and patterns from flags are relative
        to `cwd`. Special keys: `config` (a file to use instead of searching), `isolated`
        (True: no file at all).
    cwd: directory relative paths are resolved against (default: the current directory).

    Raises ConfigError naming the file (or flag) and the key for unknown keys, wrong types,
    unknown severities, bad patterns, selectors that match no rule, missing rule packs.
    """
    overrides = {
        _normalise_override_key(k): v for k, v in (overrides or {}).items() if v is not None
    }
    unknown = sorted(set(overrides) - set(FILE_KEYS) - set(OVERRIDE_ONLY_KEYS))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    here = Path(cwd or os.getcwd())
    abs_paths = [os.path.join(here, p) for p in paths]

    config_file: Path | None = None
    if overrides.get("isolated"):
        config_file = None
    elif "config" in overrides:
        config_file = Path(os.path.join(here, os.fspath(overrides["config"])))  # type: ignore[arg-type]
        if not config_file.is_file():
            raise ConfigError(f"--config: {config_file}: no such file")
    else:
        config_file = find_config(_common_directory(abs_paths))

    table: dict[str, Any] = read_config_table(config_file) if config_file else {}
    root = config_file.parent if config_file else here
    file_source = str(config_file)
    if config_file and config_file.name == "pyproject.toml":
        file_source += " [tool.keyguard]"

    unknown = sorted(set(table) - set(FILE_KEYS))
    if unknown:
        hint = ""
        for key in unknown:
            if key.replace("_", "-") in FILE_KEYS:
                hint = f" (did you mean {key.replace('_', '-')!r}?)"
                break
        raise ConfigError(
            f"{file_source}: unknown key(s) {', '.join(map(repr, unknown))}{hint}; "
            f"allowed: {', '.join(FILE_KEYS)}"
        )

    values: dict[str, Any] = {}
    source_of: dict[str, str] = {}

    def take(key: str, value: Any, source: str, base: Path) -> None:
        source_of[key] = source
        if key in ("select", "ignore"):
            values[key] = _selectors(value, source, key)
        elif key == "exclude":
            values[key] = _patterns(value, source, key)
        elif key == "per-file-ignores":
            values[key] = _per_file_ignores(value, source, key)
        elif key == "extend-rules":
            packs = tuple(
                _relative_path(p, base, source, key)
                for p in _string_list(value, source, key, split_commas=source == "command line")
            )
            for pack in packs:
                if not os.path.isfile(pack):
                    raise ConfigError(f"{_where(source, key)}: rule pack {pack} does not exist")
            values[key] = packs
        elif key == "fail-on":
            values[key] = _severity(value, source, key)
        elif key in ("baseline", "cache-dir"):
            values[key] = _relative_path(value, base, source, key)
        elif key == "cache":
            if not isinstance(value, bool):
                raise ConfigError(f"{_where(source, key)}: must be true or false")
            values[key] = value
        elif key in ("max-file-size", "jobs"):
            values[key] = _positive_int(value, source, key)

    for key, value in table.items():
        take(key, value, file_source, root)
    for key, value in overrides.items():
        if key in ("config", "isolated"):
            continue
        take(key, value, "command line", here)

    kwargs: dict[str, Any] = {
        "root": str(root),
        "config_file": str(config_file) if config_file else None,
    }
    names = {f.name for f in fields(Config)}
    for key, value in values.items():
        name = key.replace("-", "_")
        assert name in names, name
        kwargs[name] = value
    if "exclude" in overrides:
        kwargs["exclude_root"] = str(here)
    config = Config(**kwargs)
    source_of.setdefault("extend-rules", file_source if config_file else "command line")
    _check_rule_selectors(config, source_of)
    return config


# --------------------------------------------------------------------------- matching paths


@lru_cache(maxsize=256)
def _compile_spec(patterns: tuple[str, ...], where: str = "") -> Any:
    """A compiled pathspec.GitIgnoreSpec for `patterns` (cached: compiled once per config)."""
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, TypeError, re.error) as exc:
        # re.error: a bracket pathspec turns into a bad regex class (`[z-a]`).
        shown = patterns[0] if len(patterns) == 1 else ", ".join(patterns)
        raise ConfigError(f"{where}: invalid pattern {shown!r}: {exc}") from None


def _match_path(path: str, root: str, is_dir: bool) -> str:
    """`path` as a pattern target: posix, relative to `root`.

    A path outside `root` is matched by its absolute form without the leading slash, so
    unanchored patterns (`*.ipynb`, `build/`) still apply while anchored ones cannot match.
    """
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, os.path.abspath(root))
    except ValueError:  # another drive on Windows
        rel = ".."
    if rel == ".." or rel.startswith(".." + os.sep):
        rel = absolute.lstrip(os.sep).lstrip("/")
    rel = rel.replace(os.sep, "/")
    if is_dir and not rel.endswith("/"):
        rel += "/"
    return rel


def is_excluded(path: str, config: Config, *, is_dir: bool = False) -> bool:
    """True when `path` (relative to the current directory, or absolute) matches `exclude`.

    Pass `is_dir=True` for a directory so that directory patterns (`examples/`) prune it
    during discovery. Patterns are matched gitignore-style against the path relative to
    `config.exclude_root` (command-line patterns) or `config.root` (the config file's).
    """
    if not config.exclude:
        return False
    root = config.exclude_root or config.root
    spec = _compile_spec(tuple(config.exclude))
    return bool(spec.match_file(_match_path(path, root, is_dir)))


@lru_cache(maxsize=64)
def _per_file_specs(
    items: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[tuple[Any, tuple[str, ...]], ...]:
    return tuple((_compile_spec((pattern,)), codes) for pattern, codes in items)


def ignored_rules_for(path: str, config: Config) -> tuple[str, ...]:
    """Rule id prefixes `per-file-ignores` turns off for `path` (empty tuple: none).

    Only the per-file part: the global `ignore` is applied by rule selection. Patterns are
    relative to `config.root`; the result keeps the file's order without duplicates.
    """
    if not config.per_file_ignores:
        return ()
    target = _match_path(path, config.root, False)
    out: dict[str, None] = {}
    for spec, codes in _per_file_specs(tuple(config.per_file_ignores.items())):
        if spec.match_file(target):
            out.update(dict.fromkeys(codes))
    return tuple(out)


def is_rule_ignored_for(rule_id: str, path: str, config: Config) -> bool:
    """True when `per-file-ignores` turns `rule_id` off for `path`."""
    return any(rule_id.startswith(prefix) for prefix in ignored_rules_for(path, config))
