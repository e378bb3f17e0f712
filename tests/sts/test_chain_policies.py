"""Role chaining evaluates the target's trust policy with the caller's own policies, as AWS evaluates any
resource policy: a trust policy naming the caller's role needs no identity Allow, but an explicit Deny of the
caller, its session policy and its permissions boundary still apply."""

from __future__ import annotations

import json

import pytest
from chain_setup import TARGET, chain_world, developer_session
from saml_factory import ACCOUNT

from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam import service
from samlfed.sts.chain import AssumeRoleRequest, assume_role


def policy(effect: str, action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]})


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    return chain_world(tmp_path)


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
