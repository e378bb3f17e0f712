"""Every HTTP exchange of the login client ends within its deadline (the profile's `timeout`), even against a server
that keeps the connection alive by trickling one byte at a time: a per-read socket timeout alone never fires there.

The trickling servers bind to 127.0.0.1, send at most TRICKLE_BYTES bytes and stop when the test ends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from login_setup import samlfed, write_profile
from saml_factory import response_b64
from servers import handler_in_thread
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.login import transport as transport_module
from samlfed.login.ecp import EcpUnreachable, ecp_login
from samlfed.login.exchange import DeadlineExceeded
from samlfed.login.roles import RoleOption
from samlfed.login.sts import AssumeFailed, assume
from samlfed.login.transport import Transport

TRICKLE_BYTES = 200
TRICKLE_PAUSE = 0.25
"""200 bytes, one each quarter second: 50 seconds of trickle at most, far beyond the 1-second deadlines here."""
OPTION = RoleOption("arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::111111111111:saml-provider/Idp")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "s" * 40, "AWS_SESSION_TOKEN": "token-of-the-test"}


@contextmanager
def _trickling(where: str) -> Iterator[str]:
    """A server that answers every request one byte at a time: the status line on ('headers'), or after the whole
    head at once ('body'); yields its URL."""
    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"

    class Handler(BaseHTTPRequestHandler):
        def _trickle(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if where == "body":
                self.wfile.write(head)
            data = (head if where == "headers" else b"") + b"<" * TRICKLE_BYTES
            for byte in data[:TRICKLE_BYTES]:
                if stop.is_set():
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                time.sleep(TRICKLE_PAUSE)

        do_GET = do_POST = _trickle  # noqa: N815

        def log_message(self, *_: object) -> None:
            pass

    with handler_in_thread(Handler) as url:
        try:
            yield url
        finally:
            stop.set()


def _samlfed_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("samlfed:")]


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_metadata_server_is_given_up_at_the_profiles_timeout(tmp_path: Path, where: str) -> None:
    with _trickling(where) as url:
        write_profile(tmp_path, url, username="alice", timeout=1)
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert _samlfed_lines(done.stderr) == [f"samlfed: cannot read the IdP metadata at {url}/idp/metadata: no complete answer within 1 seconds"]


def test_a_trickling_ecp_endpoint_is_given_up_at_the_profiles_timeout(tmp_path: Path) -> None:
    with _trickling("headers") as url:
        write_profile(tmp_path, url, username="alice", ecp_url=f"{url}/ecp", timeout=1)
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "s3cret-pass" not in done.stderr, done.stderr
    assert _samlfed_lines(done.stderr) == [f"samlfed: the identity provider at {url}/ecp: no complete answer within 1 seconds"]


def test_a_trickling_chooser_and_sts_are_given_up_at_the_profiles_timeout(tmp_path: Path) -> None:
    """The chooser is only a help (login goes on without it); STS is not: its exchange ends the login."""
    (tmp_path / "captured.b64").write_text(response_b64())
    with _trickling("body") as url:
        write_profile(tmp_path, url, timeout=1)
        done = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", str(tmp_path / "captured.b64"), "--role", "Developer")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert _samlfed_lines(done.stderr) == [
        f"samlfed: {OPTION.role_arn}: STS at {url}: no complete answer within 1 seconds (ConnectionError)",
    ]


def test_the_sts_call_through_botocore_has_the_transports_deadline() -> None:
    with _trickling("headers") as url, pytest.raises(AssumeFailed) as failed:
        assume(url, OPTION, response_b64(), None, Transport(deadline=1))
    assert failed.value.code == "ConnectionError" and failed.value.unanswered
    assert failed.value.message == f"STS at {url}: no complete answer within 1 seconds"


def test_console_url_gives_up_a_trickling_federation_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """console-url (and console) have no profile: the default deadline, made small here, bounds the sign-in token fetch."""
    monkeypatch.setattr(transport_module, "DEFAULT_DEADLINE", 1)
    for name, value in {**CREDENTIALS, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with _trickling("body") as url:
        done = CliRunner().invoke(app, ["console-url", "--endpoint-url", url])
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
    assert f"samlfed: cannot reach {url}/federation: no complete answer within 1 seconds" in done.output


def test_a_tls_handshake_that_never_ends_is_given_up_at_the_deadline() -> None:
    """A server that accepts and then says nothing: the handshake waits only for what is left of the deadline (the
    per-read timeout is 30 seconds)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with pytest.raises(EcpUnreachable, match="no complete answer within 1 seconds"):
            ecp_login(f"https://127.0.0.1:{port}/ecp", sp_entity_id="urn:amazon:webservices", acs_url="https://samlfed.test/saml",
                      username="alice", password="s3cret-pass", transport=Transport(deadline=1))


def test_the_deadline_covers_the_whole_exchange_not_each_read() -> None:
    with _trickling("body") as url, pytest.raises(DeadlineExceeded, match="no complete answer within 1 seconds"):
        Transport(deadline=1).opener(follow_redirects=True).open(f"{url}/anything", timeout=30)


@pytest.mark.parametrize(("timeout", "message"), [
    ("0", "the timeout must be from 1 to 3600 seconds"),
    ("3601", "the timeout must be from 1 to 3600 seconds"),
    ('"60"', "profiles.demo.timeout must be an integer"),
])
def test_a_bad_timeout_in_the_profile_is_a_usage_error(tmp_path: Path, timeout: str, message: str) -> None:
    path = tmp_path / ".config" / "samlfed" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f'[profiles.demo]\nendpoint = "http://127.0.0.1:9"\ntimeout = {timeout}\n')
    (tmp_path / "captured.b64").write_text(response_b64())
    done = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", str(tmp_path / "captured.b64"), "--role", "Developer")
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
