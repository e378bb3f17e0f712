"""Plain http:// to this machine is allowed because it never leaves it: an HTTP proxy named by the environment
(http_proxy, common on corporate machines) must not carry such a request (with the ECP password or the SAML
assertion in it) elsewhere, for urllib and botocore alike.

The "proxy" here is a collector on 127.0.0.1 (tests bind to loopback only); in real use it is another machine."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import pytest
from servers import handler_in_thread

from samlfed.login.ecp import EcpError, ecp_login
from samlfed.login.roles import RoleOption
from samlfed.login.sts import AssumeFailed, assume
from samlfed.login.transport import Transport

OPTION = RoleOption("arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::111111111111:saml-provider/Idp")


@contextmanager
def _recording_proxy() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP server that records every request line and its headers, and answers 502."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            seen.append({"line": self.requestline, "body": body, **{k.lower(): v for k, v in self.headers.items()}})
            self.send_response(502)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = _record  # noqa: N815

        def log_message(self, *_: object) -> None:
            pass

    with handler_in_thread(Handler) as url:
        yield url, seen


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with _recording_proxy() as (url, seen):
        monkeypatch.setenv("http_proxy", url)
        monkeypatch.setenv("HTTP_PROXY", url)
        yield seen


def test_ecp_password_to_loopback_http_never_goes_to_an_environment_proxy(proxy: list[dict[str, str]]) -> None:
    # 127.0.0.2: loopback by the client's own rule; nothing listens there, so a direct request just fails.
    with pytest.raises(EcpError):
        ecp_login(
            "http://127.0.0.2:9/idp/ecp", sp_entity_id="urn:amazon:webservices", acs_url="https://signin.aws.amazon.com/saml",
            username="alice", password="hunter2-secret", transport=Transport(),
        )
    leaked = [r for r in proxy if "hunter2-secret" in base64.b64decode(r.get("authorization", "Basic ").split()[-1] or b"").decode("latin-1")]
    assert proxy == [], f"the ECP request for a loopback URL went to the HTTP proxy, Basic password included: {leaked or proxy}"


def test_assertion_to_loopback_http_sts_never_goes_to_an_environment_proxy(proxy: list[dict[str, str]]) -> None:
    with pytest.raises(AssumeFailed):
        assume("http://127.0.0.2:9", OPTION, base64.b64encode(b"<the assertion>").decode(), None, Transport())
    assert proxy == [], f"the AssumeRoleWithSAML request (assertion in its body) went to the HTTP proxy: {proxy}"
