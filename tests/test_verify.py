"""keyguard.verify.http against a real HTTP server on 127.0.0.1 (no mocking of httpx).

The emulator plays IonQ (`GET /v0.4/whoami`), IBM IAM (`POST /identity/token`) and the legacy
IBM Quantum login (`POST /api/users/loginWithToken`) on one port: KEYGUARD_VERIFY_BASE_URL
keeps each built-in endpoint's path. What it does for a key is chosen per key by the test
(`server.behave[key] = "live"`), and it records every request it receives, raw.

Fake keys come from keyguard.rulepack.fakes at run time; no key-shaped literal lives in this file.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from keyguard.model import (
    Confidence,
    Finding,
    Location,
    Secret,
    Severity,
    Verification,
    VerificationState,
)
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import (
    RulePackError,
    build_ruleset,
    builtin_pack_paths,
    load_pack_file,
    load_ruleset,
    parse_pack,
)
from keyguard.verify.http import BASE_URL_ENV, VerifyConfigError, verify_findings, verify_secrets

S = VerificationState
IONQ_PATH = "/v0.4/whoami"
IAM_PATH = "/identity/token"
LEGACY_PATH = "/api/users/loginWithToken"


# --------------------------------------------------------------------------------------------
# The emulator


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw: bytes  # request line + headers + body, as received
    at: float = 0.0  # time.monotonic() on arrival

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True)


@dataclass
class Emulator:
    port: int
    behave: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    redirect_to: str = ""
    hits_429: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _key_of(path: str, headers: dict[str, str], body: bytes) -> str:
    """The credential the request carries, read the way the real provider would."""
    if path == IONQ_PATH:
        auth = headers.get("authorization", "")
        return auth[len("apiKey "):] if auth.startswith("apiKey ") else ""
    if path == IAM_PATH:
        return parse_qs(body.decode()).get("apikey", [""])[0]
    if path == LEGACY_PATH:
        try:
            return str(json.loads(body).get("apiToken", ""))
        except ValueError:
            return ""
    return ""


LIVE_BODY = {
    IONQ_PATH: {"key_id": "k-1", "key_name": "Lab key", "project_id": "proj-42"},
    IAM_PATH: None,  # built per request: a JWT-shaped access token the verifier must discard
    LEGACY_PATH: {"id": "session-id-that-is-a-credential", "ttl": 1209600},
}
INVALID = {
    IONQ_PATH: (401, {"error": "UnauthorizedError", "message": "Invalid key", "statusCode": 401}),
    IAM_PATH: (400, {"errorCode": "BXNIM0415E", "errorMessage": "API key could not be found"}),
    LEGACY_PATH: (401, {"error": {"message": "Login failed.", "code": 3446}}),
}


def _make_handler(emu: Emulator, fakes: FakeKeys) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else ~40 ms per answer (delayed ACK)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, payload: object = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> None:
            data = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            raw = self.requestline.encode() + b"\r\n" + bytes(self.headers) + body
            with emu.lock:
                emu.received.append(Received(self.command, self.path, headers, body, raw,
                                             time.monotonic()))
                emu.in_flight += 1
                emu.max_in_flight = max(emu.max_in_flight, emu.in_flight)
            try:
                if emu.delay:
                    time.sleep(emu.delay)
                self._act(_key_of(self.path, headers, body))
            finally:
                with emu.lock:
                    emu.in_flight -= 1

        def _act(self, key: str) -> None:
            path = self.path
            mode = emu.behave.get(key, "invalid")
            if path not in (IONQ_PATH, IAM_PATH, LEGACY_PATH):
                return self._reply(404, {"error": "NotFound"})
            if mode == "live":
                payload = LIVE_BODY[path]
                if path == IAM_PATH:
                    payload = {"access_token": fakes.iam_jwt(), "refresh_token": fakes.ibm_key(),
                               "token_type": "Bearer", "expires_in": 3600}
                    emu.issued_tokens = [payload["access_token"], payload["refresh_token"]]
                return self._reply(200, payload)
            if mode == "invalid":
                return self._reply(*INVALID[path])
            if mode == "restricted":
                return self._reply(403, {"error": "ForbiddenError", "statusCode": 403})
            if mode == "bxnim-other":
                return self._reply(400, {"errorCode": "BXNIM0438E", "errorMessage": "disabled"})
            if mode.startswith("429:"):
                # "429:<Retry-After>:<times>" then live
                _, after, times = mode.split(":")
                seen = emu.hits_429.get(key, 0)
                if seen < int(times):
                    emu.hits_429[key] = seen + 1
                    extra = {} if after == "-" else {"Retry-After": after}
                    return self._reply(429, {"error": "TooManyRequests"}, headers=extra)
                return self._reply(200, LIVE_BODY[IONQ_PATH])
            if mode == "500":
                return self._reply(500, {"error": "InternalServerError"})
            if mode == "malformed":
                return self._reply(200, raw=b'{"key_id": "k-1", "key_name": ')
            if mode == "html":
                return self._reply(200, raw=b"<html>maintenance</html>")
            if mode == "hang":
                emu.release.wait(10)
                return None
            if mode == "reset":
                # SO_LINGER 0 then close: the client sees a TCP RST, not a clean close.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return None
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", emu.redirect_to + path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if mode == "deep":  # 30,000 levels in 60 KB: json.loads alone would recurse out
                depth = 30_000
                return self._reply(200, raw=b'{"key_id": "k-1", "key_name": "Lab key", "x": '
                                   + b"[" * depth + b"]" * depth + b"}")
            if mode in ("null", "empty"):  # a 200 whose fields hold no value
                value = None if mode == "null" else ""
                payload = {
                    IONQ_PATH: {"key_id": value, "key_name": value, "project_id": value},
                    IAM_PATH: {"access_token": value, "refresh_token": value,
                               "token_type": "Bearer", "expires_in": 3600},
                    LEGACY_PATH: {"id": value, "ttl": 1209600},
                }[path]
                return self._reply(200, payload)
            if mode == "huge":
                return self._reply(200, raw=b'{"key_id": "' + b"x" * 100_000 + b'"}')
            raise AssertionError(f"unknown mode {mode}")

        do_GET = _handle
        do_POST = _handle

    return Handler


@pytest.fixture
def fakes() -> FakeKeys:
    return FakeKeys("test_verify")


def _serve(fakes: FakeKeys) -> Iterator[Emulator]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    emu = Emulator(port=server.server_address[1])
    server.RequestHandlerClass = _make_handler(emu, fakes)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield emu
    finally:
        emu.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(fakes: FakeKeys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The emulator, with KEYGUARD_VERIFY_BASE_URL pointing every built-in endpoint at it."""
    gen = _serve(fakes)
    emu = next(gen)
    monkeypatch.setenv(BASE_URL_ENV, emu.base_url)
    yield emu
    next(gen, None)


