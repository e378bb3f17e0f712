"""samlfed's own IAM API, called with temporary credentials: the policy engine decides, as IAM would.

Administrator keys act with full access in their account; a role session may call an IAM action only when its
policies allow that action on the resource the call touches.
"""

from __future__ import annotations

import logging

from ..context import ServiceContext
from ..errors import ServiceError
from ..iam import arns
from ..iam.permissions import session_permissions
from ..policy import Request, authorize
from ..store import NotFound
from .auth import Session
from .protocol import QueryRequest

log = logging.getLogger("samlfed.api")


def iam_resource(ctx: ServiceContext, account_id: str, action: str, params: dict[str, str]) -> str:
    """The ARN an IAM call acts on, as AWS names it in its AccessDenied messages."""
    prefix = f"arn:aws:iam::{account_id}"
    if "RoleName" in params:
        try:
            return ctx.store.get_role(account_id, params["RoleName"], with_tags=False).arn
        except NotFound:
            return arns.role_arn(account_id, params["RoleName"])
    for arn_parameter in ("SAMLProviderArn", "PolicyArn", "PolicySourceArn"):
        if arn_parameter in params:
            return params[arn_parameter]
    if action == "CreateSAMLProvider" and "Name" in params:
        return arns.provider_arn(account_id, params["Name"])
    if action == "CreatePolicy" and "PolicyName" in params:
        return f"{prefix}:policy{params.get('Path', '/')}{params['PolicyName']}"
    return {
        "ListRoles": f"{prefix}:role/",
        "ListPolicies": f"{prefix}:policy/",
        "ListSAMLProviders": f"{prefix}:saml-provider/*",
    }.get(action, "*")


def authorize_iam_call(ctx: ServiceContext, caller: Session, request: QueryRequest, *, source_ip: str | None = None, secure_transport: bool | None = None) -> None:
    """Raise AWS's AccessDenied unless the session's policies allow this IAM call."""
    claims = caller.claims
    action = f"iam:{request.action}"
    resource = iam_resource(ctx, claims.account_id, request.action, request.params)
    permissions = session_permissions(ctx, claims, source_ip=source_ip, secure_transport=secure_transport)
    result = authorize(permissions.policies, Request(action, permissions.context, resource=resource), session_arn=claims.assumed_role_arn)
    if result.decision == "allowed":
        return
    log.info("IAM call denied principal=%s action=%s resource=%s decision=%s", claims.assumed_role_arn, action, resource, result.decision)
    reason = (
        "with an explicit deny in an identity-based policy" if result.decision == "explicitDeny"
        else f"because no identity-based policy allows the {action} action"
    )
    raise ServiceError("AccessDenied", f"User: {claims.assumed_role_arn} is not authorized to perform: {action} on resource: {resource} {reason}", 403)
