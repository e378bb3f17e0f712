"""Role chaining, from an audit: the external ID a trust policy asks for, transitive tags whose keys
TransitiveTagKeys spells in another case, and sessions
whose role is gone (a role deleted, perhaps created again under the same name with a new role ID, no longer speaks
for the sessions issued to the old one, even where a trust policy names its ARN)."""

from __future__ import annotations

import json

import pytest
from chain_setup import TARGET, chain_world, developer_session
from saml_factory import ACCOUNT, DEV_ROLE
from service_world import TRUST

from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.role_policies import delete_role_policy, put_role_policy
from samlfed.iam.roles import create_role, delete_role, get_role, update_trust_policy
from samlfed.sts.chain import AssumeRoleRequest, assume_role
from samlfed.sts.credentials import SessionClaims


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    return chain_world(tmp_path)


def refused(ctx: ServiceContext, claims: SessionClaims) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained"))
    return info.value


def test_a_session_of_a_recreated_role_cannot_chain(ctx: ServiceContext) -> None:
    claims = developer_session(ctx)
    assert assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained")).credentials.claims.chained
    delete_role(ctx, ACCOUNT, "Developer")
    create_role(ctx, ACCOUNT, "Developer", TRUST)
    assert get_role(ctx, ACCOUNT, "Developer").role_id != claims.role_id
    error = refused(ctx, claims)
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == f"User: {claims.assumed_role_arn} is not authorized to perform: sts:AssumeRole on resource: {TARGET}"
    # Nor the new role's: Target's trust policy trusts the role its ARN named when the policy was written, until
    # the policy is written again (IAM keeps the unique ID; found by a cross-account probe).
    assert refused(ctx, developer_session(ctx)).code == "AccessDenied"
    update_trust_policy(ctx, ACCOUNT, "Target", get_role(ctx, ACCOUNT, "Target").trust_policy)
    assert assume_role(ctx, developer_session(ctx), AssumeRoleRequest(TARGET, "chained")).credentials.claims.chained
    assert refused(ctx, claims).code == "AccessDenied"  # and never the old role's sessions


def test_another_accounts_role_created_again_is_not_the_one_its_trust_policy_names(tmp_path) -> None:
    """Found by a cross-account probe: account B trusted A's role Temp by ARN; whoever could create a role of that
    name in A after the first was deleted inherited B's trust. B's policy keeps naming the first role's ID."""
    from saml_factory import DEV_ROLE
    from service_world import developer_world

    from samlfed.config import Settings

    ctx = developer_world(Settings(data_dir=tmp_path))
    other = "222222222222"
    create_account(ctx, other, None)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole"}]}
    create_role(ctx, other, "Partner", json.dumps(trust))
    put_role_policy(ctx, ACCOUNT, "Developer", "chain", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    partner = f"arn:aws:iam::{other}:role/Partner"
    assert assume_role(ctx, developer_session(ctx), AssumeRoleRequest(partner, "chained")).credentials.claims.account_id == other
    delete_role_policy(ctx, ACCOUNT, "Developer", "chain")
    delete_role(ctx, ACCOUNT, "Developer")
    create_role(ctx, ACCOUNT, "Developer", TRUST)
    put_role_policy(ctx, ACCOUNT, "Developer", "chain", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    with pytest.raises(ServiceError) as info:
        assume_role(ctx, developer_session(ctx), AssumeRoleRequest(partner, "chained"))
    assert info.value.code == "AccessDenied"  # refused as a role the policy does not name


def test_a_session_of_a_deleted_role_cannot_chain(ctx: ServiceContext) -> None:
    claims = developer_session(ctx)
    delete_role(ctx, ACCOUNT, "Developer")
    assert refused(ctx, claims).code == "AccessDenied"


def test_transitive_tag_keys_match_tag_keys_in_any_case(ctx: ServiceContext) -> None:
    """Tag keys are case-insensitive: TransitiveTagKeys 'Department' makes the 'department' tag transitive (the
    assertion is accepted that way), so the chained session carries it."""
    claims = developer_session(ctx, transitive_tag_keys=["Department"])
    assert claims.tags == {"department": "Engineering", "project": "apollo"}
    carries_tags = {"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    update_trust_policy(ctx, ACCOUNT, "Target", json.dumps({"Version": "2012-10-17", "Statement": [carries_tags]}))
    chained = assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained")).credentials.claims
    assert (chained.tags, chained.transitive_tag_keys) == ({"department": "Engineering"}, ["department"])


def test_the_external_id_is_what_sts_external_id_compares(ctx: ServiceContext) -> None:
    """The cross-account pattern: the trust policy admits the caller only with the agreed sts:ExternalId."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": "sts:AssumeRole",
                                                     "Condition": {"StringEquals": {"sts:ExternalId": "partner-7:ab/c"}}}]}
    update_trust_policy(ctx, ACCOUNT, "Target", json.dumps(trust))
    claims = developer_session(ctx)
    for external_id in (None, "partner-8"):
        with pytest.raises(ServiceError) as info:
            assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained", external_id=external_id))
        assert info.value.code == "AccessDenied"
    assert assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained", external_id="partner-7:ab/c")).credentials.claims.chained
    with pytest.raises(ServiceError) as info:
        assume_role(ctx, claims, AssumeRoleRequest(TARGET, "chained", external_id="x y"))
    assert (info.value.code, info.value.message) == ("ValidationError", "1 validation error detected: Value 'x y' at 'externalId' failed to satisfy "
                                                     "constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
