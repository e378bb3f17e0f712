"""Managed policies attached to roles (AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies) and the
PoliciesPerRole quota.
"""

from __future__ import annotations

from ..context import ServiceContext
from ..errors import ServiceError
from ..store import LimitReached, ManagedPolicy, NotFound
from .constraints import quota_exceeded
from .managed_policies import POLICY_ARN, check_policy_arn_parameter, looked_up_policy, no_such_policy, policy_not_found
from .roles import get_role, no_such_role, role_call


def list_attached_role_policies(ctx: ServiceContext, account_id: str, name: str) -> list[ManagedPolicy]:
    return role_call(lambda: ctx.store.list_attached_role_policies(account_id, name), name)


SERVICE_ROLE_POLICY_PREFIX = "arn:aws:iam::aws:policy/aws-service-role/"
"""The AWS managed policies made for AWS's service-linked roles."""
MAX_POLICIES_PER_ROLE = 10
"""IAM's default quota of managed policies attached to one role (PoliciesPerRole)."""


def attach_role_policy(ctx: ServiceContext, account_id: str, name: str, arn: str) -> None:
    if not POLICY_ARN.fullmatch(arn):  # AWS's AttachRolePolicy answer (recorded), before the model's length checks
        raise ServiceError("ValidationError", f"ARN {arn} is not valid.", 400)
    if looked_up_policy(ctx, account_id, arn).aws_managed and arn.startswith(SERVICE_ROLE_POLICY_PREFIX):
        # AWS's answer (aws/aws-cdk issue #6131): such a policy is for AWS's service-linked roles, and every role
        # here is a customer's.
        raise ServiceError("PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.", 400)
    try:
        ctx.store.attach_role_policy(account_id, name, arn, limit=MAX_POLICIES_PER_ROLE)
    except LimitReached:
        raise quota_exceeded(MAX_POLICIES_PER_ROLE, "PoliciesPerRole") from None
    except NotFound as missing:
        if str(missing) == arn:  # the policy was deleted by a concurrent request since looked_up_policy read it
            raise no_such_policy(arn) from None
        raise no_such_role(name) from None


def detach_role_policy(ctx: ServiceContext, account_id: str, name: str, arn: str) -> None:
    check_policy_arn_parameter(arn, "policyArn")
    get_role(ctx, account_id, name)
    try:
        ctx.store.detach_role_policy(account_id, name, arn)
    except NotFound:
        raise policy_not_found(arn) from None
