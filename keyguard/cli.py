"""Command-line interface (click), shaped like ruff's.

    keyguard scan [PATHS]...   find leaked credentials (default: the current directory)
    keyguard rules [RULE]      list the rules, or explain one with its examples
    keyguard verify            ask providers whether keys (report or stdin) are live

Exit codes: 0 no finding at or above --fail-on (also: nothing to scan, with a warning), 1
findings, 2 usage, configuration or internal error, or a scan that did not complete (a path
that does not exist; --exit-zero never hides it). Machine output goes to stdout or --output;
the summary, notes and progress go to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from keyguard import __version__
from keyguard.model import Finding, Severity

if TYPE_CHECKING:  # imported when first used: a history scan starts git before that (10 ms)
    from keyguard.config import Config

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITIES = [s.label for s in Severity]


def _split_codes(values: Sequence[str]) -> tuple[str, ...]:
    """`--select KG1,KG201 --select KG3` -> ('KG1', 'KG201', 'KG3')."""
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def use_color(choice: str, stream: Any) -> bool:
    """--color always|never|auto. auto, in this order: NO_COLOR set (no-color.org) -> off;
    FORCE_COLOR set (force-color.org, any non-empty value) -> on, also when piped;
    TERM=dumb -> off; else on only for a terminal."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def build_config(paths: Sequence[str], flags: dict[str, Any]) -> Config:
    """Configuration file values overlaid with command-line flags (flags win)."""
    from keyguard.config import load_config

    overrides = {k: v for k, v in flags.items() if v is not None}
    return load_config(paths, overrides)


def _summary(result: Any, findings: Sequence[Finding], fail_on: Severity) -> dict[str, Any]:
    by_severity: dict[str, int] = {}
    for f in findings:
        by_severity[f.severity.label] = by_severity.get(f.severity.label, 0) + 1
    return {
        "files_scanned": result.files_scanned,
        "findings": len(findings),
        "by_severity": by_severity,
        "failing": sum(1 for f in findings if f.severity >= fail_on),
        "fail_on": fail_on.label,
        "skipped": dict(sorted(result.skipped.items())),
        "notes": [{"path": p, "note": n} for p, n in result.notes],
        "errors": list(result.errors),
        **_history_summary(result),
    }


def _history_summary(result: Any) -> dict[str, Any]:
    """`history` in the summary of a --history scan: commits read, distinct blobs scanned."""
    if not hasattr(result, "commits"):
        return {}
    return {"history": {"commits": result.commits, "blobs_scanned": result.files_scanned}}


# Skip reasons (the JSON summary's stable keys) as counted phrases: (one, many).
_SKIP_PHRASES: dict[str, tuple[str, str]] = {
    "binary file": ("binary file", "binary files"),
    "excluded by configuration": ("file excluded by configuration", "files excluded by configuration"),
    "VCS, cache or virtual-environment directory": (
        "VCS, cache or virtual-environment directory", "VCS, cache or virtual-environment directories"),
    "broken symlink": ("broken symlink", "broken symlinks"),
    "symlink loop": ("symlink loop", "symlink loops"),
    "not a regular file": ("special file (not a regular file)", "special files (not regular files)"),
    "vanished before it could be read": ("file that vanished before it could be read",
                                         "files that vanished before they could be read"),
    "too deeply nested to analyse": ("file too deeply nested to analyse",
                                     "files too deeply nested to analyse"),
}


def skip_phrase(reason: str, count: int) -> str:
    """`3 binary files`, `1 file larger than 10 MB`, `2 unreadable files (Permission denied)`."""
    if reason in _SKIP_PHRASES:
        one, many = _SKIP_PHRASES[reason]
        return f"{count} {one if count == 1 else many}"
    noun = "file" if count == 1 else "files"
    if reason.startswith("unreadable"):
        return f"{count} unreadable {noun}{reason.removeprefix('unreadable')}"
    return f"{count} {noun} {reason}"  # "larger than 10 MB"


