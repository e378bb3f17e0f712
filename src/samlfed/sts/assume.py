"""`AssumeRoleWithSAML`: the checks of aws-saml-contract.md §3.4 in order, then temporary credentials.

Nothing about a role or a trust policy is revealed before the assertion's signature has been verified.
"""

from __future__ import annotations

import json
import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import rsa

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..iam import arns
from ..iam.constraints import check_identity_policy
from ..iam.managed_policies import policy_in_account
from ..iam.provider_options import provider_policy
from ..masterkey import MasterKey
from ..policy import MalformedPolicy, PolicyDocument, Request, evaluate, parse_policy
from ..policy.explain import explain, refusal
from ..saml import (
    MetadataError,
    ProviderPolicy,
    ProviderTrust,
    RolePair,
    SamlValidationError,
    VerifiedAssertion,
    VerifiedResponse,
    validate,
)
from ..saml.checks import INVALID_SESSION_TAGS, AwsError
from ..saml.errors import UnsignedDecryptionRefused
from ..saml.metadata import parse_metadata
from ..saml.model import load_rsa_private_key
from ..store import AlreadyRedeemed, NotFound, Redemption, Role, SamlProvider, provider_key_context
from .credentials import SessionClaims, TemporaryCredentials, issue
from .parameters import check_session_policy_plaintext, parameter_violations
from .role_use import DEFAULT_REGION
from .saml_context import persisted
from .trust_context import (
    ASSUME,
    SESSION_TAGS_CHECK,
    InvalidSessionTags,
    SessionTagsRejected,
    needed_actions,
    requested_tags,
    session_tags_check,
    trust_context,
)

log = logging.getLogger("samlfed.sts")

_NOT_AUTHORIZED_CODE = "AccessDenied"


class RoleRefused(ServiceError):
    """AWS's one answer for a missing role and a refusing trust policy alike. What refused it (`denied_by`: `trust`,
    `no_such_role`, `malformed_trust`; `reason`; for `trust` the action and the policy's decision) goes only to the
    log record of the caller (STS's `denied`, the console's `role_not_offered`). A new error per raise: a module-level
    one, raised again and again, would grow its traceback and hold every refused request's data."""

    def __init__(self, denied_by: str, reason: str, *, action: str = ASSUME, decision: str | None = None) -> None:
        super().__init__(_NOT_AUTHORIZED_CODE, "Not authorized to perform sts:AssumeRoleWithSAML", 403)
        self.denied_by = denied_by
        self.reason = reason
        self.policy_action = action
        self.decision = decision


PACKED_BUDGET = 2048
"""Bytes of compressed policy and tags that count as 100 % (ours; AWS's packing is not public)."""


# The request and its results are read-only by convention, not frozen (as the validator's results): a frozen
# dataclass's __init__ sets each field through object.__setattr__, and these are built on every sign-in.
@dataclass(slots=True)
class AssumeRoleWithSamlRequest:
    role_arn: str
    principal_arn: str
    saml_assertion: str
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    source_ip: str | None = None
    secure_transport: bool | None = None


@dataclass(slots=True)
class AssumedRole:
    credentials: TemporaryCredentials
    verified: VerifiedAssertion
    role: Role
    provider: SamlProvider
    packed_policy_size: int | None


def check_parameters(request: AssumeRoleWithSamlRequest) -> None:
    violations = parameter_violations(
        request.role_arn, request.principal_arn, request.saml_assertion, request.duration_seconds, request.policy, request.policy_arns
    )
    if violations:
        raise ValidationFailed(violations)
    check_session_policy_plaintext(request.policy, request.policy_arns)


