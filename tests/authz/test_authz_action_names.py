"""`action` names one IAM action. A pattern is no action: asked about `s3:Get*`, the decision matched it against the
policies' patterns, so an `Allow s3:*` allowed it and the `Deny s3:GetObject` beside it (written for one action)
did not apply; a gateway that takes the action from its client's words answered "allowed" where IAM denies."""

from __future__ import annotations

import json

import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
from saml_factory import ACCOUNT

from samlfed.authz.decide import BadAuthzRequest, decide
from samlfed.context import ServiceContext
from samlfed.iam.role_policies import put_role_policy

DENY_GET = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]})


def asked(ctx: ServiceContext, creds: Credentials, action: str) -> dict:
    request = signed_request(S3SigV4Auth(creds, "s3", "us-east-1"), "GET", "https://s3.example/b/k")
    return decide(ctx, {"request": request, "action": action, "resource": "arn:aws:s3:::b/k", "service": "s3"})


@pytest.mark.parametrize(("action", "expected"), [
    ("s3:GetObject", "explicitDeny"), ("S3:getobject", "explicitDeny"), ("s3:PutObject", "allowed"), ("execute-api:Invoke", "implicitDeny"),
])
def test_an_action_is_decided(session, action: str, expected: str) -> None:
    ctx, creds = session
    put_role_policy(ctx, ACCOUNT, "Developer", "DenyGet", DENY_GET)
    assert asked(ctx, creds, action)["decision"] == expected


@pytest.mark.parametrize("action", ["s3:Get*", "s3:GetObjec?", "s3:*", "*", "", "s3:", ":GetObject", "s3:GetObject ", " s3:GetObject",
                                    "s3:Get:Object", "s3GetObject", "s3:Get\u00d8bject"])
def test_anything_else_is_a_bad_request(session, action: str) -> None:
    ctx, creds = session
    put_role_policy(ctx, ACCOUNT, "Developer", "DenyGet", DENY_GET)
    with pytest.raises(BadAuthzRequest, match=r"action must name one IAM action \(service:Action\)"):
        asked(ctx, creds, action)
