"""`samlfed console-url` sends a profile's secret key and session token to /federation: the login client's
transport rules hold there too (plain http:// only to loopback unless the user opts in, no redirects followed)."""

from __future__ import annotations

from login_setup import samlfed
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "s" * 40, "AWS_SESSION_TOKEN": "token-of-the-test"}


def federation(seen: list[str], answer: Response) -> Starlette:
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def signin_token(request: Request) -> Response:
        seen.append((await request.body()).decode())
        return answer

    return Starlette(routes=[Route("/healthz", healthz), Route("/federation", signin_token, methods=["POST"])])


def test_plain_http_to_another_host_is_refused_before_the_credentials_leave(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    with app_in_thread(federation(seen, JSONResponse({"SigninToken": "t"}))) as url:
        elsewhere = url.replace("127.0.0.1", "0.0.0.0")
        refused = samlfed(tmp_path, "console-url", "--endpoint-url", elsewhere, **CREDENTIALS)
        allowed = samlfed(tmp_path, "console-url", "--endpoint-url", elsewhere, "--allow-insecure-http", **CREDENTIALS)
    assert refused.returncode == 2 and "is plain http:// to another machine" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith(f"{elsewhere}/federation?") and "warning: plain http://" in allowed.stderr
    assert len(seen) == 1 and "token-of-the-test" in seen[0]  # only the opted-in call reached the server


def test_a_redirect_is_not_followed_with_the_credentials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    with app_in_thread(federation(seen, RedirectResponse("http://127.0.0.1:9/federation", status_code=303))) as url:
        done = samlfed(tmp_path, "console-url", "--endpoint-url", url, **CREDENTIALS)
    assert done.returncode == 1 and "getSigninToken failed with 303" in done.stderr
    assert len(seen) == 1


def test_the_servers_refusal_is_printed_without_its_control_characters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    hostile = "no\x1b[2J\x1b]0;owned\x07\nsamlfed: opened the console\u202e"
    with app_in_thread(federation(seen, PlainTextResponse(hostile, status_code=403))) as url:
        done = samlfed(tmp_path, "console-url", "--endpoint-url", url, **CREDENTIALS)
    assert done.returncode == 1
    assert "getSigninToken failed with 403: no\\u001b[2J\\u001b]0;owned\\u0007\\nsamlfed: opened the console\\u202e" in done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr and done.stderr.count("\n") == 1
