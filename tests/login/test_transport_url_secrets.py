"""The transport's refusal messages never quote a URL's user:password@ part (a Basic-protected metadata URL),
as its warnings do not: they go to stderr, and from there into CI logs."""

from __future__ import annotations

from pathlib import Path

from login_setup import samlfed, write_profile
from servers import app_in_thread, free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from samlfed.login.transport import InsecureUrl, Transport

SECRET = "Sup3rS3cret"


def test_refusal_message_leaves_out_the_password_of_the_url() -> None:
    try:
        Transport().check(f"http://alice:{SECRET}@idp.example.com/metadata", "idp_metadata_url of profile demo")
    except InsecureUrl as exc:
        assert SECRET not in str(exc), f"the refusal names the URL's password: {exc}"
    else:
        raise AssertionError("plain http:// to another host was accepted")


def test_login_cli_does_not_print_the_password_of_a_refused_url(tmp_path: Path) -> None:
    write_profile(tmp_path, "https://samlfed.example.com", idp_metadata_url=f"http://alice:{SECRET}@idp.example.com/metadata")
    result = samlfed(tmp_path, "login", "--profile", "demo", "--method", "ecp", "--username", "alice", "--password-stdin", stdin="pw\n")
    assert result.returncode != 0
    assert SECRET not in result.stderr + result.stdout, f"the password of the URL reached the terminal: {result.stderr.strip()}"


def test_login_cli_does_not_print_the_password_of_an_unreadable_metadata_url(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: reading the metadata fails
    write_profile(tmp_path, "https://samlfed.example.com", idp_metadata_url=f"https://alice:{SECRET}@127.0.0.1:{closed}/metadata")
    result = samlfed(tmp_path, "login", "--profile", "demo", "--method", "ecp", "--username", "alice", "--password-stdin", stdin="pw\n")
    assert result.returncode != 0 and "cannot read the IdP metadata at https://127.0.0.1:" in result.stderr, result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_console_url_does_not_print_the_password_of_an_unreachable_endpoint(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: the sign-in token cannot be fetched
    credentials = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "s" * 40, "AWS_SESSION_TOKEN": "token-of-the-test"}
    result = samlfed(tmp_path, "console-url", "--endpoint-url", f"http://alice:{SECRET}@127.0.0.1:{closed}", **credentials)
    assert result.returncode == 1 and f"cannot reach http://127.0.0.1:{closed}/federation" in result.stderr, result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_the_acs_url_sent_to_the_idp_leaves_out_the_password_of_the_endpoint(tmp_path: Path) -> None:
    """The default ACS URL (`<endpoint>/saml`) travels in the AuthnRequest to the IdP, a third party that may log it
    and that quotes it back when it refuses it ('… is not a registered ACS URL'): never the endpoint's password."""
    seen: list[bytes] = []

    async def ecp(request: Request) -> Response:
        seen.append(await request.body())
        return PlainTextResponse("refused", status_code=400)

    with app_in_thread(Starlette(routes=[Route("/healthz", lambda _: PlainTextResponse("ok")), Route("/ecp", ecp, methods=["POST"])])) as idp:
        port = idp.rsplit(":", 1)[1]
        write_profile(tmp_path, f"http://alice:{SECRET}@127.0.0.1:{port}", ecp_url=f"{idp}/ecp")
        result = samlfed(tmp_path, "login", "--profile", "demo", "--method", "ecp", "--username", "alice", "--password-stdin", stdin="pw\n")
    assert result.returncode != 0 and len(seen) == 1, result.stderr
    assert f"http://127.0.0.1:{port}/saml".encode() in seen[0]
    assert SECRET.encode() not in seen[0] and SECRET not in result.stderr + result.stdout
