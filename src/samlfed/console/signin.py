"""Console sign-in from a SAML response (contract §7.1): which roles it offers, and signing in to one of them.

Stateless: the chooser re-posts the response and every step re-validates it completely. The Role attribute
of the *unverified* document only picks which registered providers to try; every role offered comes from a
response that one of those providers' keys verified, and every role must exist and trust the user.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from ..context import ServiceContext
from ..errors import ServiceError
from ..iam import arns
from ..iam.ids import PROVIDER_UUID
from ..saml import MAX_INPUT_CHARS, SamlValidationError, VerifiedAssertion, validate
from ..saml import constants as c
from ..saml.aws_claims import named_role_pairs
from ..saml.checks import CHECKS
from ..saml.errors import UnsignedDecryptionRefused
from ..saml.xmlparse import XmlRejected, parse_xml
from ..store import AlreadyRedeemed, NotFound, Redemption, SamlProvider
from ..sts.assume import (
    AdmittedRole,
    RoleRefused,
    SessionTagsRefused,
    admit_role,
    guarded_trust,
    packed_policy_size,
    record_role_use,
    replay_records,
    replay_refused,
    seal_credentials,
    sign_in_instants,
    trust_likeness,
)
from ..sts.credentials import TemporaryCredentials
from ..sts.trust_context import (
    SESSION_TAGS_CHECK,
    SESSION_TAGS_TITLE,
    InvalidSessionTags,
    SessionTagsRejected,
    noting_tag_faults,
    requested_tags,
    session_tags_check,
    tags_refused_first,
)
from .sp import REQUEST_LIFETIME, browser_admitted, request_issued_at

log = logging.getLogger("samlfed.console")

MAX_PROVIDERS = 100
"""Distinct providers looked up per response (AWS's quota of SAML providers per account). A forged response costs
one validation per kind of provider among them (`trust_likeness`), not one per provider."""
_ACS_URL_CHECKS = frozenset({"audience", "destination", "subject_confirmation"})
"""The checks whose verdict depends on which provider validates (its UUID names its own ACS URL)."""
DEFAULT_CONSOLE_SECONDS = 3600
INVALID_RESPONSE = "Your request included an invalid SAML response."
REQUEST_ISSUER = "samlfed:authn-request"


class SignInRefused(Exception):
    """The response cannot sign anyone in. Every field is safe to show to the person who posted it."""

    def __init__(self, message: str, *, check: str | None = None, hint: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.check = check
        """The title of the check that failed (a validator check's, or SESSION_TAGS_TITLE), shown on the page."""
        self.hint = hint
        self.status = status
        self.answer_not_before: float | None = None
        """`time.monotonic()` before which the page must not be answered (sts/decryption_guard.py)."""


@dataclass(frozen=True)
class RoleChoice:
    role_arn: str
    provider_arn: str
    account_id: str
    account_alias: str | None

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def account_label(self) -> str:
        """`alias (id)` or `id`, as AWS heads each account on the chooser."""
        return f"{self.account_alias} ({self.account_id})" if self.account_alias else self.account_id


@dataclass(frozen=True)
class SignInOffer:
    saml_response: str
    assertion_id: str
    choices: tuple[RoleChoice, ...]
    problems: tuple[str, ...]
    admitted: dict[str, AdmittedRole]
    """By role ARN."""
    request_id: str | None
    """Our AuthnRequest this answers (None: IdP-initiated, or a request of another SP)."""
    refused: dict[str, SignInRefused] = field(default_factory=dict)
    """By role ARN: the roles listed, as AWS lists them, that are refused when chosen."""

    def accounts(self) -> dict[str, list[RoleChoice]]:
        grouped: dict[str, list[RoleChoice]] = {}
        for choice in self.choices:
            grouped.setdefault(choice.account_label, []).append(choice)
        return grouped


@dataclass(frozen=True)
class ConsoleGrant:
    credentials: TemporaryCredentials
    console_expires_at: int
    """Unix seconds: the console session ends here (it may outlive the credentials, as on AWS)."""
    admitted: AdmittedRole
    console_seconds: int
    redemptions: tuple[Redemption, ...]
    """The uses the sign-in records (the request it answers, the assertion's one-time uses), in the transaction
    that stores its console session: both happen, or neither."""

    @property
    def verified(self) -> VerifiedAssertion:
        return self.admitted.verified


def candidate_providers(saml_response: str) -> list[str]:
    """Provider ARNs named in the document's Role values, in order. Unverified: only a hint of whom to ask."""
    if len(saml_response) > MAX_INPUT_CHARS:
        raise SignInRefused(INVALID_RESPONSE, check=CHECKS["input.size"].title)
    try:
        data = binascii.a2b_base64("".join(saml_response.split()).encode("ascii"), strict_mode=True)
        root = parse_xml(data)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SignInRefused(INVALID_RESPONSE, check=CHECKS["input.base64"].title, hint="Post the SAMLResponse exactly as the IdP produced it.") from None
    except XmlRejected:
        raise SignInRefused(INVALID_RESPONSE, check=CHECKS["xml.parse"].title) from None
    providers = list(dict.fromkeys(pair.provider_arn for pair in named_role_pairs(root)))
    if not providers and root.find(c.ENCRYPTED_ASSERTION) is not None:
        raise SignInRefused(INVALID_RESPONSE, check=CHECKS["shape.assertion"].title, hint=_ENCRYPTED_HINT)
    if not providers:
        raise SignInRefused(INVALID_RESPONSE, check=CHECKS["aws.role"].title, hint=_ROLE_HINT)
    return providers


_ENCRYPTED_HINT = (
    "The assertion is encrypted, so its roles cannot name the provider that decrypts it: as on AWS, the IdP must post "
    "it to that provider's own ACS URL, /saml/acs/{SAMLProviderUUID}, which the provider's SP metadata "
    "(/static/saml/{SAMLProviderUUID}/saml-metadata.xml) gives."
)
_ROLE_HINT = (
    "The IdP must send the attribute https://aws.amazon.com/SAML/Attributes/Role with one "
    "'role ARN,saml-provider ARN' pair per value."
)


def provider_arn_by_uuid(ctx: ServiceContext, uuid: str) -> str | None:
    """The ARN of the provider whose SAMLProviderUUID a URL names, or None. Only a value of a UUID's shape is looked
    up: a path segment can hold anything, and PostgreSQL refuses a NUL in a text parameter (a 500, not a 404)."""
    if not PROVIDER_UUID.fullmatch(uuid):
        return None
    try:
        return ctx.store.provider_arn_of(uuid)
    except NotFound:
        return None


def _provider_named(ctx: ServiceContext, uuid: str) -> list[str]:
    arn = provider_arn_by_uuid(ctx, uuid)
    if arn is None:
        raise SignInRefused("Specified provider doesn't exist.", hint=f"No SAML provider has the UUID {uuid!r}.")
    return [arn]


def make_offer(
    ctx: ServiceContext, saml_response: str, now: datetime, *,
    require_sp_initiated: bool = False, only_provider_uuid: str | None = None, resumed: bool = False,
    source_ip: str | None = None, secure_transport: bool | None = None, browser_nonce: str | None = None,
) -> SignInOffer:
    """Validate `saml_response` against each provider its roles name; keep the roles that admit the user.

    `resumed` marks a response replayed from the user's own console session (switch role): its request was
    already used once, legitimately. `source_ip` and `secure_transport` are the browser's, for trust policies
    that condition on aws:SourceIp or aws:SecureTransport (as AssumeRoleWithSAML gives them). `browser_nonce`:
    the posting browser's sign-in cookie, which `require_sp_initiated` requires to be the one the request was
    bound to.
    """
    # The provider's own ACS URL names it (and an encrypted assertion hides the roles that would); /saml asks each
    # provider the roles name.
    candidates = _provider_named(ctx, only_provider_uuid) if only_provider_uuid is not None else candidate_providers(saml_response)
    verified_by, missing = _verified_by_providers(
        ctx, saml_response, candidates[:MAX_PROVIDERS], now, only_provider_uuid=only_provider_uuid, source_ip=source_ip,
    )
    verified = verified_by[0][1]
    request_id = _answered_request(ctx, verified, now, require_sp_initiated=require_sp_initiated, resumed=resumed, browser_nonce=browser_nonce)
    roles = _offered_roles(ctx, verified_by, now, source_ip=source_ip, secure_transport=secure_transport)
    problems = verified.claims.role_problems
    signed_providers = {pair.provider_arn for pair in verified.claims.roles}
    problems += tuple(f"Specified provider doesn't exist: {arn}. Its roles are not offered." for arn in missing if arn in signed_providers)
    if len(candidates) > MAX_PROVIDERS:  # said, so that a missing account is not a mystery
        problems += (f"The response names {len(candidates)} SAML providers; only the roles of the first {MAX_PROVIDERS} were considered.",)
    return SignInOffer(saml_response, verified.response.assertion_id, roles.choices, problems, roles.admitted, request_id, roles.refused)


def _verified_by_providers(
    ctx: ServiceContext, saml_response: str, considered: list[str], now: datetime, *, only_provider_uuid: str | None, source_ip: str | None,
) -> tuple[list[tuple[SamlProvider, VerifiedAssertion]], list[str]]:
    """Each considered provider that verifies the response, with its verdict, and the ARNs of those that do not
    exist; SignInRefused when none verifies it (with the first provider's reason)."""
    verified_by: list[tuple[SamlProvider, VerifiedAssertion]] = []
    first_failure: SignInRefused | None = None
    missing: list[str] = []
    refused_alike: set[tuple[object, ...]] = set()  # kinds of provider that refused the response whatever their UUID
    answer_by: float | None = None  # when a provider decrypted the assertion and then rejected it
    existing = ctx.store.existing_provider_arns(considered) if len(considered) > 1 else None  # one query, not one per miss
    for arn in considered:
        try:
            provider = ctx.reads.provider(arn) if existing is None or arn in existing else None
        except NotFound:  # none (or deleted since `existing` was read)
            provider = None
        if provider is None:
            missing.append(arn)
            continue
        if only_provider_uuid is not None and provider.uuid != only_provider_uuid:
            continue
        likeness = trust_likeness(provider)
        if likeness in refused_alike:
            continue
        tags_faults: list[SessionTagsRejected] = []
        try:
            trust = guarded_trust(ctx, provider, source_ip, saml_response)
            tags_noted = noting_tag_faults(session_tags_check(provider.attribute_mapping), tags_faults)
            verified_by.append((provider, validate(saml_response, trust, now=now, settings=ctx.settings, session_tags_check=tags_noted)))
        except UnsignedDecryptionRefused:
            throttled = _throttled(provider, source_ip)
            throttled.answer_not_before = answer_by  # another provider may have decrypted the response already
            raise throttled from None
        except SamlValidationError as error:
            deadline = ctx.decryption_guard.answer_by(error, provider.arn, source_ip)
            if deadline is not None:
                answer_by = max(answer_by or 0.0, deadline)
            # As STS: session tags this provider's sign-in would refuse (step 20) come before the Role attribute (21);
            # a response whose roles are fine keeps the chooser's answer to its tags (`_offered_roles`, per provider).
            tags_first = tags_refused_first(error, tags_faults)
            check_id = SESSION_TAGS_CHECK if tags_first is not None else error.check_id
            reason = tags_first.message if tags_first is not None else error.message
            # %r: the ARN and the reason can quote the unverified document; repr keeps each on one log line
            log.info(
                "console sign-in rejected provider=%r check=%s reason=%r", arn, check_id, reason,
                extra={
                    "action": "ConsoleSignIn", "outcome": "rejected", "provider": arn, "check": check_id, "reason": reason,
                    "issuer": None, "assertion_id": None, "key_thumbprint": None, "subject": None, "role": None,
                    "session_name": None, "session_seconds": None, "issue_instant": None, "authn_instant": None,
                },
            )
            if tags_first is not None:
                first_failure = first_failure or _tags_refusal(tags_first.aws.message, SESSION_TAGS_TITLE, tags_first.aws.status)
            first_failure = first_failure or SignInRefused(error.aws.message, check=CHECKS[error.check_id].title, hint=error.hint, status=error.aws.status)
            if error.check_id not in _ACS_URL_CHECKS:
                refused_alike.add(likeness)
    if not verified_by:
        if first_failure is None and missing:  # what a provider that exists said comes first: it is about the response
            first_failure = SignInRefused("Specified provider doesn't exist.", hint=f"No SAML provider {missing[0]} is registered.")
        refusal = first_failure or SignInRefused(INVALID_RESPONSE, hint="No SAML provider named in the Role attribute accepts this response.")
        refusal.answer_not_before = answer_by
        raise refusal
    return verified_by, missing


def _tags_refusal(message: str, check: str | None, status: int) -> SignInRefused:
    return SignInRefused(
        message, check=check, status=status,
        hint="The response's session tags (PrincipalTag attributes, attributes the provider maps to tags, TransitiveTagKeys) "
             "break AWS's rules: samlfed doctor names the rule.",
    )


class _OfferedRoles(NamedTuple):
    choices: tuple[RoleChoice, ...]
    """Every role listed, sorted as the chooser shows them."""
    admitted: dict[str, AdmittedRole]
    refused: dict[str, SignInRefused]
    """Listed roles refused when chosen (AWS's chooser lists every pair of the provider's account)."""


def _offered_roles(
    ctx: ServiceContext, verified_by: list[tuple[SamlProvider, VerifiedAssertion]], now: datetime, *,
    source_ip: str | None, secure_transport: bool | None,
) -> _OfferedRoles:
    """The roles of each verifying provider's pairs, admitted by their trust policies or listed to be refused;
    SignInRefused when none is listed."""
    listed: dict[str, RoleChoice] = {}
    admitted: dict[str, AdmittedRole] = {}
    refused: dict[str, SignInRefused] = {}
    aliases: dict[str, str | None] = {}
    response_refused: tuple[ServiceError, str | None] | None = None
    """A refusal of the session tags a provider's sign-in would carry: it holds for each role of that provider."""
    for provider, provider_verified in verified_by:
        pairs = [pair for pair in provider_verified.claims.roles if pair.provider_arn == provider.arn]
        tags_refused = _tags_refused(provider_verified, provider)
        if tags_refused is not None:
            tags_error, check, reason = tags_refused
            response_refused = response_refused or (tags_error, check)
            for pair in pairs:
                _log_role("role_not_offered", pair.role_arn, provider, provider_verified, reason)
            continue
        for pair in pairs:
            if pair.role_arn in admitted:
                continue
            try:
                admitted_role = admit_role(
                    ctx, provider_verified, provider, pair.role_arn, now, source_ip=source_ip, secure_transport=secure_transport,
                )
            except RoleRefused as refusal:
                # As AWS's chooser, list every pair of the provider's own account, and refuse a role the trust policy
                # refuses (or that does not exist) when it is chosen (contract §7.1: steps 21-26 on POST-back),
                # unless another pair of the response admits it.
                in_account = _in_account(pair.role_arn, provider.account_id)
                _log_role("role_refused" if in_account else "role_not_offered", pair.role_arn, provider, provider_verified, f"{refusal.denied_by}: {refusal.reason}")
                if in_account and pair.role_arn not in listed:
                    refused[pair.role_arn] = SignInRefused(
                        refusal.message, status=refusal.status,
                        hint="This role's trust policy does not admit this sign-in (or the role does not exist): samlfed doctor --data-dir with --role-arn says which condition.",
                    )
                    listed[pair.role_arn] = _choice(ctx, pair.role_arn, provider, aliases)
                continue
            except ServiceError as other:  # none other is raised today; were one, the role is not offered
                _log_role("role_not_offered", pair.role_arn, provider, provider_verified, other.message)
                continue
            admitted[pair.role_arn] = admitted_role
            refused.pop(pair.role_arn, None)
            listed[pair.role_arn] = _choice(ctx, pair.role_arn, provider, aliases)
    choices = list(listed.values())
    if not choices and response_refused is not None:  # as STS answers: these tags refuse the sign-in whatever the role
        tags_error, check = response_refused
        raise _tags_refusal(tags_error.message, check, tags_error.status)
    if not choices:
        raise SignInRefused(
            "Not authorized to perform sts:AssumeRoleWithSAML", status=403,
            hint="None of the response's roles is offered by a SAML provider that verified it: each role must be paired "
                 "with that provider and be in its account.",
        )
    choices.sort(key=lambda choice: (choice.account_label, choice.role_name))
    return _OfferedRoles(tuple(choices), admitted, refused)


def _tags_refused(verified: VerifiedAssertion, provider: SamlProvider) -> tuple[ServiceError, str | None, str] | None:
    """The refusal of the session tags a sign-in through this provider would carry (their rules, contract step 20;
    their packed size alone, step 26), its check's title and its reason; None when they pass. The tags come from the
    response and the provider's attribute mapping, so the refusal holds for each of the provider's roles."""
    try:
        packed_policy_size(None, (), requested_tags(verified, provider.attribute_mapping))
    except InvalidSessionTags as exc:
        error = SessionTagsRefused(str(exc))
        return error, SESSION_TAGS_TITLE, error.reason
    except ServiceError as error:  # PackedPolicyTooLarge
        return error, None, error.message
    return None


def _choice(ctx: ServiceContext, role_arn: str, provider: SamlProvider, aliases: dict[str, str | None]) -> RoleChoice:
    if provider.account_id not in aliases:
        aliases[provider.account_id] = _alias(ctx, provider.account_id)
    return RoleChoice(role_arn, provider.arn, provider.account_id, aliases[provider.account_id])


def _log_role(outcome: str, role_arn: str, provider: SamlProvider, verified: VerifiedAssertion, reason: str | None) -> None:
    """`role_refused` (listed, refused when chosen) or `role_not_offered`, with what refused the role."""
    response = verified.response
    log.info(
        "console sign-in: %s role=%r provider=%s reason=%r", outcome.replace("_", " "), role_arn, provider.arn, reason,
        extra={
            "action": "ConsoleSignIn", "outcome": outcome, "role": role_arn, "provider": provider.arn, "reason": reason,
            "issuer": response.issuer, "assertion_id": response.assertion_id, "key_thumbprint": response.key_thumbprint,
            "subject": response.name_id, "session_name": verified.claims.role_session_name, "session_seconds": None,
            **sign_in_instants(response),
        },
    )


def _in_account(role_arn: str, account_id: str) -> bool:
    name = arns.parse_role_arn(role_arn)
    return name is not None and name.account_id == account_id


def _throttled(provider: SamlProvider, source_ip: str | None) -> SignInRefused:
    log.warning(
        "console sign-in throttled provider=%s: too many rejected encrypted responses for this provider or from %s",
        provider.arn, source_ip,
        extra={"action": "ConsoleSignIn", "outcome": "throttled", "provider": provider.arn, "source_ip": source_ip},
    )
    return SignInRefused(
        "Rate exceeded", status=429,
        hint="Too many encrypted responses were rejected for this identity provider or from your network. Try again later.",
    )


def _answered_request(
    ctx: ServiceContext, verified: VerifiedAssertion, now: datetime, *, require_sp_initiated: bool, resumed: bool, browser_nonce: str | None,
) -> str | None:
    request_id = verified.response.in_response_to
    issued = request_issued_at(ctx.master, request_id) if request_id else None
    if not request_id or issued is None:
        if require_sp_initiated:
            raise SignInRefused(
                "This service accepts only responses to its own sign-in requests.",
                hint="Start at this service's /console page instead of the identity provider's portal.",
            )
        return None
    if resumed:
        return request_id
    if now - issued > REQUEST_LIFETIME or ctx.store.was_redeemed(REQUEST_ISSUER, request_id, "", now=now):
        raise SignInRefused(
            "This response answers a sign-in request that has expired or was already used.",
            hint="Sign in again from the console page; a sign-in request is valid once, for 5 minutes.",
        )
    # Only the browser that started the sign-in may finish it: otherwise anyone's answer to their own request,
    # posted from another site, would sign the victim's browser in as them (login CSRF).
    if require_sp_initiated and not browser_admitted(ctx.master, request_id, browser_nonce):
        raise SignInRefused(
            "This response answers a sign-in request that was not started in this browser.", status=403,
            hint="Start at this service's /console page in the browser you sign in with, with cookies allowed.",
        )
    return request_id


def _alias(ctx: ServiceContext, account_id: str) -> str | None:
    try:
        return ctx.store.get_account(account_id).alias
    except NotFound:
        return None


def sign_in(ctx: ServiceContext, offer: SignInOffer, role_arn: str, now: datetime, *, resumed: bool = False) -> ConsoleGrant:
    """Sign in to `role_arn` (one of the offer's roles): mint credentials, and say which uses to record with the
    console session (nothing is used up here: a session that cannot be stored leaves the response usable)."""
    admitted = offer.admitted.get(role_arn)
    if admitted is None and role_arn in offer.refused:
        raise offer.refused[role_arn]
    if admitted is None:
        raise SignInRefused("Not authorized to perform sts:AssumeRoleWithSAML", status=403, hint="Choose one of the roles the chooser lists.")
    uses = ([] if resumed else request_use(ctx, offer)) + replay_records(ctx, admitted.verified, admitted.role)
    console_seconds = console_lifetime(admitted.verified, now)
    # The role's MaxSessionDuration does not bound console sessions (AWS), but it does bound API credentials.
    credentials = seal_credentials(ctx, admitted, min(console_seconds, admitted.role.max_session_duration), now)
    return ConsoleGrant(credentials, int(now.timestamp()) + console_seconds, admitted, console_seconds, tuple(uses))


def already_used(grant: ConsoleGrant, use: Redemption) -> SignInRefused:
    """The refusal of a sign-in whose session was not stored because `use` (one of its redemptions) was recorded
    before: another post of the same response got there first."""
    if use.issuer == REQUEST_ISSUER:
        return _request_used()
    error = replay_refused(grant.verified, grant.admitted.role)
    return SignInRefused(error.message, hint="The identity provider marked this response for one use only; sign in again.")


def record_sign_in(ctx: ServiceContext, grant: ConsoleGrant) -> None:
    """The role's use and the log line of a console sign-in: once the console session is stored, so that a sign-in
    the user never got (the database refused the session, or a replay) is not recorded as one."""
    record_role_use(ctx, grant.admitted, ctx.clock())
    verified = grant.verified
    response, role_arn = verified.response, grant.admitted.role.arn
    log.info(
        "console sign-in subject=%r role=%s seconds=%d", response.name_id, role_arn, grant.console_seconds,
        extra={
            "action": "ConsoleSignIn", "outcome": "allowed", "issuer": response.issuer, "assertion_id": response.assertion_id,
            "key_thumbprint": response.key_thumbprint, "subject": response.name_id, "role": role_arn,
            "session_name": verified.claims.role_session_name, "session_seconds": grant.console_seconds,
            **sign_in_instants(response),
        },
    )


def request_use(ctx: ServiceContext, offer: SignInOffer) -> list[Redemption]:
    """The one use of the AuthnRequest this response answers (none for unsolicited responses)."""
    if offer.request_id is None:
        return []
    issued = request_issued_at(ctx.master, offer.request_id)
    assert issued is not None  # make_offer checked it
    return [Redemption(REQUEST_ISSUER, offer.request_id, "", issued + REQUEST_LIFETIME)]


def use_request_once(ctx: ServiceContext, offer: SignInOffer, now: datetime) -> None:
    """Record the one use of the AuthnRequest this response answers, on its own (the command-line hand-off)."""
    try:
        ctx.store.redeem_all(request_use(ctx, offer), now=now)
    except AlreadyRedeemed:
        raise _request_used() from None


def _request_used() -> SignInRefused:
    return SignInRefused("This response answers a sign-in request that was already used.", hint="Sign in again from the console page.")


def console_lifetime(verified: VerifiedAssertion, now: datetime) -> int:
    """Contract §7.3: the SessionDuration attribute (else one hour), capped by SessionNotOnOrAfter."""
    seconds = verified.claims.session_duration or DEFAULT_CONSOLE_SECONDS
    ends = verified.response.session_not_on_or_after
    if ends is not None:
        seconds = min(seconds, int((ends - now).total_seconds()))
    return max(seconds, 1)
