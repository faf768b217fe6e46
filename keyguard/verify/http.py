"""Ask each provider whether a found secret is still live (opt-in: `--verify`).

One generic HTTP verifier executes the `[rule.verify]` tables of the rule packs; it knows
nothing provider-specific. A table says (validated on load in `keyguard.rulepack.load`):

    method     "GET" | "POST"
    url        https://host[:port]/path          never carries the secret
    headers    { Name = "... {secret} ..." }      optional
    form       { field = "{secret}" }             optional, x-www-form-urlencoded body
    json_body  { field = "{secret}" }             optional, JSON object body (not with form)
    legacy     true                               platform retired: no request unless asked
    responses  [ { status = [codes], state = "verified|unverified|restricted|retired|unknown",
                   json_has = "a.b" (present, not null/empty), json_equals = { "a.b" = value }, json_prefix = { "a" = "BX" },
                   detail_fields = ["a.b", ...] }, ... ]   first match wins

Anything no entry matches is `unknown`, and so are network errors, timeouts, connection
resets, 5xx, redirects (never followed), malformed or too deeply nested JSON (> 64 levels,
checked before parsing), a failure while classifying one answer, 429 once `Retry-After`
would exceed the cap, and secrets not answered within the overall deadline (default 120 s).
A secret sleeping on a 429 holds no host slot.

Security rules this module keeps:
  * A built-in rule's secret goes only to the host its built-in pack declares. The only way
    to change that is `KEYGUARD_VERIFY_BASE_URL` (tests), which must be a loopback IP literal
    and is announced on stderr. A user pack's endpoint is announced on first use.
  * TLS verification is always on; redirects are never followed; no cookies are kept between
    requests (one client per host, and the jar is cleared after each answer).
  * The secret is never in a URL, log line, exception, `repr` or detail: errors are reported
    by exception *type* only (httpx texts may quote the request), details are built from
    whitelisted response fields, and a detail that contains the secret is dropped.
  * Response bodies are read up to 64 KiB, classified and dropped at once: an IBM IAM 200
    carries live access/refresh tokens, which are never stored or printed.

httpx and asyncio are imported inside functions: importing keyguard (and this module) must
stay cheap for the pre-commit hook.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from keyguard import __version__
from keyguard.model import (
    Confidence,
    Finding,
    Location,
    Secret,
    Severity,
    Verification,
    VerificationState,
)
from keyguard.report.advice import behaviour

if TYPE_CHECKING:
    import asyncio

    import httpx

    from keyguard.rulepack.load import Rule, RuleSet

BASE_URL_ENV = "KEYGUARD_VERIFY_BASE_URL"
SECRET_MARKER = "{secret}"
MAX_BODY = 64 * 1024  # bytes; every answer we classify is tiny
MAX_DETAIL_VALUE = 64  # characters; longer values (tokens, blobs) are never shown
MAX_429_ATTEMPTS = 6
DEFAULT_DEADLINE = 120.0  # seconds for a whole verification run (--verify-deadline)
USER_AGENT = f"keyguard/{__version__} (+verify)"
# Response fields whose name says "credential" are never shown, whatever a pack asks for.
_SECRET_FIELD_WORDS = ("token", "secret", "password", "apikey", "api_key")

UNKNOWN = VerificationState.UNKNOWN


class VerifyConfigError(ValueError):
    """Verification cannot run as configured (bad override, bad parameters).

    The message never contains a secret. The CLI prints it and exits 2.
    """


@dataclass(frozen=True)
class _Endpoint:
    """Where one rule's secrets go. `host` (netloc) is the concurrency and client key."""

    rule_id: str
    method: str
    url: str
    host: str
    builtin: bool
    loopback_override: bool


