"""GetAccountAuthorizationDetails over HTTP with boto3 (and once with the AWS CLI), as Cloudsplaining, PMapper and
Prowler read a whole account: its roles with their inline, attached and boundary policies, tags and last use, and
its customer managed policies with every version; filtered by entity type, paged by one Marker over both lists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving, session_client
from saml_factory import ACCOUNT

from samlfed.iam import authorization_details
from samlfed.iam.accounts import create_access_key, create_account

_accounts = count(400000000000)
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ENTITY_TYPES = "[User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"


def allow(*actions: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "authorization-details") as (ctx, url, admin):
        yield {"ctx": ctx, "url": url, "iam": iam_client(url, admin.access_key_id, admin.secret_access_key)}


def new_account(world: dict[str, Any], *, validate: bool = True) -> tuple[str, Any]:
    """An account of its own (so that a test sees exactly what it made) and its administrator's client."""
    key = create_account(world["ctx"], str(next(_accounts)))
    return key.account_id, iam_client(world["url"], key.access_key_id, key.secret_access_key, validate=validate)


def details(iam: Any, **parameters: Any) -> dict[str, Any]:
    answer = iam.get_account_authorization_details(**parameters)
    answer.pop("ResponseMetadata")
    return answer


def everything(roles: list[dict[str, Any]], policies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies, "IsTruncated": False}


