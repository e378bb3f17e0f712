"""samlfed's own IAM API, called with temporary credentials: the policy engine decides, as IAM would.

Administrator keys act with full access in their account; a role session may call an IAM action only when its
policies allow that action on the resource the call touches, with the condition keys IAM gives that action (the
Service Authorization Reference): the resource's tags, the request's tags, the policy being attached and the
role's permissions boundary. Without them a Deny conditioned on one would never apply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..context import ServiceContext
from ..errors import ServiceError
from ..iam import arns
from ..iam.permissions import ROLE_RESOURCE_TAG_PREFIXES, add_request_keys, resource_tags, session_permissions
from ..policy import Authorization, Request, authorize
from ..store import NotFound
from .auth import Session
from .protocol import QueryRequest

log = logging.getLogger("samlfed.api")

Context = dict[str, list[str]]

_REQUEST_TAGS = frozenset({"CreateRole", "TagRole", "CreateSAMLProvider", "TagSAMLProvider", "CreatePolicy", "TagPolicy"})
_REQUEST_TAG_KEYS = frozenset({"UntagRole", "UntagSAMLProvider", "UntagPolicy"})
_POLICY_ARN = frozenset({"AttachRolePolicy", "DetachRolePolicy"})
_ROLE_BOUNDARY = frozenset({"AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "DeleteRolePermissionsBoundary"})
"""Actions whose iam:PermissionsBoundary is the boundary the role has (CreateRole and PutRolePermissionsBoundary: the
one they ask for)."""


def _role_target(ctx: ServiceContext, account_id: str, action: str, params: dict[str, str]) -> tuple[str, Context]:
    if action == "CreateRole":  # the role it would make, path included
        return arns.role_arn(account_id, params["RoleName"], params.get("Path", "/")), {}
    try:
        role = ctx.store.get_role(account_id, params["RoleName"])
    except NotFound:
        return arns.role_arn(account_id, params["RoleName"]), {}
    context = resource_tags(role.tags, ROLE_RESOURCE_TAG_PREFIXES)
    if action in _ROLE_BOUNDARY and role.permissions_boundary:
        context["iam:PermissionsBoundary"] = [role.permissions_boundary]
    return role.arn, context


def _provider_context(ctx: ServiceContext, account_id: str, arn: str) -> Context:
    try:
        provider = ctx.store.get_provider(arn)
    except NotFound:
        return {}
    return resource_tags(provider.tags) if provider.account_id == account_id else {}


def _policy_context(ctx: ServiceContext, account_id: str, arn: str) -> Context:
    try:
        policy = ctx.store.get_policy(arn)
    except NotFound:
        return {}
    return resource_tags(policy.tags) if policy.account_id == account_id else {}


ROLE_ACTIONS = frozenset({
    "CreateRole", "GetRole", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "TagRole", "UntagRole", "ListRoleTags",
    "PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
    "ListAttachedRolePolicies", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary", "UpdateRoleDescription",
    "ListInstanceProfilesForRole",
})
PROVIDER_ACTIONS = frozenset({
    "GetSAMLProvider", "UpdateSAMLProvider", "DeleteSAMLProvider", "TagSAMLProvider", "UntagSAMLProvider", "ListSAMLProviderTags",
    "SetSAMLProviderAttributeMapping", "GetSAMLProviderAttributeMapping", "SetSAMLProviderValidationOptions",
    "GetSAMLProviderValidationOptions",
})
POLICY_ACTIONS = frozenset({
    "GetPolicy", "GetPolicyVersion", "DeletePolicy", "TagPolicy", "UntagPolicy", "ListPolicyTags", "CreatePolicyVersion",
    "ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion", "ListEntitiesForPolicy",
})
PRINCIPAL_ACTIONS = frozenset({"SimulatePrincipalPolicy"})
"""Actions on the principal that PolicySourceArn names."""
ACCOUNT_ACTIONS = frozenset({
    "CreateSAMLProvider", "CreatePolicy", "ListRoles", "ListPolicies", "ListSAMLProviders", "CreateAccountAlias",
    "ListAccountAliases", "DeleteAccountAlias", "SimulateCustomPolicy", "GetAccountAuthorizationDetails",
})
"""Every IAM action, by the kind of resource it acts on (tests check that each action of the API is in one)."""


def iam_target(ctx: ServiceContext, account_id: str, action: str, params: dict[str, str]) -> tuple[str, Context]:
    """The ARN an IAM call acts on, as AWS names it in its AccessDenied messages, and that resource's condition keys.

    The resource is the one the action acts on, read from that action's own parameter: a parameter the action
    does not use (a RoleName sent along with DeleteSAMLProvider) must never choose what is authorized."""
    prefix = f"arn:aws:iam::{account_id}"
    if action in ROLE_ACTIONS and "RoleName" in params:
        return _role_target(ctx, account_id, action, params)
    if action in PROVIDER_ACTIONS and "SAMLProviderArn" in params:
        return params["SAMLProviderArn"], _provider_context(ctx, account_id, params["SAMLProviderArn"])
    if action in POLICY_ACTIONS and "PolicyArn" in params:
        return params["PolicyArn"], _policy_context(ctx, account_id, params["PolicyArn"])
    if action in PRINCIPAL_ACTIONS and "PolicySourceArn" in params:
        return params["PolicySourceArn"], {}
    if action == "CreateSAMLProvider" and "Name" in params:
        return arns.provider_arn(account_id, params["Name"]), {}
    if action == "CreatePolicy" and "PolicyName" in params:
        return f"{prefix}:policy{params.get('Path', '/')}{params['PolicyName']}", {}
    resource = {
        # Not the role<PathPrefix> ARN AWS's answers name: every role whose path starts with the prefix is listed, so a
        # grant on one role ("role/Dev") would list others ("/Dev-ops/"), and a deny on role/ would miss "/s".
        "ListRoles": f"{prefix}:role/",
        "ListPolicies": f"{prefix}:policy/",
        "ListSAMLProviders": f"{prefix}:saml-provider/*",
    }.get(action, "*")
    return resource, {}


def _request_context(request: QueryRequest) -> Context:
    """The condition keys the request itself carries: its tags and tag keys, the policy it attaches or detaches,
    the boundary it sets."""
    context: Context = {}
    keys: list[str] = []
    if request.action in _REQUEST_TAGS:
        for tag in request.member_structs("Tags", ("Key", "Value")):
            key = tag.get("Key", "")
            keys.append(key)
            # Keys differing only in case are one key to IAM (and to the engine): keep every value, none hiding another.
            context.setdefault(f"aws:requesttag/{key.lower()}", []).append(tag.get("Value", ""))
    elif request.action in _REQUEST_TAG_KEYS:
        keys = request.member_list("TagKeys")
    if keys:
        context["aws:TagKeys"] = keys
    if request.action in _POLICY_ARN and "PolicyArn" in request.params:
        context["iam:PolicyARN"] = [request.params["PolicyArn"]]
    if request.action in ("CreateRole", "PutRolePermissionsBoundary") and "PermissionsBoundary" in request.params:
        context["iam:PermissionsBoundary"] = [request.params["PermissionsBoundary"]]
    return context


_POLICY_KINDS = {
    "identity": ("an", "identity-based policy"), "boundary": ("a", "permissions boundary"), "session": ("a", "session policy"),
    "resource": ("a", "resource-based policy"),
}
"""How AWS's AccessDenied text names the kind of policy that refused (its enhanced access-denied messages)."""


