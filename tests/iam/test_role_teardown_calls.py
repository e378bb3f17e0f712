"""The IAM calls tools make around a role's and a policy's life besides the core ones, over HTTP with boto3:
ListEntitiesForPolicy (what a policy is attached to, and whose boundary it is), ListInstanceProfilesForRole (Terraform
asks before deleting any role) and UpdateRoleDescription (UpdateRole's older twin, answering with the role)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving
from saml_factory import ACCOUNT

from samlfed.iam.accounts import create_account

_numbers = count()
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ALLOW = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "teardown") as (ctx, url, admin):
        other = create_account(ctx, "222222222222")
        yield {
            "iam": iam_client(url, admin.access_key_id, admin.secret_access_key),
            "raw": iam_client(url, admin.access_key_id, admin.secret_access_key, validate=False),
            "other": iam_client(url, other.access_key_id, other.secret_access_key),
        }


def new_role(iam: Any, prefix: str = "Teardown", path: str = "/") -> dict[str, str]:
    return iam.create_role(RoleName=f"{prefix}{next(_numbers)}", Path=path, AssumeRolePolicyDocument=TRUST)["Role"]


def new_policy(iam: Any) -> str:
    return iam.create_policy(PolicyName=f"Listed{next(_numbers)}", PolicyDocument=ALLOW)["Policy"]["Arn"]


def role_names(answer: dict[str, Any]) -> list[str]:
    return [r["RoleName"] for r in answer["PolicyRoles"]]


def test_entities_for_policy_lists_attached_and_boundary_roles_once_each(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    attached, bounded, both = new_role(iam, "Attached"), new_role(iam, "Bounded"), new_role(iam, "Both")
    new_role(iam, "Unrelated")
    iam.attach_role_policy(RoleName=attached["RoleName"], PolicyArn=arn)
    iam.attach_role_policy(RoleName=both["RoleName"], PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=bounded["RoleName"], PermissionsBoundary=arn)
    iam.put_role_permissions_boundary(RoleName=both["RoleName"], PermissionsBoundary=arn)

    everything = iam.list_entities_for_policy(PolicyArn=arn)
    assert everything["PolicyRoles"] == [
        {"RoleName": r["RoleName"], "RoleId": r["RoleId"]} for r in sorted((attached, bounded, both), key=lambda r: r["RoleName"].lower())
    ]
    assert (everything["PolicyUsers"], everything["PolicyGroups"], everything["IsTruncated"]) == ([], [], False)
    assert role_names(iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")) == sorted(
        [attached["RoleName"], both["RoleName"]], key=str.lower)
    assert role_names(iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")) == sorted(
        [bounded["RoleName"], both["RoleName"]], key=str.lower)
    assert len(role_names(iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role"))) == 3
    # The filter names the kind of entity listed: LocalManagedPolicy lists none (AWS answers so, recorded).
    for nothing in ("User", "Group", "LocalManagedPolicy", "AWSManagedPolicy"):
        assert iam.list_entities_for_policy(PolicyArn=arn, EntityFilter=nothing)["PolicyRoles"] == [], nothing

    iam.detach_role_policy(RoleName=attached["RoleName"], PolicyArn=arn)
    assert attached["RoleName"] not in role_names(iam.list_entities_for_policy(PolicyArn=arn))


def test_entities_for_policy_pages_and_filters_by_path(world: dict[str, Any]) -> None:
    iam = world["iam"]
    arn = new_policy(iam)
    team = [new_role(iam, "Paged", "/team/") for _ in range(3)]
    elsewhere = new_role(iam, "Paged", "/other/")
    for role in [*team, elsewhere]:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert role_names(iam.list_entities_for_policy(PolicyArn=arn, PathPrefix="/team/")) == sorted((r["RoleName"] for r in team), key=str.lower)
    pages = list(iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 4 and all(len(p["PolicyRoles"]) == 1 for p in pages)
    assert [name for p in pages for name in role_names(p)] == sorted((r["RoleName"] for r in [*team, elsewhere]), key=str.lower)


def test_entities_for_policy_refuses_what_aws_refuses(world: dict[str, Any]) -> None:
    iam, raw = world["iam"], world["raw"]
    arn = new_policy(iam)
    missing = f"arn:aws:iam::{ACCOUNT}:policy/NoSuchPolicy"
    assert error_of(lambda: iam.list_entities_for_policy(PolicyArn=missing)) == (404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    assert error_of(lambda: iam.list_entities_for_policy(PolicyArn=missing, EntityFilter="User"))[1] == "NoSuchEntity"
    # Another account's policy is as good as missing, and its roles are never listed.
    assert error_of(lambda: world["other"].list_entities_for_policy(PolicyArn=arn))[1] == "NoSuchEntity"
    assert error_of(lambda: raw.list_entities_for_policy(PolicyArn=arn, EntityFilter="Robot")) == (
        400, "ValidationError",
        "1 validation error detected: Value 'Robot' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: "
        "[User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
    )
    assert error_of(lambda: raw.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="Both"))[2].endswith(
        "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]")
    assert error_of(lambda: raw.list_entities_for_policy(PolicyArn=arn, PathPrefix="/team"))[2].endswith(
        "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")
    assert error_of(lambda: raw.list_entities_for_policy(PolicyArn=arn, MaxItems=0))[1] == "ValidationError"
    assert error_of(lambda: raw.list_entities_for_policy(PolicyArn=arn, Marker="not-ours"))[1] == "ValidationError"


def test_instance_profiles_for_a_role_are_none_and_a_missing_role_is_no_such_entity(world: dict[str, Any]) -> None:
    iam, raw = world["iam"], world["raw"]
    role = new_role(iam)
    answer = iam.list_instance_profiles_for_role(RoleName=role["RoleName"])
    assert (answer["InstanceProfiles"], answer["IsTruncated"]) == ([], False)
    assert error_of(lambda: iam.list_instance_profiles_for_role(RoleName="NoSuchRole")) == (
        404, "NoSuchEntity", "The role with name NoSuchRole cannot be found.")
    assert error_of(lambda: raw.list_instance_profiles_for_role(RoleName=role["RoleName"], MaxItems=1001))[1] == "ValidationError"
    iam.delete_role(RoleName=role["RoleName"])  # what Terraform does next, with no profile to leave


def test_update_role_description_changes_it_and_answers_with_the_role(world: dict[str, Any]) -> None:
    iam, raw = world["iam"], world["raw"]
    role = new_role(iam)
    answer = iam.update_role_description(RoleName=role["RoleName"], Description="runs the nightly build")["Role"]
    assert (answer["RoleName"], answer["RoleId"], answer["Arn"], answer["Description"]) == (
        role["RoleName"], role["RoleId"], role["Arn"], "runs the nightly build")
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["Description"] == "runs the nightly build"
    assert error_of(lambda: iam.update_role_description(RoleName="NoSuchRole", Description="x")) == (
        404, "NoSuchEntity", "The role with name NoSuchRole cannot be found.")
    assert error_of(lambda: raw.update_role_description(RoleName=role["RoleName"], Description="x" * 1001))[2].startswith(
        "1 validation error detected: Value")
    assert error_of(lambda: raw.update_role_description(RoleName=role["RoleName"]))[1] == "ValidationError"
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["Description"] == "runs the nightly build"
