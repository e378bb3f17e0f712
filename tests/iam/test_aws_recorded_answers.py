"""IAM answers as AWS gives them, where LocalStack's parity tests recorded AWS's own answers (tests marked
`aws.validated`, under tests/aws/services/iam/): which fields an answer holds, and the wording of refusals that the
model does not fix. Found by replaying those recordings against samlfed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any
from urllib.parse import quote_plus

import pytest
from iam_http import error_of, iam_client, serving
from saml_factory import PROVIDER_ARN

from samlfed.iam.accounts import create_account
from samlfed.iam.providers import get_saml_provider

_accounts = count(420000000000)
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "recorded") as (ctx, url, _admin):
        yield {"ctx": ctx, "url": url}


@pytest.fixture
def iam(world: dict[str, Any]) -> Any:
    """The administrator of an account of its own."""
    key = create_account(world["ctx"], str(next(_accounts)))
    return iam_client(world["url"], key.access_key_id, key.secret_access_key)


def answer(response: dict[str, Any]) -> dict[str, Any]:
    response.pop("ResponseMetadata")
    return response


def test_create_role_answers_neither_description_nor_max_session_duration(iam: Any) -> None:
    role = iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(TRUST), Description="kept", MaxSessionDuration=7200)["Role"]
    assert sorted(role) == ["Arn", "AssumeRolePolicyDocument", "CreateDate", "Path", "RoleId", "RoleName"]
    kept = iam.get_role(RoleName="R")["Role"]
    assert (kept["Description"], kept["MaxSessionDuration"]) == ("kept", 7200)  # stored all the same
    described = iam.update_role_description(RoleName="R", Description="new")["Role"]
    assert described["Description"] == "new" and "MaxSessionDuration" not in described and "RoleLastUsed" not in described


def test_create_policy_answers_no_description_and_get_policy_empty_tags(iam: Any) -> None:
    created = iam.create_policy(PolicyName="P", PolicyDocument=POLICY, Description="about")["Policy"]
    assert "Description" not in created and "Tags" not in created
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert (got["Description"], got["Tags"]) == ("about", [])
    tagged = iam.create_policy(PolicyName="T", PolicyDocument=POLICY, Tags=[{"Key": "team", "Value": "a"}])["Policy"]
    assert tagged["Tags"] == [{"Key": "team", "Value": "a"}]


def test_create_policy_answers_its_tags_as_given_where_list_policy_tags_sorts_them(iam: Any) -> None:
    """LocalStack's recorded TestPolicyTags: CreatePolicy with `a` then `A` answers them in that order; ListPolicyTags
    lists `A` first."""
    given = [{"Key": "a", "Value": "lowercase"}, {"Key": "A", "Value": "uppercase"}]
    created = iam.create_policy(PolicyName="Cased", PolicyDocument=POLICY, Tags=given)["Policy"]
    assert created["Tags"] == given
    assert iam.list_policy_tags(PolicyArn=created["Arn"])["Tags"] == given[::-1]


def test_tagging_a_missing_policy_says_it_was_not_found(iam: Any) -> None:
    missing = "arn:aws:iam::420000000000:policy/Missing"
    expected = (404, "NoSuchEntity", f"Policy {missing} was not found.")
    assert error_of(lambda: iam.tag_policy(PolicyArn=missing, Tags=[{"Key": "k", "Value": "v"}])) == expected
    assert error_of(lambda: iam.untag_policy(PolicyArn=missing, TagKeys=["k"])) == expected


def test_deleting_a_missing_policy_says_it_was_not_found(iam: Any) -> None:
    """LocalStack's test_delete_non_existent_policy_returns_no_such_entity."""
    account = iam.create_policy(PolicyName="P", PolicyDocument=POLICY)["Policy"]["Arn"].split(":")[4]
    missing = f"arn:aws:iam::{account}:policy/non-existent-policy"
    assert error_of(lambda: iam.delete_policy(PolicyArn=missing)) == (404, "NoSuchEntity", f"Policy {missing} was not found.")


