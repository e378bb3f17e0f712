"""A session whose role was deleted, or deleted and created again under the same name, is no longer allowed by a
resource policy naming the role's ARN: IAM keeps the unique ID a policy's principal was written for, so the name
now names another role, or none. Role chaining already refused such sessions; the authorization API did not."""

from __future__ import annotations

import json

import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth
from botocore.credentials import Credentials
from saml_factory import ACCOUNT, DEV_ROLE
from service_world import TRUST

from samlfed.authz.decide import decide
from samlfed.context import ServiceContext
from samlfed.iam.roles import create_role, delete_role

SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com"


def bucket_policy(effect: str, principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": {"AWS": principal}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})


def asked(ctx: ServiceContext, creds: Credentials, policy: str) -> dict:
    request = signed_request(S3SigV4Auth(creds, "s3", "us-east-1"), "GET", "https://s3.example/b/k")
    return decide(ctx, {"request": request, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "resource_policy": policy,
                        "service": "s3", "region": "us-east-1"})


@pytest.mark.parametrize("principal", [DEV_ROLE, SESSION_ARN])
@pytest.mark.parametrize("created_again", [False, True])
def test_a_resource_policy_naming_the_role_no_longer_admits_its_old_sessions(session, principal: str, created_again: bool) -> None:
    ctx, creds = session
    policy = bucket_policy("Allow", principal)
    assert asked(ctx, creds, policy)["decision"] == "allowed"
    delete_role(ctx, ACCOUNT, "Developer")
    if created_again:
        create_role(ctx, ACCOUNT, "Developer", TRUST)
    answer = asked(ctx, creds, policy)
    assert answer["authenticated"] and answer["decision"] == "implicitDeny" and not answer["allowed"], answer


def test_an_explicit_deny_still_says_so(session) -> None:
    ctx, creds = session
    delete_role(ctx, ACCOUNT, "Developer")
    assert asked(ctx, creds, bucket_policy("Deny", "*"))["decision"] == "explicitDeny"
