"""From an audit of the policy engine and the simulator: NotPrincipal is refused in a grant (AWS supports it only
with Deny; as "everyone but X" it let any account's sessions chain into a role); the simulator takes a resource
policy and a caller only as IAM does, for an IAM user, and samlfed has none."""

from __future__ import annotations

import json

import pytest
from saml_factory import ACCOUNT, DEV_ROLE
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.roles import create_role
from samlfed.iam.simulate import simulate_principal
from samlfed.policy import MalformedPolicy, parse_policy

OTHER = "222222222222"
# IAM answers AWS's bare "Syntax errors in policy." (AWS appends nothing to it: LocalStack's recorded
# test_create_policy_invalid_document); what is wrong stays in MalformedPolicy.detail.
NOT_PRINCIPAL = "Syntax errors in policy."


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    return developer_world(Settings(data_dir=tmp_path))


def test_not_principal_in_a_grant_is_refused(ctx: ServiceContext) -> None:
    grant = document({"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER}:role/Nobody"}, "Action": "sts:AssumeRole"})
    create_account(ctx, OTHER)
    with pytest.raises(ServiceError) as refused:
        create_role(ctx, OTHER, "Vault", grant)  # before: any account's role session could chain into it
    assert (refused.value.code, refused.value.message) == ("MalformedPolicyDocument", NOT_PRINCIPAL)
    bucket = document({"Effect": "Allow", "NotPrincipal": {"AWS": DEV_ROLE}, "Action": "s3:*", "Resource": "*"})
    with pytest.raises(MalformedPolicy) as malformed:
        parse_policy(bucket, principal_required=True)
    assert malformed.value.detail == 'NotPrincipal must be used with "Effect": "Deny".'
    parse_policy(document({"Effect": "Deny", "NotPrincipal": {"AWS": DEV_ROLE}, "Action": "s3:*", "Resource": "*"}), principal_required=True)


def _simulated(ctx: ServiceContext, *, resource_policy: str | None = None, caller_arn: str | None = None) -> str:
    results = simulate_principal(ctx, ACCOUNT, DEV_ROLE, extra=[], boundary_documents=[], actions=["s3:GetObject"], resources=["arn:aws:s3:::b/k"],
                                 resource_policy=resource_policy, entries=[], caller_arn=caller_arn)
    return results.results(0, 1)[0]["EvalDecision"]


@pytest.mark.parametrize(("resource_policy", "caller_arn", "code", "message"), [
    # IAM simulates a resource policy only for an IAM user caller (the API reference); AWS's answer, quoted from the CLI:
    (document({"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject", "Resource": "*"}), None,
     "InvalidInput", "Invalid caller - Caller must be an IAM user in this context."),
    (None, DEV_ROLE, "InvalidInput", "Invalid caller - Caller must be an IAM user in this context."),  # a role is no IAM user
    (None, f"arn:aws:iam::{ACCOUNT}:user/team/alice", "NoSuchEntity", "The user with name alice cannot be found."),  # samlfed has none
])
def test_the_simulator_takes_no_caller_but_an_iam_user(ctx: ServiceContext, resource_policy: str | None, caller_arn: str | None, code: str, message: str) -> None:
    """Before, a resource policy was simulated with the role as its caller: an answer AWS never gives, so a check that
    passed here failed on AWS."""
    with pytest.raises(ServiceError) as refused:
        _simulated(ctx, resource_policy=resource_policy, caller_arn=caller_arn)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert _simulated(ctx) == "implicitDeny"  # without either, the role's policies are simulated


@pytest.mark.parametrize(("source_arn", "message"), [
    (f"arn:aws:iam::{ACCOUNT}:user/team/alice", "The user with name alice cannot be found."),
    (f"arn:aws:iam::{ACCOUNT}:user/bob", "The user with name bob cannot be found."),
    (f"arn:aws:iam::{ACCOUNT}:group/Admins", "The group with name Admins cannot be found."),
])
def test_simulating_a_user_or_group_says_that_one_is_missing(ctx: ServiceContext, source_arn: str, message: str) -> None:
    """SimulatePrincipalPolicy takes a user, group or role (the API reference); samlfed has no users or groups, and
    IAM's NoSuchEntity names the missing entity by its kind and name, not as a role."""
    with pytest.raises(ServiceError) as refused:
        simulate_principal(ctx, ACCOUNT, source_arn, extra=[], boundary_documents=[], actions=["s3:GetObject"], resources=["*"],
                           resource_policy=None, entries=[], caller_arn=None)
    assert (refused.value.code, refused.value.status, refused.value.message) == ("NoSuchEntity", 404, message)
