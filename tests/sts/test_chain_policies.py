"""Role chaining evaluates the target's trust policy with the caller's own policies, as AWS evaluates any
resource policy: a trust policy naming the caller's role needs no identity Allow, but an explicit Deny of the
caller, its session policy and its permissions boundary still apply."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam import service
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.chain import AssumeRoleRequest, assume_role

TARGET = f"arn:aws:iam::{ACCOUNT}:role/Target"


def policy(effect: str, action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]})


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    context = developer_world(Settings(data_dir=tmp_path))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
    service.create_role(context, ACCOUNT, "Target", json.dumps(trust))
    return context


def developer_session(ctx: ServiceContext, session_policy: str | None = None):
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    return assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh, policy=session_policy)).credentials.claims


def chain(ctx: ServiceContext, claims) -> None:
    assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained"))


def test_a_trust_policy_naming_the_role_needs_no_identity_allow(ctx: ServiceContext) -> None:
    chain(ctx, developer_session(ctx))


def test_an_explicit_deny_of_the_caller_wins(ctx: ServiceContext) -> None:
    service.put_role_policy(ctx, ACCOUNT, "Developer", "NoChaining", policy("Deny", "sts:AssumeRole"))
    with pytest.raises(ServiceError) as info:
        chain(ctx, developer_session(ctx))
    assert info.value.code == "AccessDenied"


def test_the_caller_s_session_policy_still_limits(ctx: ServiceContext) -> None:
    service.put_role_policy(ctx, ACCOUNT, "Developer", "Everything", policy("Allow", "*"))
    with pytest.raises(ServiceError) as info:
        chain(ctx, developer_session(ctx, session_policy=policy("Allow", "s3:*")))
    assert info.value.code == "AccessDenied"
    chain(ctx, developer_session(ctx, session_policy=policy("Allow", "sts:AssumeRole")))
