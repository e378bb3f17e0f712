"""Audit of the login client: where the IdP password may travel (redirects, the metadata's ECP endpoint); the
browser hand-off's listener on bad input."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from login_setup import samlfed, write_profile
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from samlfed.iam.arns import role_arn
from samlfed.login.browser import READ_TIMEOUT, BrowserResult, browser_login
from samlfed.login.ecp import EcpError, ecp_login
from samlfed.saml import constants as c
from samlfed.saml.metadata import SsoEndpoint, build_idp_metadata
from samlfed.saml.signing import IdpSigner

DEV = "111111111111"


def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


@pytest.mark.parametrize("status", [301, 302, 303])
def test_the_ecp_password_never_follows_a_redirect(status: int) -> None:
    """urllib keeps the Authorization header on a redirect, even to another host: the credentials stay with the endpoint."""
    seen: list[dict[str, str]] = []

    async def collect(request: Request) -> Response:
        seen.append(dict(request.headers))
        return PlainTextResponse("collected")

    collector = Starlette(routes=[Route("/healthz", _healthz), Route("/collect", collect, methods=["GET", "POST"])])
    with app_in_thread(collector) as elsewhere:

        async def redirect(_: Request) -> Response:
            return RedirectResponse(f"{elsewhere}/collect", status_code=status)

        endpoint = Starlette(routes=[Route("/healthz", _healthz), Route("/ecp", redirect, methods=["POST"])])
        with app_in_thread(endpoint) as idp, pytest.raises(EcpError, match="redirect"):
            ecp_login(f"{idp}/ecp", sp_entity_id="urn:amazon:webservices", acs_url="http://sp.test/saml", username="alice", password="s3cret-pass", otp="123456")
    assert seen == []


_ANSWER = base64.b64encode(b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_r1"/>').decode()
"""The least the listener takes: a Response answering a request (the server checked the rest)."""


def _listening(*, timeout: int) -> tuple[threading.Thread, list[BrowserResult], int, str]:
    """`browser_login` waiting in a thread: the thread, where its result goes, and the listener's port and state."""
    told: list[str] = []
    results: list[BrowserResult] = []
    waiting = threading.Thread(target=lambda: results.append(browser_login("http://127.0.0.1:9", open_browser=False, tell=told.append, timeout=timeout)))
    waiting.start()
    while not told:
        time.sleep(0.01)
    start = told[0].split(": ", 1)[1]
    location = httpx.get(start, follow_redirects=False).headers["location"]  # the state, as the browser gets it
    query = parse_qs(urlsplit(location).query)
    return waiting, results, int(query["port"][0]), query["state"][0]


def test_a_malformed_request_to_the_browser_listener_gets_a_400_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """Any local program can reach the one-shot listener; its bad request must not print a traceback or end the wait."""
    waiting, results, port, state = _listening(timeout=30)
    answer = _ANSWER
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST / HTTP/1.0\r\nContent-Length: twelve\r\n\r\n")
        assert sock.makefile("rb").read().startswith(b"HTTP/1.0 400")
    with socket.create_connection(("127.0.0.1", port)) as sock:  # half a body, then a reset connection
        sock.sendall(b"POST / HTTP/1.0\r\nContent-Length: 50\r\n\r\nstate=")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert httpx.post(f"http://127.0.0.1:{port}/", data={"state": state, "SAMLResponse": answer}).status_code == 200
    waiting.join()
    assert results[0].saml_response == answer
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("location", ["file:///etc/hostname", "ecp"])
def test_an_ecp_endpoint_from_the_metadata_must_be_an_http_url(tmp_path: Path, location: str) -> None:
    """The password is sent to the metadata's SOAP endpoint: a file:// or relative one is refused with a message."""
    signer = IdpSigner.generate("metadata test IdP")
    metadata = build_idp_metadata("https://idp.test/metadata", [signer.certificate], sso_endpoints=[SsoEndpoint(c.BINDING_SOAP, location)])

    async def serve(_: Request) -> Response:
        return Response(metadata, media_type="application/samlmetadata+xml")

    with app_in_thread(Starlette(routes=[Route("/healthz", _healthz), Route("/idp/metadata", serve)])) as url:
        write_profile(tmp_path, url, username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"the ECP endpoint in the IdP metadata at {url}/idp/metadata {location!r} is not an http:// or https:// URL" in done.stderr


def test_a_refused_keyring_password_is_forgotten_before_the_idp_locks_the_user_out(demo: dict, tmp_path: Path) -> None:
    """After a password change, credential-process (run by every AWS call) must not keep sending the old password
    until the IdP's throttle (5 failures) refuses the user's own sign-in too."""
    write_profile(tmp_path, demo["url"], username="bob", role=role_arn(DEV, "ReadOnly"), remember_password=True)
    keyring = tmp_path / "keyring.json"
    keyring.write_text(json.dumps({"samlfed\x00demo:bob": "the password before the change"}))
    first = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert first.returncode == 1 and "removed from the keyring" in first.stderr and "run: samlfed login --profile demo" in first.stderr
    assert json.loads(keyring.read_text()) == {}
    for _ in range(5):
        assert samlfed(tmp_path, "credential-process", "--profile", "demo").returncode == 1
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=demo["passwords"]["bob"] + "\n")
    assert login.returncode == 0, login.stderr


def test_samlfed_login_forgets_a_refused_keyring_password(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    keyring = tmp_path / "keyring.json"
    keyring.write_text(json.dumps({"samlfed\x00demo:alice": "the password before the change"}))
    done = samlfed(tmp_path, "login", "--profile", "demo")
    assert done.returncode == 1 and "removed" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(keyring.read_text()) == {}


def test_a_stalled_connection_does_not_hold_the_browser_listener() -> None:
    """A local program that opens a connection and sends nothing more must not keep the hand-off from arriving."""
    waiting, results, port, state = _listening(timeout=60)
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(b"POST / HTTP/1.0\r\nContent-Length: 50\r\n\r\n")
        answer = httpx.post(f"http://127.0.0.1:{port}/", data={"state": state, "SAMLResponse": _ANSWER}, timeout=READ_TIMEOUT + 20)
    assert answer.status_code == 200
    waiting.join()
    assert results[0].saml_response == _ANSWER
