"""STS `AssumeRole` from a role session: role chaining.

AWS rules reproduced: the target role's trust policy must allow `sts:AssumeRole` for the calling role (by role
ARN, session ARN, or its account, in which case the caller's identity policies must also allow the call, as they
must for any other account); a chained session lasts at most one hour; transitive session tags and the
SourceIdentity carry over (and a SourceIdentity needs `sts:SetSourceIdentity` in the trust policy); the trust
policy sees the ExternalId as `sts:ExternalId`; the calling role is the one the session was issued for (its role ID),
not a role created since under the same name.

Session tags need `sts:TagSession` in the trust policy: new ones (`Tags`, `TransitiveTagKeys`), which it sees as
`aws:RequestTag/…`, `aws:TagKeys` and `sts:TransitiveTagKeys`, and the caller's transitive ones the new session
carries over; new tags may not name a key the caller's transitive tags already have. A `SourceIdentity` is set once: a chain may repeat it, not change it (IAM User Guide, "Passing session
tags in AWS STS" and "Monitor and control actions taken with assumed roles").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..iam import arns
from ..iam.permissions import ROLE_RESOURCE_TAG_PREFIXES, SessionPermissions, resource_tags, session_permissions
from ..iam.tags import tag_key_list_violations, tag_violations
from ..policy import MalformedPolicy, NamedPolicy, Request, authorize, evaluate
from ..store import NotFound, Role, Tag
from .assume import check_session_policies, packed_policy_size, trust_document
from .credentials import SessionClaims, TemporaryCredentials, issue
from .parameters import arn_violations, check_session_policy_plaintext, duration_violations, session_policy_violations, string_violations
from .role_use import DEFAULT_REGION
from .trust_context import SET_SOURCE_IDENTITY, TAG_SESSION

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
    tags: tuple[Tag, ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    serial_number: str | None = None
    token_code: str | None = None


MAX_SOURCE_IDENTITY = 256
"""AssumeRole's SourceIdentity: sourceIdentityType in AWS's STS model (botocore 1.44) allows 2 to 256 characters;
an earlier model allowed 64, which is still the SAML attribute's limit in AWS's message for it."""
_SESSION_NAME = (re.compile(r"[\w+=,.@-]*", re.ASCII), "[\\w+=,.@-]*")
_EXTERNAL_ID = (re.compile(r"[\w+=,.@:/-]*", re.ASCII), "[\\w+=,.@:\\/-]*")
_SERIAL_NUMBER = (re.compile(r"[\w+=/:,.@-]*", re.ASCII), "[\\w+=/:,.@-]*")
_TOKEN_CODE = (re.compile(r"[0-9]*"), "[\\d]*")
_ANY_ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+", re.DOTALL)
"""An ARN of any resource: six fields, the partition, service and resource not empty. AWS tells a RoleArn that is
not even that "{RoleArn} is invalid" (LocalStack's recordings of AssumeRole against AWS, test_sts_invalid_parameters:
no `arn:` prefix, an empty partition, service or resource, five fields), and an ARN of something else than a role
"Request ARN is invalid"."""


def parameter_violations(request: AssumeRoleRequest, *, role_arn: str | None, session_name: str | None) -> list[str]:
    """Every model constraint the request breaks (AWS reports them all in one ValidationError); `role_arn` and
    `session_name` stand for the request's own, None when it lacks them (a missing one is reported with the rest)."""
    violations = arn_violations(role_arn, "roleArn")
    violations += string_violations(session_name, "roleSessionName", 2, 64, _SESSION_NAME)
    if request.external_id is not None:
        violations += string_violations(request.external_id, "externalId", 2, 1224, _EXTERNAL_ID)
    if request.serial_number is not None:
        violations += string_violations(request.serial_number, "serialNumber", 9, 256, _SERIAL_NUMBER)
    if request.token_code is not None:
        violations += string_violations(request.token_code, "tokenCode", 6, 6, _TOKEN_CODE)
    violations += session_policy_violations(request.policy, request.policy_arns) + duration_violations(request.duration_seconds)
    violations += tag_violations(request.tags, echo=True) + tag_key_list_violations(request.transitive_tag_keys, "transitiveTagKeys", echo=True)
    if request.source_identity is not None:  # the model's sourceIdentityType; its pattern has no colon, so no "aws:" either
        violations += string_violations(request.source_identity, "sourceIdentity", 2, MAX_SOURCE_IDENTITY, _SESSION_NAME)
    return violations


