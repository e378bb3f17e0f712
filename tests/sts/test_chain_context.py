"""The request context of a chained sts:AssumeRole (contract §5.3): sts:SourceIdentity and sts:TransitiveTagKeys of
the carried-over session, the target role's tags as aws:ResourceTag/… and iam:ResourceTag/…, and aws:RequestedRegion
from the signature. Without them, a Deny conditioned on any of them was skipped (a black-box review)."""

from __future__ import annotations

import json

import pytest
from chain_setup import TARGET, chain_world, developer_session
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN

from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.role_policies import delete_role_policy, put_role_policy
from samlfed.iam.roles import tag_role, update_trust_policy
from samlfed.store.records import Tag
from samlfed.sts.chain import AssumeRoleRequest, assume_role

SAML_TRUST = {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"]}


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trusting_developer(condition: dict | None = None, *, effect: str = "Allow", actions: tuple[str, ...] = ("sts:AssumeRole", "sts:SetSourceIdentity")) -> dict:
    return {"Effect": effect, "Principal": {"AWS": DEV_ROLE}, "Action": list(actions), **({"Condition": condition} if condition else {})}


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    world = chain_world(tmp_path)
    update_trust_policy(world, ACCOUNT, "Developer", _document(SAML_TRUST))
    return world


def _chained(ctx: ServiceContext, claims, *, region: str = "us-east-1") -> str:
    try:
        return assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained"), region=region).credentials.claims.assumed_role_arn
    except ServiceError as error:
        return error.code


def test_a_trust_policy_sees_the_carried_source_identity(ctx: ServiceContext) -> None:
    session = developer_session(ctx, source_identity="mallory")
    deny = _trusting_developer({"StringEquals": {"sts:SourceIdentity": "mallory"}}, effect="Deny")
    update_trust_policy(ctx, ACCOUNT, "Target", _document(_trusting_developer(), deny))
    assert _chained(ctx, session) == "AccessDenied"
    assert _chained(ctx, developer_session(ctx, source_identity="alice")).endswith("/chained")
    only_alice = _trusting_developer({"StringEquals": {"sts:SourceIdentity": "alice"}})
    update_trust_policy(ctx, ACCOUNT, "Target", _document(only_alice))
    assert _chained(ctx, developer_session(ctx, source_identity="alice")).endswith("/chained")


def test_a_trust_policy_sees_the_carried_transitive_tag_keys(ctx: ServiceContext) -> None:
    session = developer_session(ctx, principal_tags={"team": "red", "cost": "1"}, transitive_tag_keys=["team"])
    assert session.transitive_tag_keys == ["team"]
    needs_team = _trusting_developer({"ForAllValues:StringEquals": {"sts:TransitiveTagKeys": ["team"]}, "Null": {"sts:TransitiveTagKeys": "false"}}, actions=("sts:AssumeRole", "sts:TagSession"))
    update_trust_policy(ctx, ACCOUNT, "Target", _document(needs_team))
    assert _chained(ctx, session).endswith("/chained")
    assert _chained(ctx, developer_session(ctx)) == "AccessDenied"  # no transitive keys: Null fails


def test_the_callers_policies_see_the_target_roles_tags(ctx: ServiceContext) -> None:
    tag_role(ctx, ACCOUNT, "Target", [Tag("tier", "prod"), Tag("department", "Engineering")])
    no_prod = {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/tier": "prod"}}}
    put_role_policy(ctx, ACCOUNT, "Developer", "NoProd", _document(no_prod))
    assert _chained(ctx, developer_session(ctx)) == "AccessDenied"
    delete_role_policy(ctx, ACCOUNT, "Developer", "NoProd")
    older_key = {**no_prod, "Condition": {"StringEquals": {"iam:ResourceTag/tier": "prod"}}}
    put_role_policy(ctx, ACCOUNT, "Developer", "NoProd", _document(older_key))
    assert _chained(ctx, developer_session(ctx)) == "AccessDenied"
    delete_role_policy(ctx, ACCOUNT, "Developer", "NoProd")
    assert _chained(ctx, developer_session(ctx)).endswith("/chained")


def test_abac_matches_the_target_roles_tag_to_the_session_tag(ctx: ServiceContext) -> None:
    tag_role(ctx, ACCOUNT, "Target", [Tag("department", "Engineering")])
    abac = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/department": "${aws:PrincipalTag/department}"}}}
    put_role_policy(ctx, ACCOUNT, "Developer", "Abac", _document(abac))
    update_trust_policy(ctx, ACCOUNT, "Target", _document({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}))
    assert _chained(ctx, developer_session(ctx, principal_tags={"department": "Engineering"})).endswith("/chained")
    assert _chained(ctx, developer_session(ctx, principal_tags={"department": "Sales"})) == "AccessDenied"


def test_a_trust_policy_sees_the_region_the_request_was_signed_for(ctx: ServiceContext) -> None:
    locked = _trusting_developer({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}, actions=("sts:AssumeRole",))
    update_trust_policy(ctx, ACCOUNT, "Target", _document(locked))
    session = developer_session(ctx)
    assert _chained(ctx, session, region="eu-west-1").endswith("/chained")
    assert _chained(ctx, session, region="us-east-1") == "AccessDenied"
