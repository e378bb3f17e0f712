"""STS `AssumeRole` from a role session: role chaining.

AWS rules reproduced: the target role's trust policy must allow `sts:AssumeRole` for the calling role (by role
ARN, session ARN, or its account, in which case the caller's identity policies must also allow the call, as they
must for any other account); a chained session lasts at most one hour; transitive session tags and the
SourceIdentity carry over (and a SourceIdentity needs `sts:SetSourceIdentity` in the trust policy); the trust
policy sees the ExternalId as `sts:ExternalId`; the calling role is the one the session was issued for (its role ID),
not a role created since under the same name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..iam import arns
from ..iam.permissions import ROLE_RESOURCE_TAG_PREFIXES, SessionPermissions, resource_tags, session_permissions
from ..policy import MalformedPolicy, NamedPolicy, Request, authorize, evaluate
from ..store import NotFound, Role
from .assume import check_session_policies, packed_policy_size, trust_document
from .credentials import SessionClaims, TemporaryCredentials, issue
from .parameters import arn_violations, check_session_policy_plaintext, duration_violations, session_policy_violations, string_violations
from .role_use import DEFAULT_REGION

log = logging.getLogger("samlfed.sts")
CHAINED_LIMIT = 3600


@dataclass(frozen=True)
class AssumeRoleRequest:
    role_arn: str
    session_name: str
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    external_id: str | None = None
    source_ip: str | None = None
    secure_transport: bool | None = None


_SESSION_NAME = (re.compile(r"[\w+=,.@-]*", re.ASCII), "[\\w+=,.@-]*")
_EXTERNAL_ID = (re.compile(r"[\w+=,.@:/-]*", re.ASCII), "[\\w+=,.@:\\/-]*")


def _check(request: AssumeRoleRequest) -> None:
    violations = arn_violations(request.role_arn, "roleArn")
    violations += string_violations(request.session_name, "roleSessionName", 2, 64, _SESSION_NAME)
    if request.external_id is not None:
        violations += string_violations(request.external_id, "externalId", 2, 1224, _EXTERNAL_ID)
    violations += session_policy_violations(request.policy, request.policy_arns) + duration_violations(request.duration_seconds)
    if violations:
        raise ValidationFailed(violations)
    check_session_policy_plaintext(request.policy, request.policy_arns)


@dataclass(frozen=True)
class ChainedRole:
    credentials: TemporaryCredentials
    packed_policy_size: int | None
    """Percentage of the packed-size budget the session policies and the carried session tags use (None: neither)."""


def assume_role(ctx: ServiceContext, caller: SessionClaims, request: AssumeRoleRequest, *, region: str = DEFAULT_REGION) -> ChainedRole:
    """`region`: the one the request was signed for, recorded as where the role was last used."""
    _check(request)
    now = ctx.clock()
    denied = ServiceError("AccessDenied", f"User: {caller.assumed_role_arn} is not authorized to perform: sts:AssumeRole on resource: {request.role_arn}", 403)
    name = arns.parse_role_arn(request.role_arn)
    if name is None:
        raise ServiceError("ValidationError", "Request ARN is invalid")
    try:
        role = ctx.store.get_role(name.account_id, name.name)  # with its tags, which policies see (not the cached copy)
    except NotFound:
        raise _denied(denied, "no_such_role", caller, request, "(no such role)") from None
    if role.arn != request.role_arn:  # names are unique case-insensitively; ARNs compare exactly
        raise _denied(denied, "no_such_role", caller, request, "(no such role)")
    if not _caller_role_current(ctx, caller):
        raise _denied(denied, "caller_role_gone", caller, request, "(the caller's role is gone)")
    transitive = _transitive_tags(caller)
    permissions = session_permissions(
        ctx, caller, source_ip=request.source_ip, secure_transport=request.secure_transport, region=region,
        extra=resource_tags(role.tags, ROLE_RESOURCE_TAG_PREFIXES),  # the target role is the resource
    )
    context = permissions.context  # the keys of a chained sts:AssumeRole (contract §5.3)
    context["sts:rolesessionname"] = [request.session_name]
    if request.external_id is not None:  # what a trust policy's sts:ExternalId condition compares
        context["sts:externalid"] = [request.external_id]
    if caller.source_identity:  # it carries over, so the request sets it again (and needs sts:SetSourceIdentity)
        context["sts:sourceidentity"] = [caller.source_identity]
    if transitive:
        context["sts:transitivetagkeys"] = list(transitive)
    _trust(role, caller, request, permissions, denied)
    duration = request.duration_seconds or CHAINED_LIMIT
    if duration > CHAINED_LIMIT:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    if duration > role.max_session_duration:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    check_session_policies(ctx, request.policy, request.policy_arns, role)
    packed_size = packed_policy_size(request.policy, request.policy_arns, transitive)
    claims = SessionClaims(
        account_id=role.account_id, role_arn=role.arn, role_id=role.role_id, session_name=request.session_name,
        issued_at=int(now.timestamp()), expires_at=int(now.timestamp()) + duration, source_identity=caller.source_identity,
        tags=transitive, transitive_tag_keys=list(transitive),
        session_policy=request.policy, policy_arns=list(request.policy_arns), chained=True, saml=dict(caller.saml),
    )
    credentials = issue(ctx.key_ring(), claims)
    ctx.role_uses.record(role, now, region)
    log.info(
        "AssumeRole allowed caller=%s role=%s", caller.assumed_role_arn, role.arn,
        extra={
            "action": "AssumeRole", "outcome": "allowed", "caller": caller.assumed_role_arn, "role": role.arn,
            "session_name": request.session_name, "source_ip": request.source_ip,
        },
    )
    return ChainedRole(credentials, packed_size)


def _transitive_tags(caller: SessionClaims) -> dict[str, str]:
    """The caller's session tags that TransitiveTagKeys names; tag keys are case-insensitive, so it may spell a key
    otherwise than the tag does."""
    named = {key.lower() for key in caller.transitive_tag_keys}
    return {key: value for key, value in caller.tags.items() if key.lower() in named}


def _caller_role_current(ctx: ServiceContext, caller: SessionClaims) -> bool:
    """Whether the caller's role still exists as the role its session was issued for. A role deleted and created
    again under the same name is another role (a new role ID, as IAM tells principals apart): trust policies that
    name its ARN must not admit the old role's sessions."""
    name = arns.parse_role_arn(caller.role_arn)
    try:
        return name is not None and ctx.reads.role(name.account_id, name.name).role_id == caller.role_id
    except NotFound:
        return False


