"""Roles over the store: their trust policies (checked as IAM checks them), names, paths, descriptions, tags and
permissions boundaries. Raises `ServiceError` with AWS's codes and messages; knows nothing about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..jsoninput import parse_json
from ..policy import MalformedPolicy, PolicyDocument, parse_policy
from ..policy.conditions import wildcard_match
from ..policy.document import invalid_principal
from ..store import AlreadyExists, Conflict, InlinePoliciesLeft, LimitReached, NotFound, Role, RoleLastUsed, Tag, policy_size
from . import arns, ids
from .constraints import (
    arn_violations,
    check_model_then_names,
    path_violations,
    policy_document_violations,
    quota_exceeded,
    role_name_violations,
)
from .managed_policies import check_policy_arn, check_policy_arn_parameter, policy_in_account
from .tags import MAX_TAGS, check_tag_keys, check_tags, tag_violations, too_many_tags

MAX_TRUST_POLICY = 2048
ROLE_DESCRIPTION = re.compile("[\t\n\r\x20-\x7e\xa1-\xff]*")
MAX_ROLES = 1000
"""IAM's default quota per account (RolesPerAccount)."""


def check_trust_policy(document: str, field: str = "policyDocument") -> PolicyDocument:
    """A role's trust policy (`field`: its parameter as the model names it, for a ValidationError), parsed."""
    violations = policy_document_violations(document, field)
    if violations:
        raise ValidationFailed(violations)
    if policy_size(document) > MAX_TRUST_POLICY:  # IAM's quotas do not count whitespace
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY}", 409)
    try:
        parse_json(document)
    except ValueError:  # a trust policy's own wording (recorded answers); a permissions policy's is "Syntax errors"
        raise ServiceError("MalformedPolicyDocument", "This policy contains invalid Json", 400) from None
    try:
        trust = parse_policy(document, principal_required=True, as_written=True)
    except MalformedPolicy as exc:
        raise ServiceError("MalformedPolicyDocument", str(exc), 400) from None
    if not all(_is_trust_action(action) for s in trust.statements for action in s.actions or ()):
        raise ServiceError("MalformedPolicyDocument", "AssumeRole policy may only specify STS AssumeRole actions.", 400)
    # The role is the resource of its trust policy: AWS refuses one that names another (it would be ignored).
    if any(s.resources is not None or s.not_resources is not None for s in trust.statements):
        raise ServiceError("MalformedPolicyDocument", "Has prohibited field Resource", 400)
    # The IAM User Guide (NotPrincipal): "You cannot use the NotPrincipal element ... in an IAM role trust policy."
    if any(s.not_principal is not None for s in trust.statements):
        raise ServiceError("MalformedPolicyDocument", "Has prohibited field NotPrincipal", 400)
    return trust


TRUST_ACTIONS = (
    "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity",
    "sts:SetContext",
)
"""The actions a role's trust policy may name (the IAM User Guide's trust policy actions); IAM refuses any other."""


def _is_trust_action(action: str) -> bool:
    """`action` (any case) names at least one of TRUST_ACTIONS: "sts:InvalidAction" (AWS refuses it, recorded) and
    "s3:GetObject" do not. A wildcard that names one ("sts:Assume*", "sts:*", "*") is accepted: samlfed's choice, as no
    recorded answer shows AWS's (refusing what AWS takes would break infrastructure code). NotAction is not held to
    this rule: no answer of AWS's to one in a trust policy is known."""
    return any(wildcard_match(action, known, ignore_case=True) for known in TRUST_ACTIONS)


def _principal_role_ids(ctx: ServiceContext, trust: PolicyDocument) -> tuple[tuple[str, str], ...]:
    """IAM resolves each user or role an "AWS" principal names when the policy is written, and refuses one that does
    not exist. samlfed has no IAM users, so a user never exists; a role must, with that very ARN (its path too).
    (ARN, role ID) of each role named, which the policy keeps trusting (not a role created later under that ARN)."""
    resolved: dict[str, str] = {}
    for statement in trust.statements:
        for value in statement.principal.by_type.get("AWS", ()) if statement.principal is not None else ():
            if ":user/" in value:
                raise ServiceError("MalformedPolicyDocument", invalid_principal(value), 400)
            role = arns.parse_role_arn(value) if ":role/" in value else None
            if role is None:
                continue
            try:
                found = ctx.store.get_role(role.account_id, role.name, with_tags=False)
            except NotFound:
                found = None
            if found is None or found.arn != value:
                raise ServiceError("MalformedPolicyDocument", invalid_principal(value), 400)
            resolved[value] = found.role_id
    return tuple(sorted(resolved.items()))