def iam_call_decisions(ctx: ServiceContext, caller: Session, requests: Sequence[QueryRequest]) -> list[tuple[Authorization, str]]:
    """The session's policies' decision on each of several IAM calls it makes from one origin, and the resource each
    acts on, its permissions read once (the console asks about each of a role's policies: a read of the role and its
    policies per call cost 8 statements)."""
    return [(authorization, resource) for authorization, resource, _ in _decisions(ctx, caller, requests)]


_TAGGED_ON_CREATE = {"CreateRole": "TagRole", "CreatePolicy": "TagPolicy", "CreateSAMLProvider": "TagSAMLProvider"}
"""Creating with tags also takes the permission to tag what is created (IAM User Guide, "Permissions required for
tagging IAM resources"; AWS's answers to CreatePolicy with tags name iam:TagPolicy): a session that may create but not
tag cannot tag by creating."""


def _decisions(ctx: ServiceContext, caller: Session, requests: Sequence[QueryRequest]) -> list[tuple[Authorization, str, str]]:
    """For each call: the decision, the resource it acts on, and the action decided (the call's own; or, when that
    is allowed and the call creates with tags, the tagging action's)."""
    if not requests:
        return []
    claims, origin = caller.claims, requests[0]
    permissions = session_permissions(ctx, claims, source_ip=origin.source_ip, secure_transport=origin.secure_transport, region=caller.region)
    decisions = []
    for request in requests:
        resource, resource_context = iam_target(ctx, claims.account_id, request.action, request.params)
        context = {key: list(values) for key, values in permissions.context.items()}
        request_context = _request_context(request)
        add_request_keys(context, {**resource_context, **request_context})
        actions = [request.action]
        if request.action in _TAGGED_ON_CREATE and "aws:TagKeys" in request_context:
            actions.append(_TAGGED_ON_CREATE[request.action])
        for action in actions:
            decided = authorize(permissions.policies, Request(f"iam:{action}", context, resource=resource), session_arn=claims.assumed_role_arn)
            if decided.decision != "allowed":
                break
        decisions.append((decided, resource, action))
    return decisions


