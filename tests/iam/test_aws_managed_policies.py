"""AWS managed policies (`arn:aws:iam::aws:policy/…`) that the operator imported: every account reads, attaches and
evaluates them as AWS's IAM does, counts only its own attachments, and changes none of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving, session_client
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64

from samlfed.iam.accounts import create_account
from samlfed.iam.aws_managed import import_catalogue, read_catalogue
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

_accounts = count(430000000000)
ARN = "arn:aws:iam::aws:policy/IAMListRoles"
LIST_ROLES = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:ListRoles", "iam:GetRole"], "Resource": "*"}]}
GET_ROLE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}
# The shape of `aws iam get-account-authorization-details --filter AWSManagedPolicy` (documents decoded by the CLI).
CATALOGUE = {"Policies": [{
    "PolicyName": "IAMListRoles", "PolicyId": "ANPAJ2EXAMPLE7EXAMPLE", "Arn": ARN, "Path": "/", "DefaultVersionId": "v2",
    "AttachmentCount": 9, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
    "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2019-03-01T10:00:00+00:00",
    "PolicyVersionList": [
        {"Document": LIST_ROLES, "VersionId": "v2", "IsDefaultVersion": True, "CreateDate": "2019-03-01T10:00:00+00:00"},
        {"Document": GET_ROLE, "VersionId": "v1", "IsDefaultVersion": False, "CreateDate": "2015-02-06T18:39:46+00:00"},
    ],
}]}


def imported(ctx: Any, catalogue: object) -> Any:
    entries, refused = read_catalogue(json.dumps(catalogue), now=datetime.now(UTC))
    assert refused == []
    return import_catalogue(ctx, entries)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "aws-managed") as (ctx, url, admin):
        report = imported(ctx, CATALOGUE)
        assert report.created == [ARN]
        yield {"ctx": ctx, "url": url, "admin": iam_client(url, admin.access_key_id, admin.secret_access_key)}


@pytest.fixture
def other(world: dict[str, Any]) -> Any:
    """The administrator of another account."""
    key = create_account(world["ctx"], str(next(_accounts)))
    return iam_client(world["url"], key.access_key_id, key.secret_access_key)


@pytest.fixture
def attached(world: dict[str, Any]) -> Iterator[Any]:
    """The policy attached to the Developer role for the test's duration; the administrator's client."""
    admin = world["admin"]
    admin.attach_role_policy(RoleName="Developer", PolicyArn=ARN)
    yield admin
    admin.detach_role_policy(RoleName="Developer", PolicyArn=ARN)


def test_get_policy_answers_an_aws_managed_policy_with_the_accounts_own_counts(world: dict[str, Any], attached: Any, other: Any) -> None:
    policy = attached.get_policy(PolicyArn=ARN)["Policy"]
    assert (policy["PolicyId"], policy["DefaultVersionId"], policy["AttachmentCount"], policy["IsAttachable"], policy["Tags"]) == (
        "ANPAJ2EXAMPLE7EXAMPLE", "v2", 1, True, [],
    )
    assert (policy["CreateDate"], policy["UpdateDate"]) == (datetime(2015, 2, 6, 18, 39, 46, tzinfo=UTC), datetime(2019, 3, 1, 10, tzinfo=UTC))
    assert other.get_policy(PolicyArn=ARN)["Policy"]["AttachmentCount"] == 0  # the catalogue's 9 and this account's 1 are not its business
    assert other.list_entities_for_policy(PolicyArn=ARN)["PolicyRoles"] == []
    assert [r["RoleName"] for r in attached.list_entities_for_policy(PolicyArn=ARN)["PolicyRoles"]] == ["Developer"]


def test_its_versions_are_read_as_a_customer_policys(world: dict[str, Any]) -> None:
    admin = world["admin"]
    assert [v["VersionId"] for v in admin.list_policy_versions(PolicyArn=ARN)["Versions"]] == ["v2", "v1"]
    assert admin.get_policy_version(PolicyArn=ARN, VersionId="v1")["PolicyVersion"]["Document"] == GET_ROLE
    assert admin.get_policy_version(PolicyArn=ARN, VersionId="v2")["PolicyVersion"]["IsDefaultVersion"] is True
    assert error_of(lambda: admin.get_policy_version(PolicyArn=ARN, VersionId="v9")) == (
        404, "NoSuchEntity", f"Policy {ARN} version v9 does not exist or is not attachable.",
    )
    assert admin.list_policy_tags(PolicyArn=ARN)["Tags"] == []


def test_an_attached_aws_managed_policy_is_evaluated_for_the_roles_sessions(world: dict[str, Any], attached: Any) -> None:
    session = session_client(world["ctx"], world["url"])
    assert "Developer" in [r["RoleName"] for r in session.list_roles()["Roles"]]  # its default version, v2, allows it
    assert error_of(lambda: session.list_policies())[1] == "AccessDenied"
    attached.detach_role_policy(RoleName="Developer", PolicyArn=ARN)
    try:
        assert error_of(lambda: session.list_roles())[1] == "AccessDenied"
    finally:
        attached.attach_role_policy(RoleName="Developer", PolicyArn=ARN)


def test_list_policies_scopes_select_the_account_s_own_or_aws_s(world: dict[str, Any], attached: Any, other: Any) -> None:
    other.create_policy(PolicyName="Mine", PolicyDocument=json.dumps(GET_ROLE))

    def arns(client: Any, **request: Any) -> list[str]:
        return [p["Arn"] for p in client.list_policies(**request)["Policies"]]

    aws = arns(other, Scope="AWS")
    assert ARN in aws and all(arn.startswith("arn:aws:iam::aws:policy/") for arn in aws)
    assert ARN not in arns(other, Scope="Local") and ARN in arns(other) and len(arns(other)) == len(arns(other, Scope="Local")) + 1
    assert arns(attached, Scope="AWS", OnlyAttached=True) == [ARN]
    assert arns(other, Scope="AWS", OnlyAttached=True) == []  # attached in another account only
    (listed,) = [p for p in other.list_policies(Scope="AWS")["Policies"] if p["Arn"] == ARN]
    assert listed["AttachmentCount"] == 0 and "Tags" not in listed


def test_an_account_policy_named_as_an_aws_managed_one_is_paged_apart_from_it(other: Any) -> None:
    mine = other.create_policy(PolicyName="iamlistroles", PolicyDocument=json.dumps(GET_ROLE))["Policy"]["Arn"]
    first = other.list_policies(MaxItems=1)  # the account's only policy, and the catalogue's
    assert [p["Arn"] for p in first["Policies"]] == [mine] and first["IsTruncated"]
    second = other.list_policies(MaxItems=1, Marker=first["Marker"])
    assert [p["Arn"] for p in second["Policies"]] == [ARN]  # not skipped though its lower-cased name is the same
    other.attach_role_policy(RoleName=_role(other), PolicyArn=mine)
    other.attach_role_policy(RoleName=_role(other), PolicyArn=ARN)
    page = other.list_attached_role_policies(RoleName=_role(other), MaxItems=1)
    rest = other.list_attached_role_policies(RoleName=_role(other), MaxItems=1, Marker=page["Marker"])
    assert [p["PolicyArn"] for p in page["AttachedPolicies"] + rest["AttachedPolicies"]] == [mine, ARN]


def _role(client: Any) -> str:
    """A role of the client's account (created once)."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    if not client.list_roles()["Roles"]:
        client.create_role(RoleName="Worker", AssumeRolePolicyDocument=json.dumps(trust))
    return "Worker"