def test_getting_a_missing_policy_says_it_was_not_found_where_the_checks_of_other_operations_do_not(iam: Any) -> None:
    """GetPolicy's wording is AWS CLI output seen in a blog post (not a LocalStack recording); ListEntitiesForPolicy's
    (LocalStack's test_list_entities_for_policy_errors) and AttachRolePolicy's keep the attach wording."""
    iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(TRUST))
    account = iam.create_policy(PolicyName="P", PolicyDocument=POLICY)["Policy"]["Arn"].split(":")[4]
    missing = f"arn:aws:iam::{account}:policy/NonExistentPolicy"
    assert error_of(lambda: iam.get_policy(PolicyArn=missing)) == (404, "NoSuchEntity", f"Policy {missing} was not found.")
    attach_wording = (404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    assert error_of(lambda: iam.list_entities_for_policy(PolicyArn=missing)) == attach_wording
    assert error_of(lambda: iam.attach_role_policy(RoleName="R", PolicyArn=missing)) == attach_wording


def test_detaching_a_policy_that_is_not_attached_says_it_was_not_found(iam: Any) -> None:
    """LocalStack's test_role_managed_policy_errors (detach-not-attached-policy-error)."""
    iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(TRUST))
    arn = iam.create_policy(PolicyName="P", PolicyDocument=POLICY)["Policy"]["Arn"]
    assert error_of(lambda: iam.detach_role_policy(RoleName="R", PolicyArn=arn)) == (404, "NoSuchEntity", f"Policy {arn} was not found.")


def test_percent_escapes_in_documents_come_back_as_written(iam: Any) -> None:
    """LocalStack's test_put_role_policy_encoding: a quoted ARN in a trust policy's condition and in a permissions
    policy's resource is kept, not unquoted on its way through the XML answers."""
    quoted = quote_plus("arn:aws:apigateway:us-east-1::/restapis/aaeeieije")
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Condition": {"StringEquals": {"aws:SourceArn": quoted}}}]}
    permissions = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["apigatway:PUT"], "Resource": [f"arn:aws:apigateway:us-east-1::/tags/{quoted}"]}]}
    iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(trust), Path="/encoded/")
    iam.put_role_policy(RoleName="R", PolicyName="p", PolicyDocument=json.dumps(permissions))
    assert answer(iam.get_role_policy(RoleName="R", PolicyName="p")) == {"RoleName": "R", "PolicyName": "p", "PolicyDocument": permissions}
    assert iam.get_role(RoleName="R")["Role"]["AssumeRolePolicyDocument"] == trust
    assert [r["AssumeRolePolicyDocument"] for r in iam.list_roles(PathPrefix="/encoded/")["Roles"]] == [trust]


def test_create_saml_provider_without_tags_answers_the_arn_alone(iam: Any, world: dict[str, Any]) -> None:
    metadata = get_saml_provider(world["ctx"], PROVIDER_ARN.split(":")[4], PROVIDER_ARN).metadata_document
    assert answer(iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=metadata)).keys() == {"SAMLProviderArn"}


def test_a_trust_policy_that_is_no_json_has_its_own_wording(iam: Any) -> None:
    expected = (400, "MalformedPolicyDocument", "This policy contains invalid Json")
    assert error_of(lambda: iam.create_role(RoleName="R", AssumeRolePolicyDocument="not valid json")) == expected
    iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert error_of(lambda: iam.update_assume_role_policy(RoleName="R", PolicyDocument="not valid json")) == expected
    # a permissions policy keeps "Syntax errors in policy."
    assert error_of(lambda: iam.put_role_policy(RoleName="R", PolicyName="p", PolicyDocument="not valid json"))[2] == "Syntax errors in policy."


@pytest.mark.parametrize(("action", "accepted"), [
    ("sts:AssumeRole", True), ("sts:AssumeRoleWithSAML", True), ("STS:tagsession", True), ("sts:Assume*", True), ("sts:*", True),
    ("*", True), ("sts:InvalidAction", False), ("s3:GetObject", False), ("iam:*", False),
])
def test_a_trust_policy_may_name_only_sts_assume_role_actions(iam: Any, action: str, accepted: bool) -> None:
    """sts:InvalidAction is AWS's recorded refusal; the wildcards accepted are samlfed's choice (no recording)."""
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Action": ["sts:AssumeRole", action]}]}
    call = lambda: iam.create_role(RoleName="R", AssumeRolePolicyDocument=json.dumps(trust))  # noqa: E731
    if accepted:
        call()
    else:
        assert error_of(call) == (400, "MalformedPolicyDocument", "AssumeRole policy may only specify STS AssumeRole actions.")


