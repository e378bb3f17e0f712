"""Customer managed policy versions over HTTP with boto3, as Terraform and CDK edit a policy: CreatePolicyVersion,
GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion and SetDefaultPolicyVersion with AWS's codes and messages,
and a role session whose permissions follow the default version from one request to the next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving, session_client
from saml_factory import ACCOUNT, DEV_ROLE

from samlfed.iam.managed_policies import get_policy

_numbers = count()


def allow(*actions: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "versions") as (ctx, url, admin):
        yield {
            "ctx": ctx, "url": url,
            "iam": iam_client(url, admin.access_key_id, admin.secret_access_key),
            "raw": iam_client(url, admin.access_key_id, admin.secret_access_key, validate=False),
        }


def new_policy(iam: Any, document: str | None = None) -> str:
    return iam.create_policy(PolicyName=f"Versioned{next(_numbers)}", PolicyDocument=document or allow("s3:GetObject"))["Policy"]["Arn"]


def test_a_policy_is_edited_by_a_new_default_version(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    created = iam.get_policy(PolicyArn=arn)["Policy"]
    assert created["DefaultVersionId"] == "v1"
    second = iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:PutObject"))["PolicyVersion"]
    assert set(second) == {"VersionId", "IsDefaultVersion", "CreateDate"}  # no Document, as AWS answers
    assert (second["VersionId"], second["IsDefaultVersion"]) == ("v2", False)
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["DefaultVersionId"] == "v1" and policy["UpdateDate"] == second["CreateDate"]  # the newest version's date
    third = iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:DeleteObject"), SetAsDefault=True)["PolicyVersion"]
    assert (third["VersionId"], third["IsDefaultVersion"]) == ("v3", True)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    listed = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["Arn"] == arn]
    assert [p["DefaultVersionId"] for p in listed] == ["v3"]
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert (got["Document"], got["VersionId"], got["IsDefaultVersion"]) == (json.loads(allow("s3:PutObject")), "v2", False)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v3", True), ("v2", False), ("v1", False)]
    assert all("Document" not in v for v in versions)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["UpdateDate"] == third["CreateDate"]  # a default set creates no version
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["IsDefaultVersion"] is True


def test_a_policy_holds_at_most_five_versions(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    for n in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow(f"s3:Action{n}"))
    assert error_of(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:Sixth"), SetAsDefault=True)) == (
        409, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    )
    iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:Sixth"))["PolicyVersion"]["VersionId"] == "v6"


def test_what_deletes_refuse(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:PutObject"), SetAsDefault=True)
    assert error_of(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v2")) == (
        409, "DeleteConflict", "Cannot delete the default version of a policy.",
    )
    assert error_of(lambda: iam.delete_policy(PolicyArn=arn)) == (
        409, "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    )
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    assert error_of(lambda: iam.get_policy(PolicyArn=arn))[1] == "NoSuchEntity"


def test_missing_versions_and_policies_are_no_such_entity(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    for call in (iam.get_policy_version, iam.delete_policy_version, iam.set_default_policy_version):
        assert error_of(lambda call=call: call(PolicyArn=arn, VersionId="v7")) == (404, "NoSuchEntity", f"Policy {arn} version v7 does not exist or is not attachable.")
    missing = f"arn:aws:iam::{ACCOUNT}:policy/Missing"
    for call in (iam.get_policy_version, iam.delete_policy_version, iam.set_default_policy_version):
        # AWS names the version asked for, also when the policy is missing (recorded answers)
        assert error_of(lambda call=call: call(PolicyArn=missing, VersionId="v1")) == (404, "NoSuchEntity", f"Policy {missing} version v1 does not exist or is not attachable.")
    assert error_of(lambda: iam.list_policy_versions(PolicyArn=missing))[1:] == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    assert error_of(lambda: iam.create_policy_version(PolicyArn=missing, PolicyDocument=allow("s3:GetObject")))[1] == "NoSuchEntity"


def test_new_versions_are_held_to_create_policys_checks(world: dict[str, Any]) -> None:
    raw, iam = world["raw"], world["iam"]
    arn = new_policy(iam)
    assert error_of(lambda: raw.get_policy_version(PolicyArn=arn, VersionId="1")) == (400, "ValidationError", (
        "1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
    ))
    assert error_of(lambda: raw.create_policy_version(PolicyArn=arn, PolicyDocument="\u0100"))[:2] == (400, "ValidationError")
    assert error_of(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument='{"Version": "2012-10-17"}'))[:2] == (400, "MalformedPolicyDocument")
    too_big = allow("s3:GetObject", resource="arn:aws:s3:::" + "a" * 6100)
    assert error_of(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=too_big)) == (409, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]  # none of them stored


def test_versions_are_paged_newest_first(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    for n in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow(f"s3:Action{n}"))
    first = iam.list_policy_versions(PolicyArn=arn, MaxItems=2)
    assert [v["VersionId"] for v in first["Versions"]] == ["v5", "v4"] and first["IsTruncated"]
    second = iam.list_policy_versions(PolicyArn=arn, MaxItems=2, Marker=first["Marker"])
    assert [v["VersionId"] for v in second["Versions"]] == ["v3", "v2"]
    pages = iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn, PaginationConfig={"PageSize": 2})
    assert [v["VersionId"] for page in pages for v in page["Versions"]] == ["v5", "v4", "v3", "v2", "v1"]


def test_a_sessions_permissions_follow_the_default_version(world: dict[str, Any]) -> None:
    """Permissions policy and permissions boundary alike: the next request after a change of default is judged by
    the new default, and so is the simulator."""
    iam, ctx = world["iam"], world["ctx"]
    permissions = new_policy(iam, allow("iam:GetRole", "iam:ListRoleTags"))
    boundary = new_policy(iam, allow("iam:GetRole", "iam:ListRoleTags"))
    iam.attach_role_policy(RoleName="Developer", PolicyArn=permissions)
    iam.put_role_permissions_boundary(RoleName="Developer", PermissionsBoundary=boundary)
    session = session_client(world["ctx"], world["url"])
    try:
        assert session.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"
        iam.create_policy_version(PolicyArn=permissions, PolicyDocument=allow("iam:ListRoleTags"), SetAsDefault=True)
        status, code, message = error_of(lambda: session.get_role(RoleName="Developer"))
        assert (status, code) == (403, "AccessDenied") and "no identity-based policy allows the iam:GetRole action" in message
        simulated = iam.simulate_principal_policy(PolicySourceArn=DEV_ROLE, ActionNames=["iam:GetRole", "iam:ListRoleTags"])["EvaluationResults"]
        assert [r["EvalDecision"] for r in simulated] == ["implicitDeny", "allowed"]
        iam.set_default_policy_version(PolicyArn=permissions, VersionId="v1")
        assert session.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"
        session.list_role_tags(RoleName="Developer")
        iam.create_policy_version(PolicyArn=boundary, PolicyDocument=allow("iam:GetRole"), SetAsDefault=True)
        assert error_of(lambda: session.list_role_tags(RoleName="Developer"))[:2] == (403, "AccessDenied")
        assert session.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"
    finally:
        iam.detach_role_policy(RoleName="Developer", PolicyArn=permissions)
        iam.delete_role_permissions_boundary(RoleName="Developer")
    assert get_policy(ctx, ACCOUNT, boundary).default_version_id == "v2"


def test_a_session_is_authorized_for_version_calls_on_the_policy_arn(world: dict[str, Any]) -> None:
    iam = world["iam"]
    team, other = new_policy(iam), new_policy(iam)
    grant = new_policy(iam, allow(
        "iam:CreatePolicyVersion", "iam:ListPolicyVersions", "iam:GetPolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion",
        resource=team,
    ))
    iam.attach_role_policy(RoleName="Developer", PolicyArn=grant)
    session = session_client(world["ctx"], world["url"])
    try:
        assert session.create_policy_version(PolicyArn=team, PolicyDocument=allow("s3:PutObject"), SetAsDefault=True)["PolicyVersion"]["VersionId"] == "v2"
        session.set_default_policy_version(PolicyArn=team, VersionId="v1")
        session.delete_policy_version(PolicyArn=team, VersionId="v2")
        assert [v["VersionId"] for v in session.list_policy_versions(PolicyArn=team)["Versions"]] == ["v1"]
        for action, call in (
            ("CreatePolicyVersion", lambda: session.create_policy_version(PolicyArn=other, PolicyDocument=allow("s3:PutObject"))),
            ("ListPolicyVersions", lambda: session.list_policy_versions(PolicyArn=other)),
            ("SetDefaultPolicyVersion", lambda: session.set_default_policy_version(PolicyArn=other, VersionId="v1")),
            ("DeletePolicyVersion", lambda: session.delete_policy_version(PolicyArn=other, VersionId="v1")),
        ):
            status, code, message = error_of(call)
            assert (status, code) == (403, "AccessDenied") and f"iam:{action} on resource: policy {other} " in message
    finally:
        iam.detach_role_policy(RoleName="Developer", PolicyArn=grant)