def assume_role_with_saml(ctx: ServiceContext, request: AssumeRoleWithSamlRequest) -> AssumedRole:
    """Every refusal leaves one decision record in the log: `rejected` (a check of the response, its session tags),
    `denied` (the role or its trust policy), `replay_refused`, `throttled`, or `refused` for the rest."""
    now = ctx.clock()
    try:
        provider = _requested_provider(ctx, request)
    except ServiceError as error:
        _log_refusal(request, error)
        raise
    verified = _validate(ctx, request, provider, now)
    try:
        admitted = admit_role(ctx, verified, provider, request.role_arn, now, source_ip=request.source_ip, secure_transport=request.secure_transport)
    except SessionTagsRefused as refusal:
        _log_rejection(provider.arn, SESSION_TAGS_CHECK, refusal.reason, refusal.code, request)
        raise
    except RoleRefused as refusal:
        _log_denial(request, verified, refusal)
        raise
    role, tags = admitted.role, admitted.tags
    try:
        if request.duration_seconds is not None and request.duration_seconds > role.max_session_duration:
            raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        check_session_policies(ctx, request.policy, request.policy_arns, role)
        packed_size = packed_policy_size(request.policy, request.policy_arns, tags)
    except ServiceError as error:
        _log_refusal(request, error)
        raise
    lifetime = _lifetime(request, verified, now)
    # Last: a request refused above must not use up a one-time assertion (the client retries with it). The key ring
    # too is had first: its first read, or the first ring's making, may fail with the retryable 503.
    ctx.key_ring()
    redeem(ctx, verified, role, now)
    credentials = mint(ctx, admitted, lifetime, now, session_policy=request.policy, policy_arns=request.policy_arns)
    response = verified.response
    log.info(
        "AssumeRoleWithSAML allowed issuer=%s assertion=%s key=%s subject=%r role=%s",  # %r: a NameID may hold a line break
        response.issuer, response.assertion_id, response.key_thumbprint[:16], response.name_id, role.arn,
        extra={  # the fields of --log-format json
            "action": "AssumeRoleWithSAML", "outcome": "allowed", "issuer": response.issuer, "assertion_id": response.assertion_id,
            "key_thumbprint": response.key_thumbprint, "subject": response.name_id, "role": role.arn,
            "session_name": verified.claims.role_session_name, "source_ip": request.source_ip,
            **sign_in_instants(response),
        },
    )
    return AssumedRole(credentials, verified, role, provider, packed_size)


def _requested_provider(ctx: ServiceContext, request: AssumeRoleWithSamlRequest) -> SamlProvider:
    """The provider the request names, once its parameters hold (AWS checks them before anything else)."""
    check_parameters(request)
    role_name = arns.parse_role_arn(request.role_arn)
    if role_name is None:
        raise ServiceError("ValidationError", "Request ARN is invalid")
    provider_name = arns.parse_provider_arn(request.principal_arn)
    if provider_name is None:
        raise ServiceError("ValidationError", "Principal ARN is invalid")
    if provider_name.account_id != role_name.account_id:
        raise ServiceError("ValidationError", "Principal exists outside the account of the Role being assumed.")
    try:
        return ctx.reads.provider(request.principal_arn)
    except NotFound:
        raise ServiceError("InvalidIdentityToken", "Specified provider doesn't exist") from None


def _log_refusal(request: AssumeRoleWithSamlRequest, error: ServiceError) -> None:
    """A refusal no other record covers (the request's parameters, a provider that does not exist, the duration, the
    session policies, the packed size): the log says what the caller was told. %r: the ARNs are the caller's text."""
    log.info(
        "AssumeRoleWithSAML refused role=%r provider=%r error=%s reason=%r", request.role_arn, request.principal_arn, error.code, error.message,
        extra={
            "action": "AssumeRoleWithSAML", "outcome": "refused", "role": request.role_arn, "provider": request.principal_arn,
            "source_ip": request.source_ip, "error_code": error.code, "reason": error.message,
        },
    )


def sign_in_instants(response: VerifiedResponse) -> dict[str, datetime | None]:
    """When the assertion was issued and the user authenticated, for the decision log (validation bar step 13):
    what tells a replayed assertion from a fresh sign-in afterwards. Instants, which the JSON log writes as AWS
    does; the text line leaves them out, and formats nothing."""
    return {"issue_instant": response.issue_instant, "authn_instant": response.authn_instant}


