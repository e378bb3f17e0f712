"""The authorization API relates a signature to the service asking: its credential scope must name the service and
region the service says it is, a non-S3 body is the gateway's hash even for a presigned URL, and uploads with
signed chunks are refused (nobody but samlfed could check the chunks)."""

from __future__ import annotations

import hashlib

import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth, SigV4QueryAuth
from botocore.crt.auth import CrtS3SigV4AsymAuth

from samlfed.authz.decide import decide


def asked(signer, method: str, url: str, body: bytes = b"", headers: dict | None = None, **extra: object) -> dict:
    request = {**signed_request(signer, method, url, body, headers), "payload_hash": hashlib.sha256(body).hexdigest()}
    return {"request": request, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", **extra}


def test_the_scope_must_be_the_service_and_region_asking(session) -> None:
    ctx, creds = session
    body = asked(S3SigV4Auth(creds, "s3", "us-east-1"), "GET", "https://s3.example/b/k", service="s3", region="us-east-1")
    answer = decide(ctx, body)
    assert answer["authenticated"] and answer["scope"] == {"service": "s3", "region": "us-east-1"}
    for other in ({"service": "sts"}, {"region": "eu-west-1"}):
        refused = decide(ctx, {**body, **other})
        assert not refused["authenticated"] and refused["error"]["code"] == "SignatureDoesNotMatch", other


def test_a_sigv4a_region_set_must_cover_the_region_asking(session) -> None:
    """SigV4a names regions in X-Amz-Region-Set, not in the scope: the answer's region is the one asked about."""
    ctx, creds = session
    body = asked(CrtS3SigV4AsymAuth(creds, "s3", "eu-*"), "GET", "https://s3.example/b/k", service="s3", region="eu-west-1")
    answer = decide(ctx, body)
    assert answer["authenticated"] and answer["scope"] == {"service": "s3", "region": "eu-west-1"}, answer
    refused = decide(ctx, {**body, "region": "us-east-1"})
    assert not refused["authenticated"] and refused["error"]["code"] == "SignatureDoesNotMatch"


def test_a_presigned_non_s3_url_signs_the_body_it_was_made_for(session) -> None:
    ctx, creds = session
    body = asked(SigV4QueryAuth(creds, "execute-api", "us-east-1", expires=300), "POST", "https://api.example/items")
    assert decide(ctx, body)["authenticated"]  # signed over an empty body, sent with one
    body["request"]["payload_hash"] = hashlib.sha256(b'{"grant": "admin"}').hexdigest()
    assert decide(ctx, body)["error"]["code"] == "SignatureDoesNotMatch"


def test_uploads_with_signed_chunks_are_refused(session) -> None:
    ctx, creds = session
    body = asked(S3SigV4Auth(creds, "s3", "us-east-1"), "PUT", "https://s3.example/b/k", b"hello")
    body["request"]["headers"]["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    answer = decide(ctx, body)
    assert not answer["allowed"] and answer["error"]["code"] == "NotImplemented"


@pytest.mark.parametrize("scoped", ["sts", "iam"])
def test_a_request_signed_for_samlfed_itself_needs_the_service_named(session, scoped) -> None:
    """Found by a cryptography review: a presigned STS GetCallerIdentity URL, the proof of identity handed to third
    parties, was an authenticated `s3:ListAllMyBuckets` for a gateway that left out `service`."""
    ctx, creds = session
    body = asked(SigV4QueryAuth(creds, scoped, "us-east-1", expires=300), "GET",
                 "https://s3.example/?Action=GetCallerIdentity&Version=2011-06-15", action="s3:ListAllMyBuckets", resource="*")
    refused = decide(ctx, body)
    assert not refused["authenticated"] and not refused["allowed"], refused
    assert refused["error"]["code"] == "SignatureDoesNotMatch" and f"'{scoped}'" in refused["error"]["message"]
    named = decide(ctx, {**body, "service": scoped})  # an authenticator that verifies such URLs says so
    assert named["authenticated"] and named["scope"]["service"] == scoped, named
    other = asked(SigV4QueryAuth(creds, "execute-api", "us-east-1", expires=300), "GET", "https://api.example/items")
    assert decide(ctx, other)["authenticated"]  # any other scope still needs no `service`
