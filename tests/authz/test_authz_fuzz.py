"""`POST /authz/v1/authorize` with a request genuinely signed by a SAML session and everything else drawn at random
(hypothesis): the answer is a decision (200) or a BadRequest (400), never a 500, whatever the resource policy,
context, source IP or field types say. Each BadRequest reason is also provoked on its own, with its message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from asgi_driver import asgi_call
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread, free_port
from service_world import developer_world

from samlfed.api.app import AsgiApp
from samlfed.authz.client import AuthorizationClient, AuthorizationError
from samlfed.authz.keys import create_authz_key
from samlfed.config import Settings
from samlfed.iam.role_policies import put_role_policy
from samlfed.server import build_server_app
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

# Conditions of every type, so that the context, source IP and resource policy drawn below are all consulted.
IDENTITY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:PrincipalTag/department}/*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}, "NumericLessThanIfExists": {"s3:max-keys": "100"},
        "DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}, "Bool": {"aws:SecureTransport": "true"}}},
    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*", "Condition": {
        "ForAnyValue:StringLike": {"aws:TagKeys": "secret*"}, "BinaryEquals": {"s3:x": "QUJD"}, "ArnLike": {"aws:SourceArn": "arn:aws:*:*:*:x"}}},
]})

HOSTILE = st.one_of(
    st.sampled_from(["", "*", "10.1.2.3", "2001:db8::1", "999.1.1.1", "::", "10.0.0.0/8", "99999999999999999999", "\u00b2", "nan",
                     "2026-12-01T00:00:00Z", "arn:aws:s3:::b/Engineering/k", "${aws:username}", "[" * 3000, "QUJD"]),
    st.text(max_size=20),
)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
CONDITION_OPERATORS = ["StringEquals", "StringLike", "NumericLessThan", "DateGreaterThan", "Bool", "IpAddress", "ArnLike",
                       "BinaryEquals", "Null", "ForAllValues:StringEquals", "NotAnOperator"]
RESOURCE_POLICIES = st.one_of(
    st.none(), HOSTILE, JSONISH.map(json.dumps),
    st.builds(
        lambda effect, operator, key, values: json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": effect, "Principal": {"AWS": DEV_ROLE}, "Action": "s3:*", "Resource": "*", "Condition": {operator: {key: values}}}]}),
        st.sampled_from(["Allow", "Deny"]), st.sampled_from(CONDITION_OPERATORS),
        st.sampled_from(["aws:SourceIp", "s3:max-keys", "aws:CurrentTime", "aws:PrincipalTag/department", "x"]),
        st.lists(HOSTILE, min_size=1, max_size=2),
    ),
)
EXTRAS = st.fixed_dictionaries({  # mostly well-typed, so that most bodies reach the evaluation
    "action": st.sampled_from(["s3:GetObject", "s3:DeleteObject", "s3:ListBucket", "", "*"]),
    "resource": st.sampled_from(["arn:aws:s3:::b/Engineering/k", "arn:aws:s3:::b/Other/k", "*", ""]),
}, optional={
    "resource_policy": RESOURCE_POLICIES,
    "context": st.dictionaries(st.sampled_from(["s3:max-keys", "aws:TagKeys", "s3:x", "aws:SourceArn", "x"]), st.lists(HOSTILE, max_size=3) | HOSTILE, max_size=3),
    "source_ip": HOSTILE,
    "secure_transport": st.booleans(),
    "region": HOSTILE,
    "payload_hash": st.sampled_from(["UNSIGNED-PAYLOAD", "0" * 64, ""]),
})
ILL_TYPED = st.dictionaries(st.sampled_from(["action", "resource", "resource_policy", "context", "source_ip", "secure_transport",
                                             "region", "payload_hash"]), JSONISH, min_size=1, max_size=2)
"""Fields of any JSON type, laid over the well-typed ones."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("authz"))
    ctx = developer_world(settings_)
    put_role_policy(ctx, ACCOUNT, "Developer", "Data", IDENTITY)
    assumed = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, response_b64(issue_instant=datetime.now(UTC))))
    credentials = assumed.credentials
    request = AWSRequest(method="GET", url="https://s3.example.test/b/Engineering/k", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    signed = {"method": "GET", "path": urlsplit(prepared.url).path, "query": "",
              "headers": {**dict(prepared.headers), "host": "s3.example.test"}}
    return {"app": build_server_app(settings_, ctx), "key": create_authz_key(ctx, "fuzz").key, "signed": signed}


def post(app: AsgiApp, key: str, body: bytes) -> tuple[int, bytes]:
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    sent = asgi_call(app, "POST", "/authz/v1/authorize", [body], headers)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_signed_request_is_decided(world: dict) -> None:
    body = {"request": world["signed"], "action": "s3:GetObject", "resource": "arn:aws:s3:::b/Engineering/k"}
    status, answer = post(world["app"], world["key"], json.dumps(body).encode())
    decision = json.loads(answer)
    assert status == 200 and decision["authenticated"] and decision["decision"] == "allowed", decision
    assert decision["principal"]["arn"].endswith(":assumed-role/Developer/alice@example.com")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EXTRAS, st.none() | ILL_TYPED, st.integers(0, 3))