# LocalStack's aws.validated TestIAMIntegrations::test_simulate_principle_policy (recorded 2025-04-21, the same answer
# for a role, a user and a group: samlfed has roles only). The policy is json.dumps of a single Statement object.
RECORDED_POLICY = json.dumps({"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}})


def test_simulating_a_role_with_a_managed_policy_answers_as_recorded(iam: Any) -> None:
    iam.create_role(RoleName="Simulated", AssumeRolePolicyDocument=json.dumps(TRUST))
    policy_arn = iam.create_policy(PolicyName="Simulated", PolicyDocument=RECORDED_POLICY)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="Simulated", PolicyArn=policy_arn)
    role_arn = iam.get_role(RoleName="Simulated")["Role"]["Arn"]
    response = answer(iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["s3:PutObject", "s3:GetObjectVersion"], ResourceArns=["arn:aws:s3:::bucket"],
    ))
    # The recording hides SourcePolicyId (a snapshot transformer); AWS's quoted answers name a managed policy by its
    # name (AdministratorAccess), and so does samlfed. AWS's
    # OrganizationsDecisionDetail came from an account in an organization: samlfed has none, and leaves it out.
    statement = {
        "SourcePolicyId": "Simulated", "SourcePolicyType": "IAM Policy",
        "StartPosition": {"Line": 1, "Column": 41}, "EndPosition": {"Line": 1, "Column": 113},
    }
    assert response == {"IsTruncated": False, "EvaluationResults": [
        {
            "EvalActionName": "s3:PutObject", "EvalResourceName": "arn:aws:s3:::bucket", "EvalDecision": "allowed",
            "MatchedStatements": [statement], "MissingContextValues": [], "EvalDecisionDetails": {},
            "ResourceSpecificResults": [{
                "EvalResourceName": "arn:aws:s3:::bucket", "EvalResourceDecision": "allowed", "MatchedStatements": [statement], "MissingContextValues": [],
            }],
        },
        {
            "EvalActionName": "s3:GetObjectVersion", "EvalResourceName": "arn:aws:s3:::bucket", "EvalDecision": "implicitDeny",
            "MatchedStatements": [], "MissingContextValues": [], "EvalDecisionDetails": {},
            "ResourceSpecificResults": [{
                "EvalResourceName": "arn:aws:s3:::bucket", "EvalResourceDecision": "implicitDeny", "MatchedStatements": [], "MissingContextValues": [],
            }],
        },
    ]}


@pytest.mark.parametrize("resources", [[], ["*"]])
def test_simulating_all_resources_answers_no_resource_details(iam: Any, resources: list[str]) -> None:
    # The API reference: EvalDecisionDetails is not returned when the simulation specifies all resources (*).
    result = iam.simulate_custom_policy(PolicyInputList=[RECORDED_POLICY], ActionNames=["s3:PutObject"], ResourceArns=resources)["EvaluationResults"][0]
    assert "EvalDecisionDetails" not in result and "ResourceSpecificResults" not in result
    assert result["MatchedStatements"] == [{
        "SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "IAM Policy",
        "StartPosition": {"Line": 1, "Column": 41}, "EndPosition": {"Line": 1, "Column": 113},
    }]


