"""The query API's ASGI edge, driven with ASGI messages: bodies, methods, disconnects, and what it hands on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgi_driver import asgi_call as call

from samlfed.api.app import QueryApi, build_app
from samlfed.config import Settings
from samlfed.server import build_context


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> QueryApi:
    return build_app(build_context(Settings(data_dir=tmp_path_factory.mktemp("edge"))))


def test_an_answer_carries_its_request_id_length_and_type(app: QueryApi) -> None:
    start, body = call(app, "POST", "/", [b"Action=GetCallerIdentity&", b"Version=2011-06-15"])
    headers = dict(start["headers"])
    assert start["status"] == 403 and b"<Code>MissingAuthenticationToken</Code>" in body["body"]
    assert headers[b"content-type"] == b"text/xml; charset=utf-8" and int(headers[b"content-length"]) == len(body["body"])
    assert headers[b"x-amzn-requestid"].decode() in body["body"].decode()


def test_bodies_over_the_cap_are_refused_whatever_they_claim(app: QueryApi) -> None:
    streamed = call(app, "POST", "/", [b"a" * 700_000, b"a" * 400_000])  # no Content-Length: counted while read
    declared = call(app, "POST", "/", [b""], [(b"content-length", b"1048577")])
    garbled = call(app, "POST", "/", [b""], [(b"content-length", b"12x")])
    superscript = call(app, "POST", "/", [b""], [(b"content-length", "\u00b2".encode("latin-1"))])  # isdigit(), not int()
    for start, body in (streamed, declared, garbled, superscript):
        assert start["status"] == 413 and b"<Code>ValidationError</Code>" in body["body"]


@pytest.mark.parametrize(("scope", "namespace"), [
    ("iam", b"https://iam.amazonaws.com/doc/2010-05-08/"),
    ("sts", b"https://sts.amazonaws.com/doc/2011-06-15/"),
    ("s3", b"https://sts.amazonaws.com/doc/2011-06-15/"),  # not ours: the default
])
def test_a_body_over_the_cap_is_answered_in_the_namespace_of_the_service_it_was_signed_for(app: QueryApi, scope: str, namespace: bytes) -> None:
    """Its Action and Version are never read, but the signature's credential scope names the service."""
    authorization = f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/{scope}/aws4_request, SignedHeaders=host, Signature=00"
    start, body = call(app, "POST", "/", [b""], [(b"content-length", b"1048577"), (b"authorization", authorization.encode())])
    assert start["status"] == 413 and b'<ErrorResponse xmlns="' + namespace + b'">' in body["body"]


IAM = b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
STS = b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'


@pytest.mark.parametrize(("query_string", "namespace"), [
    (b"Action=ListRoles&Version=2010-05-08", IAM),
    (b"Version=2010-05-08", IAM),
    (b"Action=CreateRole", IAM),  # an action only IAM has
    (b"Action=AssumeRoleWithSAML&Version=2011-06-15", STS),
    (b"Action=ListRoles&Version=2011-06-15", STS),  # the Version decides, as for any request
    (b"Action=Nope", STS),
    (b"", STS),
])
def test_a_body_over_the_cap_is_answered_in_the_namespace_its_query_string_names(app: QueryApi, query_string: bytes, namespace: bytes) -> None:
    """Unsigned, or presigned in the query string: the body is never read, but the query string says what it is for."""
    start, body = call(app, "POST", "/", [b""], [(b"content-length", b"1048577")], query_string=query_string)
    assert start["status"] == 413 and b"<Code>ValidationError</Code>" in body["body"] and namespace in body["body"]


@pytest.mark.parametrize(("head", "query_string", "namespace"), [
    (b"Action=ListRoles&Version=2010-05-08&", b"", IAM),
    (b"Version=2010-05-08&", b"", IAM),
    (b"", b"Action=ListRoles&Version=2010-05-08", IAM),
    (b"Action=GetCallerIdentity&Version=2011-06-15&", b"", STS),
    (b"", b"", STS),
])
def test_too_many_parameters_are_answered_in_the_namespace_the_fields_read_before_the_limit_name(
    app: QueryApi, head: bytes, query_string: bytes, namespace: bytes,
) -> None:
    start, body = call(app, "POST", "/", [head + b"x=1&" * 10_001], query_string=query_string)
    assert start["status"] == 400 and b"<Message>The request has more than 10000 parameters</Message>" in body["body"] and namespace in body["body"]


def test_the_signature_s_scope_names_the_service_before_the_query_string_does(app: QueryApi) -> None:
    authorization = b"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00"
    headers = [(b"content-length", b"1048577"), (b"authorization", authorization)]
    start, body = call(app, "POST", "/", [b""], headers, query_string=b"Action=ListRoles&Version=2010-05-08")
    assert start["status"] == 413 and STS in body["body"]


def test_a_client_that_leaves_mid_body_gets_nothing_and_breaks_nothing(app: QueryApi) -> None:
    assert call(app, "POST", "/", [b"Action=GetCaller", None]) == []
    assert call(app, "POST", "/", [b"Action=GetCallerIdentity&Version=2011-06-15"])[0]["status"] == 403


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD"])
def test_methods_other_than_get_and_post_are_not_allowed(app: QueryApi, method: str) -> None:
    start, body = call(app, method, "/", [b""])
    assert (start["status"], dict(start["headers"])[b"allow"], body["body"]) == (405, b"GET, POST", b"Method Not Allowed")


def test_other_paths_go_to_the_app_behind(app: QueryApi) -> None:
    start, body = call(app, "GET", "/healthz", [b""])
    assert (start["status"], body["body"]) == (200, b"ok")
    assert call(app, "POST", "/nope", [b""])[0]["status"] == 404


def _cancelled_mid_body(app: QueryApi, headers: list[tuple[bytes, bytes]], query_string: bytes) -> list[dict[str, Any]]:
    """A request whose body stops half way, cancelled as uvicorn cancels the requests still running when the
    shutdown grace ends; the messages sent."""
    scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "root_path": "", "query_string": query_string,
             "headers": [(b"content-length", b"100"), *headers], "client": ("127.0.0.1", 1)}
    sent: list[dict[str, Any]] = []
    waiting = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not waiting.is_set():
            waiting.set()
            return {"type": "http.request", "body": b"Action=", "more_body": True}
        await asyncio.Event().wait()  # the rest of the body never comes
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def shut_down() -> None:
        request = asyncio.create_task(app(scope, receive, send))
        await waiting.wait()
        await asyncio.sleep(0)  # the request is now waiting for the second chunk
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request

    asyncio.run(shut_down())
    return sent


@pytest.mark.parametrize(("headers", "query_string", "namespace"), [
    ([(b"authorization", b"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")], b"", IAM),
    ([], b"Version=2010-05-08", IAM),
    ([], b"Action=CreateRole", IAM),
    ([(b"authorization", b"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00")], b"", STS),
    ([], b"", STS),
])
def test_a_request_cancelled_by_shutdown_gets_its_503_in_the_namespace_it_names_without_its_body(
    app: QueryApi, headers: list[tuple[bytes, bytes]], query_string: bytes, namespace: bytes,
) -> None:
    """The 503 of a request still running when the shutdown grace ends came in STS's namespace, also for an IAM
    request: it now names the service as a request refused before its parameters were read does."""
    start, body = _cancelled_mid_body(app, headers, query_string)
    assert start["status"] == 503 and b"<Code>ServiceUnavailable</Code>" in body["body"] and namespace in body["body"]
