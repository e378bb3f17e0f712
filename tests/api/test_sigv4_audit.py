"""SigV4 cases an audit found: signatures that must not count (another service's scope, a body swapped under a
header's hash, an unsigned Host, chunk-signed uploads) and botocore signatures that must (encoded query order,
normalized paths outside S3, the Date header, repeated headers). Every request here is signed by botocore."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest
from asgi_driver import asgi_call
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree
from service_world import developer_world

from samlfed.api.app import _headers, build_app
from samlfed.api.auth import authenticate
from samlfed.api.sigv4 import HttpRequest, parse_claim, verify
from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_access_key

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def signed(signer, method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> HttpRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    sent = {k.lower(): v for k, v in prepared.headers.items()}
    sent.setdefault("host", parts.netloc)
    return HttpRequest(prepared.method, parts.path or "/", parts.query, sent, prepared.body or b"")


def credentials(key: str = "AKIAIOSFODNN7EXAMPLE", secret: str = SECRET) -> Credentials:
    return Credentials(key, secret)


def check(request: HttpRequest, secret: str = SECRET) -> None:
    claim = parse_claim(request)
    verify(request, claim, secret, claim.amz_date)


# --- signatures that must not count ---------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path):
    ctx = developer_world(Settings(data_dir=tmp_path))
    admin = create_access_key(ctx, "111111111111")
    return build_app(ctx), Credentials(admin.access_key_id, admin.secret_access_key)


def send(app, request: HttpRequest, body: bytes) -> tuple[int, str]:
    """POST `request` (no query string) to the app; its status and error code ("ok" without one)."""
    headers = [(k.encode(), v.encode()) for k, v in request.headers.items() if k != "content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    sent = asgi_call(app, request.method, request.path, [body], headers)
    return sent[0]["status"], etree.fromstring(sent[1]["body"]).findtext(".//{*}Code") or "ok"


def test_a_presigned_s3_url_is_no_iam_call(world) -> None:
    app, admin = world
    url = signed(S3SigV4QueryAuth(admin, "s3", "us-east-1", expires=3600), "GET", "http://127.0.0.1:8080/?list-type=2")
    assert parse_claim(url).service == "s3"
    with pytest.raises(ServiceError) as info:  # the presigned URL's query, with an IAM call as the body
        authenticate(app.ctx, HttpRequest("GET", "/", url.query_string, {**url.headers, **FORM}, b"Action=ListRoles&Version=2010-05-08"), service="iam")
    assert (info.value.code, info.value.message) == ("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'iam'. ")


def test_iam_calls_need_an_iam_scope_and_sts_calls_an_sts_scope(world) -> None:
    app, admin = world
    body = b"Action=ListRoles&Version=2010-05-08"
    for scope, expected in (("iam", "ok"), ("sts", "SignatureDoesNotMatch"), ("execute-api", "SignatureDoesNotMatch")):
        request = signed(SigV4Auth(admin, scope, "us-east-1"), "POST", "http://127.0.0.1:8080/", body, FORM)
        status, code = send(app, request, body)
        assert code == expected, (scope, status, code)


def test_the_body_hash_is_the_body_s_not_a_header_s_outside_s3() -> None:
    original = b"Action=ListRoles&Version=2010-05-08"
    request = signed(SigV4Auth(credentials(), "iam", "us-east-1"), "POST", "http://127.0.0.1:8080/", original, FORM)
    swapped = HttpRequest(request.method, request.path, request.query_string,
                          {**request.headers, "x-amz-content-sha256": hashlib.sha256(original).hexdigest()},
                          b"Action=CreateRole&Version=2010-05-08&RoleName=Evil")
    with pytest.raises(ServiceError) as info:
        check(swapped)
    assert info.value.code == "SignatureDoesNotMatch"
    check(HttpRequest(request.method, request.path, request.query_string, request.headers, b"", payload_hash=hashlib.sha256(original).hexdigest()))


def test_a_presigned_url_must_sign_its_host() -> None:
    request = signed(SigV4QueryAuth(credentials(), "execute-api", "us-east-1", expires=300), "GET", "https://api.example/items")
    unsigned_host = request.query_string.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date")
    with pytest.raises(ServiceError) as info:
        parse_claim(HttpRequest("GET", request.path, unsigned_host, request.headers, b""))
    assert info.value.code == "IncompleteSignature" and "'Host' must be a 'SignedHeader'" in info.value.message


def test_uploads_with_signed_chunks_are_refused() -> None:
    request = signed(S3SigV4Auth(credentials(), "s3", "us-east-1"), "PUT", "https://s3.example/b/k", b"hello")
    chunked = HttpRequest("PUT", request.path, "", {**request.headers, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, b"")
    with pytest.raises(ServiceError) as info:
        check(chunked)
    assert (info.value.code, info.value.status) == ("NotImplemented", 501)


def test_an_unsigned_payload_trailer_upload_verifies_like_unsigned_payload() -> None:
    """What boto3 sends for PutObject with a trailing checksum: the body is not signed, as with UNSIGNED-PAYLOAD."""
    request = AWSRequest(method="PUT", url="https://s3.example/b/k", data=b"")
    request.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32", "name": "x-amz-checksum-crc32"}}
    S3SigV4Auth(credentials(), "s3", "us-east-1").add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    headers = {**{k.lower(): v for k, v in request.headers.items()}, "host": "s3.example"}
    check(HttpRequest("PUT", "/b/k", "", headers, b""))


# --- botocore signatures that must count --------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"a/": "1", "a-": "2"}, {"z": "1", "é": "2"}, {"a:b": "", "a-b": ""}])
@pytest.mark.parametrize("presign", [False, True])
def test_query_parameters_sort_by_their_encoded_names(params: dict, presign: bool) -> None:
    signer = SigV4QueryAuth(credentials(), "execute-api", "us-east-1", expires=300) if presign else SigV4Auth(credentials(), "execute-api", "us-east-1")
    request = AWSRequest(method="GET", url="https://api.example/items", params=params)
    signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    check(HttpRequest("GET", parts.path, parts.query, {**{k.lower(): v for k, v in prepared.headers.items()}, "host": parts.netloc}, b""))


@pytest.mark.parametrize("path", ["/a//b", "/a/./b", "/a/../b", "/a/b/", "//"])
def test_paths_are_normalized_outside_s3(path: str) -> None:
    check(signed(SigV4Auth(credentials(), "execute-api", "us-east-1"), "GET", f"https://api.example{path}"))


def test_the_http_date_header_dates_a_signature() -> None:
    """botocore's signing steps, given a request with only Date, sign the Date form (add_auth itself, given a Date
    header, signs with it and drops X-Amz-Date: test_sigv4_over_http.py)."""
    auth = SigV4Auth(credentials(), "execute-api", "us-east-1")
    request = AWSRequest(method="GET", url="https://api.example/items", headers={"Date": "Tue, 01 Dec 2026 12:00:00 GMT"})
    request.context["timestamp"] = "20261201T120000Z"
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    authorization = (f"AWS4-HMAC-SHA256 Credential={auth.scope(request)}, "  # scope() starts with the key id
                     f"SignedHeaders={auth.signed_headers(auth.headers_to_sign(request))}, Signature={signature}")
    sent = HttpRequest("GET", "/items", "", {"host": "api.example", "date": "Tue, 01 Dec 2026 12:00:00 GMT", "authorization": authorization}, b"")
    assert parse_claim(sent).amz_date.isoformat() == "2026-12-01T12:00:00+00:00"
    check(sent)


def test_repeated_headers_are_joined_with_commas(world) -> None:
    app, admin = world
    body = b"Action=ListRoles&Version=2010-05-08"
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body, headers=FORM)
    for value in (" one", "two ", " three "):  # three: the join is made once over all of a header's values
        request.headers.add_header("x-custom", value)
    SigV4Auth(admin, "iam", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]  # x-custom twice
    headers += [(b"host", b"127.0.0.1:8080"), (b"content-length", str(len(body)).encode())]
    sent = asgi_call(app, "POST", "/", [body], headers)
    assert sent[0]["status"] == 200, sent[1]["body"]
    assert _headers({"headers": [(b"x-custom", b" one"), (b"x-once", b" as sent "), (b"x-custom", b"two "), (b"x-custom", b" three ")]}) == {
        "x-custom": "one,two,three", "x-once": " as sent ",
    }


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:00:00 -1200", "Mon, 01 Jan 0001 00:00:00 +1400", "Fri, 31 Dec 9999 23:59:59 -0000"])
def test_a_date_header_beyond_the_calendar_is_an_incomplete_signature(world, date: str) -> None:
    """Found by probing: the last hour of year 9999 west of UTC overflowed converting to UTC (HTTP 500), before any
    key was looked up. Any key id will do."""
    app, _ = world
    body = b"Action=ListRoles&Version=2010-05-08"
    authorization = "AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/99991231/us-east-1/iam/aws4_request, SignedHeaders=date;host, Signature=00"
    headers = [(b"host", b"127.0.0.1:8080"), (b"date", date.encode()), (b"authorization", authorization.encode()),
               (b"content-type", FORM["Content-Type"].encode()), (b"content-length", str(len(body)).encode())]
    sent = asgi_call(app, "POST", "/", [body], headers)
    assert sent[0]["status"] in (400, 403), sent[1]["body"]
    assert etree.fromstring(sent[1]["body"]).findtext(".//{*}Code") in ("IncompleteSignature", "SignatureDoesNotMatch", "InvalidClientTokenId")