@pytest.fixture
def elsewhere(fakes: FakeKeys) -> Iterator[Emulator]:
    """A second server, the target of redirects: it must never receive anything."""
    yield from _serve(fakes)


RULES = load_ruleset()


def finding(rule_id: str, secret: str, path: str = "app.py", line: int = 1) -> Finding:
    rule = RULES.rules[rule_id]
    loc = Location(path, line, 1, line, 1 + len(secret), line, 1)
    return Finding(
        rule_id=rule_id, provider=rule.provider, kind=rule.kind, title=rule.title,
        severity=rule.severity, confidence=Confidence.HIGH, location=loc,
        secret=Secret(secret), message="m", env_var=rule.env_var,
    )


def verify_one(rule_id: str, key: str, **kw: object) -> Verification:
    [result] = verify_findings([finding(rule_id, key)], RULES, **kw)  # type: ignore[arg-type]
    return result.verification


def assert_no_leak(capture: pytest.CaptureFixture[str], *values: str, extra: str = "") -> str:
    """No secret in stdout, stderr, or the extra text (details, reprs); returns stderr."""
    out, err = capture.readouterr()
    for value in values:
        assert value not in out
        assert value not in err
        assert value not in extra
    return err


# --------------------------------------------------------------------------------------------
# IonQ


IONQ_CASES = [
    ("live", S.VERIFIED, "HTTP 200 (key_name=Lab key, project_id=proj-42)"),
    ("invalid", S.UNVERIFIED, "HTTP 401 (error=UnauthorizedError)"),
    ("restricted", S.RESTRICTED, "HTTP 403 (error=ForbiddenError)"),
    ("500", S.UNKNOWN, "HTTP 500: provider error"),
    ("malformed", S.UNKNOWN, "HTTP 200: malformed JSON"),
    ("html", S.UNKNOWN, "HTTP 200: malformed JSON"),
    ("reset", S.UNKNOWN, "connection"),
    ("huge", S.UNKNOWN, "response larger than 64 KiB"),
]


@pytest.mark.parametrize(("mode", "state", "detail"), IONQ_CASES, ids=[c[0] for c in IONQ_CASES])
def test_ionq(server: Emulator, fakes: FakeKeys, capsys: pytest.CaptureFixture[str],
              mode: str, state: VerificationState, detail: str) -> None:
    key = fakes.ionq_key()
    server.behave[key] = mode
    v = verify_one("KG101", key, timeout=5)
    assert v.state is state
    assert v.detail.startswith(detail), v.detail
    # Exactly one request, the key only in the Authorization header, exactly once.
    [req] = server.received
    assert (req.method, req.path) == ("GET", IONQ_PATH)
    assert req.headers["authorization"] == f"apiKey {key}"
    assert req.raw.count(key.encode()) == 1
    assert req.body == b""
    assert req.headers["user-agent"].startswith("keyguard/")
    assert "cookie" not in req.headers
    err = assert_no_leak(capsys, key, extra=repr(v) + v.detail)
    assert "warning" in err and BASE_URL_ENV in err  # the override is loud


