"""The rules IAM enforces on a policy it is asked to store (MalformedPolicyDocument with its messages), and that a
stored policy is still read without them."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import MalformedPolicy, parse_policy

ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
SID_ALPHABET = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"


def _written(*statements: dict) -> str:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    try:
        parse_policy(text, principal_required=False, as_written=True)
    except MalformedPolicy as error:
        parse_policy(text, principal_required=False)  # as stored: still read
        return str(error)
    return "accepted"


@pytest.mark.parametrize("sid", ["my sid", "a-b", "a_b", "Zoë"])
def test_a_sid_is_letters_and_digits_only(sid: str) -> None:
    assert _written({**ALLOW, "Sid": sid}) == SID_ALPHABET


def test_sids_are_unique_within_a_policy() -> None:
    assert _written({**ALLOW, "Sid": "Read"}, {**ALLOW, "Sid": "Read"}) == "Statement IDs (SID) in a single policy must be unique."
    assert _written({**ALLOW, "Sid": "Read"}, {**ALLOW, "Sid": "Read2"}, ALLOW, ALLOW) == "accepted"  # statements without one don't count
    assert _written({**ALLOW, "Sid": ""}) == "accepted"


@pytest.mark.parametrize("action", ["GetObject", "", ":GetObject"])
def test_actions_name_their_service(action: str) -> None:
    assert _written({**ALLOW, "Action": ["s3:PutObject", action]}) == "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    assert _written({**ALLOW, "Action": "*"}) == _written({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}) == "accepted"


def test_condition_keys_need_no_service() -> None:
    # IAM accepts condition keys without a vendor prefix (LocalStack's recorded test_create_policy_valid_document
    # valid-18, valid-30, valid-32..37 use the key "a"): such a key is a context key no request gives unless told.
    assert _written({**ALLOW, "Condition": {"StringEquals": {"username": "bob"}}}) == "accepted"
    assert _written({**ALLOW, "Condition": {"StringEquals": {"aws:username": "bob"}}}) == "accepted"


@pytest.mark.parametrize("resource", ["bucket", ""])
def test_resources_are_arns_or_a_star(resource: str) -> None:
    assert _written({**ALLOW, "Resource": resource}) == f'Resource {resource} must be in ARN format or "*".'
    # Text with a colon is read as an ARN whatever precedes it: "s3" is then its partition (LocalStack's recorded
    # test_create_policy_invalid_document[invalid-24], "aws:s3:::example_bucket").
    assert _written({**ALLOW, "Resource": "s3:::bucket"}) == 'Partition "" is not valid for resource "arn:::bucket:*:*".'
    assert _written({**ALLOW, "Resource": "*"}) == "accepted"
    assert _written({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::${aws:username}/*"}) == "accepted"


def test_a_trust_policy_is_held_to_the_same_rules() -> None:
    trust = {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111111111111:saml-provider/Idp"}, "Action": "sts:AssumeRoleWithSAML", "Sid": "Allow-SAML"}
    text = json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    with pytest.raises(MalformedPolicy, match="alpha-numeric"):
        parse_policy(text, principal_required=True, as_written=True)
    assert parse_policy(text, principal_required=True).statements[0].sid == "Allow-SAML"


def test_iam_applies_them_to_every_policy_it_stores(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from saml_factory import ACCOUNT, PROVIDER_ARN
    from service_world import developer_world

    from samlfed.config import Settings
    from samlfed.errors import ServiceError
    from samlfed.iam.managed_policies import create_policy
    from samlfed.iam.role_policies import put_role_policy
    from samlfed.iam.roles import create_role, update_trust_policy

    ctx = developer_world(Settings(data_dir=tmp_path))
    identity = json.dumps({"Version": "2012-10-17", "Statement": [{**ALLOW, "Sid": "read-objects"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "saml-1", "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:AssumeRoleWithSAML"}]})
    calls = [
        lambda: create_policy(ctx, ACCOUNT, "Reader", identity),
        lambda: put_role_policy(ctx, ACCOUNT, "Developer", "Reader", identity),
        lambda: create_role(ctx, ACCOUNT, "Other", trust),
        lambda: update_trust_policy(ctx, ACCOUNT, "Developer", trust),
    ]
    for call in calls:
        with pytest.raises(ServiceError) as info:
            call()
        assert (info.value.code, info.value.message) == ("MalformedPolicyDocument", SID_ALPHABET)