class SessionTagsRefused(ServiceError):
    """STS's answer to session tags that break AWS's rules. The caller gets AWS's message only; `reason` says which
    rule, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVALID_SESSION_TAGS.code, INVALID_SESSION_TAGS.message, INVALID_SESSION_TAGS.status)
        self.reason = reason


@dataclass(slots=True)
class AdmittedRole:
    """A role the verified assertion may assume: it exists and its trust policy admits this user."""

    role: Role
    provider: SamlProvider
    verified: VerifiedAssertion
    tags: dict[str, str]
    context: dict[str, list[str]]


def admit_role(
    ctx: ServiceContext, verified: VerifiedAssertion, provider: SamlProvider, role_arn: str, now: datetime, *,
    source_ip: str | None = None, secure_transport: bool | None = None,
) -> AdmittedRole:
    """Steps 22-23 of the contract: the role exists (same answer if not) and its trust policy allows every needed action.

    The mapped session tags (step 20) are checked first, whatever the role: their error must not tell an existing
    role from a missing one. `source_ip` and `secure_transport` are the request's aws:SourceIp and aws:SecureTransport,
    which AWS puts in every request context, so that a trust policy can admit federation from known networks only."""
    try:
        tags = requested_tags(verified, provider.attribute_mapping)
    except InvalidSessionTags as exc:
        raise SessionTagsRefused(str(exc)) from None
    name = arns.parse_role_arn(role_arn)
    role = None
    if name is not None and name.account_id == provider.account_id:  # a provider speaks for its own account's roles only
        try:
            role = ctx.reads.role(name.account_id, name.name)
        except NotFound:
            pass
    if role is None or role.arn != role_arn:  # role names are unique case-insensitively; ARNs compare exactly
        raise RoleRefused("no_such_role", "no role of this ARN in the provider's account")
    context = trust_context(
        verified, account_id=provider.account_id, provider_name=provider.name, tags=tags, now=now,
        source_ip=source_ip, secure_transport=secure_transport,
    )
    _authorize(role, provider.arn, context, tags=bool(tags), source_identity=verified.claims.source_identity is not None)
    return AdmittedRole(role, provider, verified, tags, context)


def mint(
    ctx: ServiceContext, admitted: AdmittedRole, lifetime: int, now: datetime, *,
    session_policy: str | None = None, policy_arns: tuple[str, ...] = (),
) -> TemporaryCredentials:
    """Temporary credentials for an admitted role, valid `lifetime` seconds from `now`; records the role's use
    (sign-ins are unsigned, so in the default region)."""
    credentials = seal_credentials(ctx, admitted, lifetime, now, session_policy=session_policy, policy_arns=policy_arns)
    record_role_use(ctx, admitted, now)
    return credentials


def seal_credentials(
    ctx: ServiceContext, admitted: AdmittedRole, lifetime: int, now: datetime, *,
    session_policy: str | None = None, policy_arns: tuple[str, ...] = (),
) -> TemporaryCredentials:
    """`mint` without recording the role's use: for a sign-in that may yet be refused (the console's, until its
    session is stored)."""
    claims, role = admitted.verified.claims, admitted.role
    issued_at = int(now.timestamp())
    session = SessionClaims(
        account_id=role.account_id, role_arn=role.arn, role_id=role.role_id, session_name=claims.role_session_name,
        issued_at=issued_at, expires_at=issued_at + lifetime, source_identity=claims.source_identity,
        tags=admitted.tags, transitive_tag_keys=list(claims.transitive_tag_keys),
        session_policy=session_policy, policy_arns=list(policy_arns), saml=persisted(admitted.context),
    )
    return issue(ctx.key_ring(), session)


def record_role_use(ctx: ServiceContext, admitted: AdmittedRole, now: datetime) -> None:
    """RoleLastUsed of a sign-in's role (sign-ins are unsigned, so in the default region)."""
    ctx.role_uses.record(admitted.role, now, DEFAULT_REGION)


@lru_cache(maxsize=256)
def _provider_trust(document: str, arn: str, uuid: str, policy: ProviderPolicy) -> ProviderTrust:
    """Keys are parsed once per metadata document, not once per request (a provider update changes the key)."""
    return parse_metadata(document).trust(policy=policy, provider_arn=arn, provider_uuid=uuid)


