"""An empty `resource` was read as `*`, which an `Allow … "Resource": "*"` matches and a Deny of the resources it
guards does not: a gateway that failed to name the resource (an empty bucket or key) was answered as if it had asked
about every resource. It is a 400 now."""

from __future__ import annotations

import json

import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth
from saml_factory import ACCOUNT

from samlfed.authz.decide import BadAuthzRequest, decide
from samlfed.iam.role_policies import put_role_policy

GUARDED = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secret*"}]})


def asked(session, resource: str) -> dict:  # type: ignore[no-untyped-def]
    ctx, creds = session
    put_role_policy(ctx, ACCOUNT, "Developer", "Guarded", GUARDED)
    request = signed_request(S3SigV4Auth(creds, "s3", "us-east-1"), "GET", "https://s3.example/")
    return decide(ctx, {"request": request, "action": "s3:ListAllMyBuckets", "resource": resource, "service": "s3"})


def test_an_empty_resource_is_a_bad_request(session) -> None:
    with pytest.raises(BadAuthzRequest, match="resource must be an ARN or"):
        asked(session, "")


def test_star_is_still_asked_for_as_written(session) -> None:
    assert asked(session, "*")["decision"] == "allowed"  # ListBuckets' resource (docs/authorization-api.md)
    assert asked(session, "arn:aws:s3:::secret-bucket")["decision"] == "explicitDeny"
