"""S3 refuses a request that carries an x-amz-* header its signature leaves out ("There were headers present in the
request which were not signed"): otherwise whoever holds a presigned URL or a captured request could add
x-amz-copy-source, x-amz-acl or x-amz-tagging to it and have the signer's authority cover them."""

from __future__ import annotations

import hashlib
import json

import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.credentials import Credentials
from saml_factory import ACCOUNT

from samlfed.authz.decide import decide
from samlfed.context import ServiceContext
from samlfed.iam.role_policies import put_role_policy

EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def allowed_everything(session: tuple[ServiceContext, Credentials]) -> tuple[ServiceContext, Credentials]:
    """The session, its role allowed every action (policies are read when a request is decided)."""
    put_role_policy(session[0], ACCOUNT, "Developer", "Everything", EVERYTHING)
    return session


def asked(signer, url: str, headers: dict | None = None, *, service: str = "s3") -> dict:
    request = {**signed_request(signer, "PUT", url, headers=headers), "payload_hash": hashlib.sha256(b"").hexdigest()}
    return {"request": request, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/upload.txt", "service": service, "region": "us-east-1"}


def with_headers(body: dict, added: dict[str, str]) -> dict:
    return {**body, "request": {**body["request"], "headers": {**body["request"]["headers"], **added}}}


@pytest.mark.parametrize("added", [{"x-amz-copy-source": "/payroll/2026.csv"}, {"x-amz-acl": "public-read"}, {"x-amz-tagging": "a=b"},
                                   {"x-amz-meta-owner": "mallory"}])
@pytest.mark.parametrize("presigned", [True, False])
def test_an_x_amz_header_left_out_of_the_signature_is_refused(allowed_everything, added: dict[str, str], presigned: bool) -> None:
    ctx, creds = allowed_everything
    signer = S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=300) if presigned else S3SigV4Auth(creds, "s3", "us-east-1")
    body = asked(signer, "https://s3.example/b/upload.txt")
    assert decide(ctx, body)["allowed"]
    refused = decide(ctx, with_headers(body, added))
    assert not refused["allowed"] and refused["decision"] == "unauthenticated", refused
    assert refused["error"] == {"code": "AccessDenied", "message": "There were headers present in the request which were not signed", "status": 403}


def test_signed_x_amz_headers_and_those_the_signature_covers_otherwise_pass(allowed_everything) -> None:
    ctx, creds = allowed_everything
    body = asked(S3SigV4Auth(creds, "s3", "us-east-1"), "https://s3.example/b/upload.txt", {"x-amz-acl": "private", "x-amz-meta-owner": "alice"})
    assert decide(ctx, body)["allowed"]
    presigned = asked(S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=300), "https://s3.example/b/upload.txt")
    # The payload line, X-Amz-Date and the token (bound to the access key) are checked whether signed or not.
    assert decide(ctx, with_headers(presigned, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}))["allowed"]
    # Neither x-amzn-trace-id (another prefix) nor a non-S3 service's unsigned headers are S3's rule.
    assert decide(ctx, with_headers(presigned, {"x-amzn-trace-id": "Root=1-2-3"}))["allowed"]
    other = asked(SigV4Auth(creds, "execute-api", "us-east-1"), "https://api.example/items", service="execute-api")
    assert decide(ctx, with_headers(other, {"x-amz-user-agent": "cli"}))["allowed"]