def _denied(
    denied: ServiceError, by: str, caller: SessionClaims, request: AssumeRoleRequest, reason: str, *, action: str | None = None,
) -> ServiceError:
    """Logs why AssumeRole is refused (`by`: what refused it, `reason` its words in the text line; `action`: the
    policy action a trust policy refused) with the fields of --log-format json, and returns `denied` to raise."""
    leading = (reason, caller.assumed_role_arn, request.role_arn)
    fields = {
        "action": "AssumeRole", "outcome": "denied", "denied_by": by, "policy_action": action or "sts:AssumeRole", "caller": caller.assumed_role_arn,
        "role": request.role_arn, "session_name": request.session_name, "source_ip": request.source_ip, "error_code": "AccessDenied",
    }
    if action is None:
        log.info("AssumeRole denied %s caller=%s role=%s", *leading, extra=fields)
    else:
        log.info("AssumeRole denied %s caller=%s role=%s action=%s", *leading, action, extra=fields)
    return denied


def _trust(role: Role, caller: SessionClaims, chain: AssumeRoleRequest, permissions: SessionPermissions, denied: ServiceError) -> None:
    """`chain`'s target `role` is admitted: by its trust policy, the caller's own policies, and across accounts the
    caller's identity policies too."""
    context = permissions.context
    try:
        trust = trust_document(role.trust_policy)
    except MalformedPolicy:
        raise _denied(denied, "malformed_trust", caller, chain, "(malformed trust policy)") from None
    actions = ["sts:AssumeRole"] + (["sts:SetSourceIdentity"] if caller.source_identity else [])
    for action in actions:
        decision = evaluate(trust, Request(action, context, principal_type="AWS", principal=caller.role_arn,
                                           principal_aliases=caller.principal_aliases))
        if decision.decision != "allowed":
            raise _denied(denied, "trust", caller, chain, "by trust", action=action)
    # The trust policy is the target's resource policy, evaluated with the caller's own policies as AWS evaluates
    # any resource policy: an explicit deny anywhere wins; naming the account delegates to the caller's identity
    # policies; naming the role still leaves the caller's session policies and permissions boundary in force;
    # naming the session ARN is not limited by them.
    request = Request("sts:AssumeRole", context, resource=role.arn, principal_type="AWS", principal=caller.role_arn,
                      principal_aliases=caller.principal_aliases)
    policies = permissions.policies
    with_trust = replace(policies, resource=(*policies.resource, NamedPolicy("trust-policy", "resource", trust)))
    if authorize(with_trust, request, session_arn=caller.assumed_role_arn).decision != "allowed":
        raise _denied(denied, "caller_policies", caller, chain, "by the caller's policies")
    # Across accounts both sides must allow: the trust policy above, and the caller's identity policies.
    if role.account_id != caller.account_id and authorize(policies, request, session_arn=caller.assumed_role_arn).decision != "allowed":
        raise _denied(denied, "identity_policies", caller, chain, "by identity policies")
