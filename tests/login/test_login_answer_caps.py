"""Every network answer the login client reads is capped (IdP metadata, the role chooser, STS through botocore, the
console sign-in token); one over the cap is refused with a clear error, not truncated and not read into memory whole.
An answer that is not HTTP at all is a clear error too, not a traceback."""

from __future__ import annotations

import base64
import json
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
from samlfed.login.exchange import MAX_ANSWER_BYTES
from samlfed.login.roles import RoleOption, chooser_data
from samlfed.login.sts import MAX_ANSWER_BYTES as STS_MAX_ANSWER_BYTES
from samlfed.login.sts import AssumeFailed, assume
from samlfed.login.transport import Transport

OPTION = RoleOption("arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::111111111111:saml-provider/Idp")
PADDING = b" " * (MAX_ANSWER_BYTES + 10)
STS_ANSWER = (
    b'<AssumeRoleWithSAMLResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithSAMLResult><Credentials>'
    b"<AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>"
    b"<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithSAMLResult>"
    b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithSAMLResponse>"
)


@contextmanager
def _answering(body: bytes, *, declared: bool, content_type: str = "text/xml") -> Iterator[str]:
    """A server answering every request with `body`, its length in Content-Length or not (then until it closes)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if declared:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:  # the client refused the answer before reading it all
                pass

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *_: object) -> None:
            pass

    with handler_in_thread(Handler) as url:
        yield url


@pytest.mark.parametrize("declared", [True, False])
def test_metadata_over_the_cap_is_refused(tmp_path: Path, declared: bool) -> None:
    with _answering(b"<EntityDescriptor>" + PADDING, declared=declared) as url:
        write_profile(tmp_path, url, username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"samlfed: cannot read the IdP metadata at {url}/idp/metadata: the answer is larger than {MAX_ANSWER_BYTES} bytes" in done.stderr


def test_an_answer_that_is_not_http_is_a_clear_error(tmp_path: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

        def log_message(self, *_: object) -> None:
            pass

    with handler_in_thread(Handler) as url:
        write_profile(tmp_path, url, username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot read the IdP metadata" in done.stderr and "the answer is not well-formed HTTP (BadStatusLine)" in done.stderr


def test_an_answer_that_is_not_metadata_is_a_clear_error(tmp_path: Path) -> None:
    """A login page where the metadata should be (a wrong URL, or an answer cut short) ends in one line, not a traceback."""
    with _answering(b"<html><body>Please sign in</body>", declared=True, content_type="text/html") as url:
        write_profile(tmp_path, url, username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"samlfed: cannot read the IdP metadata at {url}/idp/metadata: ") and done.stderr.count("\n") == 1


def test_a_chooser_page_over_the_cap_gives_no_chooser_data() -> None:
    """Its beginning alone would name roles and aliases: a truncated page is not read as if it were the whole."""
    data = base64.b64encode(json.dumps({"roles_accounts": {"acme (111111111111)": [OPTION.role_arn]}}).encode()).decode()
    page = f'<meta name="data" content="{data}">'.encode()
    with _answering(page, declared=False, content_type="text/html") as url:
        assert chooser_data(url, response_b64(), Transport()) == {"acme (111111111111)": [OPTION.role_arn]}
    with _answering(page + PADDING, declared=False, content_type="text/html") as url:
        assert chooser_data(url, response_b64(), Transport()) is None


@pytest.mark.parametrize("declared", [True, False])
def test_an_sts_answer_over_the_cap_is_refused(declared: bool) -> None:
    """botocore would read any answer whole into memory: the transport sends its request and reads the answer."""
    with _answering(STS_ANSWER, declared=declared) as url:
        assert assume(url, OPTION, response_b64(), None).credentials.access_key_id == "ASIAEXAMPLEEXAMPLE12"
    padded = STS_ANSWER.replace(b"<ResponseMetadata>", b" " * STS_MAX_ANSWER_BYTES + b"<ResponseMetadata>")
    with _answering(padded, declared=declared) as url, pytest.raises(AssumeFailed) as failed:
        assume(url, OPTION, response_b64(), None)
    assert failed.value.code == "ConnectionError"
    assert failed.value.message == f"STS at {url}: the answer is larger than {STS_MAX_ANSWER_BYTES} bytes"


def test_a_sign_in_token_answer_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "s" * 40, "AWS_SESSION_TOKEN": "token",
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    token = json.dumps({"SigninToken": "t" * (MAX_ANSWER_BYTES + 10)}).encode()
    with _answering(token, declared=False, content_type="application/json") as url:
        done = CliRunner().invoke(app, ["console-url", "--endpoint-url", url])
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
    assert f"cannot reach {url}/federation: the answer is larger than {MAX_ANSWER_BYTES} bytes" in done.output
