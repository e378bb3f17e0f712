"""A role's inline policies (PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy) and their size quota.
"""

from __future__ import annotations

from ..context import ServiceContext
from ..errors import ServiceError
from ..store import LimitReached, NotFound
from .constraints import (
    check_identity_policy,
    check_model_then_names,
    policy_document_violations,
    policy_name_violations,
    role_name_violations,
)
from .roles import no_such_role, role_call

MAX_ROLE_INLINE_POLICIES_SIZE = 10240
"""IAM's quota on the size of all of a role's inline policies together (whitespace not counted)."""


def put_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str, document: str) -> None:
    violations = role_name_violations(name) + policy_name_violations(policy_name)
    violations += policy_document_violations(document, "policyDocument")
    check_model_then_names(violations, (name, "roleName"), (policy_name, "policyName"))
    check_identity_policy(document)
    try:
        role_call(lambda: ctx.store.put_role_policy(account_id, name, policy_name, document, max_total_size=MAX_ROLE_INLINE_POLICIES_SIZE), name)
    except LimitReached:
        raise ServiceError("LimitExceeded", f"Maximum policy size of {MAX_ROLE_INLINE_POLICIES_SIZE} bytes exceeded for role {name}", 409) from None


def get_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> str:
    try:
        return ctx.store.get_role_policy(account_id, name, policy_name)
    except NotFound:
        raise _no_such_role_policy(ctx, account_id, name, policy_name) from None


def _no_such_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> ServiceError:
    """An inline policy that is not there: AWS names the role when the role itself is what is missing."""
    try:
        ctx.store.get_role(account_id, name, with_tags=False)
    except NotFound:
        return no_such_role(name)
    return ServiceError("NoSuchEntity", f"The role policy with name {policy_name} cannot be found.", 404)


def list_role_policies(ctx: ServiceContext, account_id: str, name: str) -> list[str]:
    return role_call(lambda: ctx.store.list_role_policies(account_id, name), name)


def delete_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> None:
    try:
        ctx.store.delete_role_policy(account_id, name, policy_name)
    except NotFound:
        raise _no_such_role_policy(ctx, account_id, name, policy_name) from None
