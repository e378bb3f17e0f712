"""STS `AssumeRole` from a role session: role chaining.

AWS rules reproduced: the target role's trust policy must allow `sts:AssumeRole` for the calling role (by role
ARN, session ARN, or its account, in which case the caller's identity policies must also allow the call, as they
must for any other account); a chained session lasts at most one hour; transitive session tags and the
SourceIdentity carry over (and a SourceIdentity needs `sts:SetSourceIdentity` in the trust policy).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..iam import arns
from ..iam.permissions import SessionPermissions, session_permissions
from ..policy import MalformedPolicy, Request, authorize, evaluate
from ..store import NotFound, Role
from .assume import check_session_policies, trust_document
from .credentials import SessionClaims, TemporaryCredentials, issue
from .parameters import arn_violations, check_session_policy_plaintext, duration_violations, session_policy_violations, string_violations

log = logging.getLogger("samlfed.sts")
CHAINED_LIMIT = 3600


@dataclass(frozen=True)
class AssumeRoleRequest:
    role_arn: str
    session_name: str
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()


_SESSION_NAME = (re.compile(r"[\w+=,.@-]*", re.ASCII), "[\\w+=,.@-]*")


def _check(request: AssumeRoleRequest) -> None:
    violations = arn_violations(request.role_arn, "roleArn")
    violations += string_violations(request.session_name, "roleSessionName", 2, 64, _SESSION_NAME)
    violations += session_policy_violations(request.policy, request.policy_arns) + duration_violations(request.duration_seconds)
    if violations:
        raise ValidationFailed(violations)
    check_session_policy_plaintext(request.policy, request.policy_arns)


def assume_role(ctx: ServiceContext, caller: SessionClaims, request: AssumeRoleRequest) -> TemporaryCredentials:
    _check(request)
    now = ctx.clock()
    denied = ServiceError("AccessDenied", f"User: {caller.assumed_role_arn} is not authorized to perform: sts:AssumeRole on resource: {request.role_arn}", 403)
    name = arns.parse_role_arn(request.role_arn)
    if name is None:
        raise ServiceError("ValidationError", "Request ARN is invalid")
    try:
        role = ctx.reads.role(name.account_id, name.name)
    except NotFound:
        raise denied from None
    if role.arn != request.role_arn:
        raise denied
    permissions = session_permissions(ctx, caller)
    permissions.context["sts:rolesessionname"] = [request.session_name]
    _trust(role, caller, permissions, denied)
    duration = request.duration_seconds or CHAINED_LIMIT
    if duration > CHAINED_LIMIT:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    if duration > role.max_session_duration:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    check_session_policies(ctx, request.policy, request.policy_arns, role)
    transitive = [k for k in caller.transitive_tag_keys if k in caller.tags]
    claims = SessionClaims(
        account_id=role.account_id, role_arn=role.arn, role_id=role.role_id, session_name=request.session_name,
        issued_at=int(now.timestamp()), expires_at=int(now.timestamp()) + duration, source_identity=caller.source_identity,
        tags={k: caller.tags[k] for k in transitive}, transitive_tag_keys=transitive,
        session_policy=request.policy, policy_arns=list(request.policy_arns), chained=True, saml=dict(caller.saml),
    )
    log.info("AssumeRole allowed caller=%s role=%s", caller.assumed_role_arn, role.arn)
    return issue(ctx.key_ring(), claims)


def _trust(role: Role, caller: SessionClaims, permissions: SessionPermissions, denied: ServiceError) -> None:
    context = permissions.context
    try:
        trust = trust_document(role.trust_policy)
    except MalformedPolicy:
        raise denied from None
    actions = ["sts:AssumeRole"] + (["sts:SetSourceIdentity"] if caller.source_identity else [])
    named_directly = False
    for action in actions:
        decision = evaluate(trust, Request(action, context, principal_type="AWS", principal=caller.role_arn,
                                           principal_aliases=caller.principal_aliases))
        if decision.decision != "allowed":
            log.info("AssumeRole denied by trust caller=%s role=%s action=%s", caller.assumed_role_arn, role.arn, action)
            raise denied
        if action == "sts:AssumeRole":
            named_directly = any(
                s.principal is not None and ({caller.role_arn, caller.assumed_role_arn} & set(s.principal.by_type.get("AWS", ())))
                for s in decision.matched
            )
    # Trusting an account delegates to that account's policies: the caller's identity must allow it too.
    if not named_directly or role.account_id != caller.account_id:
        identity = authorize(permissions.policies, Request("sts:AssumeRole", context, resource=role.arn), session_arn=caller.assumed_role_arn)
        if identity.decision != "allowed":
            log.info("AssumeRole denied by identity policies caller=%s role=%s", caller.assumed_role_arn, role.arn)
            raise denied
