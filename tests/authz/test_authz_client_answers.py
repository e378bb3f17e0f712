"""The client reads samlfed's answer strictly: a 200 whose body is JSON but no decision object (a list, a string,
what a proxy or a wrong URL may return) raised AttributeError, not the AuthorizationError a gateway catches to fail
closed, and `allowed` was read by truthiness, so `"allowed": "false"` allowed. Only `"allowed": true` with the
decision `allowed` allows now; any other shape is an AuthorizationError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from samlfed.authz.client import AuthorizationClient, AuthorizationError

ANSWER: list[Any] = []


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


async def authorize(_: Request) -> Response:
    return JSONResponse(ANSWER[0])


@pytest.fixture(scope="module")
def client() -> Iterator[AuthorizationClient]:
    app = Starlette(routes=[Route("/healthz", healthz), Route("/authz/v1/authorize", authorize, methods=["POST"])])
    with app_in_thread(app) as url:
        yield AuthorizationClient(url, "sfk_0123456789abcdef_secret")


def answered(client: AuthorizationClient, answer: Any) -> bool:
    ANSWER[:] = [answer]
    return client.authorize("GET", "/b/k", "", {"host": "s3.example"}, None, action="s3:GetObject", resource="arn:aws:s3:::b/k").allowed


@pytest.mark.parametrize("answer", [[], "allowed", 1, None, [{"allowed": True}]])
def test_an_answer_that_is_no_object_is_an_error(client: AuthorizationClient, answer: Any) -> None:
    with pytest.raises(AuthorizationError, match="samlfed's answer is not a decision"):
        answered(client, answer)


@pytest.mark.parametrize("answer", [
    {"allowed": "false", "decision": "allowed"}, {"allowed": 1, "decision": "allowed"}, {"allowed": True, "decision": "implicitDeny"},
    {"allowed": True}, {"decision": "allowed"}, {},
])
def test_only_allowed_true_with_the_decision_allowed_allows(client: AuthorizationClient, answer: dict) -> None:
    assert answered(client, answer) is False


def test_a_decision_allows(client: AuthorizationClient) -> None:
    assert answered(client, {"authenticated": True, "allowed": True, "decision": "allowed"}) is True