def _print_summary(summary: dict[str, Any], quiet: bool) -> None:
    from keyguard.report.redact import safe_text  # notes and errors may quote names and content

    for error in summary["errors"]:
        click.echo(f"keyguard: error: {safe_text(error)}", err=True)
    if quiet:
        return
    for note in summary["notes"]:
        click.echo(safe_text(f"keyguard: note: {note['path']}: {note['note']}"), err=True)
    count = summary["findings"]
    parts = [f"{n} {sev}" for sev, n in sorted(summary["by_severity"].items(), key=lambda kv: -Severity.parse(kv[0]))]
    found = f"Found {count} finding{'s' if count != 1 else ''}" + (f" ({', '.join(parts)})" if parts else "")
    skipped = summary["skipped"]
    skipped_text = ""
    if skipped:
        skipped_text = "; skipped " + ", ".join(safe_text(skip_phrase(r, n)) for r, n in skipped.items())
    files = summary["files_scanned"]
    scanned = f"{files} scanned file{'' if files == 1 else 's'}"
    if "history" in summary:
        history = summary["history"]
        scanned = (f"{history['blobs_scanned']} distinct blob(s) of {history['commits']} "
                   f"commit(s)")
    click.echo(f"{found} in {scanned}{skipped_text}.", err=True)
    if summary["errors"]:
        n = len(summary["errors"])
        click.echo(f"The scan did not complete: {n} error{'' if n == 1 else 's'} (exit code 2).",
                   err=True)
    elif files == 0 and "history" not in summary:
        # Not an error (ruff's convention, and pre-commit may pass only excluded files).
        click.echo("keyguard: warning: no file was scanned: the paths hold no text file "
                   "that is not excluded", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        # Bad input gets a clear message, never a traceback (KEYGUARD_DEBUG=1 shows it).
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            _redact_click_error(exc)  # a bad option value may be a pasted key
            raise
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("keyguard: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if isinstance(exc, ValueError) and type(exc).__module__.startswith("keyguard."):
                # keyguard's own errors (config, rule pack, baseline, verify) quote values and
                # paths from the user's files: every key shape in them is redacted.
                from keyguard.report.redact import safe_text

                click.echo(f"keyguard: error: {safe_text(str(exc))}", err=True)
                ctx.exit(EXIT_ERROR)
            if os.environ.get("KEYGUARD_DEBUG"):
                raise
            # Any other message may quote scanned text: name the type only.
            click.echo(
                f"keyguard: internal error ({exc.__class__.__name__}); rerun with KEYGUARD_DEBUG=1 for details",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            _redact_click_error(exc)
            raise


def _redact_click_error(exc: click.ClickException) -> None:
    """Redact key shapes and escape control characters in a usage error's message
    (`--fail-on <pasted key>`, an unknown option or command that is a key)."""
    from keyguard.report.redact import safe_text

    exc.message = safe_text(exc.message)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """keyguard: find, fix and verify leaked quantum-cloud credentials (`keyguard rules` lists the providers)."""


class _ScanCommand(click.Command):
    """`scan`, where a bare `--history` means `--history=--all` (click would otherwise take
    the next path as its value: `--history src` must scan src's history on every ref)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        args = [f"--history={ALL_REFS}" if a == "--history" and i < end else a
                for i, a in enumerate(args)]
        return super().parse_args(ctx, args)


ALL_REFS = "--all"


@cli.command(cls=_ScanCommand)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--stdin-filename", default=None, metavar="NAME",
              help="With PATHS `-` (read standard input): the file name that picks the file "
                   "type and is reported.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True,
              help="Output format (sarif: GitHub code scanning; github: workflow annotations).")
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per rule instead of the findings (text, json).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of stdout.")
@click.option("--sarif-output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write SARIF to FILE (one scan, e.g. --format github --sarif-output F).")
@click.option("--select", multiple=True, help="Only these rule ids or prefixes (comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rule ids or prefixes (comma-separated).")
@click.option("--fail-on", type=click.Choice(SEVERITIES, case_sensitive=False), default=None,
              help="Lowest severity that makes the exit code 1 [default: medium].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are reported.")
@click.option("--show-secrets", is_flag=True,
              help="Print secrets unredacted (text and json). Never use in shared CI logs.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colour in text output (NO_COLOR is honoured).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary or notes.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also list on stderr the config file, the rules run, and every file "
                   "scanned or skipped (with the reason).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None,
              help="Worker processes (0: one per core).")
@click.option("--max-file-size", type=click.IntRange(min=1), default=None,
              help="Skip files larger than this many MB [default: 10].")
@click.option("--no-cache", is_flag=True,
              help="Scan every file again: neither read nor write the findings cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Findings cache folder [default: $KEYGUARD_CACHE_DIR, the cache-dir setting, "
                   "else .keyguard_cache beside the config file].")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), default=None,
              help="Report only findings not in this baseline (see `keyguard baseline`).")
@click.option("--show-ignored", is_flag=True,
              help="Also list findings suppressed by ignore comments, cell tags, per-file-ignores "
                   "or the baseline, with the reason (for audits).")
@click.option("--fix", "fix_", is_flag=True,
              help="Rewrite fixable credential literals into os.environ reads (exit 1 when a file changed).")
@click.option("--diff", is_flag=True,
              help="Print the unified diff --fix would apply (secrets redacted); write nothing.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Use this config file instead of searching for pyproject.toml/.keyguard.toml.")
@click.option("--force-exclude", is_flag=True,
              help="Apply `exclude` to paths named on the command line too (pre-commit "
                   "names every file); without it a named excluded file is scanned, with a "
                   "warning.")
@click.option("--history", "history", metavar="[=REV-RANGE]", default=None,
              help="Scan the git history instead of the files: every commit of every ref "
                   "(--history), or what `git rev-list` selects (--history=origin/main..HEAD). "
                   "PATHS limit the paths inside the repository.")
@click.option("--pre-push", "pre_push", is_flag=True,
              help="Scan exactly the commits being pushed (pre-commit's PRE_COMMIT_FROM_REF.."
                   "PRE_COMMIT_TO_REF; the keyguard-push hook). Implies --history.")
@click.option("--verify", "verify_", is_flag=True,
              help="Ask each provider whether the keys found are live: sends each distinct key "
                   "to its provider's official endpoint (opt-in; see README \"Verification\").")
@click.option("--verify-legacy", is_flag=True,
              help="Also query the endpoints of retired platforms (rules marked legacy; implies --verify).")
@click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds per verification request.")
@click.option("--verify-per-host", type=click.IntRange(min=1), default=1, show_default=True,
              help="Verification requests in flight per provider host.")
@click.option("--verify-deadline", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds for the whole verification; keys not answered by then are unknown.")
@click.pass_context
def scan(ctx: click.Context, paths: tuple[str, ...], output_format: str, output: str | None,
         select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None, exit_zero: bool,
         show_secrets: bool, color: str, quiet: bool, jobs: int | None,
         max_file_size: int | None, baseline_file: str | None = None, show_ignored: bool = False,
         config_file: str | None = None, sarif_output: str | None = None,
         fix_: bool = False, diff: bool = False, verify_: bool = False,
         verify_legacy: bool = False, verify_timeout: float = 10.0,
         verify_per_host: int = 1, stdin_filename: str | None = None, statistics: bool = False,
         verbose: bool = False, force_exclude: bool = False, no_cache: bool = False,
         cache_dir: str | None = None, verify_deadline: float = 120.0,
         history: str | None = None, pre_push: bool = False) -> None:
    """Scan PATHS (files or directories; default: .; `-`: standard input) for leaked credentials."""
    paths = paths or (".",)
    stdin = "-" in paths
    _check_usage(paths, stdin, stdin_filename, fix_ or diff, statistics, output_format)
    # Output targets are checked before the scan: a typo must not cost a whole scan.
    if output:
        _check_output_file(output, "'-o' / '--output'")
    if sarif_output:
        _check_output_file(sarif_output, "'--sarif-output'", create_parent=True)
    flags: dict[str, Any] = {
        "select": _split_codes(select) or None,
        "ignore": _split_codes(ignore) or None,
        "fail_on": Severity.parse(fail_on) if fail_on else None,
        "jobs": jobs,
        "max_file_size": max_file_size * 1024 * 1024 if max_file_size else None,
        "baseline": baseline_file,
        "config": config_file,
    }
    if pre_push:
        from keyguard.sources.history.push import pushed_range

        history = pushed_range(os.environ)
    started = None
    if history is not None:
        # git lists the commits while the configuration and the scanners load.
        from keyguard.sources.history.start import start_history

        started = start_history(paths, history)
    config_paths = (stdin_filename or ".",) if stdin else paths
    try:
        config = build_config(config_paths, flags)
    except BaseException:
        if started is not None:
            started.stop()
        raise
    if verbose:
        _print_setup(config)
    from keyguard.pipeline.scan import scan_paths, scan_stdin

    if history is not None:
        from keyguard.sources.history.run import scan_history

        result = scan_history(paths, history, config, started)
    elif stdin:
        result = scan_stdin(sys.stdin.buffer.read(), stdin_filename or "-", config,
                            force_exclude=force_exclude)
    else:
        result = scan_paths(paths, config, force_exclude=force_exclude,
                            **_speed_options(config, quiet, no_cache, cache_dir))
    for name in [] if quiet else result.excluded_named:
        from keyguard.report.redact import safe_text

        click.echo(f"keyguard: warning: {safe_text(name)}: matches `exclude` in the configuration but was "
                   "named explicitly, so it is scanned (--force-exclude skips it)", err=True)
    if verbose:
        _print_files(result)
    findings = result.findings
    findings, suppressed = _apply_baseline(findings, result.ignored, config)
    if verify_ or verify_legacy:
        # Before fixing: a key removed from the code is still exposed in history, and the
        # user needs to know whether it is live to know what to revoke first.
        findings = _verify(findings, config, legacy=verify_legacy, timeout=verify_timeout,
                           per_host=verify_per_host, deadline=verify_deadline)
    fixed_files = False
    if (fix_ or diff) and history is not None:
        _history_fix_notice(findings, quiet)
    elif fix_ or diff:
        findings, fixed_files = _fix_or_diff(findings, config, write=fix_ and not diff,
                                             show_secrets=show_secrets, quiet=quiet, roots=paths)
        if diff:
            if result.errors:
                ctx.exit(EXIT_ERROR)
            failing = any(f.severity >= config.fail_on for f in findings) and not exit_zero
            ctx.exit(EXIT_FINDINGS if fixed_files or failing else EXIT_CLEAN)
    summary = _summary(result, findings, config.fail_on)
    if verify_ or verify_legacy:
        summary["verification"] = _verification_counts(findings)
    _add_suppressed(summary, suppressed, show_ignored, output_format, show_secrets)

    stream = click.open_file(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        if statistics:
            from keyguard.report.statistics import render_statistics

            colored = use_color(color, stream) and not output
            stream.write(render_statistics(findings, output_format, color=colored))
        elif output_format == "json":
            from keyguard.report.json import render_json

            stream.write(render_json(findings, summary, show_secrets=show_secrets))
        elif output_format == "sarif":
            stream.write(_render_sarif(findings, config, result, config_paths))
        elif output_format == "github":
            from keyguard.report.github import render_github
            from keyguard.report.sarif import source_root

            stream.write(render_github(findings, cwd=source_root(config_paths)))
        else:
            from keyguard.report.text import render_text

            colored = use_color(color, stream) and not output
            stream.write(render_text(findings, color=colored, show_secrets=show_secrets))
    finally:
        if output:
            stream.close()
        else:
            stream.flush()
    if sarif_output:
        with open(sarif_output, "w", encoding="utf-8") as sarif_stream:
            sarif_stream.write(_render_sarif(findings, config, result, config_paths))
    _print_summary(summary, quiet)
    _print_verification(summary, quiet)
    _print_suppressed(suppressed, show_ignored, quiet, listed_in_json=output_format == "json")

    if result.errors:  # an incomplete scan is never a pass, whatever --exit-zero says
        ctx.exit(EXIT_ERROR)
    if fixed_files:  # pre-commit convention: files changed, so the commit must stop
        ctx.exit(EXIT_FINDINGS)
    if summary["failing"] and not exit_zero:
        ctx.exit(EXIT_FINDINGS)
    ctx.exit(EXIT_CLEAN)


def _speed_options(config: Config, quiet: bool, no_cache: bool,
                   cache_dir: str | None) -> dict[str, Any]:
    """scan_paths' cache folder (None with --no-cache or `cache = false`) and progress bar
    (only on a terminal, never in CI or with -q)."""
    from keyguard.pipeline.progress import Progress, wanted

    options: dict[str, Any] = {"cache_dir": None, "progress": None}
    if not no_cache and config.cache:
        from keyguard.pipeline.cache import cache_directory

        options["cache_dir"] = cache_directory(config, cache_dir)
    if wanted(quiet=quiet):
        options["progress"] = Progress()
    return options


def _fix_or_diff(findings: list[Finding], config: Config, *, write: bool, show_secrets: bool,
                 quiet: bool, roots: Sequence[str] = (".",)) -> tuple[list[Finding], bool]:
    """--fix / --diff: the findings still in the code, and whether a file changed (or would).

    --diff prints the unified diff on stdout; the fix summary (revoke where, which variables
    to set, what to fix by hand) goes to stderr.
    """
    from keyguard.fix import fix_findings, summarize
    from keyguard.rulepack.load import load_ruleset

    ruleset = load_ruleset(tuple(config.extend_rules))
    run = fix_findings(findings, write=write, ruleset=ruleset, show_secrets=show_secrets,
                       roots=list(roots))
    if not write:
        click.echo(run.diff, nl=False)
    for error in run.errors:
        from keyguard.report.redact import safe_text

        click.echo(f"keyguard: error: {safe_text(error)}", err=True)
    if not quiet:
        click.echo(summarize(run.plans, ruleset, applied=write), err=True, nl=False)
    return run.remaining, bool(run.changed)


def _history_fix_notice(findings: Sequence[Finding], quiet: bool) -> None:
    """--fix/--diff with --history: history is never rewritten; say what to do instead."""
    if quiet and not findings:
        return
    click.echo(
        "keyguard: --fix does not rewrite history. Revoke every key found in history with its "
        "provider (a removed key is still in every clone). To also purge it from the history, "
        "see `git filter-repo --replace-text` (it rewrites commits: coordinate with everyone "
        "who has a clone). Run --fix without --history to fix the working tree.", err=True)


def _render_sarif(findings: Sequence[Finding], config: Config, result: Any,
                  paths: Sequence[str]) -> str:
    """SARIF for `findings`, with the metadata of every loaded rule (never the secrets), the
    run's invocation (complete or not, skipped files and errors as notifications) and URIs
    relative to the repository holding `paths`."""
    from keyguard.report.sarif import Invocation, render_sarif, source_root
    from keyguard.rulepack.load import load_ruleset

    ruleset = load_ruleset(tuple(config.extend_rules))
    invocation = Invocation(errors=tuple(result.errors), skipped=tuple(result.skipped_files),
                            notes=tuple(result.notes), files_scanned=result.files_scanned)
    return render_sarif(findings, ruleset, version=__version__, cwd=source_root(paths),
                        invocation=invocation)


def _check_usage(paths: Sequence[str], stdin: bool, stdin_filename: str | None, fixing: bool,
                 statistics: bool, output_format: str) -> None:
    """Combinations that cannot work are usage errors (exit 2) before anything runs."""
    if stdin and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be combined with other paths")
    if stdin_filename and not stdin:
        raise click.UsageError("--stdin-filename needs `-` as the path (read standard input)")
    if stdin and fixing:
        raise click.UsageError("--fix and --diff rewrite files; they do not take standard input")
    if statistics and output_format not in ("text", "json"):
        raise click.UsageError("--statistics works with --format text or json")


def _check_output_file(path: str, option: str, *, create_parent: bool = False) -> None:
    """A usage error (exit 2) when `path` cannot be written, said before scanning.

    `create_parent`: create a missing folder (CI passes paths like reports/keyguard.sarif).
    """
    parent = os.path.dirname(os.path.abspath(path))
    if create_parent:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise click.BadParameter(f"cannot create the folder {parent}: {exc.strerror}",
                                     param_hint=option) from None
    if not os.path.isdir(parent):
        raise click.BadParameter(f"the folder {parent} does not exist", param_hint=option)
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{path} is not writable", param_hint=option)


def _print_setup(config: Config) -> None:
    """--verbose: which configuration and which rules this run uses."""
    from keyguard.report.redact import safe_text
    from keyguard.rulepack.load import load_ruleset

    shown = safe_text(str(config.config_file)) if config.config_file else "none (defaults)"
    click.echo(f"keyguard: config: {shown}", err=True)
    ruleset = load_ruleset(tuple(config.extend_rules))
    selected = sorted(ruleset.select(config.select, config.ignore))
    click.echo(f"keyguard: rules run ({len(selected)}): {', '.join(selected)}", err=True)


def _print_files(result: Any) -> None:
    """--verbose: every file scanned, every file skipped and why."""
    from keyguard.report.redact import safe_text

    for path in result.scanned_files:
        click.echo(f"keyguard: scanned {safe_text(path)}", err=True)
    for path, reason in result.skipped_files:
        click.echo(safe_text(f"keyguard: skipped {path}: {reason}"), err=True)


# ------------------------------------------------------------------ verification (issue 4)


def _verify(findings: list[Finding], config: Config, *, legacy: bool, timeout: float,
            per_host: int, deadline: float = 120.0) -> list[Finding]:
    """--verify: the findings with `verification` set (VerifyConfigError -> exit 2)."""
    from keyguard.rulepack.load import load_ruleset
    from keyguard.verify.http import verify_findings

    ruleset = load_ruleset(tuple(config.extend_rules))
    return verify_findings(findings, ruleset, timeout=timeout, per_host=per_host,
                           verify_legacy=legacy, deadline=deadline)


def _verification_counts(findings: Sequence[Finding]) -> dict[str, int]:
    """Findings per verification state, e.g. {"verified": 2, "unknown": 1}."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.verification.state.value] = counts.get(f.verification.state.value, 0) + 1
    return dict(sorted(counts.items()))


def _print_verification(summary: dict[str, Any], quiet: bool) -> None:
    counts = summary.get("verification")
    if quiet or not counts:
        return
    text = ", ".join(f"{n} {state}" for state, n in counts.items())
    live = counts.get("verified", 0) + counts.get("restricted", 0)
    click.echo(f"Verification: {text}." + (" Live keys: revoke them now." if live else ""),
               err=True)


@cli.command()
@click.option("--from", "report", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A JSON report written by `keyguard scan --format json --show-secrets`.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--show-secrets", is_flag=True, help="Print secrets unredacted.")
@click.option("--verify-legacy", is_flag=True,
              help="Also query the endpoints of retired platforms (rules marked legacy).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds per request.")
@click.option("--per-host", type=click.IntRange(min=1), default=1, show_default=True,
              help="Requests in flight per provider host.")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True,
              help="Seconds for the whole verification; keys not answered by then are unknown.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (for extend-rules).")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.pass_context
def verify(ctx: click.Context, report: str | None, output_format: str, show_secrets: bool,
           verify_legacy: bool, timeout: float, per_host: int, config_file: str | None,
           quiet: bool, deadline: float = 120.0) -> None:
    """Ask the providers whether keys are live: from --from REPORT, or stdin one key per line.

    Stdin lines may be a bare key or NAME=key; the token rules' formats say which provider
    to ask. Exit 1 when a key is live (verified or restricted), else 0; 2 on errors.
    """
    from keyguard.verify.http import findings_from_lines, findings_from_report

    config = build_config((".",), {"config": config_file})
    if report:
        with open(report, encoding="utf-8") as handle:
            findings = findings_from_report(handle.read(), report)
    else:
        from keyguard.rulepack.load import load_ruleset

        if sys.stdin.isatty() and not quiet:
            click.echo("keyguard: reading keys from stdin, one per line (end with Ctrl-D)",
                       err=True)
        ruleset = load_ruleset(tuple(config.extend_rules))
        findings, unrecognised = findings_from_lines(sys.stdin, ruleset)
        for number in unrecognised:  # never echo the line: it may be a key of unknown shape
            click.echo(f"keyguard: note: <stdin>:{number}: not a known key format, skipped",
                       err=True)
    findings = _verify(findings, config, legacy=verify_legacy, timeout=timeout,
                       per_host=per_host, deadline=deadline)
    counts = _verification_counts(findings)
    if output_format == "json":
        from keyguard.report.json import render_json

        click.echo(render_json(findings, {"findings": len(findings), "verification": counts},
                               show_secrets=show_secrets), nl=False)
    else:
        from keyguard.report.text import render_text

        click.echo(render_text(findings, show_secrets=show_secrets), nl=False)
    _print_verification({"verification": counts}, quiet)
    live = counts.get("verified", 0) + counts.get("restricted", 0)
    ctx.exit(EXIT_FINDINGS if live else EXIT_CLEAN)


@cli.command()
@click.argument("args", nargs=-1, metavar="[RULE_ID | check [PACK.toml]...]")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (for extend-rules) instead of searching for one.")
@click.pass_context
def rules(ctx: click.Context, args: tuple[str, ...], output_format: str,
          config_file: str | None) -> None:
    """List every rule, explain RULE_ID with its examples, or check rule packs.

    The built-in packs and the config's `extend-rules` packs are loaded. `keyguard rules
    check PACK.toml` also loads PACK.toml and runs its examples through the scanner and the
    fixer (without PACK: every loaded pack's); exit 1 when an example fails.
    """
    from keyguard.rulepack.load import load_ruleset

    config = build_config((".",), {"config": config_file})
    if args and args[0] == "check":
        ctx.exit(_rules_check(args[1:], config))
    if len(args) > 1:
        raise click.UsageError("give one RULE_ID, or `check PACK.toml...`")
    from keyguard.rulepack.rules_info import describe_rule, list_rules

    ruleset = load_ruleset(tuple(config.extend_rules))
    try:
        if args:
            text = describe_rule(args[0], output_format, ruleset=ruleset)
        else:
            text = list_rules(output_format, ruleset=ruleset)
    except ValueError as exc:  # unknown rule id: a usage error
        raise click.BadParameter(str(exc), param_hint="RULE_ID") from None
    click.echo(text, nl=False)


def _rules_check(packs: Sequence[str], config: Config) -> int:
    """`keyguard rules check`: exit code 0 when every example passes, 1 otherwise."""
    from pathlib import Path

    from keyguard.rulepack.load import load_ruleset
    from keyguard.rulepack.rules_check import check_examples, report

    extra = list(config.extend_rules)
    known = {os.path.realpath(p) for p in extra}
    for pack in packs:
        if not os.path.isfile(pack):
            raise click.BadParameter(f"{pack}: no such rule pack file", param_hint="PACK.toml")
        if os.path.realpath(pack) not in known:
            extra.append(os.path.abspath(pack))
            known.add(os.path.realpath(pack))
    ruleset = load_ruleset(tuple(extra))  # RulePackError: exit 2 naming the file and key
    wanted = {os.path.realpath(p) for p in packs}
    chosen = [p for p in ruleset.packs if not wanted or os.path.realpath(Path(p.path)) in wanted]
    results = check_examples(ruleset, chosen)
    click.echo(report(results), nl=False)
    return EXIT_FINDINGS if any(r.failures for r in results) else EXIT_CLEAN


# ------------------------------------------------------------------ baselines and ignores


def _apply_baseline(
    findings: list[Finding], ignored: Sequence[tuple[Finding, str]], config: Config
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Findings not in the configured baseline, and everything suppressed with its reason.

    Raises BaselineError (exit 2) when a baseline is configured but unreadable or invalid.
    """
    suppressed = list(ignored)
    if config.baseline:
        from keyguard.filter.baseline import load_baseline

        baseline = load_baseline(config.baseline)
        findings, known = baseline.filter(findings)
        try:
            where = os.path.relpath(baseline.path).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            where = str(baseline.path)
        suppressed += [(f, f"known in baseline {where}") for f in known]
        suppressed.sort(key=lambda item: item[0].sort_key())
    return findings, suppressed


def _add_suppressed(summary: dict[str, Any], suppressed: Sequence[tuple[Finding, str]],
                    show: bool, output_format: str, show_secrets: bool) -> None:
    """Counts of suppressed findings in the summary; with --show-ignored in JSON, the list."""
    summary["ignored"] = sum(1 for _, r in suppressed if not r.startswith("known in baseline"))
    summary["known_in_baseline"] = len(suppressed) - summary["ignored"]
    if show and output_format == "json":
        from keyguard.report.json import finding_to_dict

        summary["ignored_findings"] = [
            {**finding_to_dict(f, show_secrets=show_secrets), "reason": reason}
            for f, reason in suppressed
        ]


def _print_suppressed(suppressed: Sequence[tuple[Finding, str]], show: bool, quiet: bool,
                      listed_in_json: bool = False) -> None:
    """The audit list (--show-ignored) and a one-line count, on stderr. Never the secret.

    The list goes to stderr so machine formats on stdout stay valid; JSON carries it in
    `summary.ignored_findings` instead.
    """
    if show and not listed_in_json:
        from keyguard.report._scrub import Scrubber

        scrubber = Scrubber(finding for finding, _ in suppressed)
        for finding, reason in suppressed:
            click.echo(scrubber.text(f"{finding.location.display()}: {finding.rule_id} ignored: "
                                     f"{reason}"), err=True)
    if quiet or not suppressed:
        return
    known = sum(1 for _, r in suppressed if r.startswith("known in baseline"))
    parts = []
    if len(suppressed) - known:
        parts.append(f"{len(suppressed) - known} ignored by comments, cell tags or per-file-ignores")
    if known:
        parts.append(f"{known} known in the baseline")
    hint = "" if show else " (--show-ignored lists them)"
    click.echo(f"Not reported: {'; '.join(parts)}{hint}.", err=True)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", "baseline_file", type=click.Path(dir_okay=False), default=None,
              help="Baseline file [default: `baseline` from the config, else "
                   ".keyguard-baseline.json].")
@click.option("--prune", is_flag=True,
              help="Only drop entries that no longer match a finding; add nothing.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Use this config file instead of searching for one.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.pass_context
def baseline(ctx: click.Context, paths: tuple[str, ...], baseline_file: str | None, prune: bool,
             config_file: str | None, quiet: bool) -> None:
    """Write the current findings of PATHS (default: .) to a baseline file.

    `keyguard scan --baseline FILE` then reports only new findings. Entries are content
    fingerprints (rule + hash of the secret) per path: no line numbers, no timestamps, no
    secrets. Rescanning some paths refreshes their entries and keeps the others'.
    """
    from keyguard.filter import baseline as bl
    from keyguard.pipeline.scan import scan_paths
    from keyguard.report.redact import safe_text

    paths = paths or (".",)
    config = build_config(paths, {"config": config_file})
    target = baseline_file or config.baseline or bl.DEFAULT_BASELINE
    shown = safe_text(str(target))
    result = scan_paths(paths, config)
    for error in result.errors:
        click.echo(f"keyguard: error: {safe_text(error)}", err=True)
    if result.errors:
        # An incomplete scan must not write a baseline: --prune would drop the entries of
        # every path it could not see.
        click.echo(f"keyguard: the scan did not complete; {shown} was not written", err=True)
        ctx.exit(EXIT_ERROR)
    exists = os.path.exists(target)
    if prune:
        old = bl.load_baseline(target)  # BaselineError (exit 2) when missing or invalid
        new = bl.prune(old, result.findings, paths)
        new.save()
        if not quiet:
            dropped = len(old) - len(new)
            click.echo(f"Pruned {dropped} stale entr{'y' if dropped == 1 else 'ies'} from {shown}; "
                       f"{len(new)} remain.", err=True)
        ctx.exit(EXIT_CLEAN)
    old = bl.load_baseline(target) if exists else bl.baseline_from_findings([], target)
    new = bl.merge(old, result.findings, paths)
    new.save()
    if not quiet:
        files = len(new.results)
        click.echo(f"Wrote {len(new)} entr{'y' if len(new) == 1 else 'ies'} for {files} file(s) to "
                   f"{shown}.", err=True)
    ctx.exit(EXIT_CLEAN)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (`keyguard`, `python -m keyguard`)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="keyguard")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
