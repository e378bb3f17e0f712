"""Role chaining evaluates the target's trust policy with the caller's own policies, as AWS evaluates any
resource policy: a trust policy naming the caller's role needs no identity Allow, but an explicit Deny of the
caller, its session policy and its permissions boundary still apply."""

from __future__ import annotations

import json

import pytest
from chain_setup import SAML_TRUST, TARGET, chain_world, developer_session, document
from saml_factory import ACCOUNT

from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import update_trust_policy
from samlfed.store import Tag
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
    put_role_policy(ctx, ACCOUNT, "Developer", "NoChaining", policy("Deny", "sts:AssumeRole"))
    with pytest.raises(ServiceError) as info:
        chain(ctx, developer_session(ctx))
    assert info.value.code == "AccessDenied"


def test_the_caller_s_session_policy_still_limits(ctx: ServiceContext) -> None:
    put_role_policy(ctx, ACCOUNT, "Developer", "Everything", policy("Allow", "*"))
    with pytest.raises(ServiceError) as info:
        chain(ctx, developer_session(ctx, session_policy=policy("Allow", "s3:*")))
    assert info.value.code == "AccessDenied"
    chain(ctx, developer_session(ctx, session_policy=policy("Allow", "sts:AssumeRole")))


def test_tags_and_a_source_identity_need_the_callers_side_too(ctx: ServiceContext) -> None:
    """sts:TagSession and sts:SetSourceIdentity are actions of their own: a trust policy that admits them leaves the
    caller's explicit deny and session policy in force, as for sts:AssumeRole, and a trust policy that names the
    account delegates them to the caller's identity policies."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                     "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}
    update_trust_policy(ctx, ACCOUNT, "Target", json.dumps(trust))
    tagged = AssumeRoleRequest(TARGET, "chained", tags=(Tag("team", "red"),))
    identified = AssumeRoleRequest(TARGET, "chained", source_identity="alice")
    put_role_policy(ctx, ACCOUNT, "Developer", "Chaining", policy("Allow", "sts:AssumeRole"))
    claims = developer_session(ctx)
    chain(ctx, claims)  # the account's delegation: the identity policy allows sts:AssumeRole
    for request, action in ((tagged, "sts:TagSession"), (identified, "sts:SetSourceIdentity")):
        with pytest.raises(ServiceError) as info:
            assume_role(ctx, claims, request)
        assert (info.value.code, info.value.message.split(" on resource")[0].rsplit(" ", 1)[-1]) == ("AccessDenied", action)
    put_role_policy(ctx, ACCOUNT, "Developer", "Tagging", policy("Allow", "sts:TagSession"))
    assert assume_role(ctx, claims, tagged).credentials.claims.tags == {"team": "red"}
    with pytest.raises(ServiceError):  # a session policy that leaves sts:TagSession out still limits it
        assume_role(ctx, developer_session(ctx, session_policy=policy("Allow", "sts:AssumeRole")), tagged)
    put_role_policy(ctx, ACCOUNT, "Developer", "NoTags", policy("Deny", "sts:TagSession"))
    with pytest.raises(ServiceError):
        assume_role(ctx, claims, tagged)


def test_a_carried_source_identity_needs_the_callers_side_too(ctx: ServiceContext) -> None:
    """A SourceIdentity from the sign-in is set on the chained session though the call names none, and in a chain
    sts:SetSourceIdentity needs the caller's permissions as well as the target's trust policy (IAM User Guide,
    "Monitor and control actions taken with assumed roles")."""
    update_trust_policy(ctx, ACCOUNT, "Developer", document(SAML_TRUST))
    account = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}
    update_trust_policy(ctx, ACCOUNT, "Target", document(account))
    put_role_policy(ctx, ACCOUNT, "Developer", "Chaining", policy("Allow", "sts:AssumeRole"))
    claims = developer_session(ctx, source_identity="alice")
    with pytest.raises(ServiceError) as info:
        chain(ctx, claims)
    assert (info.value.code, info.value.message.split(" on resource")[0].rsplit(" ", 1)[-1]) == ("AccessDenied", "sts:SetSourceIdentity")
    put_role_policy(ctx, ACCOUNT, "Developer", "Identifying", policy("Allow", "sts:SetSourceIdentity"))
    assert assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained")).credentials.claims.source_identity == "alice"
    put_role_policy(ctx, ACCOUNT, "Developer", "NoIdentity", policy("Deny", "sts:SetSourceIdentity"))
    with pytest.raises(ServiceError) as info:  # an explicit deny of the caller wins
        chain(ctx, claims)
    assert info.value.code == "AccessDenied"
