"""The authorization client never follows a redirect: urllib would send the Bearer key on to wherever the redirect
points (another host included) and read that place's answer to a GET as the decision. A redirect is an
AuthorizationError, so the gateway fails closed."""

from __future__ import annotations

import pytest
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from samlfed.authz.client import AuthorizationClient, AuthorizationError


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


def test_a_redirect_is_an_error_and_the_key_stays_home() -> None:
    collected: list[str | None] = []

    async def collect(request: Request) -> Response:  # says "allowed" to anyone, and keeps the key it is sent
        collected.append(request.headers.get("authorization"))
        return JSONResponse({"allowed": True, "decision": "allowed"})

    elsewhere = Starlette(routes=[Route("/healthz", healthz), Route("/collect", collect, methods=["GET", "POST"])])
    with app_in_thread(elsewhere) as elsewhere_url:

        async def redirect(_: Request) -> Response:
            return RedirectResponse(f"{elsewhere_url}/collect", status_code=302)

        samlfed = Starlette(routes=[Route("/healthz", healthz), Route("/authz/v1/authorize", redirect, methods=["POST"])])
        with app_in_thread(samlfed) as samlfed_url:
            client = AuthorizationClient(samlfed_url, "sfk_0123456789abcdef_secret")
            with pytest.raises(AuthorizationError, match=r"samlfed refused the authorization request \(302\)"):
                client.authorize("GET", "/b/k", "", {"host": "s3.example"}, None, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    assert collected == []
