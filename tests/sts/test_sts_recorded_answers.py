"""STS answers as AWS gives them, where LocalStack's parity tests recorded AWS's own answers (tests marked
`aws.validated`, tests/aws/services/sts/test_sts.snapshot.json): which fields an AssumeRole or GetCallerIdentity
answer holds, and the codes and messages of refusals. AWS's callers there were IAM users; here they are sessions
from a signed assertion (samlfed has no IAM users), chaining into roles that trust the account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from chain_setup import SAML_TRUST, allowing, chain_world, developer_credentials, document
from saml_factory import ACCOUNT
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import create_role, get_role, update_trust_policy

ROLE_1 = f"arn:aws:iam::{ACCOUNT}:role/role-1"
ROLE_2 = f"arn:aws:iam::{ACCOUNT}:role/role-2"
ACCOUNT_TRUST = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
CONFLICT = "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Developer (signed in, may do anything), role-1 and role-2 trusting the account; role-1 may assume role-2."""
    ctx = chain_world(tmp_path_factory.mktemp("recorded"))
    update_trust_policy(ctx, ACCOUNT, "Developer", document(SAML_TRUST))
    put_role_policy(ctx, ACCOUNT, "Developer", "all", document(allowing("*", {})))
    for name in ("role-1", "role-2"):
        create_role(ctx, ACCOUNT, name, document(ACCOUNT_TRUST))
    put_role_policy(ctx, ACCOUNT, "role-1", "chain", document(allowing("sts:*", {})))
    with app_in_thread(build_app(ctx)) as url:
        yield {"ctx": ctx, "url": url}


def sts(url: str, credentials: dict[str, Any]) -> Any:
    credentials = credentials.get("Credentials", credentials)
    return boto3.client(
        "sts", endpoint_url=url, region_name="us-east-1", config=Config(parameter_validation=False),
        aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )  # fmt: skip


@pytest.fixture
def developer(world: dict[str, Any]) -> Any:
    signed_in = developer_credentials(world["ctx"], principal_tags={})
    keys = {"AccessKeyId": signed_in.access_key_id, "SecretAccessKey": signed_in.secret_access_key, "SessionToken": signed_in.session_token}
    return sts(world["url"], keys)


