"""Command-line interface (click), shaped like ruff's.

    keyguard scan [PATHS]...   find leaked credentials (default: the current directory)
    keyguard rules [RULE]      list the rules, or explain one with its examples
    keyguard verify            ask providers whether keys (report or stdin) are live

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage, configuration or internal
error (or nothing could be scanned). Machine output goes to stdout or --output; the summary,
notes and progress go to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from keyguard import __version__
from keyguard.config import Config
from keyguard.model import Finding, Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITIES = [s.label for s in Severity]


def _split_codes(values: Sequence[str]) -> tuple[str, ...]:
    """`--select KG1,KG201 --select KG3` -> ('KG1', 'KG201', 'KG3')."""
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def use_color(choice: str, stream: Any) -> bool:
    """--color always|never|auto; auto honours NO_COLOR (no-color.org) and needs a terminal."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
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
    }


def _print_summary(summary: dict[str, Any], quiet: bool) -> None:
    for error in summary["errors"]:
        click.echo(f"keyguard: error: {error}", err=True)
    if quiet:
        return
    for note in summary["notes"]:
        click.echo(f"keyguard: note: {note['path']}: {note['note']}", err=True)
    count = summary["findings"]
    parts = [f"{n} {sev}" for sev, n in sorted(summary["by_severity"].items(), key=lambda kv: -Severity.parse(kv[0]))]
    found = f"Found {count} finding{'s' if count != 1 else ''}" + (f" ({', '.join(parts)})" if parts else "")
    skipped = summary["skipped"]
    skipped_text = ""
    if skipped:
        skipped_text = "; skipped " + ", ".join(f"{n} {reason}" for reason, n in skipped.items())
    click.echo(f"{found} in {summary['files_scanned']} scanned file(s){skipped_text}.", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        # Bad input gets a clear message, never a traceback (KEYGUARD_DEBUG=1 shows it).
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("keyguard: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if isinstance(exc, ValueError) and type(exc).__module__.startswith("keyguard."):
                # keyguard's own errors (config, rule pack, baseline, verify) hold no secrets.
                click.echo(f"keyguard: error: {exc}", err=True)
                ctx.exit(EXIT_ERROR)
            if os.environ.get("KEYGUARD_DEBUG"):
                raise
            # Any other message may quote scanned text: name the type only.
            click.echo(
                f"keyguard: internal error ({exc.__class__.__name__}); rerun with KEYGUARD_DEBUG=1 for details",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyguard")
def cli() -> None:
    """keyguard: find, fix and verify leaked quantum-cloud credentials (IonQ, IBM Quantum)."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True,
              help="Output format (sarif: GitHub code scanning; github: workflow annotations).")
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
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None,
              help="Worker processes (0: one per core).")
@click.option("--max-file-size", type=click.IntRange(min=1), default=None,
              help="Skip files larger than this many MB [default: 10].")
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
@click.option("--verify", "verify_", is_flag=True,
              help="Ask each provider whether the keys found are live: sends each distinct key "
                   "to its provider's official endpoint (opt-in; see README \"Verification\").")
@click.option("--verify-legacy", is_flag=True,
              help="Also query the retired legacy IBM Quantum login (implies --verify).")
@click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds per verification request.")
@click.option("--verify-per-host", type=click.IntRange(min=1), default=1, show_default=True,
              help="Verification requests in flight per provider host.")
@click.pass_context
def scan(ctx: click.Context, paths: tuple[str, ...], output_format: str, output: str | None,
         select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None, exit_zero: bool,
         show_secrets: bool, color: str, quiet: bool, jobs: int | None,
         max_file_size: int | None, baseline_file: str | None = None, show_ignored: bool = False,
         config_file: str | None = None, sarif_output: str | None = None,
         fix_: bool = False, diff: bool = False, verify_: bool = False,
         verify_legacy: bool = False, verify_timeout: float = 10.0,
         verify_per_host: int = 1) -> None:
    """Scan PATHS (files or directories; default: .) for leaked credentials."""
    from keyguard.scan import scan_paths

    paths = paths or (".",)
    flags: dict[str, Any] = {
        "select": _split_codes(select) or None,
        "ignore": _split_codes(ignore) or None,
        "fail_on": Severity.parse(fail_on) if fail_on else None,
        "jobs": jobs,
        "max_file_size": max_file_size * 1024 * 1024 if max_file_size else None,
        "baseline": baseline_file,
        "config": config_file,
    }
    config = build_config(paths, flags)
    result = scan_paths(paths, config)
    findings = result.findings
    findings, suppressed = _apply_baseline(findings, result.ignored, config)
    if verify_ or verify_legacy:
        # Before fixing: a key removed from the code is still exposed in history, and the
        # user needs to know whether it is live to know what to revoke first.
        findings = _verify(findings, config, legacy=verify_legacy, timeout=verify_timeout,
                           per_host=verify_per_host)
    fixed_files = False
    if fix_ or diff:
        findings, fixed_files = _fix_or_diff(findings, config, write=fix_ and not diff,
                                             show_secrets=show_secrets, quiet=quiet, roots=paths)
        if diff:
            failing = any(f.severity >= config.fail_on for f in findings) and not exit_zero
            ctx.exit(EXIT_FINDINGS if fixed_files or failing else EXIT_CLEAN)
    summary = _summary(result, findings, config.fail_on)
    if verify_ or verify_legacy:
        summary["verification"] = _verification_counts(findings)
    _add_suppressed(summary, suppressed, show_ignored, output_format, show_secrets)

    stream = click.open_file(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        if output_format == "json":
            from keyguard.report.json import render_json

            stream.write(render_json(findings, summary, show_secrets=show_secrets))
        elif output_format == "sarif":
            stream.write(_render_sarif(findings, config))
        elif output_format == "github":
            from keyguard.report.github import render_github

            stream.write(render_github(findings))
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
        # CI passes paths like reports/keyguard.sarif: create the folder rather than fail.
        os.makedirs(os.path.dirname(os.path.abspath(sarif_output)), exist_ok=True)
        with open(sarif_output, "w", encoding="utf-8") as sarif_stream:
            sarif_stream.write(_render_sarif(findings, config))
    _print_summary(summary, quiet)
    _print_verification(summary, quiet)
    _print_suppressed(suppressed, show_ignored, quiet, listed_in_json=output_format == "json")

    if result.files_scanned == 0 and result.errors:
        ctx.exit(EXIT_ERROR)
    if fixed_files:  # pre-commit convention: files changed, so the commit must stop
        ctx.exit(EXIT_FINDINGS)
    if summary["failing"] and not exit_zero:
        ctx.exit(EXIT_FINDINGS)
    ctx.exit(EXIT_CLEAN)


def _fix_or_diff(findings: list[Finding], config: Config, *, write: bool, show_secrets: bool,
                 quiet: bool, roots: Sequence[str] = (".",)) -> tuple[list[Finding], bool]:
    """--fix / --diff: the findings still in the code, and whether a file changed (or would).

    --diff prints the unified diff on stdout; the fix summary (revoke where, which variables
    to set, what to fix by hand) goes to stderr.
    """
    from keyguard.fix import fix_findings, summarize
    from keyguard.rulepack import load_ruleset

    ruleset = load_ruleset(tuple(config.extend_rules))
    run = fix_findings(findings, write=write, ruleset=ruleset, show_secrets=show_secrets,
                       roots=list(roots))
    if not write:
        click.echo(run.diff, nl=False)
    for error in run.errors:
        click.echo(f"keyguard: error: {error}", err=True)
    if not quiet:
        click.echo(summarize(run.plans, ruleset, applied=write), err=True, nl=False)
    return run.remaining, bool(run.changed)


def _render_sarif(findings: Sequence[Finding], config: Config) -> str:
    """SARIF for `findings`, with the metadata of every loaded rule (never the secrets)."""
    from keyguard.report.sarif import render_sarif
    from keyguard.rulepack import load_ruleset

    ruleset = load_ruleset(tuple(config.extend_rules))
    return render_sarif(findings, ruleset, version=__version__)


# ------------------------------------------------------------------ verification (issue 4)


def _verify(findings: list[Finding], config: Config, *, legacy: bool, timeout: float,
            per_host: int) -> list[Finding]:
    """--verify: the findings with `verification` set (VerifyConfigError -> exit 2)."""
    from keyguard.rulepack import load_ruleset
    from keyguard.verify import verify_findings

    ruleset = load_ruleset(tuple(config.extend_rules))
    return verify_findings(findings, ruleset, timeout=timeout, per_host=per_host,
                           verify_legacy=legacy)


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
              help="Also query the retired legacy IBM Quantum login.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds per request.")
@click.option("--per-host", type=click.IntRange(min=1), default=1, show_default=True,
              help="Requests in flight per provider host.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (for extend-rules).")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.pass_context
def verify(ctx: click.Context, report: str | None, output_format: str, show_secrets: bool,
           verify_legacy: bool, timeout: float, per_host: int, config_file: str | None,
           quiet: bool) -> None:
    """Ask the providers whether keys are live: from --from REPORT, or stdin one key per line.

    Stdin lines may be a bare key or NAME=key; the token rules' formats say which provider
    to ask. Exit 1 when a key is live (verified or restricted), else 0; 2 on errors.
    """
    from keyguard.verify import findings_from_lines, findings_from_report

    config = build_config((".",), {"config": config_file})
    if report:
        with open(report, encoding="utf-8") as handle:
            findings = findings_from_report(handle.read(), report)
    else:
        from keyguard.rulepack import load_ruleset

        if sys.stdin.isatty() and not quiet:
            click.echo("keyguard: reading keys from stdin, one per line (end with Ctrl-D)",
                       err=True)
        ruleset = load_ruleset(tuple(config.extend_rules))
        findings, unrecognised = findings_from_lines(sys.stdin, ruleset)
        for number in unrecognised:  # never echo the line: it may be a key of unknown shape
            click.echo(f"keyguard: note: <stdin>:{number}: not a known key format, skipped",
                       err=True)
    findings = _verify(findings, config, legacy=verify_legacy, timeout=timeout,
                       per_host=per_host)
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
@click.argument("rule_id", required=False)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rules(rule_id: str | None, output_format: str) -> None:
    """List every rule, or explain RULE_ID with its examples."""
    from keyguard.rules_info import describe_rule, list_rules

    try:
        text = describe_rule(rule_id, output_format) if rule_id else list_rules(output_format)
    except ValueError as exc:  # unknown rule id: a usage error
        raise click.BadParameter(str(exc), param_hint="RULE_ID") from None
    click.echo(text, nl=False)


# ------------------------------------------------------------------ baselines and ignores


def _apply_baseline(
    findings: list[Finding], ignored: Sequence[tuple[Finding, str]], config: Config
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Findings not in the configured baseline, and everything suppressed with its reason.

    Raises BaselineError (exit 2) when a baseline is configured but unreadable or invalid.
    """
    suppressed = list(ignored)
    if config.baseline:
        from keyguard.baseline import load_baseline

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
        for finding, reason in suppressed:
            click.echo(f"{finding.location.display()}: {finding.rule_id} ignored: {reason}",
                       err=True)
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
    from keyguard import baseline as bl
    from keyguard.scan import scan_paths

    paths = paths or (".",)
    config = build_config(paths, {"config": config_file})
    target = baseline_file or config.baseline or bl.DEFAULT_BASELINE
    result = scan_paths(paths, config)
    for error in result.errors:
        click.echo(f"keyguard: error: {error}", err=True)
    if result.files_scanned == 0 and result.errors:
        ctx.exit(EXIT_ERROR)
    exists = os.path.exists(target)
    if prune:
        old = bl.load_baseline(target)  # BaselineError (exit 2) when missing or invalid
        new = bl.prune(old, result.findings, paths)
        new.save()
        if not quiet:
            dropped = len(old) - len(new)
            click.echo(f"Pruned {dropped} stale entr{'y' if dropped == 1 else 'ies'} from {target}; "
                       f"{len(new)} remain.", err=True)
        ctx.exit(EXIT_CLEAN)
    old = bl.load_baseline(target) if exists else bl.baseline_from_findings([], target)
    new = bl.merge(old, result.findings, paths)
    new.save()
    if not quiet:
        files = len(new.results)
        click.echo(f"Wrote {len(new)} entr{'y' if len(new) == 1 else 'ies'} for {files} file(s) to "
                   f"{target}.", err=True)
    ctx.exit(EXIT_CLEAN)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (`keyguard`, `python -m keyguard`)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="keyguard")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