_ROLE_BY_ARN = frozenset({"CreateRole", "TagRole", "UntagRole", "PutRolePermissionsBoundary"})
"""Role actions whose AccessDenied names the role by its ARN (AWS's answers; UntagRole's inferred from TagRole's);
the others name it `role NAME`."""


def _resource_shown(action: str, resource: str, params: dict[str, str]) -> str:
    """The resource as AWS's AccessDenied names it, which depends on the action (AWS's answers, quoted in public
    issues and logs): `role NAME` for most role actions, `policy ARN` for a managed policy, `policy NAME` for one
    being created, `policy path PREFIX` for ListPolicies, the ARN (or `*`) otherwise."""
    if action in ROLE_ACTIONS and action not in _ROLE_BY_ARN and "RoleName" in params:
        return f"role {params['RoleName']}"
    if action in ("CreatePolicy", "TagPolicy") and "PolicyName" in params and "PolicyArn" not in params:
        return f"policy {params['PolicyName']}"
    if action in POLICY_ACTIONS and "PolicyArn" in params:
        return f"policy {resource}"
    if action == "ListPolicies":
        return f"policy path {params.get('PathPrefix', '/')}"
    return resource


def authorize_iam_call(ctx: ServiceContext, caller: Session, request: QueryRequest) -> str:
    """Raise AWS's AccessDenied unless the session's policies allow this IAM call; the resource it acts on."""
    claims = caller.claims
    ((result, resource, decided),) = _decisions(ctx, caller, [request])
    if result.decision == "allowed":
        return resource
    action = f"iam:{decided}"
    log.info(
        "IAM call denied principal=%s action=%s resource=%r decision=%s", claims.assumed_role_arn, action, resource, result.decision,
        extra={
            "action": request.action, "outcome": "denied", "policy_action": action, "principal": claims.assumed_role_arn, "resource": resource,
            "decision": result.decision, "source_ip": request.source_ip, "error_code": "AccessDenied",
        },
    )
    article, kind = _POLICY_KINDS[result.refused_by or "identity"]
    reason = f"with an explicit deny in {article} {kind}" if result.decision == "explicitDeny" else f"because no {kind} allows the {action} action"
    shown = _resource_shown(decided, resource, request.params)
    raise ServiceError("AccessDenied", f"User: {claims.assumed_role_arn} is not authorized to perform: {action} on resource: {shown} {reason}", 403)