def refusal(call: Any) -> tuple[str, str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    error, metadata = info.value.response["Error"], info.value.response["ResponseMetadata"]
    return error["Code"], error["Message"], error["Type"], metadata["HTTPStatusCode"]


def role_id(world: dict[str, Any], name: str) -> str:
    return get_role(world["ctx"], ACCOUNT, name).role_id


def test_assume_role_answers_credentials_and_the_assumed_role_user_only(world: dict[str, Any], developer: Any) -> None:
    # test_assume_role "assume-role": no PackedPolicySize without session policies or tags.
    answer = developer.assume_role(RoleArn=ROLE_1, RoleSessionName="test-assume-role-1")
    assert set(answer) == {"AssumedRoleUser", "Credentials", "ResponseMetadata"}
    assert set(answer["Credentials"]) == {"AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"}
    assert answer["AssumedRoleUser"] == {
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/role-1/test-assume-role-1",
        "AssumedRoleId": f"{role_id(world, 'role-1')}:test-assume-role-1",
    }


def test_assume_role_with_a_policy_answers_its_packed_size(developer: Any) -> None:
    # test_assume_role_with_policy "assume-role-with-policy": PackedPolicySize joins the answer (AWS: 16).
    policy = json.dumps({"Statement": [{"Sid": "S1", "Action": ["S3:ListBucket"], "Effect": "Allow", "Resource": ["arn:aws:s3:::foobar-tester"]}]})
    answer = developer.assume_role(RoleArn=ROLE_1, RoleSessionName="with-policy", Policy=policy)
    assert set(answer) == {"AssumedRoleUser", "Credentials", "PackedPolicySize", "ResponseMetadata"}
    assert 0 < answer["PackedPolicySize"] <= 100


def test_get_caller_identity_of_an_assumed_role(world: dict[str, Any], developer: Any) -> None:
    # test_get_caller_identity_with_assumed_role_credentials "caller-identity-assumed-role".
    answer = sts(world["url"], developer.assume_role(RoleArn=ROLE_1, RoleSessionName="who")).get_caller_identity()
    answer.pop("ResponseMetadata")
    assert answer == {
        "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/role-1/who",
        "UserId": f"{role_id(world, 'role-1')}:who",
    }


@pytest.mark.parametrize(("role_arn", "session_name", "message"), [
    # test_sts_invalid_parameters: a RoleArn that is no ARN at all is named in the message.
    ("nothing-valid-in-here", "Session1", "nothing-valid-in-here is invalid"),
    ("arn::b:::something/test-role", "Session1", "arn::b:::something/test-role is invalid"),
    ("arn:a::::something/test-role", "Session1", "arn:a::::something/test-role is invalid"),
    ("arn:a:::something/test-role", "Session1", "arn:a:::something/test-role is invalid"),
    ("arn:a:a::aaaaaaaaaa:", "Session1", "arn:a:a::aaaaaaaaaa: is invalid"),
    # The model's constraints come first, whatever the ARN.
    ("arn:a:b:::something/test-role", "Session1:2", "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy "
                                                    "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
    # test_assume_role_session_name_too_long.
    (ROLE_1, "s" * 65, f"1 validation error detected: Value '{'s' * 65}' at 'roleSessionName' failed to satisfy constraint: "
                       "Member must have length less than or equal to 64"),
])  # fmt: skip
def test_invalid_parameters(developer: Any, role_arn: str, session_name: str, message: str) -> None:
    assert refusal(lambda: developer.assume_role(RoleArn=role_arn, RoleSessionName=session_name)) == ("ValidationError", message, "Sender", 400)


def test_an_arn_of_something_else_than_a_role_stays_request_arn_is_invalid(developer: Any) -> None:
    # AWS-observed for AssumeRoleWithSAML (aws-saml-contract.md §4); the recordings do not cover it for AssumeRole.
    call = lambda: developer.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP", RoleSessionName="Session1")  # noqa: E731
    assert refusal(call) == ("ValidationError", "Request ARN is invalid", "Sender", 400)


def test_tag_validation(developer: Any) -> None:
    # test_assume_role_tag_validation.
    tag = [{"Key": "SessionTag1", "Value": "SessionValue1"}]
    call = lambda: developer.assume_role(RoleArn=ROLE_1, RoleSessionName="S1", Tags=tag, TransitiveTagKeys=["InvalidKey"])  # noqa: E731
    assert refusal(call) == ("InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.", "Sender", 400)
    developer.assume_role(RoleArn=ROLE_1, RoleSessionName="S2", Tags=tag, TransitiveTagKeys=["sessiontag1"])  # keys match case-insensitively
    twice = [*tag, {"Key": "sessiontag1", "Value": "SessionValue2"}]
    call = lambda: developer.assume_role(RoleArn=ROLE_1, RoleSessionName="S3", Tags=twice, TransitiveTagKeys=["sessiontag1"])  # noqa: E731
    assert refusal(call) == ("InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", "Sender", 400)


def test_a_chained_session_may_not_override_a_transitive_tag(world: dict[str, Any], developer: Any) -> None:
    # test_iam_role_chaining_override_transitive_tags, in either casing.
    role_1 = sts(world["url"], developer.assume_role(
        RoleArn=ROLE_1, RoleSessionName="Session1", Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}], TransitiveTagKeys=["SessionTag1"],
    ))  # fmt: skip
    for key in ("SessionTag1", "sessiontag1"):
        call = lambda key=key: role_1.assume_role(RoleArn=ROLE_2, RoleSessionName="Override", Tags=[{"Key": key, "Value": "SessionValue2"}])
        assert refusal(call) == ("InvalidParameterValue", CONFLICT, "Sender", 400)
