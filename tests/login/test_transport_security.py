"""Audit of the login client's transport: plain http:// only to this machine unless the user opts in (and is warned),
redirects held to the same rule, TLS always verified (with a CA bundle only when one is named), and the ECP answer
bound to the request this client made.

"Another machine" is 0.0.0.0 here: not loopback to the client's rule, yet Linux delivers it to listeners on
127.0.0.1, so the servers of these tests still bind to 127.0.0.1 only."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from login_setup import samlfed, write_profile
from lxml import etree
from pki import make_pki
from saml_factory import response_b64, response_tree
from servers import app_in_thread, handler_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from samlfed.iam.arns import role_arn
from samlfed.idp.ecp import fault_envelope, request_from_envelope, response_envelope
from samlfed.login.ecp import EcpError, ecp_login
from samlfed.login.roles import RoleOption, chooser_data
from samlfed.login.sts import AssumeFailed, assume
from samlfed.login.transport import InsecureUrl, Transport
from samlfed.saml import constants as c
from samlfed.saml.metadata import SsoEndpoint, build_idp_metadata
from samlfed.saml.signing import IdpSigner

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers
ACS = "https://samlfed.test/saml"
OPTION = RoleOption("arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::111111111111:saml-provider/Idp")


def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


@contextmanager
def _collector() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A server that notes every request (path and headers) it gets; yields its port and the notes."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def collect(request: Request) -> Response:
        seen.append((request.url.path, dict(request.headers)))
        return PlainTextResponse("collected", status_code=401)

    app = Starlette(routes=[Route("/healthz", _healthz), Route("/{path:path}", collect, methods=["GET", "POST"])])
    with app_in_thread(app) as url:
        yield url.rsplit(":", 1)[1], seen


@pytest.mark.parametrize("url", [
    "https://idp.example/ecp", "http://127.0.0.1:8080/ecp", "http://127.9.8.7/", "http://localhost/", "http://LocalHost:1/", "http://[::1]:8080/",
])
def test_https_and_loopback_http_need_no_opt_in(url: str) -> None:
    Transport().check(url, "the URL")


@pytest.mark.parametrize("url", [
    "http://idp.example/ecp", "http://0.0.0.0:8080/", "http://10.0.0.1/", "http://127.0.0.1.evil.example/", "http://localhost.evil.example/",
    "http://[2001:db8::1]/",
])
def test_plain_http_to_another_machine_needs_the_opt_in_and_is_warned(url: str) -> None:
    with pytest.raises(InsecureUrl, match="is plain http:// to another machine.*--allow-insecure-http"):
        Transport().check(url, "the URL")
    warnings: list[str] = []
    Transport(allow_insecure_http=True, warn=warnings.append).check(url.replace("http://", "http://user:secret@"), "the URL")
    assert len(warnings) == 1 and "plain http://" in warnings[0] and "secret" not in warnings[0]


def _assertion(home: Path) -> str:
    path = home / "captured.b64"
    path.write_text(response_b64())
    return str(path)


@pytest.mark.parametrize("setting", ["endpoint", "ecp_url", "idp_metadata_url", "browser"])
def test_samlfed_login_refuses_plain_http_to_another_machine_before_anything_is_sent(tmp_path: Path, setting: str) -> None:
    if setting == "endpoint":
        args = ["--endpoint", "http://samlfed.test", "--assertion-file", _assertion(tmp_path), "--role", "Developer"]
    elif setting == "browser":
        args = ["--endpoint", "http://samlfed.test", "--method", "browser", "--no-browser"]
    else:
        write_profile(tmp_path, NOWHERE, username="alice", **{setting: "http://idp.test/idp/ecp"})
        args = ["--profile", "demo", "--password-stdin"]
    done = samlfed(tmp_path, "login", *args, stdin="s3cret-pass\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "is plain http:// to another machine" in done.stderr and "--allow-insecure-http" in done.stderr
    assert "Sign in in your browser" not in done.stderr


@pytest.mark.parametrize("opt_in", ["flag", "profile"])
def test_the_opt_in_lets_plain_http_through_with_one_warning_per_host(demo: dict, tmp_path: Path, opt_in: str) -> None:
    elsewhere = demo["url"].replace("127.0.0.1", "0.0.0.0")
    write_profile(tmp_path, elsewhere, username="alice", ecp_url=f"{elsewhere}/idp/ecp", acs_url=f"{demo['url']}/saml")
    password = demo["passwords"]["alice"] + "\n"
    refused = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", "Developer", stdin=password)
    assert refused.returncode == 2 and "is plain http:// to another machine" in refused.stderr

    if opt_in == "profile":
        write_profile(tmp_path, elsewhere, username="alice", ecp_url=f"{elsewhere}/idp/ecp", acs_url=f"{demo['url']}/saml", allow_insecure_http=True)
    extra = ["--allow-insecure-http"] if opt_in == "flag" else []
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn("111111111111", "Developer"), *extra, stdin=password)
    assert done.returncode == 0, done.stderr
    where = elsewhere.removeprefix("http://")
    assert done.stderr.count(f"samlfed: warning: plain http:// to {where} (allow_insecure_http)") == 1
    assert "wrote profile demo" in done.stderr


def _metadata(ecp_url: str) -> bytes:
    signer = IdpSigner.generate("redirect test IdP")
    return build_idp_metadata("https://idp.test/metadata", [signer.certificate], sso_endpoints=[SsoEndpoint(c.BINDING_SOAP, ecp_url)])


@pytest.mark.parametrize(("target", "message"), [
    ("http://0.0.0.0:{port}/metadata", "is plain http:// to another machine"),
    ("ftp://127.0.0.1:{port}/metadata", "is not an http:// or https:// URL"),
])
def test_a_metadata_redirect_cannot_take_the_password_elsewhere(tmp_path: Path, target: str, message: str) -> None:
    """Whoever can change the metadata names where the password goes: a redirect is held to the rule of the first URL."""
    with _collector() as (port, seen):

        async def forged(_: Request) -> Response:
            return Response(_metadata(f"http://127.0.0.1:{port}/ecp"), media_type="application/samlmetadata+xml")

        async def redirect(_: Request) -> Response:
            return RedirectResponse(target.format(port=port), status_code=302)

        app = Starlette(routes=[Route("/healthz", _healthz), Route("/idp/metadata", redirect), Route("/metadata", forged)])
        with app_in_thread(app) as url:
            write_profile(tmp_path, url, username="alice")
            done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n")
    assert done.returncode == 1 and "cannot read the IdP metadata" in done.stderr and message in done.stderr, done.stderr
    assert seen == []


def test_the_library_calls_refuse_plain_http_to_another_machine_themselves() -> None:
    """The checks of the command line are not the only ones: the calls that send secrets check again."""
    with _collector() as (port, seen):
        elsewhere = f"http://0.0.0.0:{port}"
        with pytest.raises(EcpError, match="plain http://"):
            ecp_login(f"{elsewhere}/ecp", sp_entity_id="urn:amazon:webservices", acs_url=ACS, username="alice", password="s3cret-pass")
        with pytest.raises(AssumeFailed) as refused:
            assume(elsewhere, OPTION, response_b64(), None)
        assert chooser_data(elsewhere, response_b64(), Transport()) is None
    assert refused.value.code == "InsecureEndpoint"
    assert seen == []


def test_the_role_chooser_follows_no_redirect() -> None:
    data = base64.b64encode(json.dumps({"roles_accounts": {"acme (111111111111)": [OPTION.role_arn]}}).encode()).decode()

    async def redirect(_: Request) -> Response:
        return RedirectResponse("/elsewhere", status_code=303)

    async def elsewhere(_: Request) -> Response:
        return HTMLResponse(f'<meta name="data" content="{data}">')

    app = Starlette(routes=[Route("/healthz", _healthz), Route("/saml", redirect, methods=["POST"]), Route("/elsewhere", elsewhere)])
    with app_in_thread(app) as url:
        assert chooser_data(url, response_b64(), Transport()) is None


@pytest.mark.parametrize(("answer", "message"), [
    ("this request", None),
    ("another request", "InResponseTo differs"),
    ("no request", "InResponseTo differs"),
    ("another service", "AssertionConsumerServiceURL differs"),
])
def test_the_ecp_answer_must_be_for_this_request_and_this_service(answer: str, message: str | None) -> None:
    """SAML Profiles §4.2.4.5 and Core §3.2.2: a response for another request or addressed elsewhere is not passed on."""

    async def ecp(request: Request) -> Response:
        request_id = request_from_envelope(await request.body()).get("ID")
        in_response_to = {"this request": request_id, "another request": "_another", "no request": None}.get(answer, request_id)
        acs = "https://attacker.test/saml" if answer == "another service" else ACS
        xml = etree.tostring(response_tree(in_response_to=in_response_to))
        return Response(response_envelope(xml, acs), media_type="text/xml; charset=utf-8")

    with app_in_thread(Starlette(routes=[Route("/healthz", _healthz), Route("/ecp", ecp, methods=["POST"])])) as url:
        call = lambda: ecp_login(f"{url}/ecp", sp_entity_id="urn:amazon:webservices", acs_url=ACS, username="alice", password="s3cret-pass")  # noqa: E731
        if message is None:
            assert etree.fromstring(base64.b64decode(call())).get("InResponseTo")
        else:
            with pytest.raises(EcpError, match=message):
                call()


def test_credential_process_refuses_plain_http_to_another_machine_before_sending_the_kept_password(tmp_path: Path) -> None:
    with _collector() as (port, seen):
        write_profile(tmp_path, "http://samlfed.test", username="alice", ecp_url=f"http://127.0.0.1:{port}/ecp", role=OPTION.role_arn, remember_password=True)
        (tmp_path / "keyring.json").write_text(json.dumps({"samlfed\x00demo:alice": "s3cret-pass"}))
        done = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert done.returncode == 2 and "is plain http:// to another machine" in done.stderr, done.stderr
    assert seen == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA of the test's own (ca.pem) and a certificate it issued for 127.0.0.1 (server.pem, server.key)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


_STS_PROBE = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ProbeReached</Code>'
              b"<Message>the request arrived</Message></Error><RequestId>1</RequestId></ErrorResponse>")


@contextmanager
def _tls_server(pki: dict[str, Path]) -> Iterator[tuple[str, list[str]]]:
    """An https server on 127.0.0.1 with the test CA's certificate: /ecp refuses the password, anything else is an STS
    error; yields its URL and the paths it was sent."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(self.path)
            ecp = self.path == "/ecp"
            body = fault_envelope("Client", "Wrong user name or password.") if ecp else _STS_PROBE
            self.send_response(401 if ecp else 400)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    with handler_in_thread(Handler, tls=context) as url:
        yield url, seen


