"""GetAccountAuthorizationDetails: the account's roles and managed policies in one paged answer.
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...errors import ValidationFailed
from ...iam import authorization_details
from ..auth import Caller
from ..protocol import QueryRequest
from . import results
from .pagination import page_end, page_request
from .parameters import account


def get_account_authorization_details(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """The account's roles, then its managed policies (no users or groups exist here; AWS managed policies if in use),
    one Marker paging both and MaxItems counting their items together."""
    account_id = account(caller)
    filters = request.member_list("Filter")
    violations = authorization_details.filter_violations(filters)
    try:
        max_items, after = page_request(request)
    except ValidationFailed as invalid:  # AWS reports every model violation at once
        violations += invalid.violations
    if violations:
        raise ValidationFailed(violations)
    # Paged by the store in `sort_key` order (the Marker holds the last key, as `paginate` makes it).
    page, truncated = authorization_details.page(ctx, account_id, filters, after=after, limit=max_items)
    more = page_end(request, page, truncated, authorization_details.sort_key)
    roles, policies = authorization_details.details(ctx, account_id, page)
    return {
        "UserDetailList": [], "GroupDetailList": [],
        "RoleDetailList": [{  # in the model's order; empty lists are answered empty, not left out
            **results.without(results.role(r.role, r.trust_policy, full=False), "Description", "MaxSessionDuration"),  # not RoleDetail's
            "InstanceProfileList": [],
            "RolePolicyList": [{"PolicyName": name, "PolicyDocument": results.policy_text(document)} for name, document in r.inline_policies],
            "AttachedManagedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn} for p in r.attached],
            "PermissionsBoundary": {"PermissionsBoundaryType": results.BOUNDARY_TYPE, "PermissionsBoundaryArn": r.role.permissions_boundary}
            if r.role.permissions_boundary else None,
            "Tags": results.sorted_tag_list(r.role.tags), "RoleLastUsed": results.last_used(r.last_used),
        } for r in roles],
        "Policies": [{**results.managed(p.policy, p.boundary_uses, full=False), "PolicyVersionList": [results.policy_version(v) for v in p.versions]} for p in policies],
        **more,
    }