def create_role(
    ctx: ServiceContext,
    account_id: str,
    name: str,
    trust_policy: str,
    *,
    path: str = "/",
    description: str | None = None,
    max_session_duration: int = 3600,
    tags: Sequence[Tag] = (),
    permissions_boundary: str | None = None,
) -> Role:
    violations = role_name_violations(name) + path_violations(path)
    violations += policy_document_violations(trust_policy, "assumeRolePolicyDocument")
    if not 3600 <= max_session_duration <= 43200:
        violations.append(f"Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {'greater than or equal to 3600' if max_session_duration < 3600 else 'less than or equal to 43200'}")
    violations += description_violations(description)
    violations += arn_violations(permissions_boundary, "permissionsBoundary") if permissions_boundary is not None else []
    violations += tag_violations(tags)
    check_model_then_names(violations, (name, "roleName"))
    trust = check_trust_policy(trust_policy, "assumeRolePolicyDocument")
    check_tags(tags)
    principal_ids = _principal_role_ids(ctx, trust)
    if permissions_boundary is not None:
        _check_boundary(ctx, account_id, permissions_boundary)
    role = Role(
        account_id=account_id, name=name, role_id=ids.unique_id("AROA"), path=path, arn=arns.role_arn(account_id, name, path),
        trust_policy=trust_policy, max_session_duration=max_session_duration, created_at=ctx.clock(),
        description=description, tags=tuple(tags), permissions_boundary=permissions_boundary, trust_principal_ids=principal_ids,
    )
    try:
        ctx.store.create_role(role, limit=MAX_ROLES)
    except NotFound:  # the boundary policy was deleted since _check_boundary (the store checks it again, under lock)
        raise _no_such_boundary(str(permissions_boundary)) from None
    except LimitReached:
        raise quota_exceeded(MAX_ROLES, "RolesPerAccount") from None
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"Role with name {name} already exists.", 409) from None
    return role


def get_role(ctx: ServiceContext, account_id: str, name: str) -> Role:
    return role_call(lambda: ctx.store.get_role(account_id, name), name)


def role_last_used(ctx: ServiceContext, role: Role) -> RoleLastUsed | None:
    """When and where `role` was last assumed (recorded by sts/role_use.py); None if never."""
    return ctx.store.get_role_last_used(role.role_id)


def delete_role(ctx: ServiceContext, account_id: str, name: str) -> None:
    try:
        ctx.store.delete_role(account_id, name)
    except NotFound:
        raise no_such_role(name) from None
    except InlinePoliciesLeft:
        raise ServiceError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409) from None
    except Conflict:
        raise ServiceError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409) from None


def list_roles(ctx: ServiceContext, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None) -> list[Role]:
    """See SqlStore.list_roles: lower-cased name order, no tags, `limit` of them after `after`."""
    return ctx.store.list_roles(account_id, path_prefix, after=after, limit=limit)


def description_violations(description: str | None) -> list[str]:
    """A role's Description against the model (at most 1,000 characters of the pattern), in AWS's wording."""
    if description is None:
        return []
    start = f"Value '{description}' at 'description' failed to satisfy constraint: Member must"
    violations = [] if ROLE_DESCRIPTION.fullmatch(description) else [f"{start} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"]
    return violations + ([f"{start} have length less than or equal to 1000"] if len(description) > 1000 else [])


def update_role(ctx: ServiceContext, account_id: str, name: str, *, description: str | None, max_session_duration: int | None) -> None:
    violations = role_name_violations(name) + description_violations(description)
    if max_session_duration is not None and not 3600 <= max_session_duration <= 43200:
        bound = "greater than or equal to 3600" if max_session_duration < 3600 else "less than or equal to 43200"
        violations.append(f"Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {bound}")
    check_model_then_names(violations, (name, "roleName"))
    changes: dict[str, object] = {}
    if description is not None:
        changes["description"] = description
    if max_session_duration is not None:
        changes["max_session_duration"] = max_session_duration
    if changes:
        role_call(lambda: ctx.store.update_role(account_id, name, **changes), name)
    else:  # nothing to change still names an existing role (AWS: NoSuchEntity otherwise)
        get_role(ctx, account_id, name)


def update_trust_policy(ctx: ServiceContext, account_id: str, name: str, document: str) -> None:
    check_model_then_names(role_name_violations(name) + policy_document_violations(document, "policyDocument"), (name, "roleName"))
    principal_ids = _principal_role_ids(ctx, check_trust_policy(document, "policyDocument"))
    role_call(lambda: ctx.store.update_role(account_id, name, trust_policy=document, trust_principal_ids=principal_ids), name)


def set_permissions_boundary(ctx: ServiceContext, account_id: str, name: str, policy_arn: str | None) -> None:
    """Put (or, with None, delete) a role's permissions boundary."""
    violations = role_name_violations(name) + (arn_violations(policy_arn, "permissionsBoundary") if policy_arn is not None else [])
    check_model_then_names(violations, (name, "roleName"))
    if policy_arn is not None:
        check_policy_arn_parameter(policy_arn, "permissionsBoundary")
    try:
        ctx.store.set_permissions_boundary(account_id, name, policy_arn)
    except NotFound as missing:
        if policy_arn is not None and str(missing) == policy_arn:
            raise _no_such_boundary(policy_arn) from None
        raise no_such_role(name) from None


def _no_such_boundary(policy_arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Scope ARN: {policy_arn} does not exist or is not attachable.", 404)


def _check_boundary(ctx: ServiceContext, account_id: str, policy_arn: str) -> None:
    """A permissions boundary is a managed policy of the role's account."""
    check_policy_arn(policy_arn)
    if policy_in_account(ctx, policy_arn, account_id) is None:
        raise _no_such_boundary(policy_arn)


def role_call(call, name: str):  # type: ignore[no-untyped-def]
    try:
        return call()
    except NotFound:
        raise no_such_role(name) from None


def no_such_role(name: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"The role with name {name} cannot be found.", 404)


def tag_role(ctx: ServiceContext, account_id: str, name: str, tags: Sequence[Tag]) -> None:
    check_model_then_names(role_name_violations(name) + tag_violations(tags), (name, "roleName"))
    check_tags(tags)
    try:
        role_call(lambda: ctx.store.tag_role(account_id, name, tags, limit=MAX_TAGS), name)
    except LimitReached:
        raise too_many_tags() from None


def untag_role(ctx: ServiceContext, account_id: str, name: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    role_call(lambda: ctx.store.untag_role(account_id, name, keys), name)