def test_simulated_statements_are_placed_in_each_policy_as_written(iam: Any) -> None:
    inline = '{\r\n  "Version": "2012-10-17",\r\n  "Statement": [\r\n    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},\r\n' \
             '    {"Sid": "No", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}\r\n  ]\r\n}'
    iam.create_role(RoleName="Placed", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="Placed", PolicyName="inline", PolicyDocument=inline)
    role_arn = iam.get_role(RoleName="Placed")["Role"]["Arn"]
    boundary = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, indent=2)
    results = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=["s3:GetObject", "s3:DeleteObject"], PermissionsBoundaryPolicyInputList=[boundary],
    )["EvaluationResults"]
    assert [r["MatchedStatements"] for r in results] == [
        [
            {"SourcePolicyId": "role_Placed_inline", "SourcePolicyType": "IAM Policy", "StartPosition": {"Line": 3, "Column": 17},
             "EndPosition": {"Line": 4, "Column": 59}},
            {"SourcePolicyId": "permissions-boundary.1", "SourcePolicyType": "permissions-boundary",
             "StartPosition": {"Line": 3, "Column": 17}, "EndPosition": {"Line": 8, "Column": 6}},  # AdministratorAccess's layout, as AWS answers it
        ],
        # the second statement starts where the first ended (AWS's streaming parser stands there)
        [{"SourcePolicyId": "role_Placed_inline", "SourcePolicyType": "IAM Policy", "StartPosition": {"Line": 4, "Column": 59},
          "EndPosition": {"Line": 5, "Column": 77}}],
    ]


@pytest.mark.parametrize("operation", ["get_policy_version", "set_default_policy_version", "delete_policy_version"])
def test_a_malformed_version_id_is_not_quoted(iam: Any, operation: str) -> None:
    """LocalStack's recorded test_policy_version_errors (SetDefaultPolicyVersion) and test_get_aws_managed_policy_version
    (GetPolicyVersion, 12-02-2026): AWS names the member without its value, as it does for tags."""
    arn = iam.create_policy(PolicyName="P", PolicyDocument=POLICY)["Policy"]["Arn"]
    assert error_of(lambda: getattr(iam, operation)(PolicyArn=arn, VersionId="v2-does-not-exist")) == (400, "ValidationError", (
        "1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
    ))


def test_simulating_a_role_session_says_its_arn_names_no_entity(iam: Any) -> None:
    """AWS's answer quoted with request IDs (aws-cloudformation/rain's comment, RequestID 2d02e533-…; New Relic's CLI
    README): SimulatePrincipalPolicy takes a user, group or role, and refuses a session's ARN as InvalidInput."""
    account = iam.create_policy(PolicyName="P", PolicyDocument=POLICY)["Policy"]["Arn"].split(":")[4]
    session = f"arn:aws:sts::{account}:assumed-role/Admin/ezbeard-Isengard"
    assert error_of(lambda: iam.simulate_principal_policy(PolicySourceArn=session, ActionNames=["s3:GetObject"])) == (
        400, "InvalidInput", f"Invalid Entity Arn: {session} does not clearly define entity type and name.")


def test_simulating_a_resource_policy_needs_an_iam_user_caller(iam: Any) -> None:
    """AWS's answer quoted from the AWS CLI (Scott Logic's post on testing permissions with the policy simulator, 2025):
    a resource policy is simulated for an IAM user caller only (the API reference), and samlfed has no IAM users."""
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]})
    refused = (400, "InvalidInput", "Invalid caller - Caller must be an IAM user in this context.")
    assert error_of(lambda: iam.simulate_custom_policy(PolicyInputList=[POLICY], ActionNames=["s3:GetObject"], ResourcePolicy=bucket)) == refused
    role_arn = iam.create_role(RoleName="Caller", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    assert error_of(lambda: iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=["s3:GetObject"], ResourcePolicy=bucket)) == refused
    assert error_of(lambda: iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=["s3:GetObject"], CallerArn=role_arn)) == refused


def test_an_empty_caller_arn_breaks_the_model(world: dict[str, Any]) -> None:
    key = create_account(world["ctx"], str(next(_accounts)))
    unvalidated = iam_client(world["url"], key.access_key_id, key.secret_access_key, validate=False)  # botocore refuses it first
    assert error_of(lambda: unvalidated.simulate_custom_policy(PolicyInputList=[POLICY], ActionNames=["s3:GetObject"], CallerArn="")) == (
        400, "ValidationError", "1 validation error detected: Value '' at 'callerArn' failed to satisfy constraint: Member must have length greater than or equal to 1")
