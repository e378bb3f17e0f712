"""The IAM operations on roles: create, get, list, update, delete and tag them, their trust policies and their
permissions boundaries.
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...iam import roles as iam_roles
from ...iam.trust_shown import trust_policies_shown
from ...store import ManagedPolicy, Role
from ..auth import Caller
from ..protocol import QueryRequest
from . import results
from .pagination import page_end, page_request, paginate
from .parameters import account, default, integer, path_prefix, refuse_unimplemented, required, required_list, tags


def create_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    name, document = required(request, "RoleName", "AssumeRolePolicyDocument")
    refuse_unimplemented(request)
    role = iam_roles.create_role(
        ctx,
        account(caller),
        name,
        document,
        path=request.params.get("Path", "/"),
        description=request.params.get("Description"),
        max_session_duration=default(integer(request, "MaxSessionDuration"), 3600),
        tags=tags(request),
        permissions_boundary=request.params.get("PermissionsBoundary"),
    )
    # AWS's CreateRole answers neither Description (even when given) nor MaxSessionDuration (recorded answers).
    return {"Role": results.without(results.role(role, role.trust_policy), "Description", "MaxSessionDuration")}  # its trust: just resolved


def get_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = required(request, "RoleName")
    role = iam_roles.get_role(ctx, account(caller), name)
    (trust_policy,) = trust_policies_shown(ctx, [role])
    return {"Role": {**results.role(role, trust_policy), "RoleLastUsed": results.last_used(iam_roles.role_last_used(ctx, role))}}


def delete_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = required(request, "RoleName")
    iam_roles.delete_role(ctx, account(caller), name)


def _lower_name(item: Role | ManagedPolicy) -> str:
    """The sort key of roles and policies: names are unique in the account whatever their case."""
    return item.name.lower()


def list_roles(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """Paged by the store, as `paginate` pages (lower-cased names; the marker holds the last one returned)."""
    max_items, after = page_request(request)
    roles = iam_roles.list_roles(ctx, account(caller), path_prefix(request), after=after, limit=max_items + 1)
    page, more = roles[:max_items], len(roles) > max_items
    shown = trust_policies_shown(ctx, page)
    return {"Roles": [results.role(r, trust_policy, full=False) for r, trust_policy in zip(page, shown, strict=True)], **page_end(request, page, more, _lower_name)}


def update_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = required(request, "RoleName")
    refuse_unimplemented(request)
    iam_roles.update_role(ctx, account(caller), name, description=request.params.get("Description"), max_session_duration=integer(request, "MaxSessionDuration"))
    return {}


def update_role_description(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """UpdateRole's older twin, which answers with the role."""
    name, description = required(request, "RoleName", "Description")
    account_id = account(caller)
    iam_roles.update_role(ctx, account_id, name, description=description, max_session_duration=None)
    role = iam_roles.get_role(ctx, account_id, name)
    (trust_policy,) = trust_policies_shown(ctx, [role])
    return {"Role": results.without(results.role(role, trust_policy), "MaxSessionDuration")}  # as AWS answers it (recorded)


def list_instance_profiles_for_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """EC2 instance profiles do not exist here, so a role is in none; the call is answered because tools call it
    before deleting a role (Terraform removes the role from each profile it is in)."""
    (name,) = required(request, "RoleName")
    page_request(request)  # Marker and MaxItems held to the model all the same
    iam_roles.get_role(ctx, account(caller), name)  # NoSuchEntity for a missing role
    return {"InstanceProfiles": [], "IsTruncated": False}


def update_assume_role_policy(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, document = required(request, "RoleName", "PolicyDocument")
    iam_roles.update_trust_policy(ctx, account(caller), name, document)


def tag_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = required(request, "RoleName")
    required_list(request, "Tags")
    iam_roles.tag_role(ctx, account(caller), name, tags(request))


def untag_role(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = required(request, "RoleName")
    required_list(request, "TagKeys")
    iam_roles.untag_role(ctx, account(caller), name, request.member_list("TagKeys"))


def list_role_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (name,) = required(request, "RoleName")
    page, more = paginate(request, results.tag_list(iam_roles.get_role(ctx, account(caller), name).tags), results.tag_key)
    return {"Tags": page, **more}


def put_role_permissions_boundary(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    name, arn = required(request, "RoleName", "PermissionsBoundary")
    iam_roles.set_permissions_boundary(ctx, account(caller), name, arn)


def delete_role_permissions_boundary(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (name,) = required(request, "RoleName")
    iam_roles.set_permissions_boundary(ctx, account(caller), name, None)