@pytest.mark.parametrize(("call", "message"), [
    (lambda iam: iam.delete_policy(PolicyArn=ARN), f"Policy {ARN} is an AWS managed policy: only AWS changes it."),
    (lambda iam: iam.create_policy_version(PolicyArn=ARN, PolicyDocument=json.dumps(GET_ROLE)), f"Policy {ARN} is an AWS managed policy: only AWS changes it."),
    (lambda iam: iam.delete_policy_version(PolicyArn=ARN, VersionId="v1"), f"Policy {ARN} is an AWS managed policy: only AWS changes it."),
    (lambda iam: iam.set_default_policy_version(PolicyArn=ARN, VersionId="v1"), f"Policy {ARN} is an AWS managed policy: only AWS changes it."),
    (lambda iam: iam.tag_policy(PolicyArn=ARN, Tags=[{"Key": "k", "Value": "v"}]), "Tags not supported for policies in this domain"),
    (lambda iam: iam.untag_policy(PolicyArn=ARN, TagKeys=["k"]), "Tags not supported for policies in this domain"),
])
def test_no_account_changes_an_aws_managed_policy(world: dict[str, Any], call: Any, message: str) -> None:
    admin = world["admin"]
    assert error_of(lambda: call(admin)) == (400, "InvalidInput", message)
    assert [v["VersionId"] for v in admin.list_policy_versions(PolicyArn=ARN)["Versions"]] == ["v2", "v1"]
    assert admin.get_policy(PolicyArn=ARN)["Policy"]["DefaultVersionId"] == "v2"


