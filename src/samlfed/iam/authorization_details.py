"""GetAccountAuthorizationDetails: an account's roles and customer managed policies, each with what hangs on it.

samlfed has no IAM users, groups or AWS managed policies, so of AWS's five entity types only Role and
LocalManagedPolicy ever select anything. Listing is cheap (two reads); an item's details (inline policies,
attachments, last use, versions) are read only for the items of the page being answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..context import ServiceContext
from ..errors import ServiceError
from ..store import ManagedPolicy, NotFound, PolicyVersion, Role, RoleLastUsed
from . import service

ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
"""The model's EntityType, in its order (its enum error lists them so)."""

T = TypeVar("T")


@dataclass(frozen=True)
class RoleDetail:
    role: Role
    inline_policies: list[tuple[str, str]]
    """(name, document), by name."""
    attached: list[ManagedPolicy]
    """By lower-cased name, as ListAttachedRolePolicies lists them."""
    last_used: RoleLastUsed | None


@dataclass(frozen=True)
class PolicyDetail:
    policy: ManagedPolicy
    boundary_uses: int
    versions: list[PolicyVersion]
    """Newest first, as ListPolicyVersions lists them."""


def filter_violations(filters: Sequence[str]) -> list[str]:
    """Filter.member.N against the model: one violation for the whole list, in AWS's wording for a list member."""
    if all(value in ENTITY_TYPES for value in filters):
        return []
    return [
        f"Value '[{', '.join(filters)}]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: "
        f"[Member must satisfy enum value set: [{', '.join(ENTITY_TYPES)}]]"
    ]


def listing(ctx: ServiceContext, account_id: str, filters: Sequence[str]) -> list[Role | ManagedPolicy]:
    """What the filter selects (no filter: everything): the account's roles and every customer managed policy, attached
    or not (AWS lists all of an account's customer managed policies, and only the AWS managed ones in use)."""
    selected: list[Role | ManagedPolicy] = []
    if not filters or "Role" in filters:
        selected += service.list_roles(ctx, account_id)
    if not filters or "LocalManagedPolicy" in filters:
        selected += service.list_policies(ctx, account_id)
    return selected


def sort_key(item: Role | ManagedPolicy) -> str:
    """Roles, then policies, each by lower-cased name (unique in the account whatever the case): a short key for the
    Marker, which holds the last one answered, so that an item deleted between pages makes the next skip nothing."""
    return ("1" if isinstance(item, Role) else "2") + item.name.lower()


def _unless_deleted(read: Callable[..., T], *args: object) -> T | None:
    """`read(*args)`, or None when what it reads was deleted since it was listed: it is left out of the page."""
    try:
        return read(*args)
    except NotFound:
        return None
    except ServiceError as error:
        if error.code == "NoSuchEntity":
            return None
        raise


def details(ctx: ServiceContext, account_id: str, page: Sequence[Role | ManagedPolicy]) -> tuple[list[RoleDetail], list[PolicyDetail]]:
    """Each item of the page as it is now, with its details."""
    roles: list[RoleDetail] = []
    policies: list[PolicyDetail] = []
    uses = service.boundary_uses(ctx, account_id)
    for item in page:
        if isinstance(item, Role):
            detail = _unless_deleted(_role_detail, ctx, account_id, item.name)
            if detail is not None:
                roles.append(detail)
        else:
            versions = _unless_deleted(ctx.store.list_policy_versions, item.arn)
            if versions is not None:
                policies.append(PolicyDetail(item, uses[item.arn], versions))
    return roles, policies


def _role_detail(ctx: ServiceContext, account_id: str, name: str) -> RoleDetail:
    role = service.get_role(ctx, account_id, name)  # with its tags, which the listing leaves out
    inline = ctx.store.role_policy_documents(account_id, name)  # every inline policy in one read
    attached = sorted(service.list_attached_role_policies(ctx, account_id, name), key=lambda policy: policy.name.lower())
    return RoleDetail(role, inline, attached, service.role_last_used(ctx, role))