_DECRYPTING: dict[tuple[object, ...], ProviderTrust] = {}
"""A provider's trust with its private keys opened, by what makes the trust plus its key IDs and mode: unsealed once
per set of key IDs, not once per request (a KeyId is a digest of its key, so the same IDs are the same keys)."""
_MAX_DECRYPTING = 256


def trust_likeness(provider: SamlProvider) -> tuple[object, ...]:
    """What a provider's verdict on a response depends on besides its ARN and UUID (which only the ACS URL checks
    read, `ValidationSettings.acs_url_accepted`): providers alike in this accept and refuse the same responses for
    the same reasons, but for those checks. One IdP registered in many accounts gives many alike providers."""
    return (provider.metadata_document, provider_policy(provider), tuple(k.key_id for k in provider.private_keys), provider.assertion_encryption_mode)


def provider_trust(provider: SamlProvider, master: MasterKey) -> ProviderTrust:
    """What the provider's responses are validated against: its metadata's keys and entity ID, its opt-ins, the
    private keys that decrypt its encrypted assertions (opened with `master`) and whether plaintext ones are refused
    (mode Required).

    A removed key is gone from the provider as soon as the copy sign-ins read is (store/read_cache.py: at once on
    this node, within `identity_cache_seconds` on others), and the trust is looked up by the key IDs it holds."""
    made_of = (provider.metadata_document, provider.arn, provider.uuid, provider_policy(provider))
    trust = _provider_trust(*made_of)
    required = provider.assertion_encryption_mode == "Required"
    if not provider.private_keys and not required:  # the usual provider: nothing to open, nothing more to look up
        return trust
    key = (*made_of, tuple(k.key_id for k in provider.private_keys), required)
    found = _DECRYPTING.get(key)
    if found is None:
        if len(_DECRYPTING) >= _MAX_DECRYPTING:
            _DECRYPTING.clear()
        found = _DECRYPTING[key] = replace(trust, decryption_keys=open_private_keys(provider, master), encryption_required=required)
    return found


def open_private_keys(provider: SamlProvider, master: MasterKey) -> tuple[rsa.RSAPrivateKey, ...]:
    """The provider's uploaded private keys, unsealed, in the order of `provider.private_keys`."""
    keys = []
    for stored in provider.private_keys:
        pem = master.unseal(stored.sealed_pem, context=provider_key_context(provider.uuid, stored.key_id))
        keys.append(load_rsa_private_key(pem))
    return tuple(keys)


def guarded_trust(ctx: ServiceContext, provider: SamlProvider, source_ip: str | None, saml_response: str) -> ProviderTrust:
    """The provider's trust as a sign-in validates against it (`DecryptionGuard.guarded`). Metadata stored under an
    older, laxer parser that no longer parses trusts no key: every response is refused by `signature.verify`, with
    the reason for the log (UpdateSAMLProvider with corrected metadata mends it)."""
    try:
        trust = provider_trust(provider, ctx.master)
    except MetadataError as exc:
        raise SamlValidationError("signature.verify", f"the registered metadata of {provider.arn} no longer parses: {exc.reason}",
                                  hint="Update the provider with the IdP's current metadata (UpdateSAMLProvider).") from None
    return ctx.decryption_guard.guarded(trust, source_ip, saml_response)


def _validate(ctx: ServiceContext, request: AssumeRoleWithSamlRequest, provider: SamlProvider, now: datetime) -> VerifiedAssertion:
    try:
        trust = guarded_trust(ctx, provider, request.source_ip, request.saml_assertion)
        return validate(
            request.saml_assertion, trust, now=now, settings=ctx.settings, requested_role=RolePair(request.role_arn, request.principal_arn),
            session_tags_check=session_tags_check(provider.attribute_mapping),
        )
    except UnsignedDecryptionRefused as error:
        _log_throttled(provider, request)
        raise ServiceError(error.aws.code, error.aws.message, error.aws.status) from None
    except SamlValidationError as error:
        answer_by = ctx.decryption_guard.answer_by(error, provider.arn, request.source_ip)
        check_id = SESSION_TAGS_CHECK if isinstance(error, SessionTagsRejected) else error.check_id
        _log_rejection(provider.arn, check_id, error.message, error.aws.code, request)
        refusal = ServiceError(error.aws.code, error.aws.message, error.aws.status)
        refusal.answer_not_before = answer_by
        raise refusal from None