class _BodyTooLarge(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Public API


def verify_findings(
    findings: Sequence[Finding],
    ruleset: RuleSet,
    *,
    timeout: float = 10.0,
    per_host: int = 1,
    verify_legacy: bool = False,
    retry_after_cap: float = 30.0,
    progress: bool | None = None,
    deadline: float | None = DEFAULT_DEADLINE,
) -> list[Finding]:
    """Verify every finding's secret; return the findings (same order) with `verification` set.

    Each distinct (rule id, secret) is asked once, however many files it appears in.
    Findings whose rule is not in `ruleset`, has no `[rule.verify]` table or is an
    identifier rule get `not-checked`. Parameters are those of `verify_secrets`.

    Raises VerifyConfigError for a bad `KEYGUARD_VERIFY_BASE_URL` or bad parameters;
    never for a network or provider problem (those give `unknown`).
    """
    items: list[tuple[Rule, Secret]] = []
    for finding in findings:
        rule = ruleset.rules.get(finding.rule_id)
        if rule is not None:
            items.append((rule, finding.secret))
    results = verify_secrets(
        items,
        timeout=timeout,
        per_host=per_host,
        verify_legacy=verify_legacy,
        retry_after_cap=retry_after_cap,
        progress=progress,
        deadline=deadline,
    )
    missing = Verification(VerificationState.NOT_CHECKED, "rule not loaded")
    return [
        f.with_verification(results.get((f.rule_id, f.secret), missing)) for f in findings
    ]


def verify_secrets(
    items: Sequence[tuple[Rule, Secret]],
    *,
    timeout: float = 10.0,
    per_host: int = 1,
    verify_legacy: bool = False,
    retry_after_cap: float = 30.0,
    progress: bool | None = None,
    deadline: float | None = DEFAULT_DEADLINE,
) -> dict[tuple[str, Secret], Verification]:
    """Ask the providers about (rule, secret) pairs; one entry per distinct (rule id, secret).

    timeout: seconds per HTTP attempt, connect to last byte (> 0).
    per_host: requests in flight per host at most (>= 1).
    verify_legacy: query `legacy = true` endpoints too (otherwise `retired`, no request).
    retry_after_cap: total seconds one secret may wait on 429 `Retry-After`; beyond: unknown.
    progress: progress line on stderr; None means "when stderr is a TTY".
    deadline: seconds for the whole verification (> 0), from the first request to the last
        answer; a secret not answered by then is `unknown` ("verification deadline"), and a
        429 wait that would end after it is not waited. None: no overall limit.

    Returns {(rule id, secret): Verification}. Raises VerifyConfigError (message without
    secrets) for a bad `KEYGUARD_VERIFY_BASE_URL` or out-of-range parameters.
    """
    if (not timeout > 0 or per_host < 1 or not retry_after_cap >= 0
            or (deadline is not None and not deadline > 0)):
        raise VerifyConfigError(
            "verification needs timeout > 0, per_host >= 1, retry_after_cap >= 0 and "
            "deadline > 0"
        )
    override = _base_url_override()
    builtin_rules = _builtin_rules()

    results: dict[tuple[str, Secret], Verification] = {}
    jobs: list[tuple[_Endpoint, Mapping[str, Any], Secret]] = []
    for rule, secret in items:
        key = (rule.id, secret)
        if key in results:  # dedupe: one request per distinct secret and rule
            continue
        immediate = _immediate_result(rule, secret, verify_legacy)
        if immediate is not None:
            results[key] = immediate
            continue
        assert rule.verify is not None  # _immediate_result handled the other case
        endpoint = _endpoint(rule, builtin_rules.get(rule.id) == rule, override)
        results[key] = Verification(UNKNOWN, "not checked yet")  # placeholder, keeps dedupe
        jobs.append((endpoint, rule.verify.raw, secret))

    if not jobs:
        return results
    err = sys.stderr
    if override is not None and any(ep.builtin for ep, _, _ in jobs):
        err.write(
            f"keyguard: warning: {BASE_URL_ENV} is set: built-in verification requests go to "
            f"{override[0]}://{override[1]} instead of the providers (for tests only)\n"
        )
    _announce_user_hosts([ep for ep, _, _ in jobs], err)

    show = err.isatty() if progress is None else progress
    checked = _run(_verify_all(jobs, timeout, per_host, retry_after_cap, show, err, deadline))
    for (endpoint, _, secret), verification in zip(jobs, checked, strict=True):
        results[(endpoint.rule_id, secret)] = verification
    return results


# --------------------------------------------------------------------------------------------
# Planning: which rule needs a request, and where it goes


def _immediate_result(rule: Rule, secret: Secret, verify_legacy: bool) -> Verification | None:
    """The result when no request is made, or None when the provider must be asked."""
    kind = behaviour(rule)
    if not kind.secret:
        return Verification(VerificationState.NOT_CHECKED, kind.not_secret)
    if rule.verify is None:
        return Verification(VerificationState.NOT_CHECKED, "no check for this kind")
    if rule.verify.raw.get("legacy", False) and not verify_legacy:
        return Verification(
            VerificationState.RETIRED, "legacy platform retired; not queried (--verify-legacy)"
        )
    value = secret.reveal()
    # Header values must be printable ASCII; a value that cannot be sent is not sent.
    if not value or not value.isascii() or not value.isprintable():
        return Verification(UNKNOWN, "not sent: value has characters a request cannot carry")
    return None


def _builtin_rules() -> Mapping[str, Rule]:
    """Rules of the packs shipped in keyguard.rules (cached loader)."""
    from keyguard.rulepack.load import load_ruleset

    return load_ruleset().rules


def _endpoint(rule: Rule, builtin: bool, override: tuple[str, str] | None) -> _Endpoint:
    assert rule.verify is not None
    parts = urlsplit(rule.verify.url)
    use_override = builtin and override is not None
    if use_override:
        assert override is not None
        # Keep the path, so one loopback server can play every provider.
        parts = parts._replace(scheme=override[0], netloc=override[1])
    return _Endpoint(
        rule_id=rule.id,
        method=rule.verify.method,
        url=urlunsplit(parts),
        host=parts.netloc.lower(),
        builtin=builtin,
        loopback_override=use_override,
    )


def _base_url_override() -> tuple[str, str] | None:
    """(scheme, netloc) from KEYGUARD_VERIFY_BASE_URL, or None when unset.

    Only a loopback IP literal is accepted (127.0.0.0/8 or ::1; not a name, whose
    resolution could point anywhere): anything else raises VerifyConfigError.
    """
    value = os.environ.get(BASE_URL_ENV, "").strip()
    if not value:
        return None
    form = f"{BASE_URL_ENV} must look like http://127.0.0.1:PORT (scheme, loopback IP, port)"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise VerifyConfigError(form) from None
    if (
        parts.scheme not in ("http", "https")
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise VerifyConfigError(form)
    import ipaddress

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise VerifyConfigError(
            f"{BASE_URL_ENV}: host {host!r} is not a loopback IP address; refusing to send "
            "secrets there (the override exists for tests against a local server only)"
        )
    return parts.scheme, parts.netloc


def _announce_user_hosts(endpoints: Sequence[_Endpoint], err: TextIO) -> None:
    """Say which non-built-in host receives which rules' secrets, once per host per run."""
    by_host: dict[str, set[str]] = {}
    for ep in endpoints:
        if not ep.builtin:
            by_host.setdefault(ep.host, set()).add(ep.rule_id)
    for host, rule_ids in sorted(by_host.items()):
        err.write(
            f"keyguard: verification sends the secrets of rule {', '.join(sorted(rule_ids))} "
            f"(user rule pack) to {host}\n"
        )


# --------------------------------------------------------------------------------------------
# Running: async, one client and one semaphore per host


def _run(coro: Any) -> Any:
    """asyncio.run, also from a thread that already runs a loop (Jupyter)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: list[Any] = []

    def target() -> None:
        box.append(asyncio.run(coro))

    thread = threading.Thread(target=target, name="keyguard-verify")
    thread.start()
    thread.join()
    return box[0]


class _Progress:
    """`keyguard: verifying 3/10` on one stderr line (only when enabled)."""

    def __init__(self, total: int, enabled: bool, err: TextIO) -> None:
        self.total, self.done, self.enabled, self.err = total, 0, enabled, err
        self._draw()

    def _draw(self) -> None:
        if self.enabled:
            self.err.write(f"\rkeyguard: verifying {self.done}/{self.total} secrets")
            self.err.flush()

    def step(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.err.write("\r\033[K")
            self.err.flush()


async def _verify_all(
    jobs: Sequence[tuple[_Endpoint, Mapping[str, Any], Secret]],
    timeout: float,
    per_host: int,
    cap: float,
    show_progress: bool,
    err: TextIO,
    deadline: float | None = None,
) -> list[Verification]:
    """Every job's Verification, in order. Each job is isolated: whatever goes wrong with
    one answer (a parser failure included) makes that secret `unknown`, never the run fail.
    Jobs still open at the deadline are cancelled and `unknown`."""
    import asyncio

    import httpx

    clients: dict[str, httpx.AsyncClient] = {}
    gates: dict[str, asyncio.Semaphore] = {}
    for ep, _, _ in jobs:
        if ep.host not in clients:
            clients[ep.host] = httpx.AsyncClient(
                verify=True,  # always: never configurable
                follow_redirects=False,
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(max_connections=per_host),
                # Proxies etc. from the environment are fine for real hosts, never for the
                # loopback test server.
                trust_env=not ep.loopback_override,
                headers={"User-Agent": USER_AGENT},
            )
            gates[ep.host] = asyncio.Semaphore(per_host)
    progress = _Progress(len(jobs), show_progress, err)
    ends_at = None if deadline is None else time.monotonic() + deadline

    async def one(ep: _Endpoint, spec: Mapping[str, Any], secret: Secret) -> Verification:
        try:
            return await _check(clients[ep.host], gates[ep.host], ep, spec, secret, timeout,
                                cap, ends_at)
        except Exception as exc:  # one answer must never cost the run; type only
            return Verification(UNKNOWN, f"internal error ({type(exc).__name__})")
        finally:
            progress.step()

    tasks = [asyncio.ensure_future(one(ep, spec, s)) for ep, spec, s in jobs]
    try:
        await asyncio.wait(tasks, timeout=deadline)
        results = []
        for task in tasks:
            if task.done():
                results.append(task.result())
            else:  # only with a deadline: asyncio.wait returned before every task ended
                task.cancel()
                results.append(Verification(
                    UNKNOWN, f"not answered within the verification deadline ({deadline:g} s)"
                ))
        return results
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        progress.close()
        for client in clients.values():
            await client.aclose()


async def _check(
    client: httpx.AsyncClient,
    gate: asyncio.Semaphore,
    ep: _Endpoint,
    spec: Mapping[str, Any],
    secret: Secret,
    timeout: float,
    cap: float,
    ends_at: float | None = None,
) -> Verification:
    """One secret: send, retry on 429 within the cap, classify. Never raises (but cancels).

    The host slot (`gate`) is held for one request at a time, never while sleeping on a 429:
    other secrets of the host go on meanwhile. `ends_at` (monotonic) is the overall deadline.
    """
    import asyncio

    waited = 0.0
    backoff = 1.0
    for _ in range(MAX_429_ATTEMPTS):
        try:
            # wait_for bounds the whole attempt: httpx's timeout is per read, and a server
            # that trickles one byte at a time would otherwise hold us forever.
            async with gate:
                status, retry_after, body = await asyncio.wait_for(
                    _send(client, ep, spec, secret), timeout
                )
        except asyncio.TimeoutError:
            return Verification(UNKNOWN, f"timeout after {timeout:g} s")
        except _BodyTooLarge:
            return Verification(UNKNOWN, f"response larger than {MAX_BODY // 1024} KiB")
        except Exception as exc:  # any failure is "unknown"; only its type is shown
            return Verification(UNKNOWN, _describe_error(exc))
        if status != 429:
            return _classify(spec, status, body, secret)
        wait = _parse_retry_after(retry_after)
        if wait is None:
            wait, backoff = backoff, backoff * 2
        shown = "" if retry_after is None else f", Retry-After {wait:g} s"
        if waited + wait > cap:
            return Verification(
                UNKNOWN, f"HTTP 429: rate limited{shown}, over the {cap:g} s wait cap"
            )
        if ends_at is not None and time.monotonic() + wait >= ends_at:
            return Verification(
                UNKNOWN, f"HTTP 429: rate limited{shown}, past the verification deadline"
            )
        await asyncio.sleep(wait)
        waited += wait
    return Verification(UNKNOWN, f"HTTP 429: still rate limited after {MAX_429_ATTEMPTS} tries")


async def _send(
    client: httpx.AsyncClient, ep: _Endpoint, spec: Mapping[str, Any], secret: Secret
) -> tuple[int, str | None, bytes]:
    """Send one request; return (status, Retry-After header, body up to MAX_BODY bytes)."""
    value = secret.reveal()

    def fill(table: Any) -> dict[str, str]:
        # str.replace, not str.format: a secret or template with braces must not expand.
        return {k: v.replace(SECRET_MARKER, value) for k, v in (table or {}).items()}

    kwargs: dict[str, Any] = {"headers": fill(spec.get("headers"))}
    if "form" in spec:
        kwargs["data"] = fill(spec["form"])
    elif "json_body" in spec:
        kwargs["json"] = fill(spec["json_body"])
    try:
        async with client.stream(ep.method, ep.url, **kwargs) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise _BodyTooLarge
            return response.status_code, response.headers.get("retry-after"), bytes(body)
    finally:
        client.cookies.clear()


def _describe_error(exc: BaseException) -> str:
    """A message for a failed request built from the exception's type, never its text."""
    import ssl

    import httpx

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS error: certificate verification failed"
        if isinstance(cause, ssl.SSLError):
            return "TLS error"
        cause = cause.__cause__ or cause.__context__
    table: list[tuple[type[BaseException], str]] = [
        (httpx.TimeoutException, "timeout"),
        (httpx.ProxyError, "proxy error"),
        (httpx.ConnectError, "connection failed"),
        (httpx.ReadError, "connection reset while reading the answer"),
        (httpx.WriteError, "connection reset while sending"),
        (httpx.RemoteProtocolError, "connection closed or broken answer"),
        (httpx.LocalProtocolError, "request could not be built"),
        (httpx.HTTPError, "HTTP error"),
    ]
    for kind, text in table:
        if isinstance(exc, kind):
            return f"{text} ({type(exc).__name__})"
    return f"internal error ({type(exc).__name__})"


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    from email.utils import parsedate_to_datetime

    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


# --------------------------------------------------------------------------------------------
# Classification: pure functions over (status, body)

_MISSING = object()
_MALFORMED = object()


_TOO_DEEP = object()
MAX_JSON_DEPTH = 64  # nesting levels; every answer we classify has fewer than 5


def _json_depth(body: bytes, limit: int) -> int:
    """Deepest `[`/`{` nesting of a JSON text, counted outside strings, stopping past
    `limit`: linear, no recursion, so a hostile answer cannot exhaust the stack."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return _MISSING
    if _json_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return _TOO_DEEP
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _MALFORMED


def _lookup(doc: Any, path: str) -> Any:
    """Value at a dotted path in nested JSON objects, or _MISSING."""
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _present(value: Any) -> bool:
    """`json_has`: the field is there with a value; `null`, "", [] and {} are no value (a
    200 whose `access_token` is null did not issue a token, so it is not `verified`)."""
    if value is _MISSING or value is None:
        return False
    return not (isinstance(value, (str, list, dict)) and not value)


def _matches(entry: Mapping[str, Any], status: int, doc: Any) -> bool:
    if status not in entry.get("status", ()):
        return False
    if "json_has" in entry and not _present(_lookup(doc, entry["json_has"])):
        return False
    for path, expected in entry.get("json_equals", {}).items():
        got = _lookup(doc, path)
        # bool is an int in Python: 1 must not equal true.
        if got is _MISSING or type(got) is not type(expected) or got != expected:
            return False
    for path, prefix in entry.get("json_prefix", {}).items():
        got = _lookup(doc, path)
        if not isinstance(got, str) or not got.startswith(prefix):
            return False
    return True


def _detail_value(path: str, value: Any, secret_value: str) -> str | None:
    """A response field as shown in `detail`, or None when it must not be shown."""
    name = path.rsplit(".", 1)[-1].lower()
    if any(word in name for word in _SECRET_FIELD_WORDS):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if len(text) > MAX_DETAIL_VALUE or secret_value in text:
        return None
    # Providers' free text reaches a terminal: no control characters / escape sequences.
    return "".join(c if c.isprintable() else "?" for c in text)


def _classify(spec: Mapping[str, Any], status: int, body: bytes, secret: Secret) -> Verification:
    """Map one answer to a Verification using the spec's `responses` (first match wins)."""
    if 300 <= status < 400:
        return Verification(UNKNOWN, f"HTTP {status}: redirect not followed")
    doc = _parse_json(body)
    del body  # an IBM 200 holds live tokens: keep no reference longer than needed
    if doc is _TOO_DEEP:
        return Verification(UNKNOWN, f"HTTP {status}: JSON nested too deeply")
    for entry in spec.get("responses", ()):
        if not _matches(entry, status, doc):
            continue
        parts = []
        value = secret.reveal()
        for path in entry.get("detail_fields", ()):
            shown = _detail_value(path, _lookup(doc, path), value)
            if shown is not None:
                parts.append(f"{path}={shown}")
        detail = f"HTTP {status}" + (f" ({', '.join(parts)})" if parts else "")
        if value in detail:  # defence in depth: never echo the key
            detail = f"HTTP {status}"
        return Verification(VerificationState(entry["state"]), detail)
    if status >= 500:
        return Verification(UNKNOWN, f"HTTP {status}: provider error")
    if doc is _MALFORMED:
        return Verification(UNKNOWN, f"HTTP {status}: malformed JSON")
    return Verification(UNKNOWN, f"HTTP {status}: unexpected answer")


# --------------------------------------------------------------------------------------------
# Inputs of `keyguard verify`: a JSON report written with --show-secrets, or keys on stdin


class VerifyInputError(ValueError):
    """A report or stdin input `keyguard verify` cannot use. The message holds no secret."""


_REDACTED = re.compile(r".{0,4}…\([0-9]+ chars\)")


def findings_from_report(text: str, source: str) -> list[Finding]:
    """Findings rebuilt from a `keyguard scan --format json --show-secrets` report.

    `source` names the file in error messages. Raises VerifyInputError when the text is not
    such a report or its secrets are redacted (written without --show-secrets).
    """
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError text has positions only, no content
        raise VerifyInputError(f"{source}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise VerifyInputError(f"{source}: not a keyguard JSON report (no 'findings' list)")
    out = []
    for i, item in enumerate(data["findings"], start=1):
        where = f"{source}: finding #{i}"
        try:
            secret = item["secret"]
            if not isinstance(secret, str) or not isinstance(item["rule"], str):
                raise TypeError
            if _REDACTED.fullmatch(secret):
                raise VerifyInputError(
                    f"{where}: the secret is redacted; write the report with "
                    "`keyguard scan --format json --show-secrets`"
                )
            line, column = int(item["line"]), int(item["column"])
            cell = item.get("cell")
            location = Location(
                path=str(item["path"]), line=line, column=column,
                end_line=int(item.get("end_line") or line),
                end_column=int(item.get("end_column") or column),
                raw_line=int(item.get("raw_line") or line),
                raw_column=int(item.get("raw_column") or column),
                cell=None if cell is None else int(cell), part=item.get("part"),
                output_index=item.get("output_index"),
            )
            out.append(Finding(
                rule_id=item["rule"], provider=str(item.get("provider", "")),
                kind=str(item.get("kind", "")), title=str(item.get("title", "")),
                severity=Severity.parse(str(item.get("severity", "high"))),
                confidence=Confidence[str(item.get("confidence", "high")).upper()],
                location=location, secret=Secret(secret), message=str(item.get("message", "")),
                env_var=item.get("env_var"), context=str(item.get("context", "")),
                fixable=bool(item.get("fixable", False)),
            ))
        except VerifyInputError:
            raise
        except (KeyError, TypeError, ValueError):
            # Never quote the item: it holds the raw secret.
            raise VerifyInputError(
                f"{where}: missing or invalid rule/secret/path/line/column/severity"
            ) from None
    return out


def findings_from_lines(
    lines: Iterable[str], ruleset: RuleSet, source: str = "<stdin>"
) -> tuple[list[Finding], list[int]]:
    """One finding per key on each line, classified with the token rules' regexes.

    A line may hold just the key or `NAME=key`; blank lines and `#` comments are skipped.
    When several rules match, the longest match wins (a JWT over a 44-character piece of
    it). Returns (findings, 1-based numbers of lines no token rule recognised).
    """
    token_rules = [r for r in ruleset.rules.values() if behaviour(r).plausibility and r.regex]
    findings: list[Finding] = []
    unrecognised: list[int] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        matches = []
        for rule in token_rules:
            assert rule.regex is not None
            for m in rule.regex.finditer(text):
                matches.append((m.end("secret") - m.start("secret"), rule, m))
        if not matches:
            unrecognised.append(number)
            continue
        longest = max(length for length, _, _ in matches)
        for _, rule, m in sorted(
            (x for x in matches if x[0] == longest), key=lambda x: (x[2].start(), x[1].id)
        ):
            col = m.start("secret") + 1
            location = Location(source, number, col, number, col + longest, number, col)
            findings.append(Finding(
                rule_id=rule.id, provider=rule.provider, kind=rule.kind, title=rule.title,
                severity=rule.severity, confidence=Confidence.HIGH, location=location,
                secret=Secret(m.group("secret")), message=f"{rule.title} (from {source})",
                env_var=rule.env_var,
            ))
    return findings, unrecognised