def test_any_body_around_a_signed_request_gets_a_decision_or_a_bad_request(world: dict, extras: dict, ill_typed: dict | None, tamper: int) -> None:
    signed = dict(world["signed"])
    if not tamper:  # a signature over other headers: decided as unauthenticated, still a 200
        signed["headers"] = {**signed["headers"], "x-amz-date": "20260101T000000Z"}
    body = json.dumps({"request": signed, **extras, **(ill_typed or {})}).encode()  # infinities as Infinity
    status, answer = post(world["app"], world["key"], body)
    assert status in (200, 400), (status, extras, answer[:300])
    decision = json.loads(answer)
    if status == 200:
        assert decision["decision"] in ("allowed", "explicitDeny", "implicitDeny", "unauthenticated")
        assert decision["allowed"] == (decision["decision"] == "allowed")
    else:
        assert decision["error"]["code"] == "BadRequest"


BAD_BODIES = [
    ("not an object", lambda signed: [1], "the body must be an object with a `request` object"),
    ("request not an object", lambda signed: {"request": "GET /"}, "the body must be an object with a `request` object"),
    ("headers not an object", lambda signed: {"request": {**signed, "headers": ["host"]}}, "request.headers must be an object of strings"),
    ("a header that is not a string", lambda signed: {"request": {**signed, "headers": {**signed["headers"], "x-n": 1}}}, "request.headers must be an object of strings"),
    ("101 headers", lambda signed: {"request": {**signed, "headers": {f"x-{i}": "v" for i in range(101)}}}, "request.headers must be an object of strings"),
    ("resource policy that does not parse", lambda signed: {"request": signed, "action": "s3:GetObject", "resource": "*", "resource_policy": "{}"},
     "resource_policy: Syntax errors in policy. A policy is an object with a Statement."),  # the detail, for a human
]


@pytest.mark.parametrize(("make", "message"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_each_bad_request_says_why(world: dict, make, message: str) -> None:  # type: ignore[no-untyped-def]
    status, answer = post(world["app"], world["key"], json.dumps(make(world["signed"])).encode())
    assert (status, json.loads(answer)["error"]) == (400, {"code": "BadRequest", "message": message})


def test_one_hundred_headers_are_accepted(world: dict) -> None:
    headers = {**world["signed"]["headers"], **{f"x-pad-{i}": "v" for i in range(100 - len(world["signed"]["headers"]))}}
    body = {"request": {**world["signed"], "headers": headers}, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/Engineering/k"}
    status, answer = post(world["app"], world["key"], json.dumps(body).encode())
    assert status == 200 and json.loads(answer)["decision"] == "allowed"  # headers outside SignedHeaders do not enter the signature


def test_the_client_fails_closed_with_the_reason(world: dict) -> None:
    """A gateway's client raises AuthorizationError (never a decision) when samlfed refuses it or cannot be reached."""
    with app_in_thread(world["app"]) as url:
        signed = world["signed"]
        decision = AuthorizationClient(url, world["key"]).authorize(
            signed["method"], signed["path"], signed["query"], signed["headers"], None, action="s3:GetObject", resource="arn:aws:s3:::b/Engineering/k")
        assert decision.allowed and decision.principal["arn"].endswith(":assumed-role/Developer/alice@example.com") and decision.matched_statements
        assert decision.scope == {"service": "s3", "region": "us-east-1"}  # documented for every authenticated answer; the client dropped it
        with pytest.raises(AuthorizationError, match=r"samlfed refused the authorization request \(401\)"):
            AuthorizationClient(url, "sfk_wrong_key").authorize("GET", "/b/k", "", {}, None, action="s3:GetObject", resource="*")
    with pytest.raises(AuthorizationError, match="cannot ask samlfed at"):
        AuthorizationClient(f"http://127.0.0.1:{free_port()}", world["key"], timeout=2).authorize("GET", "/b/k", "", {}, None, action="s3:GetObject", resource="*")


def test_string_fields_up_to_their_limit(world: dict) -> None:
    for method, expected in (("M" * 16, 200), ("M" * 17, 400)):
        body = {"request": {**world["signed"], "method": method}, "action": "s3:GetObject", "resource": "*"}
        status, answer = post(world["app"], world["key"], json.dumps(body).encode())
        assert status == expected, answer[:200]
    assert json.loads(answer)["error"]["message"] == "method must be a string of at most 16 characters"
