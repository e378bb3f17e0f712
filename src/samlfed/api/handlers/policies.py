"""The IAM operations on managed policies: create, get, list, tag and delete them, their versions, their attachment to
roles and the entities that use them.
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...iam import attached_policies as iam_attached_policies
from ...iam import managed_policies as iam_managed_policies
from ...iam import policy_versions as iam_policy_versions
from ...store import policy_listing_key
from ..auth import Caller
from ..protocol import QueryRequest
from . import results
from .pagination import page_end, page_request, paginate
from .parameters import account, enum, flag, path_prefix, required, required_list, tags

_SCOPES = ("All", "AWS", "Local")


def create_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, document = required(request, "PolicyName", "PolicyDocument")
    policy = iam_managed_policies.create_policy(
        ctx, account(caller), name, document, path=request.params.get("Path", "/"), description=request.params.get("Description"), tags=tags(request),
    )
    # New: no role has it as a boundary yet. AWS's answer (recorded) has no Description, and Tags only when given,
    # in the order given (where ListPolicyTags sorts them).
    created = results.without(results.managed(policy, 0), "Description", "Tags")
    return {"Policy": {**created, "Tags": results.tag_list(policy.tags)} if policy.tags else created}


def get_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "PolicyArn")
    account_id = account(caller)
    return {"Policy": results.managed(iam_managed_policies.get_policy(ctx, account_id, arn), iam_managed_policies.boundary_uses(ctx, account_id)[arn])}


def create_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    arn, document = required(request, "PolicyArn", "PolicyDocument")
    version = iam_policy_versions.create_policy_version(ctx, account(caller), arn, document, set_as_default=flag(request, "SetAsDefault"))
    return {"PolicyVersion": results.policy_version(version, document=False)}


def get_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    arn, version_id = required(request, "PolicyArn", "VersionId")
    return {"PolicyVersion": results.policy_version(iam_policy_versions.get_policy_version(ctx, account(caller), arn, version_id))}


def _newest_first(version: dict[str, Any]) -> str:
    """A sort key that lists versions newest (highest number) first, as AWS does; short, for the Marker."""
    return f"{(1 << 31) - int(version['VersionId'][1:]):010d}"


def list_policy_versions(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "PolicyArn")
    versions = [results.policy_version(v, document=False) for v in iam_policy_versions.list_policy_versions(ctx, account(caller), arn)]
    page, more = paginate(request, versions, _newest_first)
    return {"Versions": page, **more}


def delete_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    arn, version_id = required(request, "PolicyArn", "VersionId")
    iam_policy_versions.delete_policy_version(ctx, account(caller), arn, version_id)


def set_default_policy_version(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    arn, version_id = required(request, "PolicyArn", "VersionId")
    iam_policy_versions.set_default_policy_version(ctx, account(caller), arn, version_id)


_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def list_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    account_id = account(caller)
    scope = enum(request, "Scope", _SCOPES)
    prefix = path_prefix(request)
    usage = enum(request, "PolicyUsageFilter", _USAGES)
    # OnlyAttached, or PermissionsPolicy: attached to a role as a permissions policy; PermissionsBoundary: some role's boundary.
    attached = flag(request, "OnlyAttached") or usage == "PermissionsPolicy"
    max_items, after = page_request(request)
    # Paged by the store, as `paginate` pages: the Marker holds the last policy_listing_key returned (short: a Marker
    # holds at most 320).
    policies = iam_managed_policies.list_policies(
        ctx, account_id, prefix, after=after, limit=max_items + 1, attached=attached, boundary=usage == "PermissionsBoundary",
        scope=scope or "All",
    )
    uses = iam_managed_policies.boundary_uses(ctx, account_id)
    page, more = policies[:max_items], len(policies) > max_items
    # The model's Policy documents Description as in GetPolicy's answer and not in ListPolicies'.
    listed = [results.without(results.managed(p, uses[p.arn], full=False), "Description") for p in page]
    return {"Policies": listed, **page_end(request, page, more, policy_listing_key)}


def delete_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "PolicyArn")
    iam_managed_policies.delete_policy(ctx, account(caller), arn)


def attach_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = required(request, "RoleName", "PolicyArn")
    iam_attached_policies.attach_role_policy(ctx, account(caller), name, arn)


def detach_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = required(request, "RoleName", "PolicyArn")
    iam_attached_policies.detach_role_policy(ctx, account(caller), name, arn)


def list_attached_role_policies(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = required(request, "RoleName")
    prefix = path_prefix(request)
    attached = [p for p in iam_attached_policies.list_attached_role_policies(ctx, account(caller), name) if p.path.startswith(prefix)]
    # In ListPolicies' order, by a short key (a Marker holds at most 320) that tells an AWS managed policy from the
    # account's own of the same name.
    page, more = paginate(request, attached, policy_listing_key)
    return {"AttachedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn} for p in page], **more}


_ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
_LISTS_ROLES = frozenset({None, "Role"})
"""The EntityFilter values under which a policy's roles are listed: samlfed has no IAM users or groups. The filter
names the kind of entity listed, so LocalManagedPolicy and AWSManagedPolicy list none (AWS answers three empty lists
for LocalManagedPolicy, recorded)."""


def list_entities_for_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """Roles only (PolicyUsers and PolicyGroups are always empty); without PolicyUsageFilter a role that both has
    the policy attached and as its permissions boundary is listed once."""
    (arn,) = required(request, "PolicyArn")
    entity_filter = enum(request, "EntityFilter", _ENTITY_TYPES)
    usage = enum(request, "PolicyUsageFilter", iam_managed_policies.POLICY_USAGES)
    prefix = path_prefix(request)
    page_request(request)
    roles = iam_managed_policies.roles_using_policy(ctx, account(caller), arn, usage)  # NoSuchEntity whatever the filter
    listed = [{"RoleName": r.name, "RoleId": r.role_id} for r in roles if r.path.startswith(prefix)] if entity_filter in _LISTS_ROLES else []
    page, more = paginate(request, listed, lambda role: role["RoleName"].lower())
    return {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": page, **more}


def tag_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "PolicyArn")
    required_list(request, "Tags")
    iam_managed_policies.tag_policy(ctx, account(caller), arn, tags(request))


def untag_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "PolicyArn")
    required_list(request, "TagKeys")
    iam_managed_policies.untag_policy(ctx, account(caller), arn, request.member_list("TagKeys"))


def list_policy_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "PolicyArn")
    page, more = paginate(request, results.tag_list(iam_managed_policies.looked_up_policy(ctx, account(caller), arn).tags), results.tag_key)
    return {"Tags": page, **more}
