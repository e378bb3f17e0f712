"""GetAccountAuthorizationDetails: an account's roles and managed policies, each with what hangs on it.

samlfed has no IAM users or groups, so of AWS's five entity types only Role, LocalManagedPolicy and AWSManagedPolicy
(those the operator imported) ever select anything. Listing is cheap (a few reads); an item's details (inline policies,
attachments, last use, versions) are read only for the items of the page being answered, for the whole page at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..context import ServiceContext
from ..store import ManagedPolicy, PolicyVersion, Role, RoleLastUsed, policy_listing_key
from .managed_policies import boundary_uses, list_policies
from .roles import list_roles
from .trust_shown import trust_policies_shown

ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
"""The model's EntityType, in its order (its enum error lists them so)."""


@dataclass(frozen=True)
class RoleDetail:
    role: Role
    inline_policies: list[tuple[str, str]]
    """(name, document), by name."""
    attached: list[ManagedPolicy]
    """By lower-cased name, as ListAttachedRolePolicies lists them."""
    last_used: RoleLastUsed | None
    trust_policy: str
    """As IAM shows it (`trust_shown`)."""


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


def sort_key(item: Role | ManagedPolicy) -> str:
    """Roles by lower-cased name (unique in the account whatever the case), then policies in ListPolicies' order: a
    short key for the Marker, which holds the last one answered, so that an item deleted between pages makes the
    next skip nothing."""
    return "1" + item.name.lower() if isinstance(item, Role) else "2" + policy_listing_key(item)


def _past(after: str | None, kind: str) -> tuple[bool, str | None]:
    """Of the items whose sort key is `kind` + lower-cased name: whether any can come after the key `after`, and the
    name they must come after (None: any name)."""
    if after is None or after[:1] < kind:
        return True, None
    if after[:1] > kind:
        return False, None
    return True, after[1:]


def page(
    ctx: ServiceContext, account_id: str, filters: Sequence[str], *, after: str | None, limit: int
) -> tuple[list[Role | ManagedPolicy], bool]:
    """What the filter selects (no filter: the account's roles, every customer managed policy, attached or not, and
    the AWS managed ones in use: AWS lists all of an account's customer managed policies, and only the AWS managed
    ones attached to something or a permissions boundary), in `sort_key` order:
    the first `limit` items whose key comes after `after`, and whether more follow. Paged by the database (roles
    first, then policies, each read only as far as the page needs), not by listing the whole account for every page."""
    items: list[Role | ManagedPolicy] = []
    roles, role_after = _past(after, "1")
    if roles and (not filters or "Role" in filters):
        items += list_roles(ctx, account_id, after=role_after, limit=limit + 1)
    policies, policy_after = _past(after, "2")
    local, aws = not filters or "LocalManagedPolicy" in filters, not filters or "AWSManagedPolicy" in filters
    if policies and len(items) <= limit and (local or aws):
        scope = "All" if local and aws else "Local" if local else "AWS"
        items += list_policies(ctx, account_id, after=policy_after, limit=limit + 1 - len(items), scope=scope, aws_in_use=True)
    return items[:limit], len(items) > limit


def details(ctx: ServiceContext, account_id: str, page: Sequence[Role | ManagedPolicy]) -> tuple[list[RoleDetail], list[PolicyDetail]]:
    """Each item of the page as it is now, with its details; an item deleted since it was listed is left out of the
    page. Read for the whole page at once (a fixed number of statements, however many items), not item by item."""
    names = [item.name for item in page if isinstance(item, Role)]
    listed_policies = [item for item in page if not isinstance(item, Role)]
    found = ctx.store.role_details(account_id, names)
    shown = trust_policies_shown(ctx, [role for role, *_ in found])
    roles = [
        RoleDetail(role, inline, sorted(attached, key=lambda policy: policy.name.lower()), last_used, trust_policy)
        for (role, inline, attached, last_used), trust_policy in zip(found, shown, strict=True)
    ]
    versions = ctx.store.policy_versions_of([policy.arn for policy in listed_policies])
    uses = boundary_uses(ctx, account_id)
    policies = [PolicyDetail(policy, uses[policy.arn], versions[policy.arn]) for policy in listed_policies if policy.arn in versions]
    return roles, policies