def test_ecp_verifies_the_certificate_even_when_urllibs_default_was_turned_off(pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Some libraries (and PYTHONHTTPSVERIFY=0 on some distributions) make urllib's default context unverified."""
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    with _tls_server(pki) as (url, seen):
        with pytest.raises(EcpError, match="CERTIFICATE_VERIFY_FAILED"):
            ecp_login(f"{url}/ecp", sp_entity_id="urn:amazon:webservices", acs_url=ACS, username="alice", password="s3cret-pass")
        with pytest.raises(EcpError, match="Wrong user name or password"):
            ecp_login(f"{url}/ecp", sp_entity_id="urn:amazon:webservices", acs_url=ACS, username="alice", password="s3cret-pass",
                      transport=Transport(ca_bundle=str(pki["ca"])))
    assert seen == ["/ecp"]


@pytest.mark.parametrize("where", ["flag", "profile", "AWS_CA_BUNDLE"])
def test_samlfed_login_trusts_a_ca_bundle_only_when_named(pki: dict[str, Path], tmp_path: Path, where: str) -> None:
    with _tls_server(pki) as (url, seen):
        write_profile(tmp_path, NOWHERE, username="alice", ecp_url=f"{url}/ecp")
        untrusted = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="s3cret-pass\n", REQUESTS_CA_BUNDLE=str(pki["ca"]))
        assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr and seen == []
        if where == "profile":
            write_profile(tmp_path, NOWHERE, username="alice", ecp_url=f"{url}/ecp", ca_bundle=str(pki["ca"]))
        extra = ["--ca-bundle", str(pki["ca"])] if where == "flag" else []
        env = {"AWS_CA_BUNDLE": str(pki["ca"])} if where == "AWS_CA_BUNDLE" else {}
        trusted = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", *extra, stdin="s3cret-pass\n", **env)
    assert trusted.returncode == 1 and "refused the sign-in: Wrong user name or password." in trusted.stderr, trusted.stderr
    assert seen == ["/ecp"]


def test_an_unreadable_ca_bundle_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "not.pem").write_text("not a certificate")
    for bundle in ("missing.pem", "not.pem"):
        done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--ca-bundle", str(tmp_path / bundle), "--assertion-file", _assertion(tmp_path))
        assert done.returncode == 2 and "is not a readable file of PEM CA certificates" in done.stderr and "Traceback" not in done.stderr


def test_sts_trusts_no_ca_bundle_botocore_finds_in_the_environment(pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The STS client trusts the transport's bundle only (the CLI puts AWS_CA_BUNDLE there), never one botocore or
    requests would read from the environment behind the transport's back."""
    monkeypatch.setenv("AWS_CA_BUNDLE", str(pki["ca"]))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca"]))
    with _tls_server(pki) as (url, seen):
        with pytest.raises(AssumeFailed, match="CERTIFICATE_VERIFY_FAILED"):
            assume(url, OPTION, response_b64(), None)
        assert seen == []
        with pytest.raises(AssumeFailed) as reached:
            assume(url, OPTION, response_b64(), None, Transport(ca_bundle=str(pki["ca"])))
    assert reached.value.code == "ProbeReached" and seen == ["/"]
