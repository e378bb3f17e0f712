"""`aws:ResourceAccount` is the account the resource's ARN names. It was only what the service's `context` said:
absent unless the service repeated the ARN's account (a policy allowing the account's own resources allowed
nothing), and when the context named another account, a data perimeter's Deny of resources outside the account
was judged on that word while the ARN made the request cross-account. The ARN's account now sets the key; the
context's own `aws:ResourceAccount` counts only for ARNs without one (S3's)."""

from __future__ import annotations

import json

import pytest
from authz_request import signed_request
from botocore.auth import SigV4Auth
from saml_factory import ACCOUNT, DEV_ROLE

from samlfed.authz.decide import decide
from samlfed.iam.role_policies import put_role_policy

OTHER = "999999999999"
PERIMETER = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}},
    {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"},
    {"Effect": "Deny", "Action": "sqs:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceAccount": ACCOUNT}}}]})
QUEUE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sqs:*", "Resource": f"arn:aws:sqs:us-east-1:{OTHER}:q"}]})


def asked(session, action: str, resource: str, context: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    ctx, creds = session
    put_role_policy(ctx, ACCOUNT, "Developer", "Perimeter", PERIMETER)
    request = signed_request(SigV4Auth(creds, "sqs", "us-east-1"), "POST", "https://sqs.example/")
    body = {"request": request, "action": action, "resource": resource, "resource_policy": QUEUE_POLICY, "service": "sqs"}
    return decide(ctx, {**body, "context": context} if context else body)["decision"]


@pytest.mark.parametrize("context", [None, {"aws:ResourceAccount": OTHER}])
def test_a_resource_in_the_callers_account_is_its_own(session, context: dict | None) -> None:
    assert asked(session, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", context) == "allowed"


@pytest.mark.parametrize("context", [None, {"AWS:ResourceAccount": ACCOUNT}])
def test_a_resource_in_another_account_meets_the_perimeter(session, context: dict | None) -> None:
    assert asked(session, "sqs:ReceiveMessage", f"arn:aws:sqs:us-east-1:{OTHER}:q", context) == "explicitDeny"


def test_an_s3_arn_takes_the_account_the_service_names(session) -> None:
    assert asked(session, "sqs:ReceiveMessage", "arn:aws:s3:::b/k", {"aws:ResourceAccount": OTHER}) == "explicitDeny"
    assert asked(session, "sqs:SendMessage", "arn:aws:s3:::b/k", {"aws:ResourceAccount": ACCOUNT}) == "allowed"
