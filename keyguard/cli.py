"""Command-line interface (click), shaped like ruff's.

    keyguard scan [PATHS]...   find leaked credentials (default: the current directory)
    keyguard rules [RULE]      list the rules, or explain one with its examples

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
from keyguard.config import Config, ConfigError
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
        except (ConfigError, ValueError) as exc:
            click.echo(f"keyguard: error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("keyguard: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:
            if os.environ.get("KEYGUARD_DEBUG"):
                raise
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
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of stdout.")
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
@click.pass_context
def scan(ctx: click.Context, paths: tuple[str, ...], output_format: str, output: str | None,
         select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None, exit_zero: bool,
         show_secrets: bool, color: str, quiet: bool, jobs: int | None,
         max_file_size: int | None) -> None:
    """Scan PATHS (files or directories; default: .) for leaked credentials."""
    from keyguard.scan import scan_paths

    paths = paths or (".",)
    flags: dict[str, Any] = {
        "select": _split_codes(select) or None,
        "ignore": _split_codes(ignore) or None,
        "fail_on": Severity.parse(fail_on) if fail_on else None,
        "jobs": jobs,
        "max_file_size": max_file_size * 1024 * 1024 if max_file_size else None,
    }
    config = build_config(paths, flags)
    result = scan_paths(paths, config)
    findings = result.findings
    summary = _summary(result, findings, config.fail_on)

    stream = click.open_file(output, "w", encoding="utf-8") if output else click.get_text_stream("stdout")
    try:
        if output_format == "json":
            from keyguard.report.json import render_json

            stream.write(render_json(findings, summary, show_secrets=show_secrets))
        else:
            from keyguard.report.text import render_text

            colored = use_color(color, stream) and not output
            stream.write(render_text(findings, color=colored, show_secrets=show_secrets))
    finally:
        if output:
            stream.close()
        else:
            stream.flush()
    _print_summary(summary, quiet)

    if result.files_scanned == 0 and result.errors:
        ctx.exit(EXIT_ERROR)
    if summary["failing"] and not exit_zero:
        ctx.exit(EXIT_FINDINGS)
    ctx.exit(EXIT_CLEAN)


@cli.command()
@click.argument("rule_id", required=False)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rules(rule_id: str | None, output_format: str) -> None:
    """List every rule, or explain RULE_ID with its examples."""
    from keyguard.rules_info import describe_rule, list_rules

    click.echo(describe_rule(rule_id, output_format) if rule_id else list_rules(output_format), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (`keyguard`, `python -m keyguard`)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="keyguard")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
