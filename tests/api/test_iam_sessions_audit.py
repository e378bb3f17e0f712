"""From the token and chaining audit: a session speaks only for the role it was issued for (not one created since
under the same name); CreateRole keeps the permissions boundary it names (and a delegated administrator's policy can
require one); AssumeRole passes ExternalId to the trust policy and refuses what it does not implement rather than
ignoring it; SimulatePrincipalPolicy names a role by its whole ARN."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import TRUST, developer_world

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import NewAccessKey, create_access_key
from samlfed.iam.managed_policies import create_policy
from samlfed.iam.role_policies import delete_role_policy, put_role_policy
from samlfed.iam.roles import create_role, delete_role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml, packed_policy_size
from samlfed.sts.credentials import TemporaryCredentials

TRUSTS_DEVELOPER = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[ServiceContext, str, NewAccessKey]]:
    ctx = developer_world(Settings(data_dir=tmp_path))
    with app_in_thread(build_app(ctx)) as url:
        yield ctx, url, create_access_key(ctx, ACCOUNT)


def session(ctx: ServiceContext) -> TemporaryCredentials:
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    return assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials


def client(url: str, name: str, key: str, secret: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client(name, endpoint_url=url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)


def session_client(url: str, name: str, credentials: TemporaryCredentials):  # type: ignore[no-untyped-def]
    return client(url, name, credentials.access_key_id, credentials.secret_access_key, credentials.session_token)


def error_of(call) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_a_session_gets_nothing_from_a_role_created_since_under_its_name(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, _ = world
    put_role_policy(ctx, ACCOUNT, "Developer", "all", ALLOW_ALL)
    old = session(ctx)
    assert session_client(url, "iam", old).list_roles()["Roles"]
    delete_role_policy(ctx, ACCOUNT, "Developer", "all")
    delete_role(ctx, ACCOUNT, "Developer")
    create_role(ctx, ACCOUNT, "Developer", TRUST)
    put_role_policy(ctx, ACCOUNT, "Developer", "all", ALLOW_ALL)
    code, message = error_of(lambda: session_client(url, "iam", old).list_roles())
    assert code == "AccessDenied" and message.startswith(f"User: {old.claims.assumed_role_arn} is not authorized to perform: iam:ListRoles")
    assert session_client(url, "iam", session(ctx)).list_roles()["Roles"]  # the new role's own sessions have its grants


def test_create_role_keeps_the_permissions_boundary_it_names(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, admin = world
    iam = client(url, "iam", admin.access_key_id, admin.secret_access_key)
    boundary = iam.create_policy(PolicyName="Boundary", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    role = iam.create_role(RoleName="Bounded", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)["Role"]
    assert role["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert iam.get_role(RoleName="Bounded")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    missing = f"arn:aws:iam::{ACCOUNT}:policy/Nowhere"
    assert error_of(lambda: iam.create_role(RoleName="Unbounded", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=missing)) == (
        "NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.")
    assert error_of(lambda: iam.get_role(RoleName="Unbounded"))[0] == "NoSuchEntity"  # nothing half-created


def test_a_delegated_administrator_can_be_made_to_set_a_boundary(world) -> None:  # type: ignore[no-untyped-def]
    """The IAM User Guide's delegation pattern: CreateRole allowed only with iam:PermissionsBoundary = the boundary."""
    ctx, url, _ = world
    boundary = create_policy(ctx, ACCOUNT, "Boundary", ALLOW_ALL).arn
    delegation = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
    ]}
    put_role_policy(ctx, ACCOUNT, "Developer", "delegation", json.dumps(delegation))
    iam = session_client(url, "iam", session(ctx))
    assert error_of(lambda: iam.create_role(RoleName="Free", AssumeRolePolicyDocument=TRUST))[0] == "AccessDenied"
    created = iam.create_role(RoleName="Bounded", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)["Role"]
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_assume_role_passes_the_external_id_to_the_trust_policy(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, _ = world
    trust = {**TRUSTS_DEVELOPER, "Statement": [{**TRUSTS_DEVELOPER["Statement"][0], "Condition": {"StringEquals": {"sts:ExternalId": "partner-7"}}}]}
    create_role(ctx, ACCOUNT, "Target", json.dumps(trust))
    sts = session_client(url, "sts", session(ctx))
    target = f"arn:aws:iam::{ACCOUNT}:role/Target"
    assert error_of(lambda: sts.assume_role(RoleArn=target, RoleSessionName="chained"))[0] == "AccessDenied"
    assert error_of(lambda: sts.assume_role(RoleArn=target, RoleSessionName="chained", ExternalId="partner-8"))[0] == "AccessDenied"
    assert sts.assume_role(RoleArn=target, RoleSessionName="chained", ExternalId="partner-7")["AssumedRoleUser"]["Arn"].endswith("/Target/chained")


def test_assume_role_reports_the_packed_policy_size(world) -> None:  # type: ignore[no-untyped-def]
    """As AssumeRoleWithSAML does: the share of the packed budget used by the session policy and session tags."""
    ctx, url, _ = world
    create_role(ctx, ACCOUNT, "Target", json.dumps(TRUSTS_DEVELOPER))
    sts = session_client(url, "sts", session(ctx))
    target = f"arn:aws:iam::{ACCOUNT}:role/Target"
    assert "PackedPolicySize" not in sts.assume_role(RoleArn=target, RoleSessionName="chained")  # no policy, no transitive tags
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]})
    answer = sts.assume_role(RoleArn=target, RoleSessionName="chained", Policy=policy)
    assert answer["PackedPolicySize"] == packed_policy_size(policy, (), {}) and 0 < answer["PackedPolicySize"] <= 100


@pytest.mark.parametrize(("parameters", "named"), [  # session tags, SourceIdentity and MFA's parameters: tests/sts/test_chain_tags.py
    ({"ProvidedContexts": [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter", "ContextAssertion": "x" * 4}]}, "ProvidedContexts"),
    ({"MinimumSessionTokenSize": 4096}, "MinimumSessionTokenSize"),
])
def test_assume_role_refuses_what_it_does_not_implement(world, parameters: dict, named: str) -> None:  # type: ignore[no-untyped-def]
    ctx, url, _ = world
    create_role(ctx, ACCOUNT, "Target", json.dumps(TRUSTS_DEVELOPER))
    sts = session_client(url, "sts", session(ctx))
    code, message = error_of(lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Target", RoleSessionName="chained", **parameters))
    assert code == "InvalidParameterValue" and f"does not support {named} " in message


def test_simulate_principal_policy_names_a_role_by_its_whole_arn(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url, admin = world
    iam = client(url, "iam", admin.access_key_id, admin.secret_access_key)
    assert iam.simulate_principal_policy(PolicySourceArn=DEV_ROLE, ActionNames=["s3:GetObject"])["EvaluationResults"]
    elsewhere = f"arn:aws:iam::{ACCOUNT}:role/public/Developer"
    assert error_of(lambda: iam.simulate_principal_policy(PolicySourceArn=elsewhere, ActionNames=["s3:GetObject"])) == (
        "NoSuchEntity", "The role with name Developer cannot be found.")