def test_a_missing_aws_managed_policy_is_refused_as_aws_refuses_it(world: dict[str, Any]) -> None:
    missing = "arn:aws:iam::aws:policy/NoSuchThing"
    admin = world["admin"]
    assert error_of(lambda: admin.attach_role_policy(RoleName="Developer", PolicyArn=missing)) == (
        404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.",
    )
    assert error_of(lambda: admin.get_policy(PolicyArn=missing)) == (404, "NoSuchEntity", f"Policy {missing} was not found.")


def test_authorization_details_list_the_aws_managed_policies_in_use(world: dict[str, Any], other: Any) -> None:
    assert other.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"] == []
    other.put_role_permissions_boundary(RoleName=_role(other), PermissionsBoundary=ARN)
    details = other.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    assert [(p["Arn"], p["PermissionsBoundaryUsageCount"]) for p in details] == [(ARN, 1)]
    assert [v["VersionId"] for v in details[0]["PolicyVersionList"]] == ["v2", "v1"]
    assert other.get_account_authorization_details(Filter=["LocalManagedPolicy"])["Policies"] == [
        p for p in other.get_account_authorization_details()["Policies"] if p["Arn"] != ARN
    ]


def test_a_session_may_name_an_aws_managed_policy_as_a_session_policy(world: dict[str, Any]) -> None:
    fresh = response_b64(issue_instant=datetime.now(UTC))
    issued = assume_role_with_saml(world["ctx"], AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh, policy_arns=(ARN,)))
    assert issued.credentials.access_key_id.startswith("ASIA")


def test_a_new_catalogue_replaces_the_policy_and_keeps_its_attachments(world: dict[str, Any], attached: Any) -> None:
    ctx = world["ctx"]
    assert imported(ctx, CATALOGUE).unchanged == [ARN]
    newer = json.loads(json.dumps(CATALOGUE))
    entry = newer["Policies"][0]
    entry["DefaultVersionId"], entry["UpdateDate"] = "v3", "2024-01-01T00:00:00Z"
    entry["PolicyVersionList"] = [{"Document": GET_ROLE, "VersionId": "v3", "IsDefaultVersion": True, "CreateDate": "2024-01-01T00:00:00Z"}]
    try:
        assert imported(ctx, newer).updated == [ARN]
        assert attached.get_policy(PolicyArn=ARN)["Policy"]["AttachmentCount"] == 1
        session = session_client(ctx, world["url"])
        assert error_of(lambda: session.list_roles())[1] == "AccessDenied"  # v3 allows iam:GetRole only
        assert session.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"
    finally:
        assert imported(ctx, CATALOGUE).updated == [ARN]


def test_a_session_refused_an_aws_managed_policy_is_told_so_in_aws_words(world: dict[str, Any], attached: Any) -> None:
    """AWS's answer, quoted by Greengrass installers: "User: arn:aws:iam::…:user/… is not authorized to perform:
    iam:GetPolicy on resource: policy arn:aws:iam::aws:policy/GreengrassV2TokenExchangeRoleAccess because no
    identity-based policy allows the iam:GetPolicy action"."""
    session = session_client(world["ctx"], world["url"])
    status, code, message = error_of(lambda: session.get_policy(PolicyArn=ARN))
    assert (status, code) == (403, "AccessDenied")
    assert message.endswith(f"is not authorized to perform: iam:GetPolicy on resource: policy {ARN} because no identity-based policy allows the iam:GetPolicy action")


def test_a_service_role_policy_is_not_attachable_to_a_customer_role(tmp_path_factory: pytest.TempPathFactory) -> None:
    """AWS: PolicyNotAttachable "Cannot attach a Service Role Policy to a Customer Role." (aws/aws-cdk issue #6131)."""
    service_role = "arn:aws:iam::aws:policy/aws-service-role/ExampleServiceRolePolicy"
    catalogue = {"ExampleServiceRolePolicy": {"Path": "/aws-service-role/", "Document": GET_ROLE}}
    with serving(tmp_path_factory, "service-role") as (ctx, url, key):  # a world of its own: the module's lists stay as they are
        assert imported(ctx, catalogue).created == [service_role]
        admin = iam_client(url, key.access_key_id, key.secret_access_key)
        assert admin.get_policy(PolicyArn=service_role)["Policy"]["Path"] == "/aws-service-role/"
        assert error_of(lambda: admin.attach_role_policy(RoleName="Developer", PolicyArn=service_role)) == (
            400, "PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.",
        )
        assert admin.list_attached_role_policies(RoleName="Developer")["AttachedPolicies"] == []