def _check(request: AssumeRoleRequest) -> None:
    violations = parameter_violations(request, role_arn=request.role_arn, session_name=request.session_name)
    if violations:
        raise ValidationFailed(violations)
    check_session_policy_plaintext(request.policy, request.policy_arns)


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message, 400)


def _check_session_state(caller: SessionClaims, request: AssumeRoleRequest) -> None:
    """What the new session may set given the caller's: AWS's codes and messages (observed; the guide says only
    that the call fails), in the order AWS reports them (a changed SourceIdentity before a tag conflict)."""
    if caller.source_identity and request.source_identity not in (None, caller.source_identity):
        # Repeating the same value changes nothing: AWS documents only that the value cannot be changed (ours).
        raise ServiceError("ValidationError", "The source identity is already set for this assume role session")
    keys = [tag.key.lower() for tag in request.tags]
    if any(key.startswith("aws:") for key in keys):  # reserved (IAM tag naming rules); AWS's message is not documented: ours
        raise _invalid("Session tag keys can't start with 'aws:': the prefix is reserved for AWS.")
    if len(set(keys)) < len(keys):
        raise _invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    if set(keys) & {key.lower() for key in _transitive_tags(caller)}:
        raise _invalid("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
    if any(key.lower() not in keys for key in request.transitive_tag_keys):
        raise _invalid("The specified transitive tag key must be included in the requested tags.")


def _check_mfa(caller: SessionClaims, request: AssumeRoleRequest) -> None:
    """SerialNumber and TokenCode name an MFA device of the caller and the code it shows, for AWS to check. samlfed
    has no MFA devices (MFA is the IdP's, at sign-in), so it can verify no code: refused whatever the trust policy,
    never ignored, as the session would otherwise claim an MFA never checked, or quietly lack the one asked for."""
    if request.serial_number is None and request.token_code is None:
        return
    if request.serial_number is None or request.token_code is None:  # AWS's words (observed; the reference has none)
        message, reason = "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.", "(MFA: half a pair)"
    else:
        message = "MultiFactorAuthentication failed, unable to validate MFA code: samlfed has no MFA devices (MFA is your identity provider's, at sign-in)."
        reason = "(MFA: no device to verify the code)"
    raise _denied(ServiceError("AccessDenied", message, 403), "mfa", caller, request, reason)


@dataclass(frozen=True)
class ChainedRole:
    credentials: TemporaryCredentials
    packed_policy_size: int | None
    """Percentage of the packed-size budget the session policies and the session tags use (None: neither)."""


@dataclass(frozen=True)
class _NewSession:
    """What the chained session will carry besides its role: the caller's transitive tags plus the requested tags,
    the keys that stay transitive (the caller's plus TransitiveTagKeys, spelled as the tags spell them), and the
    SourceIdentity (the caller's, or the one the request sets)."""

    tags: dict[str, str]
    transitive_keys: list[str]
    source_identity: str | None


def _new_session(caller: SessionClaims, request: AssumeRoleRequest) -> _NewSession:
    inherited = _transitive_tags(caller)
    requested = {tag.key: tag.value for tag in request.tags}
    named = {key.lower() for key in request.transitive_tag_keys}
    transitive = [*inherited, *(key for key in requested if key.lower() in named)]
    return _NewSession({**inherited, **requested}, transitive, caller.source_identity or request.source_identity)


def assume_role(ctx: ServiceContext, caller: SessionClaims, request: AssumeRoleRequest, *, region: str = DEFAULT_REGION) -> ChainedRole:
    """`region`: the one the request was signed for, recorded as where the role was last used."""
    _check(request)
    _check_mfa(caller, request)
    _check_session_state(caller, request)
    now = ctx.clock()
    denied = _not_authorized(caller, request, "sts:AssumeRole")
    name = arns.parse_role_arn(request.role_arn)
    if name is None:
        raise ServiceError("ValidationError", "Request ARN is invalid" if _ANY_ARN.fullmatch(request.role_arn) else f"{request.role_arn} is invalid")
    try:
        role = ctx.store.get_role(name.account_id, name.name)  # with its tags, which policies see (not the cached copy)
    except NotFound:
        raise _denied(denied, "no_such_role", caller, request, "(no such role)") from None
    if role.arn != request.role_arn:  # names are unique case-insensitively; ARNs compare exactly
        raise _denied(denied, "no_such_role", caller, request, "(no such role)")
    if not _caller_role_current(ctx, caller):
        raise _denied(denied, "caller_role_gone", caller, request, "(the caller's role is gone)")
    session = _new_session(caller, request)
    permissions = session_permissions(
        ctx, caller, source_ip=request.source_ip, secure_transport=request.secure_transport, region=region,
        extra=resource_tags(role.tags, ROLE_RESOURCE_TAG_PREFIXES),  # the target role is the resource
    )
    _add_request_keys(permissions.context, request, session)
    _trust(role, caller, request, permissions, denied, session)
    duration = request.duration_seconds or CHAINED_LIMIT
    # The role's own maximum first, then the chaining hour, as AWS answers (a live-AWS probe, recorded in Argmin's
    # "Stateless STS And In-Memory IAM Foundations" design notes: 3601 s to a chained 3600 s role names MaxSessionDuration).
    if duration > role.max_session_duration:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    if duration > CHAINED_LIMIT:
        raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    check_session_policies(ctx, request.policy, request.policy_arns, role)
    packed_size = packed_policy_size(request.policy, request.policy_arns, session.tags)  # new and carried tags alike
    claims = SessionClaims(
        account_id=role.account_id, role_arn=role.arn, role_id=role.role_id, session_name=request.session_name,
        issued_at=int(now.timestamp()), expires_at=int(now.timestamp()) + duration, source_identity=session.source_identity,
        tags=session.tags, transitive_tag_keys=session.transitive_keys,
        session_policy=request.policy, policy_arns=list(request.policy_arns), chained=True, saml=dict(caller.saml),
    )
    credentials = issue(ctx.key_ring(), claims)
    ctx.role_uses.record(role, now, region)
    _log_allowed(caller, request, role, session)
    return ChainedRole(credentials, packed_size)


def _add_request_keys(context: dict[str, list[str]], request: AssumeRoleRequest, session: _NewSession) -> None:
    """The keys of a chained sts:AssumeRole (contract §5.3) and, with tags, of sts:TagSession: the trust policy
    compares sts:TransitiveTagKeys (every key the new session keeps transitive), aws:RequestTag/… and aws:TagKeys
    (the requested tags), sts:SourceIdentity (carried over or set: either way the request sets it)."""
    context["sts:rolesessionname"] = [request.session_name]
    if request.external_id is not None:  # what a trust policy's sts:ExternalId condition compares
        context["sts:externalid"] = [request.external_id]
    if session.source_identity:
        context["sts:sourceidentity"] = [session.source_identity]
    if session.transitive_keys:
        context["sts:transitivetagkeys"] = list(session.transitive_keys)
    if request.tags:  # as AssumeRoleWithSAML's trust_context puts them (condition key names are case-insensitive)
        context.update({f"aws:requesttag/{tag.key}".lower(): [tag.value] for tag in request.tags})
        context["aws:tagkeys"] = [tag.key for tag in request.tags]


def _log_allowed(caller: SessionClaims, request: AssumeRoleRequest, role: Role, session: _NewSession) -> None:
    """The decision line: the session's tag keys (never their values) and its SourceIdentity, for the audit trail."""
    log.info(
        "AssumeRole allowed caller=%s role=%s source_identity=%s tag_keys=%s", caller.assumed_role_arn, role.arn,
        session.source_identity, sorted(session.tags),  # a list's repr escapes any line separator a tag key may hold
        extra={
            "action": "AssumeRole", "outcome": "allowed", "caller": caller.assumed_role_arn, "role": role.arn,
            "session_name": request.session_name, "source_ip": request.source_ip, "source_identity": session.source_identity,
            "tag_keys": sorted(session.tags), "transitive_tag_keys": list(session.transitive_keys),
        },
    )


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


def _not_authorized(caller: SessionClaims, request: AssumeRoleRequest, action: str) -> ServiceError:
    """AWS's AccessDenied, naming the action that was refused (sts:TagSession, sts:SetSourceIdentity or sts:AssumeRole)."""
    return ServiceError("AccessDenied", f"User: {caller.assumed_role_arn} is not authorized to perform: {action} on resource: {request.role_arn}", 403)


def _trust(
    role: Role, caller: SessionClaims, chain: AssumeRoleRequest, permissions: SessionPermissions, denied: ServiceError, session: _NewSession,
) -> None:
    """`chain`'s target `role` is admitted: by its trust policy, the caller's own policies, and across accounts the
    caller's identity policies too."""
    context = permissions.context
    # A role named by ARN is trusted as the role that had the ARN when the policy was written (IAM keeps its unique
    # ID). A role deleted and created again since goes by its own new ID here, which no entry of the policy names.
    principal = caller.role_arn if dict(role.trust_principal_ids or ()).get(caller.role_arn, caller.role_id) == caller.role_id else caller.role_id
    try:
        trust = trust_document(role.trust_policy)
    except MalformedPolicy:
        raise _denied(denied, "malformed_trust", caller, chain, "(malformed trust policy)") from None
    # Session tags, passed now or carried over as transitive ones, need sts:TagSession (AWS refuses a chain from a
    # session with transitive tags, such as an EKS Pod Identity one, into a role without it, though the call passes no
    # Tags); a SourceIdentity, set now or carried over, needs sts:SetSourceIdentity.
    actions = ["sts:AssumeRole"] + ([TAG_SESSION] if session.tags else []) + ([SET_SOURCE_IDENTITY] if session.source_identity else [])
    for action in actions:
        decision = evaluate(trust, Request(action, context, principal_type="AWS", principal=principal,
                                           principal_aliases=caller.principal_aliases))
        if decision.decision != "allowed":
            raise _denied(_not_authorized(caller, chain, action), "trust", caller, chain, "by trust", action=action)
    # The trust policy is the target's resource policy, evaluated with the caller's own policies as AWS evaluates
    # any resource policy: an explicit deny anywhere wins; naming the account delegates to the caller's identity
    # policies; naming the role still leaves the caller's session policies and permissions boundary in force;
    # naming the session ARN is not limited by them. So for each action the chain needs: sts:TagSession and
    # sts:SetSourceIdentity, too, must be allowed by the caller's side (IAM User Guide: the identity policy of the
    # principal that passes tags or sets a source identity must allow it, which the trust policy does within an
    # account when it names the principal).
    policies = permissions.policies
    with_trust = replace(policies, resource=(*policies.resource, NamedPolicy("trust-policy", "resource", trust)))
    for action in actions:
        named = None if action == "sts:AssumeRole" else action  # AssumeRole's refusals keep their log line
        refusal = denied if named is None else _not_authorized(caller, chain, action)
        request = Request(action, context, resource=role.arn, principal_type="AWS", principal=principal,
                          principal_aliases=caller.principal_aliases)
        if authorize(with_trust, request, session_arn=caller.assumed_role_arn).decision != "allowed":
            raise _denied(refusal, "caller_policies", caller, chain, "by the caller's policies", action=named)
        # Across accounts both sides must allow: the trust policy above, and the caller's identity policies.
        if role.account_id != caller.account_id and authorize(policies, request, session_arn=caller.assumed_role_arn).decision != "allowed":
            raise _denied(refusal, "identity_policies", caller, chain, "by identity policies", action=named)