def test_ionq_hanging_response_times_out(server: Emulator, fakes: FakeKeys,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key = fakes.ionq_key()
    server.behave[key] = "hang"
    start = time.monotonic()
    v = verify_one("KG101", key, timeout=0.5)
    assert time.monotonic() - start < 3
    assert v.state is S.UNKNOWN and "timeout" in v.detail
    assert_no_leak(capsys, key, extra=repr(v))


def test_redirect_is_not_followed(server: Emulator, elsewhere: Emulator, fakes: FakeKeys,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    server.redirect_to = elsewhere.base_url
    ionq, ibm = fakes.ionq_key(), fakes.ibm_key()
    server.behave[ionq] = server.behave[ibm] = "redirect"
    results = verify_findings([finding("KG101", ionq), finding("KG201", ibm)], RULES)
    assert [(f.verification.state, f.verification.detail) for f in results] == [
        (S.UNKNOWN, "HTTP 302: redirect not followed")
    ] * 2
    assert len(server.received) == 2
    assert elsewhere.received == []  # the other host never saw a request, let alone a key
    assert_no_leak(capsys, ionq, ibm)


def test_429_retry_after_is_honoured(server: Emulator, fakes: FakeKeys,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    key = fakes.ionq_key()
    server.behave[key] = "429:0.2:2"  # two 429s with Retry-After 0.2 s, then 200
    start = time.monotonic()
    v = verify_one("KG101", key, retry_after_cap=5)
    assert v.state is S.VERIFIED
    assert len(server.received) == 3
    assert time.monotonic() - start >= 0.4  # it really waited
    assert_no_leak(capsys, key, extra=repr(v))


def test_429_over_the_cap_is_unknown(server: Emulator, fakes: FakeKeys,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    key, other = fakes.ionq_key(), fakes.ionq_key()
    server.behave[key] = "429:120:99"
    server.behave[other] = "429:-:99"  # no Retry-After: own backoff, still capped
    start = time.monotonic()
    a, b = verify_findings([finding("KG101", key), finding("KG101", other)], RULES,
                           retry_after_cap=1.5)
    assert time.monotonic() - start < 5
    assert a.verification == Verification(
        S.UNKNOWN, "HTTP 429: rate limited, Retry-After 120 s, over the 1.5 s wait cap"
    )
    assert b.verification.state is S.UNKNOWN and "429" in b.verification.detail
    assert server.hits_429 == {key: 1, other: 2}  # waited 1 s once, then 2 s > cap
    assert_no_leak(capsys, key, other)


# --------------------------------------------------------------------------------------------
# IBM Cloud IAM


IBM_CASES = [
    ("live", S.VERIFIED, "HTTP 200"),
    ("invalid", S.UNVERIFIED, "HTTP 400 (errorCode=BXNIM0415E)"),
    ("bxnim-other", S.UNVERIFIED, "HTTP 400 (errorCode=BXNIM0438E)"),
    ("restricted", S.UNKNOWN, "HTTP 403: unexpected answer"),
    ("500", S.UNKNOWN, "HTTP 500: provider error"),
    ("malformed", S.UNKNOWN, "HTTP 200: malformed JSON"),
    ("reset", S.UNKNOWN, "connection"),
]


@pytest.mark.parametrize(("mode", "state", "detail"), IBM_CASES, ids=[c[0] for c in IBM_CASES])
def test_ibm(server: Emulator, fakes: FakeKeys, capsys: pytest.CaptureFixture[str],
             mode: str, state: VerificationState, detail: str) -> None:
    key = fakes.ibm_key()
    server.behave[key] = mode
    v = verify_one("KG201", key, timeout=5)
    assert v.state is state
    assert v.detail.startswith(detail), v.detail
    [req] = server.received
    assert (req.method, req.path) == ("POST", IAM_PATH)
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    # Exactly the two form fields, the key only in `apikey`, and nowhere else in the request.
    assert req.form() == {"grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
                          "apikey": [key]}
    assert "authorization" not in req.headers
    assert req.raw.count(key.encode()) == 1 or req.body.count(key.encode()) == 1
    assert key.encode() not in req.raw[: req.raw.index(b"\r\n")]  # not in the request line
    secrets = [key, *getattr(server, "issued_tokens", [])]
    assert_no_leak(capsys, *secrets, extra=repr(v) + v.detail)


def test_ibm_access_token_is_never_kept(server: Emulator, fakes: FakeKeys,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import gc

    key = fakes.ibm_key()
    server.behave[key] = "live"
    [result] = verify_findings([finding("KG201", key)], RULES)
    access, refresh = server.issued_tokens
    assert result.verification == Verification(S.VERIFIED, "HTTP 200")
    text = repr(result) + repr(result.verification)
    assert access not in text and refresh not in text
    assert_no_leak(capsys, key, access, refresh)
    # No live object still holds the access token once verification returned.
    gc.collect()
    # Strings only: `in` would also match objects equal to anything (unittest.mock.ANY,
    # which some library imports on Python 3.10).
    holders = [o for o in gc.get_objects() if isinstance(o, (dict, list))
               and o is not server.issued_tokens and o is not server.__dict__
               and any(isinstance(v, str) and v == access
                       for v in (o.values() if isinstance(o, dict) else o))]
    assert holders == []


# --------------------------------------------------------------------------------------------
# Legacy IBM Quantum


def test_legacy_is_retired_without_a_request(server: Emulator, fakes: FakeKeys,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    token = fakes.legacy_token()
    server.behave[token] = "live"
    v = verify_one("KG301", token)
    assert v.state is S.RETIRED and "--verify-legacy" in v.detail
    assert server.received == []
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # no request, so no override warning either


@pytest.mark.parametrize(("mode", "state", "detail"), [
    ("live", S.VERIFIED, "HTTP 200"),
    ("invalid", S.UNVERIFIED, "HTTP 401 (error.code=3446)"),
    ("500", S.UNKNOWN, "HTTP 500: provider error"),
])
def test_legacy_when_asked(server: Emulator, fakes: FakeKeys, capsys: pytest.CaptureFixture[str],
                           mode: str, state: VerificationState, detail: str) -> None:
    token = fakes.legacy_token()
    server.behave[token] = mode
    v = verify_one("KG301", token, verify_legacy=True)
    assert (v.state, v.detail) == (state, detail)
    [req] = server.received
    assert (req.method, req.path) == ("POST", LEGACY_PATH)
    assert json.loads(req.body) == {"apiToken": token}
    assert req.raw.count(token.encode()) == 1
    # The session id a live login returns is a credential too: never shown.
    assert_no_leak(capsys, token, LIVE_BODY[LEGACY_PATH]["id"], extra=repr(v))


# --------------------------------------------------------------------------------------------
# Dedupe, concurrency, not-checked kinds, progress


def test_dedupe_one_request_per_distinct_secret(server: Emulator, fakes: FakeKeys,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ionq, ionq2, ibm = fakes.ionq_key(), fakes.ionq_key(), fakes.ibm_key()
    server.behave.update({ionq: "live", ionq2: "invalid", ibm: "live"})
    found = [
        finding("KG101", ionq, "a.py"), finding("KG101", ionq, "b.py", 7),
        finding("KG101", ionq2, "a.py", 3), finding("KG201", ibm, "nb.ipynb"),
        finding("KG101", ionq, "c/.env"), finding("KG201", ibm, "d.py"),
    ]
    results = verify_findings(found, RULES)
    assert [f.location.path for f in results] == [f.location.path for f in found]
    assert [f.verification.state for f in results] == [
        S.VERIFIED, S.VERIFIED, S.UNVERIFIED, S.VERIFIED, S.VERIFIED, S.VERIFIED
    ]
    assert sorted(r.path for r in server.received) == [IAM_PATH, IONQ_PATH, IONQ_PATH]
    assert_no_leak(capsys, ionq, ionq2, ibm)


@pytest.mark.parametrize("per_host", [1, 3])
def test_concurrency_per_host(server: Emulator, fakes: FakeKeys, per_host: int) -> None:
    keys = [fakes.ionq_key() for _ in range(6)]
    server.behave.update(dict.fromkeys(keys, "live"))
    server.delay = 0.15
    results = verify_findings([finding("KG101", k) for k in keys], RULES, per_host=per_host)
    assert {f.verification.state for f in results} == {S.VERIFIED}
    assert len(server.received) == 6
    assert server.max_in_flight <= per_host
    if per_host > 1:
        assert server.max_in_flight >= 2


def test_not_checked_kinds(server: Emulator, fakes: FakeKeys) -> None:
    found = [finding("KG204", fakes.crn()), finding("KG102", "k3y-F0r-the-lab-2024!"),
             finding("KG202", fakes.iam_jwt()), finding("KG205", "")]
    results = verify_findings(found, RULES)
    assert [f.verification for f in results] == [
        Verification(S.NOT_CHECKED, "identifier, not a secret"),
        Verification(S.NOT_CHECKED, "no check for this kind"),
        Verification(S.NOT_CHECKED, "no check for this kind"),
        Verification(S.NOT_CHECKED, "no check for this kind"),
    ]
    assert server.received == []


def test_progress_line_only_when_asked(server: Emulator, fakes: FakeKeys,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    keys = [fakes.ionq_key() for _ in range(3)]
    server.behave.update(dict.fromkeys(keys, "live"))
    verify_findings([finding("KG101", k) for k in keys], RULES)  # stderr is no TTY here
    assert "verifying" not in capsys.readouterr().err
    verify_findings([finding("KG101", k) for k in keys], RULES, progress=True)
    err = assert_no_leak(capsys, *keys)
    assert "\rkeyguard: verifying 3/3 secrets" in err


def test_verify_secrets_api(server: Emulator, fakes: FakeKeys) -> None:
    key = fakes.ionq_key()
    server.behave[key] = "live"
    rule = RULES.rules["KG101"]
    crn = Secret(fakes.crn())
    out = verify_secrets([(rule, Secret(key)), (rule, Secret(key)), (RULES.rules["KG204"], crn)])
    assert set(out) == {("KG101", Secret(key)), ("KG204", crn)}
    assert out[("KG101", Secret(key))].state is S.VERIFIED
    assert len(server.received) == 1


def test_retry_after_forms() -> None:
    from email.utils import formatdate

    from keyguard.verify.http import _parse_retry_after

    assert _parse_retry_after("3") == 3.0
    assert _parse_retry_after(" 0.5 ") == 0.5
    assert _parse_retry_after("-4") == 0.0
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("nan") is None
    in_a_minute = _parse_retry_after(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 55 <= in_a_minute <= 61


def test_importing_keyguard_does_not_import_httpx() -> None:
    import subprocess
    import sys

    code = ("import sys, keyguard, keyguard.cli, keyguard.verify.http; "
            "print(sorted(m for m in ('httpx', 'asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_report_errors_never_quote_the_secret(fakes: FakeKeys) -> None:
    from keyguard.verify.http import VerifyInputError, findings_from_report

    key = fakes.ionq_key()
    bad = json.dumps({"findings": [{"rule": "KG101", "secret": key, "path": "a.py",
                                    "line": key, "column": 1}]})
    with pytest.raises(VerifyInputError) as info:
        findings_from_report(bad, "r.json")
    assert key not in str(info.value) and "finding #1" in str(info.value)
    with pytest.raises(VerifyInputError, match="not a keyguard JSON report"):
        findings_from_report("[]", "r.json")


# --------------------------------------------------------------------------------------------
# Where secrets may go


@pytest.mark.parametrize("value", [
    "http://10.0.0.1:8080", "http://example.com:80", "http://localhost:8080",
    "http://127.0.0.1:8080/prefix", "ftp://127.0.0.1:21",
    "http://user:" + "pw@127.0.0.1:1",  # joined at run time: the tree holds no credential URI
    "http://127.0.0.1:notaport",
])
def test_override_refuses_non_loopback(monkeypatch: pytest.MonkeyPatch, fakes: FakeKeys,
                                       value: str) -> None:
    monkeypatch.setenv(BASE_URL_ENV, value)
    key = fakes.ionq_key()
    with pytest.raises(VerifyConfigError) as info:
        verify_findings([finding("KG101", key)], RULES)
    assert BASE_URL_ENV in str(info.value) and key not in str(info.value)


def test_bad_parameters(fakes: FakeKeys) -> None:
    for kw in ({"timeout": 0}, {"per_host": 0}, {"retry_after_cap": -1}):
        with pytest.raises(VerifyConfigError):
            verify_findings([finding("KG101", fakes.ionq_key())], RULES, **kw)  # type: ignore[arg-type]


USER_PACK = """
schema = 1
[provider]
id = "acme"
name = "Acme Quantum"
keywords = ["acme"]
[[rule]]
id = "KG901"
type = "token"
kind = "acme-key"
title = "Acme key"
severity = "high"
regex = '''(?P<secret>acme_[A-Za-z0-9]{32})'''
source = "test"
description = "test"
[rule.verify]
method = "POST"
url = "URL"
json_body = { key = "{secret}" }
responses = [{ status = [200], state = "verified" }]
"""


def test_user_pack_host_is_announced_and_not_overridden(
    server: Emulator, fakes: FakeKeys, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A user pack's own endpoint is used as declared (https), never redirected to the
    # override; the loopback server speaks plain HTTP, so TLS fails: unknown.
    pack_file = tmp_path / "acme.toml"
    pack_file.write_text(USER_PACK.replace("URL", f"https://127.0.0.1:{server.port}/check"))
    ruleset = build_ruleset([*(load_pack_file(p) for p in builtin_pack_paths()),
                             load_pack_file(pack_file)])
    key = "acme_" + fakes.ionq_key()
    ionq = fakes.ionq_key()
    server.behave[ionq] = "live"
    acme_finding = Finding(
        rule_id="KG901", provider="acme", kind="acme-key", title="Acme key",
        severity=Severity.HIGH, confidence=Confidence.HIGH,
        location=Location("x.py", 1, 1, 1, 2, 1, 1), secret=Secret(key), message="m",
    )
    builtin, acme = verify_findings([finding("KG101", ionq), acme_finding], ruleset, timeout=3)
    assert builtin.verification.state is S.VERIFIED  # built-in rule, still overridden
    assert acme.verification.state is S.UNKNOWN
    assert acme.verification.detail.startswith(("TLS error", "connection")), acme.verification
    err = assert_no_leak(capsys, key, ionq)
    assert f"rule KG901 (user rule pack) to 127.0.0.1:{server.port}" in err
    assert [r.path for r in server.received] == [IONQ_PATH]  # the TLS attempt sent nothing


def test_builtin_rule_id_with_other_endpoint_is_not_builtin(
    server: Emulator, fakes: FakeKeys, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Rule object named KG101 whose endpoint differs from the shipped pack is treated as a
    # user rule: not redirected, and announced.

    real = RULES.rules["KG101"]
    assert real.verify is not None
    fake_spec = real.verify._replace(url="https://127.0.0.1:1/v0.4/whoami")
    rule = real._replace(verify=fake_spec)
    key = fakes.ionq_key()
    out = verify_secrets([(rule, Secret(key))], timeout=2)
    assert out[("KG101", Secret(key))].state is S.UNKNOWN
    assert "rule KG101 (user rule pack) to 127.0.0.1:1" in assert_no_leak(capsys, key)
    assert server.received == []


@pytest.mark.parametrize(("verify_table", "message"), [
    ('method = "GET"\nurl = "http://x.example/a"\nheaders = { A = "{secret}" }\nresponses = []',
     "url must be https"),
    ('method = "GET"\nurl = "https://x.example/a?k={secret}"\nresponses = []',
     "url must be https"),
    ('method = "GET"\nurl = "https://x.example/a"\nresponses = []', "put '{secret}'"),
    ('method = "PUT"\nurl = "https://x.example/a"\nheaders = { A = "{secret}" }\nresponses = []',
     "method must be GET or POST"),
    ('method = "GET"\nurl = "https://x.example/a"\nheaders = { A = "{secret}" }\n'
     'responses = [{ status = [302], state = "verified" }]', "status must list"),
    ('method = "GET"\nurl = "https://x.example/a"\nheaders = { A = "{secret}" }\n'
     'responses = [{ status = [200], state = "live" }]', "state must be"),
    ('method = "GET"\nurl = "https://x.example/a"\nheaders = { A = "{secret}" }\n'
     'follow = true\nresponses = []', "unknown key"),
])
def test_verify_table_validation(verify_table: str, message: str) -> None:
    text = USER_PACK.split("[rule.verify]")[0] + "[rule.verify]\n" + verify_table + "\n"
    with pytest.raises(RulePackError, match=message.replace("?", r"\?")):
        parse_pack(text, "acme.toml")


# --------------------------------------------------------------------------------------------
# End to end through the CLI (a real `python -m keyguard` process against the emulator)


@dataclass
class Project:
    root: Path
    keys: dict[str, str]


@pytest.fixture
def project(tmp_path: Path, fakes: FakeKeys, server: Emulator) -> Project:
    keys = {
        "ionq_live": fakes.ionq_key(), "ionq_dead": fakes.ionq_key(),
        "ibm_live": fakes.ibm_key(), "ibm_dead": fakes.ibm_key(),
        "legacy": fakes.legacy_token(), "crn": fakes.crn(),
    }
    server.behave.update({keys["ionq_live"]: "live", keys["ionq_dead"]: "invalid",
                          keys["ibm_live"]: "live", keys["ibm_dead"]: "invalid",
                          keys["legacy"]: "live"})
    root = tmp_path / "repo"
    root.mkdir()
    files = {
        "a.py": 'from qiskit_ionq import IonQProvider\np = IonQProvider("{ionq_live}")\n',
        ".env": "IONQ_API_KEY={ionq_live}\n",
        "b.py": 'import cirq_ionq\ns = cirq_ionq.Service(api_key="{ionq_dead}")\n',
        "c.py": "from qiskit_ibm_runtime import QiskitRuntimeService\n"
                's = QiskitRuntimeService(channel="ibm_cloud", token="{ibm_live}",\n'
                '                         instance="{crn}")\n',
        "d.py": "from qiskit_ibm_runtime import QiskitRuntimeService\n"
                's = QiskitRuntimeService(token="{ibm_dead}")\n',
        "e.py": 'from qiskit import IBMQ\nIBMQ.save_account("{legacy}")\n',
    }
    for name, text in files.items():
        (root / name).write_text(text.format(**keys))
    return Project(root, keys)


def keyguard(*args: str, cwd: Path, stdin: str = "") -> tuple[int, str, str]:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "keyguard", *args], cwd=cwd, input=stdin, capture_output=True,
        text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )
    return proc.returncode, proc.stdout, proc.stderr


EXPECTED = {  # file -> (rule, state, detail start)
    "a.py": ("KG101", "verified", "HTTP 200 (key_name=Lab key, project_id=proj-42)"),
    ".env": ("KG101", "verified", "HTTP 200 (key_name=Lab key, project_id=proj-42)"),
    "b.py": ("KG101", "unverified", "HTTP 401"),
    "c.py": ("KG201", "verified", "HTTP 200"),
    "d.py": ("KG201", "unverified", "HTTP 400 (errorCode=BXNIM0415E)"),
    "e.py": ("KG301", "retired", "legacy platform retired"),
}


def _no_secret(project: Project, *texts: str) -> None:
    for name, value in project.keys.items():
        if name == "crn":
            continue  # an identifier, not a secret; the reporters redact it anyway
        for text in texts:
            assert value not in text, name


def test_cli_scan_verify_text(project: Project, server: Emulator) -> None:
    code, out, err = keyguard("scan", "--verify", ".", cwd=project.root)
    assert code == 1, err
    lines = out.splitlines()
    for name, (rule, state, detail) in EXPECTED.items():
        [line] = [x for x in lines if x.startswith(name + ":") and f" {rule} " in x]
        assert f"[{state}: {detail}" in line, line
    [crn_line] = [x for x in lines if " KG204 " in x]
    assert "verified" not in crn_line and "unknown" not in crn_line  # not-checked: no tag
    # One request per distinct key: the live IonQ key sits in two files.
    assert sorted(r.path for r in server.received) == [IAM_PATH] * 2 + [IONQ_PATH] * 2
    assert BASE_URL_ENV in err and "warning" in err
    assert "Verification: 1 not-checked, 1 retired, 2 unverified, 3 verified." in err
    _no_secret(project, out, err)


def test_cli_scan_verify_json_and_sarif(project: Project, server: Emulator) -> None:
    code, out, err = keyguard("scan", "--verify", "--format", "json", ".", cwd=project.root)
    assert code == 1, err
    report = json.loads(out)
    by_file = {(f["path"], f["rule"]): f for f in report["findings"]}
    for name, (rule, state, detail) in EXPECTED.items():
        f = by_file[(name, rule)]
        assert f["verification"] == state
        assert f["verification_detail"].startswith(detail)
    assert by_file[("c.py", "KG204")]["verification"] == "not-checked"
    assert report["summary"]["verification"] == {
        "not-checked": 1, "retired": 1, "unverified": 2, "verified": 3}
    _no_secret(project, out, err)

    server.received.clear()
    code, out, err = keyguard("scan", "--verify", "--format", "sarif", ".", cwd=project.root)
    assert code == 1, err
    results = json.loads(out)["runs"][0]["results"]
    states = {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"]):
            r.get("properties", {}).get("verification") for r in results
    }
    for name, (rule, state, _) in EXPECTED.items():
        assert states[(name, rule)] == state
    assert len(server.received) == 4
    _no_secret(project, out, err)


def test_cli_verify_legacy_flag(project: Project, server: Emulator) -> None:
    code, out, err = keyguard("scan", "--verify-legacy", "--select", "KG3", ".",
                              cwd=project.root)
    assert code == 1 and "[verified: HTTP 200]" in out, out + err
    [req] = server.received
    assert req.path == LEGACY_PATH and json.loads(req.body) == {"apiToken": project.keys["legacy"]}
    _no_secret(project, out, err)


def test_cli_verify_from_report(project: Project, server: Emulator, tmp_path: Path) -> None:
    redacted = tmp_path / "redacted.json"
    full = tmp_path / "full.json"
    keyguard("scan", "--format", "json", "-o", str(redacted), ".", cwd=project.root)
    keyguard("scan", "--format", "json", "--show-secrets", "-o", str(full), ".",
             cwd=project.root)
    assert server.received == []  # scanning alone never verifies

    code, out, err = keyguard("verify", "--from", str(redacted), cwd=project.root)
    assert code == 2 and "--show-secrets" in err
    _no_secret(project, out, err)

    code, out, err = keyguard("verify", "--from", str(full), "--format", "json",
                              cwd=project.root)
    assert code == 1, err  # live keys
    got = {(f["path"], f["rule"]): f["verification"] for f in json.loads(out)["findings"]}
    for name, (rule, state, _) in EXPECTED.items():
        assert got[(name, rule)] == state
    assert len(server.received) == 4
    _no_secret(project, out, err)


def test_cli_verify_stdin(project: Project, server: Emulator) -> None:
    k = project.keys
    stdin = (f"{k['ionq_live']}\n\n# a comment\nQISKIT_IBM_TOKEN={k['ibm_dead']}\n"
             f"not-a-key\n{k['ionq_live']}\n")
    code, out, err = keyguard("verify", cwd=project.root, stdin=stdin)
    assert code == 1, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("<stdin>:1:1: KG101 ") and "[verified: HTTP 200" in lines[0]
    assert lines[1].startswith("<stdin>:4:18: KG201 ") and "[unverified: HTTP 400" in lines[1]
    assert lines[2].startswith("<stdin>:6:1: KG101 ") and "[verified: HTTP 200" in lines[2]
    assert "<stdin>:5: not a known key format" in err and "not-a-key" not in err
    assert len(server.received) == 2  # the repeated IonQ key is asked once
    _no_secret(project, out, err)

    code, out, err = keyguard("verify", cwd=project.root, stdin=f"{k['ionq_dead']}\n")
    assert code == 0 and "[unverified: HTTP 401" in out


def test_cli_refuses_non_loopback_override(project: Project, server: Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://192.0.2.1:8080")
    code, out, err = keyguard("scan", "--verify", ".", cwd=project.root)
    assert code == 2
    assert "not a loopback IP address" in err
    _no_secret(project, out, err)


# --------------------------------------------------------------------------------------------
# Hostile answers, deadline, 429 without holding a host slot (issue 8 §6)


def test_deeply_nested_answer_is_unknown_and_the_run_goes_on(
        server: Emulator, fakes: FakeKeys, capsys: pytest.CaptureFixture[str]) -> None:
    deep, live, ibm_deep = fakes.ionq_key(), fakes.ionq_key(), fakes.ibm_key()
    server.behave.update({deep: "deep", live: "live", ibm_deep: "deep"})
    a, b, c = verify_findings(
        [finding("KG101", deep), finding("KG101", live), finding("KG201", ibm_deep)], RULES)
    assert a.verification == Verification(S.UNKNOWN, "HTTP 200: JSON nested too deeply")
    assert b.verification.state is S.VERIFIED
    assert c.verification == Verification(S.UNKNOWN, "HTTP 200: JSON nested too deeply")
    assert_no_leak(capsys, deep, live, ibm_deep)


def test_json_depth_counts_outside_strings_only() -> None:
    from keyguard.verify.http import _json_depth, _parse_json

    assert _json_depth(b'{"a": [1, {"b": 2}]}', 64) == 3
    assert _json_depth(b'{"a": "[[[[{{{{\\"[[["}', 64) == 1  # brackets inside a string
    assert _json_depth(b"[" * 10_000, 64) == 65  # stops just past the limit
    assert _parse_json(b"[" * 70 + b"]" * 70) is not None
    assert _parse_json(b'{"key_id": "k"}') == {"key_id": "k"}


@pytest.mark.parametrize("mode", ["null", "empty"])
@pytest.mark.parametrize(("rule_id", "make"), [("KG101", "ionq_key"), ("KG201", "ibm_key")])
def test_200_without_values_is_not_verified(server: Emulator, fakes: FakeKeys, mode: str,
                                            rule_id: str, make: str) -> None:
    key = getattr(fakes, make)()
    server.behave[key] = mode
    v = verify_one(rule_id, key)
    assert v == Verification(S.UNKNOWN, "HTTP 200: unexpected answer")
    assert len(server.received) == 1


def test_overall_deadline(server: Emulator, fakes: FakeKeys,
                          capsys: pytest.CaptureFixture[str]) -> None:
    hang, live = fakes.ionq_key(), fakes.ibm_key()
    server.behave.update({hang: "hang", live: "live"})
    start = time.monotonic()
    # per_host 2: on the loopback emulator both providers are one host.
    a, b = verify_findings([finding("KG101", hang), finding("KG201", live)], RULES,
                           timeout=8, deadline=0.7, per_host=2)
    assert time.monotonic() - start < 3  # not the 8 s per-request timeout
    assert a.verification == Verification(
        S.UNKNOWN, "not answered within the verification deadline (0.7 s)")
    assert b.verification.state is S.VERIFIED
    assert_no_leak(capsys, hang, live)


def test_429_wait_past_the_deadline_is_not_waited(server: Emulator, fakes: FakeKeys) -> None:
    key = fakes.ionq_key()
    server.behave[key] = "429:20:99"  # Retry-After 20 s: inside the cap, past the deadline
    start = time.monotonic()
    v = verify_one("KG101", key, retry_after_cap=30, deadline=2)
    assert time.monotonic() - start < 1.5
    assert v == Verification(
        S.UNKNOWN, "HTTP 429: rate limited, Retry-After 20 s, past the verification deadline")
    assert len(server.received) == 1


def test_429_sleep_holds_no_host_slot(server: Emulator, fakes: FakeKeys) -> None:
    limited, other = fakes.ionq_key(), fakes.ionq_key()
    server.behave[limited] = "429:1:1"  # one 429 with Retry-After 1 s, then live
    server.behave[other] = "live"
    a, b = verify_findings([finding("KG101", limited), finding("KG101", other)], RULES,
                           per_host=1)
    assert a.verification.state is S.VERIFIED and b.verification.state is S.VERIFIED
    first, second, third = server.received
    assert [_key_of(r.path, r.headers, r.body) for r in (first, second, third)] == [
        limited, other, limited]
    # The other key was asked while the first slept, not after its second answer.
    assert second.at - first.at < 0.5
    assert third.at - first.at >= 0.95


def test_bad_deadline_is_a_config_error(fakes: FakeKeys) -> None:
    with pytest.raises(VerifyConfigError, match="deadline > 0"):
        verify_findings([finding("KG101", fakes.ionq_key())], RULES, deadline=0)


def test_cli_verify_deadline(project: Project, server: Emulator) -> None:
    server.behave[project.keys["ionq_live"]] = "hang"
    start = time.monotonic()
    code, out, err = keyguard("scan", "--verify", "--verify-deadline", "1", "--verify-timeout",
                              "20", "--verify-per-host", "2", "--select", "KG101", ".",
                              cwd=project.root)
    assert time.monotonic() - start < 15
    assert code == 1, err
    [line] = [x for x in out.splitlines() if x.startswith("a.py:")]
    assert "[unknown: not answered within the verification deadline (1 s)]" in line
    assert "[unverified: HTTP 401" in next(x for x in out.splitlines() if x.startswith("b.py:"))
    _no_secret(project, out, err)