def _log_rejection(provider_arn: str, check_id: str, reason: str, error_code: str, request: AssumeRoleWithSamlRequest) -> None:
    """The caller gets AWS's message; the precise reason goes to the log (it may name document values)."""
    log.info(
        "AssumeRoleWithSAML rejected provider=%s check=%s reason=%r", provider_arn, check_id, reason,
        extra={
            "action": "AssumeRoleWithSAML", "outcome": "rejected", "provider": provider_arn, "check": check_id,
            "reason": reason, "role": request.role_arn, "source_ip": request.source_ip, "error_code": error_code,
        },
    )


def _log_throttled(provider: SamlProvider, request: AssumeRoleWithSamlRequest) -> None:
    log.warning(
        "AssumeRoleWithSAML throttled provider=%s: too many rejected encrypted responses for this provider or from %s",
        provider.arn, request.source_ip,
        extra={
            "action": "AssumeRoleWithSAML", "outcome": "throttled", "provider": provider.arn, "role": request.role_arn,
            "source_ip": request.source_ip, "error_code": "Throttling",
        },
    )


@lru_cache(maxsize=1024)
def trust_document(document: str) -> PolicyDocument:
    """Parsed once per document text (documents are immutable values; an update is a new text)."""
    return parse_policy(document, principal_required=True)


def _authorize(role: Role, provider_arn: str, context: dict[str, list[str]], *, tags: bool, source_identity: bool) -> None:
    """Every action the request needs must be allowed by the trust policy (AWS: TagSession, SetSourceIdentity)."""
    try:
        policy = trust_document(role.trust_policy)
    except MalformedPolicy:
        raise RoleRefused("malformed_trust", "the stored trust policy is not a valid policy") from None
    for action in needed_actions(tags=tags, source_identity=source_identity):
        request = Request(action, context, principal_type="Federated", principal=provider_arn)
        decision = evaluate(policy, request).decision
        if decision != "allowed":
            why = refusal(explain(policy, request))  # a refusal is rare: explaining it costs nothing on the way in
            raise RoleRefused("trust", why.describe() if why is not None else decision, action=action, decision=decision)


def _log_denial(request: AssumeRoleWithSamlRequest, verified: VerifiedAssertion, refused: RoleRefused) -> None:
    """The `denied` record: by the trust policy (`decision` its verdict on `policy_action`), or before it."""
    response = verified.response
    log.info(
        "AssumeRoleWithSAML denied role=%s action=%s denied_by=%s decision=%s reason=%r",
        request.role_arn, refused.policy_action, refused.denied_by, refused.decision, refused.reason,
        extra={
            "action": "AssumeRoleWithSAML", "outcome": "denied", "role": request.role_arn, "policy_action": refused.policy_action,
            "denied_by": refused.denied_by, "decision": refused.decision, "reason": refused.reason, "provider": request.principal_arn,
            "issuer": response.issuer, "subject": response.name_id, "session_name": verified.claims.role_session_name,
            "source_ip": request.source_ip, "error_code": refused.code,
        },
    )


def replay_records(ctx: ServiceContext, verified: VerifiedAssertion, role: Role) -> list[Redemption]:
    """The uses a sign-in records: a OneTimeUse assertion is usable once at all; with strict replay, once per role
    (multi-role clients work). Each is kept until redeem_by, the last moment the validator accepts the assertion:
    any earlier, and it could be redeemed again once its record was swept."""
    response = verified.response
    scopes = ([""] if response.one_time_use else []) + ([role.arn] if ctx.strict_replay else [])
    return [Redemption(response.issuer, response.assertion_id, scope, response.redeem_by) for scope in scopes]


def redeem(ctx: ServiceContext, verified: VerifiedAssertion, role: Role, now: datetime) -> None:
    """Record the sign-in's uses all at once or not at all: a failure between two of them must not leave the
    assertion spent for one and usable for the other (the client's retry would be refused as a replay)."""
    try:
        ctx.store.redeem_all(replay_records(ctx, verified, role), now=now)
    except AlreadyRedeemed:
        raise replay_refused(verified, role) from None