def small_account(world: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A role with inline, attached and boundary policies, tags and a recorded use; a bare role; a policy with two
    versions, the boundary policy and a policy attached to nothing. Returns the client and the answer AWS gives."""
    account, iam = new_account(world)
    attached = iam.create_policy(PolicyName="Attached", PolicyDocument=allow("s3:GetObject"))["Policy"]
    second = iam.create_policy_version(PolicyArn=attached["Arn"], PolicyDocument=allow("s3:PutObject"), SetAsDefault=True)["PolicyVersion"]
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=allow("s3:*"))["Policy"]
    unattached = iam.create_policy(PolicyName="Unattached", Path="/team/", Description="kept for later", PolicyDocument=allow("ec2:*"))["Policy"]
    app = iam.create_role(
        RoleName="App", Path="/svc/", AssumeRolePolicyDocument=TRUST, Description="not in RoleDetail", MaxSessionDuration=7200,
        PermissionsBoundary=boundary["Arn"], Tags=[{"Key": "team", "Value": "blue"}],
    )["Role"]
    iam.put_role_policy(RoleName="App", PolicyName="alpha", PolicyDocument=allow("sqs:SendMessage"))
    iam.put_role_policy(RoleName="App", PolicyName="Zeta", PolicyDocument=allow("sns:Publish"))
    iam.attach_role_policy(RoleName="App", PolicyArn=attached["Arn"])
    used = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    world["ctx"].store.record_role_use(app["RoleId"], used, "eu-west-1")
    bare = iam.create_role(RoleName="bare", AssumeRolePolicyDocument=TRUST)["Role"]
    roles = [
        {
            "Path": "/svc/", "RoleName": "App", "RoleId": app["RoleId"], "Arn": f"arn:aws:iam::{account}:role/svc/App", "CreateDate": app["CreateDate"],
            "AssumeRolePolicyDocument": json.loads(TRUST), "InstanceProfileList": [],
            "RolePolicyList": [  # by name, as ListRolePolicies lists them
                {"PolicyName": "Zeta", "PolicyDocument": json.loads(allow("sns:Publish"))},
                {"PolicyName": "alpha", "PolicyDocument": json.loads(allow("sqs:SendMessage"))},
            ],
            "AttachedManagedPolicies": [{"PolicyName": "Attached", "PolicyArn": attached["Arn"]}],
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary["Arn"]},
            "Tags": [{"Key": "team", "Value": "blue"}], "RoleLastUsed": {"LastUsedDate": used, "Region": "eu-west-1"},
        },
        {
            "Path": "/", "RoleName": "bare", "RoleId": bare["RoleId"], "Arn": f"arn:aws:iam::{account}:role/bare", "CreateDate": bare["CreateDate"],
            "AssumeRolePolicyDocument": json.loads(TRUST), "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [],
            "Tags": [], "RoleLastUsed": {},
        },
    ]

    def policy(created: dict[str, Any], versions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        return {
            "PolicyName": created["PolicyName"], "PolicyId": created["PolicyId"], "Arn": created["Arn"], "Path": created["Path"],
            "DefaultVersionId": next(v["VersionId"] for v in versions if v["IsDefaultVersion"]), "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True, "CreateDate": created["CreateDate"], "UpdateDate": versions[0]["CreateDate"], "PolicyVersionList": versions, **fields,
        }

    def version(number: int, document: str, created: datetime, default: bool) -> dict[str, Any]:
        return {"Document": json.loads(document), "VersionId": f"v{number}", "IsDefaultVersion": default, "CreateDate": created}

    policies = [  # by lower-cased name; every version, newest first, each with its document
        policy(attached, [version(2, allow("s3:PutObject"), second["CreateDate"], True), version(1, allow("s3:GetObject"), attached["CreateDate"], False)],
               AttachmentCount=1),
        policy(boundary, [version(1, allow("s3:*"), boundary["CreateDate"], True)], PermissionsBoundaryUsageCount=1),
        policy(unattached, [version(1, allow("ec2:*"), unattached["CreateDate"], True)], Description="kept for later"),
    ]
    return iam, everything(roles, policies)


def test_a_small_account_is_answered_in_full(world: dict[str, Any]) -> None:
    iam, expected = small_account(world)
    assert details(iam) == expected


def test_another_accounts_roles_and_policies_are_never_listed(world: dict[str, Any]) -> None:
    """Two accounts holding entities of the same names: each sees its own, exactly."""
    first, first_expected = small_account(world)
    second, second_expected = small_account(world)
    assert details(first) == first_expected
    assert details(second) == second_expected
    assert {r["RoleId"] for r in first_expected["RoleDetailList"]}.isdisjoint(r["RoleId"] for r in second_expected["RoleDetailList"])


def test_filters_select_roles_customer_managed_policies_or_nothing(world: dict[str, Any]) -> None:
    iam, expected = small_account(world)
    roles, policies = expected["RoleDetailList"], expected["Policies"]
    assert details(iam, Filter=["Role"]) == everything(roles, [])
    # every customer managed policy, the one attached to nothing included
    assert details(iam, Filter=["LocalManagedPolicy"]) == everything([], policies)
    assert details(iam, Filter=["Role", "LocalManagedPolicy"]) == expected
    assert details(iam, Filter=["User", "Group", "Role"]) == everything(roles, [])
    for nothing in (["User"], ["Group"], ["AWSManagedPolicy"], ["User", "Group", "AWSManagedPolicy"]):  # none exist here
        assert details(iam, Filter=nothing) == everything([], []), nothing


@pytest.mark.parametrize("page_size", [1, 2])
def test_the_paginator_pages_roles_then_policies_to_exactly_the_unpaged_answer(world: dict[str, Any], page_size: int) -> None:
    iam, expected = small_account(world)
    iam.create_role(RoleName="Cron", AssumeRolePolicyDocument=TRUST)  # three roles: a page of two holds a role and a policy
    unpaged = details(iam)
    assert [r["RoleName"] for r in unpaged["RoleDetailList"]] == ["App", "bare", "Cron"]
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(PaginationConfig={"PageSize": page_size}))
    assert [len(p["RoleDetailList"]) + len(p["Policies"]) for p in pages] == [page_size] * (6 // page_size)  # MaxItems counts both lists
    assert all(p["UserDetailList"] == [] and p["GroupDetailList"] == [] for p in pages)
    assert [r for p in pages for r in p["RoleDetailList"]] == unpaged["RoleDetailList"]
    assert [q for p in pages for q in p["Policies"]] == unpaged["Policies"] == expected["Policies"]
    assert [p["IsTruncated"] for p in pages] == [True] * (len(pages) - 1) + [False]


def test_what_is_deleted_between_pages_makes_the_next_page_skip_nothing(world: dict[str, Any]) -> None:
    _, iam = new_account(world)
    for name in ("R1", "R2", "R3"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    policy = iam.create_policy(PolicyName="P1", PolicyDocument=allow("s3:GetObject"))["Policy"]
    first = details(iam, MaxItems=2)
    assert [r["RoleName"] for r in first["RoleDetailList"]] == ["R1", "R2"] and first["IsTruncated"]
    iam.delete_role(RoleName="R1")  # a tool that deletes what it lists
    iam.delete_role(RoleName="R2")
    second = details(iam, MaxItems=2, Marker=first["Marker"])
    assert [r["RoleName"] for r in second["RoleDetailList"]] == ["R3"]
    assert [p["Arn"] for p in second["Policies"]] == [policy["Arn"]] and not second["IsTruncated"]


def test_a_marker_is_this_actions_own(world: dict[str, Any]) -> None:
    _, iam = new_account(world)
    for name in ("R1", "R2"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    theirs = iam.list_roles(MaxItems=1)["Marker"]
    assert error_of(lambda: iam.get_account_authorization_details(MaxItems=1, Marker=theirs)) == (400, "ValidationError", "Invalid Marker")
    ours = details(iam, MaxItems=1)["Marker"]
    assert error_of(lambda: iam.list_roles(MaxItems=1, Marker=ours)) == (400, "ValidationError", "Invalid Marker")


def test_a_bad_filter_or_max_items_is_refused_in_awss_words(world: dict[str, Any]) -> None:
    _, raw = new_account(world, validate=False)
    filter_violation = (
        "Value '[Role, Robot]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: "
        f"[Member must satisfy enum value set: {ENTITY_TYPES}]"
    )
    assert error_of(lambda: raw.get_account_authorization_details(Filter=["Role", "Robot"])) == (
        400, "ValidationError", f"1 validation error detected: {filter_violation}")
    assert error_of(lambda: raw.get_account_authorization_details(Filter=["role"]))[2].startswith(  # enum values are case-sensitive
        "1 validation error detected: Value '[role]' at 'filter'")
    assert error_of(lambda: raw.get_account_authorization_details(MaxItems=0)) == (
        400, "ValidationError",
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1")
    assert error_of(lambda: raw.get_account_authorization_details(MaxItems=1001))[2] == (
        "1 validation error detected: Value '1001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000")
    assert error_of(lambda: raw.get_account_authorization_details(Filter=["Role", "Robot"], MaxItems=0)) == (
        400, "ValidationError",
        f"2 validation errors detected: {filter_violation}; Value '0' at 'maxItems' failed to satisfy constraint: Member must have value "
        "greater than or equal to 1",
    )


def test_a_session_needs_its_role_to_allow_the_action_on_every_resource(world: dict[str, Any]) -> None:
    iam = world["iam"]
    session = session_client(world["ctx"], world["url"])
    assert error_of(session.get_account_authorization_details) == (
        403, "AccessDenied",
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com is not authorized to perform: iam:GetAccountAuthorizationDetails "
        "on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action",
    )
    iam.put_role_policy(RoleName="Developer", PolicyName="Inventory", PolicyDocument=allow("iam:GetAccountAuthorizationDetails"))
    try:
        answer = details(session)
        assert answer == details(iam)  # the session sees its account as its administrator does
        [developer] = [r for r in answer["RoleDetailList"] if r["RoleName"] == "Developer"]
        assert developer["RolePolicyList"] == [{"PolicyName": "Inventory", "PolicyDocument": json.loads(allow("iam:GetAccountAuthorizationDetails"))}]
        assert developer["RoleLastUsed"] == iam.get_role(RoleName="Developer")["Role"]["RoleLastUsed"] != {}  # the sign-in was a use
        assert {r["Arn"].split(":")[4] for r in answer["RoleDetailList"]} == {ACCOUNT}
    finally:
        iam.delete_role_policy(RoleName="Developer", PolicyName="Inventory")


def test_the_aws_cli_exports_the_account(world: dict[str, Any], tmp_path: Path) -> None:
    """`aws iam get-account-authorization-details`, as an export is made: the CLI pages by itself (--page-size)."""
    account, iam = new_account(world)
    key = create_access_key(world["ctx"], account)
    iam.create_role(RoleName="Exported", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_policy(PolicyName="Loose", PolicyDocument=allow("s3:GetObject"))
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("aws")), "iam", "get-account-authorization-details", "--endpoint-url", world["url"],
         "--page-size", "1", "--output", "json"],
        env=env, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    [role] = exported["RoleDetailList"]
    assert (role["RoleName"], role["AssumeRolePolicyDocument"], role["Tags"]) == ("Exported", json.loads(TRUST), [{"Key": "k", "Value": "v"}])
    [policy] = exported["Policies"]
    assert (policy["PolicyName"], policy["AttachmentCount"]) == ("Loose", 0)
    assert policy["PolicyVersionList"][0]["Document"] == json.loads(allow("s3:GetObject"))


def test_what_is_deleted_while_a_page_is_read_is_left_out_of_it(world: dict[str, Any]) -> None:
    """Between listing the page and reading an item's details (two reads), a concurrent delete: the page goes without it
    rather than failing with NoSuchEntity."""
    account, iam = new_account(world)
    ctx = world["ctx"]
    for name in ("Gone", "Kept"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    gone, kept = (iam.create_policy(PolicyName=name, PolicyDocument=allow("s3:GetObject"))["Policy"]["Arn"] for name in ("GonePolicy", "KeptPolicy"))
    listed, _ = authorization_details.page(ctx, account, [], after=None, limit=100)
    iam.delete_role(RoleName="Gone")
    iam.delete_policy(PolicyArn=gone)
    roles, policies = authorization_details.details(ctx, account, listed)
    assert ([r.role.name for r in roles], [p.policy.arn for p in policies]) == (["Kept"], [kept])