def replay_refused(verified: VerifiedAssertion, role: Role) -> ServiceError:
    """The `replay_refused` record, and STS's answer to a replayed assertion."""
    response = verified.response
    log.info(
        "AssumeRoleWithSAML replay refused issuer=%s assertion=%s role=%s", response.issuer, response.assertion_id, role.arn,
        extra={
            "action": "AssumeRoleWithSAML", "outcome": "replay_refused", "issuer": response.issuer,
            "assertion_id": response.assertion_id, "subject": response.name_id, "role": role.arn, "error_code": "InvalidIdentityToken",
        },
    )
    return ServiceError("InvalidIdentityToken", "The SAML assertion has already been used")


def check_session_policies(ctx: ServiceContext, policy_text: str | None, policy_arns: tuple[str, ...], role: Role) -> None:
    """An inline session policy must parse; managed session policies must exist in the role's account."""
    if policy_text is not None:
        check_identity_policy(policy_text)
    for arn in policy_arns:
        if policy_in_account(ctx, arn, role.account_id) is None:
            raise ServiceError("MalformedPolicyDocument", f"Policy {arn} does not exist or is not attachable.")


def _lifetime(request: AssumeRoleWithSamlRequest, verified: VerifiedAssertion, now: datetime) -> int:
    """Contract §3.7, in whole seconds: at least one, as the validator refuses an IdP session that ends within the
    second (credentials that expire as they are issued, or, rounded up, outlive the IdP session)."""
    lifetime = request.duration_seconds or 3600
    if verified.claims.session_duration is not None:
        lifetime = min(lifetime, verified.claims.session_duration)
    ends = verified.response.session_not_on_or_after
    if ends is not None:
        lifetime = min(lifetime, int((ends - now).total_seconds()))
    return lifetime


def _deflated_size(data: bytes) -> int:
    """Raw DEFLATE at level 9 with a 4 KB window and small tables: the input is a few KB at most, and zlib's
    default state (over 256 KB, cleared on every call) cost 60 µs, more than everything else in the estimate."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -12, 4)
    return len(deflater.compress(data) + deflater.flush())


def packed_policy_size(policy: str | None, policy_arns: Sequence[str], tags: Mapping[str, str]) -> int | None:
    """Percentage of the packed-size budget used by session policies and tags (reported when any is passed);
    PackedPolicyTooLarge above 100."""
    if policy is None and not policy_arns and not tags:
        return None
    size = packed_percent(policy, tuple(policy_arns), tuple(tags.items()))
    if size > 100:
        too_large = packed_too_large(size, tags_only=policy is None and not policy_arns)
        raise ServiceError(too_large.code, too_large.message, too_large.status)
    return size


def packed_too_large(percent: int, *, tags_only: bool) -> AwsError:
    """AWS's words: for session tags alone, a CloudTrail errorMessage quoted in aws/containers-roadmap#2413; with a
    session policy (tags or not), "Packed policy consumes N% of allotted space" as several users quote it (an inline
    session policy with three session tags among them), with the final period of the recorded tags message."""
    if tags_only:
        return AwsError("PackedPolicyTooLarge", 400, f"Packed size of session tags consumes {percent}% of allotted space.")
    return AwsError("PackedPolicyTooLarge", 400, f"Packed policy consumes {percent}% of allotted space.")


@lru_cache(maxsize=512)
def packed_percent(policy: str | None, policy_arns: tuple[str, ...], tags: tuple[tuple[str, str], ...]) -> int:
    """Kept per input: a user's tags and session policies repeat from one sign-in to the next, and compressing
    them again cost a fiftieth of a request. (Only callers with a verified assertion and an existing role get
    here, and an entry holds at most a 2,048-character policy, 10 ARNs and 50 tags.)"""
    packed = json.dumps({"p": policy, "a": policy_arns, "t": dict(tags)}, sort_keys=True, separators=(",", ":"))
    return math.ceil(_deflated_size(packed.encode()) * 100 / PACKED_BUDGET)
