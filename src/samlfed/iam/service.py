"""IAM service logic over the store: accounts and their administrator keys, SAML providers, roles.

Raises `ServiceError` with AWS's codes and messages; knows nothing about HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..arn_syntax import ARN_PARTITION
from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..jsoninput import parse_json
from ..policy import MalformedPolicy, PolicyDocument, parse_policy
from ..policy.conditions import wildcard_match
from ..policy.document import invalid_principal
from ..saml import MetadataError, ProviderPolicy
from ..saml.aws_claims import is_valid_tag_key, is_valid_tag_value
from ..saml.metadata import IdpMetadata, parse_metadata
from ..saml.model import load_rsa_private_key
from ..store import (
    AWS_MANAGED,
    AccessKey,
    Account,
    AlreadyExists,
    Conflict,
    InlinePoliciesLeft,
    LimitReached,
    ManagedPolicy,
    NoSuchPolicyVersion,
    NoSuchPrivateKey,
    NotFound,
    PolicyVersion,
    PolicyVersionsLeft,
    ProviderPrivateKey,
    Role,
    RoleLastUsed,
    SamlProvider,
    SamlProviderSummary,
    Tag,
    policy_size,
    provider_key_context,
)
from ..sts.parameters import POLICY_CHARACTERS, POLICY_PATTERN
from . import arns, ids

log = logging.getLogger("samlfed.iam")
STRICT = ProviderPolicy()
PROVIDER_NAME = re.compile(r"[\w._-]+", re.ASCII)
MAX_PROVIDER_KEYS = 10
"""IAM's quota of keys per SAML provider (the signing certificates of its metadata)."""
NAME_PATTERN = re.compile(r"[\w+=,.@-]+", re.ASCII)  # role and policy names; AWS's \w is Java's: ASCII letters, digits, _
ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")  # the model's pathType; its length (at most 512) is checked apart
POLICY_PATH = re.compile(r"((/[A-Za-z0-9.,+@=_-]+)*)/", re.ASCII)  # the model's policyPathType
ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
MAX_TRUST_POLICY = 2048
ROLE_DESCRIPTION = re.compile("[\t\n\r\x20-\x7e\xa1-\xff]*")


@dataclass(frozen=True)
class NewAccessKey:
    account_id: str
    access_key_id: str
    secret_access_key: str


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidInput", message, 400)


# --- accounts and administrator keys ----------------------------------------------------------------


def check_new_account(account_id: str | None, alias: str | None) -> None:
    """What `create_account` checks before it touches the store (the CLI checks it before it makes a data directory)."""
    if account_id is not None and not _ACCOUNT_ID.fullmatch(account_id):
        raise _invalid("An account ID is 12 digits")
    if alias is not None:
        _check_alias(alias)


def create_account(ctx: ServiceContext, account_id: str | None = None, alias: str | None = None) -> NewAccessKey:
    account_id = account_id or ids.account_id()
    check_new_account(account_id, alias)
    try:
        ctx.store.create_account(Account(account_id, alias, ctx.clock()))
    except AlreadyExists:
        try:  # which of the two: the account, or (another account's) alias
            ctx.store.get_account(account_id)
            taken = f"Account {account_id}"
        except NotFound:
            taken = f"The account alias {alias}" if alias is not None else f"Account {account_id}"
        raise ServiceError("EntityAlreadyExists", f"{taken} already exists.", 409) from None
    return create_access_key(ctx, account_id)


def create_access_key(ctx: ServiceContext, account_id: str) -> NewAccessKey:
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise _invalid("An account ID is 12 digits")
    access_key_id, secret = ids.unique_id("AKIA", 20), ids.secret_access_key()
    sealed = ctx.master.seal(secret.encode(), context=f"access key {access_key_id}")
    try:
        ctx.store.add_access_key(AccessKey(access_key_id, account_id, sealed, True, ctx.clock()))
    except AlreadyExists:
        raise ServiceError("NoSuchEntity", f"The account {account_id} cannot be found.", 404) from None
    return NewAccessKey(account_id, access_key_id, secret)


def admin_secret(ctx: ServiceContext, access_key_id: str) -> tuple[str, str] | None:
    """(account id, secret) of an active administrator key, or None when there is no such key."""
    try:
        key = ctx.store.get_access_key(access_key_id)
    except NotFound:
        return None
    if not key.active:
        return None
    return key.account_id, ctx.master.unseal(key.sealed_secret, context=f"access key {access_key_id}").decode()


def _check_alias(alias: str) -> None:
    """The model's accountAliasType (3-63 characters of its pattern), and not a 12-digit number (IAM quotas: it
    would read as an account ID)."""
    start = f"Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must"
    violations = [] if ALIAS.fullmatch(alias) else [f"{start} satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"]
    if _ACCOUNT_ID.fullmatch(alias):  # the pattern allows one: name the rule it breaks (AWS's wording is not on record)
        violations.append(f"{start} not be a 12-digit number, which reads as an account ID")
    if len(alias) < 3:
        violations.append(f"{start} have length greater than or equal to 3")
    elif len(alias) > 63:
        violations.append(f"{start} have length less than or equal to 63")
    if violations:
        raise ValidationFailed(violations)


# --- SAML providers ---------------------------------------------------------------------------------


def _metadata(ctx: ServiceContext, document: str, arn: str) -> IdpMetadata:
    """The parsed metadata for the provider `arn`; its warnings are logged by the caller once the provider is stored
    (`_log_warnings`). A refusal answers AWS's message; what was wrong goes to the log, for the operator."""
    try:
        metadata = parse_metadata(document, now=ctx.clock())
    except MetadataError as exc:
        log.info("SAML provider %s: metadata refused: %r", arn, exc.reason)  # %r: the reason may quote the document
        raise _invalid(exc.aws_message) from None
    if len(metadata.signing_keys) > MAX_PROVIDER_KEYS:
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for KeysPerSAMLProvider: {MAX_PROVIDER_KEYS}", 409)
    return metadata


def _log_warnings(arn: str, metadata: IdpMetadata) -> None:
    """What the metadata accepted still needs (expiring certificates, a past validUntil, keys that verify only with the
    legacy opt-in): AWS's API has no field for it, so the operator learns it from the log. The warnings name
    certificates by subject and dates only, nothing secret."""
    for warning in metadata.warnings:
        log.warning("SAML provider %s: metadata: %r", arn, warning)  # %r: a certificate subject may hold a line break


MAX_PROVIDERS, MAX_ROLES, MAX_POLICIES = 100, 1000, 1500
"""IAM's default quotas per account (SAMLProvidersPerAccount, RolesPerAccount, PoliciesPerAccount)."""


def _no_such_provider(arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Manifest not found for arn {arn}", 404)  # AWS-observed (contract §6.2)


def _no_such_policy(arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)


POLICY_ARN = re.compile(rf"arn:{ARN_PARTITION}:iam::(?:\d{{12}}|aws):policy{POLICY_PATH.pattern}[\w+=,.@-]{{1,128}}", re.ASCII)
"""A managed policy's ARN (customer or AWS managed): the policy path and name the model allows."""


def _check_policy_arn(arn: str) -> None:
    """A value that cannot be a managed policy's ARN is InvalidInput, as AWS answers it (`ARN … is not valid.`,
    aws-samples/aws-cdk-examples issue #287), not a policy that does not exist."""
    if not POLICY_ARN.fullmatch(arn):
        raise _invalid(f"ARN {arn} is not valid.")


def _check_policy_arn_parameter(arn: str, field: str) -> None:
    """A managed policy's ARN given as parameter `field`: the model's arnType first (ValidationError), then the
    shape of a policy ARN (`_check_policy_arn`)."""
    violations = arn_violations(arn, field)
    if violations:
        raise ValidationFailed(violations)
    _check_policy_arn(arn)


def _quota_exceeded(limit: int, name: str) -> ServiceError:
    return ServiceError("LimitExceeded", f"Cannot exceed quota for {name}: {limit}", 409)


def document_violations(document: str) -> list[str]:
    """SAMLMetadataDocument against the model's minimum length, in AWS's wording (botocore checks it too; raw
    requests do not)."""
    if len(document) >= 1000:
        return []
    return ["Value at 'sAMLMetadataDocument' failed to satisfy constraint: Member must have length greater than or equal to 1000"]


def create_saml_provider(
    ctx: ServiceContext, account_id: str, name: str, document: str, tags: Sequence[Tag] = (), encryption: EncryptionChange | None = None,
) -> SamlProvider:
    violations = document_violations(document) + name_violations(name, "name", 128, PROVIDER_NAME, "[\\w._-]+")
    if violations:
        raise ValidationFailed(violations)
    metadata = _metadata(ctx, document, arns.provider_arn(account_id, name))
    check_tags(tags, case_sensitive_keys=True)
    encryption = encryption or EncryptionChange()
    _check_encryption_change(encryption, update=False)
    if encryption.remove_private_key is not None:  # not in CreateSAMLProvider's model; a new provider holds no key
        raise _invalid(KEY_NOT_FOUND)
    uuid = ids.provider_uuid()
    keys = () if encryption.add_private_key is None else (_sealed_private_key(ctx, uuid, encryption.add_private_key),)
    mode = encryption.mode or "Allowed"
    if mode == "Required" and not keys:
        raise _invalid(REQUIRED_WITHOUT_KEY)
    provider = SamlProvider(
        arn=arns.provider_arn(account_id, name), account_id=account_id, name=name, uuid=uuid,
        metadata_document=document, valid_until=metadata.valid_until, created_at=ctx.clock(), tags=tuple(tags),
        assertion_encryption_mode=mode, private_keys=keys,
    )
    try:
        ctx.store.create_provider(provider, limit=MAX_PROVIDERS)
    except LimitReached:
        raise _quota_exceeded(MAX_PROVIDERS, "SAMLProvidersPerAccount") from None
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"SAMLProvider {name} already exists.", 409) from None
    _log_warnings(provider.arn, metadata)
    return provider


def get_saml_provider(ctx: ServiceContext, account_id: str, arn: str) -> SamlProvider:
    """The account's provider `arn`: the model's arnType first (ValidationError, as for policy ARNs), then the shape
    of a provider ARN (InvalidInput), then NoSuchEntity."""
    violations = arn_violations(arn, "sAMLProviderArn")
    if violations:
        raise ValidationFailed(violations)
    parsed = arns.parse_provider_arn(arn)
    if parsed is None:
        raise _invalid(f"ARN {arn} is not valid.")
    try:
        provider = ctx.store.get_provider(arn)
    except NotFound:
        provider = None
    if provider is None or provider.account_id != account_id:
        raise _no_such_provider(arn)
    return provider


def list_saml_providers(ctx: ServiceContext, account_id: str) -> list[SamlProviderSummary]:
    """What ListSAMLProviders answers (ARN, ValidUntil, CreateDate): no metadata documents, tags or keys read."""
    return ctx.store.list_provider_summaries(account_id)


def delete_saml_provider(ctx: ServiceContext, account_id: str, arn: str) -> None:
    get_saml_provider(ctx, account_id, arn)
    _provider_call(lambda: ctx.store.delete_provider(arn), arn)


def _provider_call(call, arn: str):  # type: ignore[no-untyped-def]
    """A store call on a provider that `get_saml_provider` found: a concurrent delete may remove it in between."""
    try:
        return call()
    except NotFound:
        raise _no_such_provider(arn) from None


# --- roles ------------------------------------------------------------------------------------------


def check_identity_policy(document: str, *, managed: bool = False) -> None:
    """Inline, managed (`managed`: CreatePolicy, CreatePolicyVersion) and session policies: identity policies, which
    name no principal. The answer is AWS's message alone (MalformedPolicy.detail is for humans)."""
    try:
        parse_policy(document, principal_required=False, as_written=True, managed=managed)
    except MalformedPolicy as exc:
        raise ServiceError("MalformedPolicyDocument", str(exc)) from None


def policy_document_violations(document: str, field: str) -> list[str]:
    """A policy document against the model's policyDocumentType (1-131,072 characters of
    [\\u0009\\u000A\\u000D\\u0020-\\u00FF]), in AWS's wording: pattern, then length."""
    start = f"Value '{document}' at '{field}' failed to satisfy constraint: Member must"
    violations = [] if POLICY_CHARACTERS.fullmatch(document) else [f"{start} satisfy regular expression pattern: {POLICY_PATTERN}"]
    if not document:
        violations.append(f"{start} have length greater than or equal to 1")
    elif len(document) > 131072:
        violations.append(f"{start} have length less than or equal to 131072")
    return violations


def arn_violations(value: str, field: str) -> list[str]:
    """An ARN parameter against the model's arnType (20-2048 characters), in AWS's wording."""
    if len(value) < 20:
        return [f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 20"]
    if len(value) > 2048:
        return [f"Value '{value}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to 2048"]
    return []


def check_trust_policy(document: str, field: str = "policyDocument") -> PolicyDocument:
    """A role's trust policy (`field`: its parameter as the model names it, for a ValidationError), parsed."""
    violations = policy_document_violations(document, field)
    if violations:
        raise ValidationFailed(violations)
    if policy_size(document) > MAX_TRUST_POLICY:  # IAM's quotas do not count whitespace
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY}", 409)
    try:
        parse_json(document)
    except ValueError:  # a trust policy's own wording (recorded answers); a permissions policy's is "Syntax errors"
        raise ServiceError("MalformedPolicyDocument", "This policy contains invalid Json", 400) from None
    try:
        trust = parse_policy(document, principal_required=True, as_written=True)
    except MalformedPolicy as exc:
        raise ServiceError("MalformedPolicyDocument", str(exc), 400) from None
    if not all(_is_trust_action(action) for s in trust.statements for action in s.actions or ()):
        raise ServiceError("MalformedPolicyDocument", "AssumeRole policy may only specify STS AssumeRole actions.", 400)
    # The role is the resource of its trust policy: AWS refuses one that names another (it would be ignored).
    if any(s.resources is not None or s.not_resources is not None for s in trust.statements):
        raise ServiceError("MalformedPolicyDocument", "Has prohibited field Resource", 400)
    # The IAM User Guide (NotPrincipal): "You cannot use the NotPrincipal element ... in an IAM role trust policy."
    if any(s.not_principal is not None for s in trust.statements):
        raise ServiceError("MalformedPolicyDocument", "Has prohibited field NotPrincipal", 400)
    return trust


TRUST_ACTIONS = (
    "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity",
    "sts:SetContext",
)
"""The actions a role's trust policy may name (the IAM User Guide's trust policy actions); IAM refuses any other."""


def _is_trust_action(action: str) -> bool:
    """`action` (any case) names at least one of TRUST_ACTIONS: "sts:InvalidAction" (AWS refuses it, recorded) and
    "s3:GetObject" do not. A wildcard that names one ("sts:Assume*", "sts:*", "*") is accepted: samlfed's choice, as no
    recorded answer shows AWS's (refusing what AWS takes would break infrastructure code). NotAction is not held to
    this rule: no answer of AWS's to one in a trust policy is known."""
    return any(wildcard_match(action, known, ignore_case=True) for known in TRUST_ACTIONS)


def _principal_role_ids(ctx: ServiceContext, trust: PolicyDocument) -> tuple[tuple[str, str], ...]:
    """IAM resolves each user or role an "AWS" principal names when the policy is written, and refuses one that does
    not exist. samlfed has no IAM users, so a user never exists; a role must, with that very ARN (its path too).
    (ARN, role ID) of each role named, which the policy keeps trusting (not a role created later under that ARN)."""
    resolved: dict[str, str] = {}
    for statement in trust.statements:
        for value in statement.principal.by_type.get("AWS", ()) if statement.principal is not None else ():
            if ":user/" in value:
                raise ServiceError("MalformedPolicyDocument", invalid_principal(value), 400)
            role = arns.parse_role_arn(value) if ":role/" in value else None
            if role is None:
                continue
            try:
                found = ctx.store.get_role(role.account_id, role.name, with_tags=False)
            except NotFound:
                found = None
            if found is None or found.arn != value:
                raise ServiceError("MalformedPolicyDocument", invalid_principal(value), 400)
            resolved[value] = found.role_id
    return tuple(sorted(resolved.items()))


def path_violations(path: str, *, policy: bool = False) -> list[str]:
    """A role's Path (the model's pathType) or a managed policy's (policyPathType), in AWS's wording."""
    if policy:
        return name_violations(path, "path", 512, POLICY_PATH, "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/")
    return name_violations(path, "path", 512, ROLE_PATH, "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")


def create_role(
    ctx: ServiceContext,
    account_id: str,
    name: str,
    trust_policy: str,
    *,
    path: str = "/",
    description: str | None = None,
    max_session_duration: int = 3600,
    tags: Sequence[Tag] = (),
    permissions_boundary: str | None = None,
) -> Role:
    violations = name_violations(name, "roleName", 64) + path_violations(path)
    violations += policy_document_violations(trust_policy, "assumeRolePolicyDocument")
    if not 3600 <= max_session_duration <= 43200:
        violations.append(f"Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {'greater than or equal to 3600' if max_session_duration < 3600 else 'less than or equal to 43200'}")
    violations += description_violations(description)
    violations += arn_violations(permissions_boundary, "permissionsBoundary") if permissions_boundary is not None else []
    violations += tag_violations(tags)
    if violations:
        raise ValidationFailed(violations)
    trust = check_trust_policy(trust_policy, "assumeRolePolicyDocument")
    check_tags(tags)
    principal_ids = _principal_role_ids(ctx, trust)
    if permissions_boundary is not None:
        _check_boundary(ctx, account_id, permissions_boundary)
    role = Role(
        account_id=account_id, name=name, role_id=ids.unique_id("AROA"), path=path, arn=arns.role_arn(account_id, name, path),
        trust_policy=trust_policy, max_session_duration=max_session_duration, created_at=ctx.clock(),
        description=description, tags=tuple(tags), permissions_boundary=permissions_boundary, trust_principal_ids=principal_ids,
    )
    try:
        ctx.store.create_role(role, limit=MAX_ROLES)
    except NotFound:  # the boundary policy was deleted since _check_boundary (the store checks it again, under lock)
        raise _no_such_boundary(str(permissions_boundary)) from None
    except LimitReached:
        raise _quota_exceeded(MAX_ROLES, "RolesPerAccount") from None
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"Role with name {name} already exists.", 409) from None
    return role


def get_role(ctx: ServiceContext, account_id: str, name: str) -> Role:
    return _role_call(lambda: ctx.store.get_role(account_id, name), name)


def role_last_used(ctx: ServiceContext, role: Role) -> RoleLastUsed | None:
    """When and where `role` was last assumed (recorded by sts/role_use.py); None if never."""
    return ctx.store.get_role_last_used(role.role_id)


def delete_role(ctx: ServiceContext, account_id: str, name: str) -> None:
    try:
        ctx.store.delete_role(account_id, name)
    except NotFound:
        raise _no_such_role(name) from None
    except InlinePoliciesLeft:
        raise ServiceError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409) from None
    except Conflict:
        raise ServiceError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409) from None


def list_roles(ctx: ServiceContext, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None) -> list[Role]:
    """See SqlStore.list_roles: lower-cased name order, no tags, `limit` of them after `after`."""
    return ctx.store.list_roles(account_id, path_prefix, after=after, limit=limit)


def description_violations(description: str | None) -> list[str]:
    """A role's Description against the model (at most 1,000 characters of the pattern), in AWS's wording."""
    if description is None:
        return []
    start = f"Value '{description}' at 'description' failed to satisfy constraint: Member must"
    violations = [] if ROLE_DESCRIPTION.fullmatch(description) else [f"{start} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"]
    return violations + ([f"{start} have length less than or equal to 1000"] if len(description) > 1000 else [])


def update_role(ctx: ServiceContext, account_id: str, name: str, *, description: str | None, max_session_duration: int | None) -> None:
    violations = description_violations(description)
    if max_session_duration is not None and not 3600 <= max_session_duration <= 43200:
        bound = "greater than or equal to 3600" if max_session_duration < 3600 else "less than or equal to 43200"
        violations.append(f"Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {bound}")
    if violations:
        raise ValidationFailed(violations)
    changes: dict[str, object] = {}
    if description is not None:
        changes["description"] = description
    if max_session_duration is not None:
        changes["max_session_duration"] = max_session_duration
    if changes:
        _role_call(lambda: ctx.store.update_role(account_id, name, **changes), name)
    else:  # nothing to change still names an existing role (AWS: NoSuchEntity otherwise)
        get_role(ctx, account_id, name)


def update_trust_policy(ctx: ServiceContext, account_id: str, name: str, document: str) -> None:
    principal_ids = _principal_role_ids(ctx, check_trust_policy(document, "policyDocument"))
    _role_call(lambda: ctx.store.update_role(account_id, name, trust_policy=document, trust_principal_ids=principal_ids), name)


def set_permissions_boundary(ctx: ServiceContext, account_id: str, name: str, policy_arn: str | None) -> None:
    """Put (or, with None, delete) a role's permissions boundary."""
    if policy_arn is not None:
        _check_policy_arn_parameter(policy_arn, "permissionsBoundary")
    try:
        ctx.store.set_permissions_boundary(account_id, name, policy_arn)
    except NotFound as missing:
        if policy_arn is not None and str(missing) == policy_arn:
            raise _no_such_boundary(policy_arn) from None
        raise _no_such_role(name) from None


def _no_such_boundary(policy_arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Scope ARN: {policy_arn} does not exist or is not attachable.", 404)


def _check_boundary(ctx: ServiceContext, account_id: str, policy_arn: str) -> None:
    """A permissions boundary is a managed policy of the role's account."""
    _check_policy_arn(policy_arn)
    if policy_in_account(ctx, policy_arn, account_id) is None:
        raise _no_such_boundary(policy_arn)


def name_violations(
    value: str, field: str, max_length: int, pattern: re.Pattern[str] = NAME_PATTERN, shown_pattern: str = "[\\w+=,.@-]+"
) -> list[str]:
    """A name against its model constraints (1-max characters of the pattern; RoleName and PolicyName by default),
    in AWS's wording."""
    start = f"Value '{value}' at '{field}' failed to satisfy constraint: Member must"
    if not value:
        return [f"{start} have length greater than or equal to 1"]
    violations = [f"{start} have length less than or equal to {max_length}"] if len(value) > max_length else []
    if not pattern.fullmatch(value):
        violations.append(f"{start} satisfy regular expression pattern: {shown_pattern}")
    return violations


def _role_call(call, name: str):  # type: ignore[no-untyped-def]
    try:
        return call()
    except NotFound:
        raise _no_such_role(name) from None


def _no_such_role(name: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"The role with name {name} cannot be found.", 404)


MAX_TAGS = 50


_TAG_EXTRA_CHARACTERS = frozenset("_.:/=+-@")


def _tag_text(text: str) -> bool:
    """The model's tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: letters, separators and numbers of any script."""
    return all(ch in _TAG_EXTRA_CHARACTERS or unicodedata.category(ch)[0] in "LZN" for ch in text)


def tag_violations(tags: Sequence[Tag], field: str = "tags", *, echo: bool = False) -> list[str]:
    """Tags against the model (at most 50; keys 1-128 and values 0-256 characters of its pattern), in AWS's wording,
    each member named as AWS names it ('tags.1.member.key'). IAM does not repeat the text it refuses (its recorded
    answers); `echo` repeats it, as samlfed's STS does (no recorded STS answer says otherwise)."""
    violations = []
    for number, tag in enumerate(tags, 1):
        for part, text, low, high, pattern in (("key", tag.key, 1, 128, "+"), ("value", tag.value, 0, 256, "*")):
            value = f"Value '{text}'" if echo else "Value"
            start = f"{value} at '{field}.{number}.member.{part}' failed to satisfy constraint: Member must"
            if not _tag_text(text) or (pattern == "+" and not text):
                violations.append(f"{start} satisfy regular expression pattern: [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]{pattern}")
            if len(text) < low:
                violations.append(f"{start} have length greater than or equal to {low}")
            if len(text) > high:
                violations.append(f"{start} have length less than or equal to {high}")
    if len(tags) > MAX_TAGS:
        violations.append(f"Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}")
    return violations


def check_tags(tags: Sequence[Tag], *, case_sensitive_keys: bool = False) -> None:
    """The model's constraints (ValidationError), then IAM's own rules (InvalidInput). A role's tag keys are
    case-insensitive; a SAML provider's and a managed policy's are not (`case_sensitive_keys`: IAM's tagging rules),
    so `Team` and `team` are two of their tags and only a key repeated exactly is a duplicate."""
    violations = tag_violations(tags)
    if violations:
        raise ValidationFailed(violations)
    for tag in tags:
        if tag.key.lower().startswith("aws:"):
            raise _invalid("User-defined tag keys can't start with 'aws:'.")
    if case_sensitive_keys:
        if len({tag.key for tag in tags}) < len(tags):  # wording of AWS's case-insensitive answer, without its note
            raise _invalid("Duplicate tag keys found.")
    elif len({tag.key.lower() for tag in tags}) < len(tags):  # AWS-observed wording (the store would keep only the last)
        raise _invalid("Duplicate tag keys found. Please note that Tag keys are case insensitive.")


def tag_role(ctx: ServiceContext, account_id: str, name: str, tags: Sequence[Tag]) -> None:
    check_tags(tags)
    try:
        _role_call(lambda: ctx.store.tag_role(account_id, name, tags, limit=MAX_TAGS), name)
    except LimitReached:
        raise _too_many_tags() from None


def untag_role(ctx: ServiceContext, account_id: str, name: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    _role_call(lambda: ctx.store.untag_role(account_id, name, keys), name)


MAX_ROLE_INLINE_POLICIES_SIZE = 10240
"""IAM's quota on the size of all of a role's inline policies together (whitespace not counted)."""


def put_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str, document: str) -> None:
    violations = name_violations(policy_name, "policyName", 128) + policy_document_violations(document, "policyDocument")
    if violations:
        raise ValidationFailed(violations)
    check_identity_policy(document)
    try:
        _role_call(lambda: ctx.store.put_role_policy(account_id, name, policy_name, document, max_total_size=MAX_ROLE_INLINE_POLICIES_SIZE), name)
    except LimitReached:
        raise ServiceError("LimitExceeded", f"Maximum policy size of {MAX_ROLE_INLINE_POLICIES_SIZE} bytes exceeded for role {name}", 409) from None


def get_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> str:
    try:
        return ctx.store.get_role_policy(account_id, name, policy_name)
    except NotFound:
        raise _no_such_role_policy(ctx, account_id, name, policy_name) from None


def _no_such_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> ServiceError:
    """An inline policy that is not there: AWS names the role when the role itself is what is missing."""
    try:
        ctx.store.get_role(account_id, name, with_tags=False)
    except NotFound:
        return _no_such_role(name)
    return ServiceError("NoSuchEntity", f"The role policy with name {policy_name} cannot be found.", 404)


def list_role_policies(ctx: ServiceContext, account_id: str, name: str) -> list[str]:
    return _role_call(lambda: ctx.store.list_role_policies(account_id, name), name)


def delete_role_policy(ctx: ServiceContext, account_id: str, name: str, policy_name: str) -> None:
    try:
        ctx.store.delete_role_policy(account_id, name, policy_name)
    except NotFound:
        raise _no_such_role_policy(ctx, account_id, name, policy_name) from None


# --- more SAML provider operations; encrypted assertions (AWS, IAM API change of 2025-02-04; contract §6.4) ---------------------------

ENCRYPTION_MODES = ("Required", "Allowed")
"""AssertionEncryptionMode, in the model's order (its enum error lists them so)."""
MAX_PRIVATE_KEYS = 2
"""Private keys per provider (AWS: rotation adds the new key, then removes the old one in another request)."""
MAX_PRIVATE_KEY_LENGTH = 16384
MIN_PRIVATE_KEY_BITS = 2048
MAX_PRIVATE_KEY_BITS = 4096
"""Each encrypted assertion costs an RSA decryption per EncryptedKey and key, before anything is known to be
genuine: an 8192-bit key made one unauthenticated request cost a fifth of a second of CPU."""
_KEY_ID_CHARACTERS = re.compile(r"[A-Z0-9]+", re.ASCII)
_PRIVATE_KEY_CHARS = re.compile(r"[\t\n\r\x20-\xff]+")  # the model's pattern for AddPrivateKey
_PRIVATE_KEY_LABEL = re.compile(r"-----BEGIN (?:RSA )?PRIVATE KEY-----")  # PKCS#8 or PKCS#1, unencrypted

# AWS's documented messages (the contract, §6.4). The private key is sensitive: no message quotes it.
INVALID_PRIVATE_KEY = "Invalid private key."
KEY_NOT_FOUND = "Failed to remove private key because the Key ID does not match a private key."
REQUIRED_WITHOUT_KEY = "Unable to set assertion encryption mode to Required because no private key is provided."
ADD_AND_REMOVE = "Unable to add and remove private keys in the same request. Set a value for only one of the two parameters."
NO_UPDATES = "Unable to update identity provider. No updates are defined for metadata or encryption assertion."
KEY_LIMIT = f"Private key limit of {MAX_PRIVATE_KEYS} is reached."


@dataclass(frozen=True)
class EncryptionChange:
    """What a CreateSAMLProvider or UpdateSAMLProvider request asks of assertion encryption."""

    mode: str | None = None
    """AssertionEncryptionMode: `Allowed` or `Required`."""
    add_private_key: str | None = field(default=None, repr=False)
    """AddPrivateKey, a PEM private key: never in a repr, a log line or an error message."""
    remove_private_key: str | None = None
    """RemovePrivateKey, a KeyId."""

    def asks_nothing(self) -> bool:
        return self.mode is None and self.add_private_key is None and self.remove_private_key is None


def _check_encryption_change(change: EncryptionChange, *, update: bool) -> None:
    """The model's constraints (RemovePrivateKey is a member of UpdateSAMLProvider's only), then AWS's own rule."""
    violations = []
    if change.mode is not None and change.mode not in ENCRYPTION_MODES:
        violations.append(
            f"Value '{change.mode}' at 'assertionEncryptionMode' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(ENCRYPTION_MODES)}]"
        )
    if change.add_private_key is not None:
        violations += _private_key_violations(change.add_private_key)
    if update and change.remove_private_key is not None:
        violations += _key_id_violations(change.remove_private_key)
    if violations:
        raise ValidationFailed(violations)
    if change.add_private_key is not None and change.remove_private_key is not None:
        raise _invalid(ADD_AND_REMOVE)


def _private_key_violations(text: str) -> list[str]:
    """AddPrivateKey against the model's privateKeyType, in AWS's wording for a sensitive member: without its value."""
    start = "Value at 'addPrivateKey' failed to satisfy constraint: Member must"
    violations = []
    if not text:
        violations.append(f"{start} have length greater than or equal to 1")
    if len(text) > MAX_PRIVATE_KEY_LENGTH:
        violations.append(f"{start} have length less than or equal to {MAX_PRIVATE_KEY_LENGTH}")
    if text and not _PRIVATE_KEY_CHARS.fullmatch(text):
        violations.append(f"{start} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
    return violations


def _key_id_violations(key_id: str) -> list[str]:
    """RemovePrivateKey against the model's privateKeyIdType (22-64 characters of [A-Z0-9]), in AWS's wording. The
    value is quoted only when it is short enough to be a Key ID: a private key pasted into this parameter by mistake
    must not come back in an error message (AWS leaves out the values of its sensitive members likewise)."""
    start = f"Value '{key_id}' at 'removePrivateKey'" if len(key_id) <= 64 else "Value at 'removePrivateKey'"
    start += " failed to satisfy constraint: Member must"
    violations = []
    if len(key_id) < 22:
        violations.append(f"{start} have length greater than or equal to 22")
    if len(key_id) > 64:
        violations.append(f"{start} have length less than or equal to 64")
    if not _KEY_ID_CHARACTERS.fullmatch(key_id):
        violations.append(f"{start} satisfy regular expression pattern: [A-Z0-9]+")
    return violations


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """AddPrivateKey: one unencrypted RSA private key of 2048 to 4096 bits, PEM (PKCS#8 or PKCS#1). Anything
    else is InvalidInput `Invalid private key.`, which says nothing about the text."""
    if (
        not 1 <= len(text) <= MAX_PRIVATE_KEY_LENGTH or not _PRIVATE_KEY_CHARS.fullmatch(text)
        or text.count("-----BEGIN ") != 1 or not _PRIVATE_KEY_LABEL.search(text)  # one key, no certificate beside it
    ):
        raise _invalid(INVALID_PRIVATE_KEY)
    try:
        key = load_rsa_private_key(text.encode("latin-1"))  # the key's consistency is checked while loading
    except ValueError:
        raise _invalid(INVALID_PRIVATE_KEY) from None
    if not MIN_PRIVATE_KEY_BITS <= key.key_size <= MAX_PRIVATE_KEY_BITS:
        raise _invalid(INVALID_PRIVATE_KEY)
    return key


def private_key_id(key: rsa.RSAPrivateKey) -> str:
    """The KeyId of a private key: base32 (uppercase, unpadded: 52 characters of [A-Z2-7]) of the SHA-256 of its
    public key (DER SubjectPublicKeyInfo). Derived from the key, so the same key has the same ID on every node
    and in every request, and the ID tells nothing about the private half."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b32encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def private_key_id_of(text: str) -> str:
    """The KeyId the PEM private key `text` gets (InvalidInput when it is not a key AddPrivateKey accepts)."""
    return private_key_id(load_private_key(text))


def _sealed_private_key(ctx: ServiceContext, provider_uuid: str, text: str) -> ProviderPrivateKey:
    """The key, checked and sealed under the master key for this provider (stored as PKCS#8, whatever was sent)."""
    key = load_private_key(text)
    key_id = private_key_id(key)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ProviderPrivateKey(key_id, ctx.clock(), ctx.master.seal(pem, context=provider_key_context(provider_uuid, key_id)))


def update_saml_provider(
    ctx: ServiceContext, account_id: str, arn: str, document: str | None = None, encryption: EncryptionChange | None = None,
) -> SamlProvider:
    """New metadata, encryption mode or private keys for a provider, all in one transaction; returns the provider
    after the change (without its tags).

    Choices where AWS documents none:
    * Adding a key the provider already holds (same KeyId, hence the same key) succeeds and changes nothing, even
      at the limit of 2: the request asked for that key to be there and it is, so a client retrying a request whose
      answer it lost does not get an error.
    * Removing the last key of a provider in mode Required (without setting `Allowed` in the same request) is
      refused with `Unable to set assertion encryption mode to Required because no private key is provided.`: the
      request would leave a Required provider without a key, which is what that message refuses; `Failed to remove
      private key.` names no reason.
    * A RemovePrivateKey value outside the model's 22-64 characters of [A-Z0-9] is a ValidationError that quotes it
      only when it is 64 characters or fewer: a key pasted in the wrong parameter must not come back in an error.
    """
    provider = get_saml_provider(ctx, account_id, arn)
    encryption = encryption or EncryptionChange()
    _check_encryption_change(encryption, update=True)
    if document is None and encryption.asks_nothing():
        raise _invalid(NO_UPDATES)
    metadata = None
    parsed = None
    if document is not None:
        violations = document_violations(document)
        if violations:
            raise ValidationFailed(violations)
        parsed = _metadata(ctx, document, arn)
        metadata = (document, parsed.valid_until)
    remove = encryption.remove_private_key
    add = None if encryption.add_private_key is None else _sealed_private_key(ctx, provider.uuid, encryption.add_private_key)
    try:
        updated = ctx.store.update_provider(
            arn, uuid=provider.uuid, metadata=metadata, mode=encryption.mode, add_key=add, remove_key_id=remove, key_limit=MAX_PRIVATE_KEYS,
        )
    except NoSuchPrivateKey:
        raise _invalid(KEY_NOT_FOUND) from None
    except NotFound:  # deleted (or deleted and created again) since it was read
        raise _no_such_provider(arn) from None
    except LimitReached:
        raise ServiceError("LimitExceeded", KEY_LIMIT, 409) from None
    except Conflict:  # mode Required, or the last key of a Required provider removed
        raise _invalid(REQUIRED_WITHOUT_KEY) from None
    if parsed is not None:
        _log_warnings(arn, parsed)
    return updated


def tag_saml_provider(ctx: ServiceContext, account_id: str, arn: str, tags: Sequence[Tag]) -> None:
    check_tags(tags, case_sensitive_keys=True)
    get_saml_provider(ctx, account_id, arn)
    try:
        _provider_call(lambda: ctx.store.tag_provider(arn, tags, limit=MAX_TAGS), arn)
    except LimitReached:
        raise _too_many_tags() from None


def _too_many_tags() -> ServiceError:
    return ServiceError("LimitExceeded", "The number of tags has reached the maximum limit.", 409)


_TAG_KEY_CONSTRAINTS = (  # its "[…" list is closed by the caller, after what it adds
    "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater "
    "than or equal to 1, Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
)


def tag_key_list_violations(keys: Sequence[str], field: str = "tagKeys", *, echo: bool = False) -> list[str]:
    """A list of tag keys (the model's tagKeyListType): at most 50, each 1-128 characters; reported for the whole
    list, in AWS's words: IAM's recorded answers quote no key and add "Member must not be null"; `echo` (STS) quotes
    the list."""
    if len(keys) > MAX_TAGS:
        return [f"Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"]
    if all(1 <= len(key) <= 128 and is_valid_tag_value(key) for key in keys):
        return []
    if echo:
        return [f"Value '[{', '.join(keys)}]' at '{field}' failed to satisfy constraint: {_TAG_KEY_CONSTRAINTS}]"]
    return [f"Value at '{field}' failed to satisfy constraint: {_TAG_KEY_CONSTRAINTS}, Member must not be null]"]


def check_tag_keys(keys: Sequence[str]) -> None:
    """UntagRole/UntagSAMLProvider TagKeys."""
    violations = tag_key_list_violations(keys)
    if violations:
        raise ValidationFailed(violations)


def untag_saml_provider(ctx: ServiceContext, account_id: str, arn: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    get_saml_provider(ctx, account_id, arn)
    _provider_call(lambda: ctx.store.untag_provider(arn, keys), arn)


# --- account aliases (one per account, as AWS) -------------------------------------------------------


def create_account_alias(ctx: ServiceContext, account_id: str, alias: str) -> None:
    _check_alias(alias)
    if ctx.store.get_account(account_id).alias == alias:
        return
    try:
        ctx.store.set_account_alias(account_id, alias)
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"The account alias {alias} already exists.", 409) from None


def list_account_aliases(ctx: ServiceContext, account_id: str) -> list[str]:
    alias = ctx.store.get_account(account_id).alias
    return [alias] if alias else []


def delete_account_alias(ctx: ServiceContext, account_id: str, alias: str) -> None:
    _check_alias(alias)
    try:
        ctx.store.remove_account_alias(account_id, alias)
    except NotFound:
        raise ServiceError("NoSuchEntity", f"The account alias {alias} cannot be found.", 404) from None


# --- customer managed policies ------------------------------------------------------------------------

MAX_MANAGED_POLICY = 6144


def policy_description_violations(description: str | None) -> list[str]:
    """The model's policyDescriptionType (at most 1,000 characters, no pattern), and no NUL: PostgreSQL text cannot
    hold one, and SQLite would store what PostgreSQL refuses (the backends must agree). In the form of AWS's messages."""
    if description is None:
        return []
    start = f"Value '{description}' at 'description' failed to satisfy constraint: Member must"
    return ([f"{start} not contain the character U+0000"] if "\x00" in description else []) + (
        [f"{start} have length less than or equal to 1000"] if len(description) > 1000 else []
    )


def create_policy(
    ctx: ServiceContext, account_id: str, name: str, document: str, *, path: str = "/", description: str | None = None, tags: Sequence[Tag] = (),
) -> ManagedPolicy:
    # Every model violation at once, in the model's member order, as AWS reports them.
    violations = name_violations(name, "policyName", 128) + path_violations(path, policy=True) + policy_document_violations(document, "policyDocument")
    violations += policy_description_violations(description)
    violations += tag_violations(tags)
    if violations:
        raise ValidationFailed(violations)
    check_tags(tags, case_sensitive_keys=True)
    _check_managed_document(document)
    now = ctx.clock()
    policy = ManagedPolicy(
        f"arn:aws:iam::{account_id}:policy{path}{name}", account_id, name, ids.unique_id("ANPA"), path, document, now, now, description, tags=tuple(tags),
    )
    try:
        ctx.store.create_policy(policy, limit=MAX_POLICIES)
    except LimitReached:
        raise _quota_exceeded(MAX_POLICIES, "PoliciesPerAccount") from None
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.", 409) from None
    return policy


def _check_managed_document(document: str) -> None:
    """A managed policy's document (CreatePolicy, CreatePolicyVersion), once it fits the model: the PolicySize quota,
    then the policy grammar."""
    if policy_size(document) > MAX_MANAGED_POLICY:  # IAM's quotas do not count whitespace
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY}", 409)
    check_identity_policy(document, managed=True)


def policy_in_account(ctx: ServiceContext, arn: str, account_id: str) -> ManagedPolicy | None:
    """The managed policy `arn` if `account_id` may use it: its own, or an AWS managed one (another account's policy
    is as good as missing). Its attachment count is the account's."""
    try:
        policy = ctx.store.get_policy(arn, viewer=account_id)
    except NotFound:
        return None
    return policy if policy.account_id in (account_id, AWS_MANAGED) else None


def _own_policy(policy: ManagedPolicy) -> ManagedPolicy:
    """The policy, if the account may change it: AWS changes AWS managed policies, an account only reads and
    attaches them. No AWS answer to deleting or versioning one was found: samlfed answers InvalidInput, as AWS
    answers tagging one (_own_policy_tags)."""
    if policy.aws_managed:
        raise _invalid(f"Policy {policy.arn} is an AWS managed policy: only AWS changes it.")
    return policy


def _own_policy_tags(policy: ManagedPolicy) -> ManagedPolicy:
    """The policy, if the account may tag it: AWS managed policies have no tags (AWS's answer to TagPolicy, quoted in
    aws-controllers-k8s/community issue #2774)."""
    if policy.aws_managed:
        raise _invalid("Tags not supported for policies in this domain")
    return policy


def looked_up_policy(ctx: ServiceContext, account_id: str, arn: str) -> ManagedPolicy:
    """The account's managed policy, for the operations that look one up: a missing one is NoSuchEntity "… does not
    exist or is not attachable." (recorded for AttachRolePolicy and ListEntitiesForPolicy). GetPolicy words it
    otherwise (get_policy)."""
    _check_policy_arn_parameter(arn, "policyArn")
    policy = policy_in_account(ctx, arn, account_id)
    if policy is None:
        raise _no_such_policy(arn)
    return policy


def list_policies(
    ctx: ServiceContext, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None,
    attached: bool = False, boundary: bool = False, scope: str = "All", aws_in_use: bool = False,
) -> list[ManagedPolicy]:
    """The account's customer managed policies and the AWS managed ones the operator imported, as `scope` selects.
    See SqlStore.list_policies: `policy_listing_key` order, `limit` of them after `after`, maybe only attached or
    boundaries, maybe only the AWS managed ones in use."""
    return ctx.store.list_policies(
        account_id, path_prefix, after=after, limit=limit, attached=attached, boundary=boundary, scope=scope, aws_in_use=aws_in_use,
    )


def list_attached_role_policies(ctx: ServiceContext, account_id: str, name: str) -> list[ManagedPolicy]:
    return _role_call(lambda: ctx.store.list_attached_role_policies(account_id, name), name)


POLICY_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def roles_using_policy(ctx: ServiceContext, account_id: str, arn: str, usage: str | None = None) -> list[Role]:
    """The account's roles that the managed policy is attached to ("PermissionsPolicy"), is the permissions boundary
    of ("PermissionsBoundary"), or either (None), each once, by lower-cased name."""
    looked_up_policy(ctx, account_id, arn)  # NoSuchEntity for another account's policy too, in the attach wording (recorded)
    try:
        return ctx.store.roles_using_policy(account_id, arn, attached=usage != "PermissionsBoundary", boundary=usage != "PermissionsPolicy")
    except NotFound:  # deleted since
        raise _no_such_policy(arn) from None


def boundary_uses(ctx: ServiceContext, account_id: str) -> Counter[str]:
    """How many roles of the account have each managed policy as their permissions boundary."""
    return Counter(ctx.store.permissions_boundary_uses(account_id))


def _policy_not_found(arn: str) -> ServiceError:
    """GetPolicy's NoSuchEntity (AWS-observed: AWS CLI output in a blog post on an EKS Grafana agent set-up), and
    TagPolicy's, UntagPolicy's, DeletePolicy's and DetachRolePolicy's (recorded answers), not the attach wording of
    the others."""
    return ServiceError("NoSuchEntity", f"Policy {arn} was not found.", 404)


def _check_policy_exists(ctx: ServiceContext, account_id: str, arn: str, missing: ServiceError) -> ManagedPolicy:
    """looked_up_policy's checks, with `missing` raised instead of its NoSuchEntity: some operations word it otherwise."""
    try:
        return looked_up_policy(ctx, account_id, arn)
    except ServiceError as refused:
        raise missing if refused.code == "NoSuchEntity" else refused from None


def get_policy(ctx: ServiceContext, account_id: str, arn: str) -> ManagedPolicy:
    """GetPolicy: a missing policy "was not found" (AWS-observed), not looked_up_policy's attach wording."""
    return _check_policy_exists(ctx, account_id, arn, _policy_not_found(arn))


def tag_policy(ctx: ServiceContext, account_id: str, arn: str, tags: Sequence[Tag]) -> None:
    check_tags(tags, case_sensitive_keys=True)
    _own_policy_tags(get_policy(ctx, account_id, arn))
    try:
        ctx.store.tag_policy(arn, tags, limit=MAX_TAGS)
    except NotFound:
        raise _policy_not_found(arn) from None
    except LimitReached:
        raise _too_many_tags() from None


def untag_policy(ctx: ServiceContext, account_id: str, arn: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    _own_policy_tags(get_policy(ctx, account_id, arn))
    try:
        ctx.store.untag_policy(arn, keys)
    except NotFound:
        raise _policy_not_found(arn) from None


def delete_policy(ctx: ServiceContext, account_id: str, arn: str) -> None:
    _own_policy(get_policy(ctx, account_id, arn))
    try:
        ctx.store.delete_policy(arn)
    except PolicyVersionsLeft:  # AWS-observed (rebuy-de/aws-nuke issue #1, redradrat/aws-iam-operator issue #13)
        raise ServiceError(
            "DeleteConflict",
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
            "The default version is deleted with the policy.",
            409,
        ) from None
    except Conflict:  # attached, or some role's permissions boundary: AWS refuses both alike
        raise ServiceError("DeleteConflict", "Cannot delete a policy attached to entities.", 409) from None
    except NotFound:  # deleted by a concurrent request since get_policy read it
        raise _policy_not_found(arn) from None


# --- managed policy versions ------------------------------------------------------------------------------

MAX_POLICY_VERSIONS = 5
"""IAM's quota of versions per managed policy (the default one included); AWS does not raise it."""
VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?", re.ASCII)
"""The model's policyVersionIdType."""


def version_violations(arn: str, version_id: str) -> list[str]:
    """PolicyArn and VersionId against the model, in its member order and AWS's wording."""
    violations = arn_violations(arn, "policyArn")
    if not VERSION_ID.fullmatch(version_id):  # AWS quotes no value here (recorded: "Value at 'versionId' ...")
        violations.append(
            "Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )
    return violations


def _no_such_version(arn: str, version_id: str) -> ServiceError:
    # AWS's wording (recorded answers), for a missing version and for a missing policy's version alike.
    return ServiceError("NoSuchEntity", f"Policy {arn} version {version_id} does not exist or is not attachable.", 404)


def _version_call(call, arn: str, version_id: str):  # type: ignore[no-untyped-def]
    """A store call on a version of a policy that looked_up_policy found (the version, or the policy since deleted:
    NoSuchEntity naming the version, as for a policy that never was)."""
    try:
        return call()
    except (NoSuchPolicyVersion, NotFound):
        raise _no_such_version(arn, version_id) from None


def create_policy_version(ctx: ServiceContext, account_id: str, arn: str, document: str, *, set_as_default: bool = False) -> PolicyVersion:
    """A new version of the policy, with the same document checks and PolicySize quota as CreatePolicy; the default
    when `set_as_default`. At most MAX_POLICY_VERSIONS versions."""
    violations = arn_violations(arn, "policyArn") + policy_document_violations(document, "policyDocument")
    if violations:
        raise ValidationFailed(violations)
    _check_managed_document(document)
    _own_policy(looked_up_policy(ctx, account_id, arn))
    try:
        return ctx.store.create_policy_version(arn, document, now=ctx.clock(), set_as_default=set_as_default, limit=MAX_POLICY_VERSIONS)
    except LimitReached:  # AWS-observed (99designs/iamy issue #21)
        raise ServiceError(
            "LimitExceeded",
            f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.",
            409,
        ) from None
    except NotFound:  # deleted since looked_up_policy read it
        raise _no_such_policy(arn) from None


def _check_version_request(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> ManagedPolicy:
    """The model's constraints on PolicyArn and VersionId, then the policy must be one the account may use: for a
    missing policy AWS names the version asked for (recorded GetPolicyVersion and SetDefaultPolicyVersion answers)."""
    violations = version_violations(arn, version_id)
    if violations:
        raise ValidationFailed(violations)
    return _check_policy_exists(ctx, account_id, arn, _no_such_version(arn, version_id))


def get_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> PolicyVersion:
    _check_version_request(ctx, account_id, arn, version_id)
    return _version_call(lambda: ctx.store.get_policy_version(arn, version_id), arn, version_id)


def list_policy_versions(ctx: ServiceContext, account_id: str, arn: str) -> list[PolicyVersion]:
    """Newest first, as AWS lists them."""
    looked_up_policy(ctx, account_id, arn)
    try:
        return ctx.store.list_policy_versions(arn)
    except NotFound:  # deleted since looked_up_policy read it
        raise _no_such_policy(arn) from None


def delete_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> None:
    _own_policy(_check_version_request(ctx, account_id, arn, version_id))
    try:
        _version_call(lambda: ctx.store.delete_policy_version(arn, version_id), arn, version_id)
    except Conflict:  # AWS-observed (redradrat/aws-iam-operator issue #13)
        raise ServiceError("DeleteConflict", "Cannot delete the default version of a policy.", 409) from None


def set_default_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> None:
    """Every evaluation of the policy uses the new default from the next request on, on every node."""
    _own_policy(_check_version_request(ctx, account_id, arn, version_id))
    _version_call(lambda: ctx.store.set_default_policy_version(arn, version_id), arn, version_id)


SERVICE_ROLE_POLICY_PREFIX = "arn:aws:iam::aws:policy/aws-service-role/"
"""The AWS managed policies made for AWS's service-linked roles."""
MAX_POLICIES_PER_ROLE = 10
"""IAM's default quota of managed policies attached to one role (PoliciesPerRole)."""


def attach_role_policy(ctx: ServiceContext, account_id: str, name: str, arn: str) -> None:
    if not POLICY_ARN.fullmatch(arn):  # AWS's AttachRolePolicy answer (recorded), before the model's length checks
        raise ServiceError("ValidationError", f"ARN {arn} is not valid.", 400)
    if looked_up_policy(ctx, account_id, arn).aws_managed and arn.startswith(SERVICE_ROLE_POLICY_PREFIX):
        # AWS's answer (aws/aws-cdk issue #6131): such a policy is for AWS's service-linked roles, and every role
        # here is a customer's.
        raise ServiceError("PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.", 400)
    try:
        ctx.store.attach_role_policy(account_id, name, arn, limit=MAX_POLICIES_PER_ROLE)
    except LimitReached:
        raise _quota_exceeded(MAX_POLICIES_PER_ROLE, "PoliciesPerRole") from None
    except NotFound as missing:
        if str(missing) == arn:  # the policy was deleted by a concurrent request since looked_up_policy read it
            raise _no_such_policy(arn) from None
        raise _no_such_role(name) from None


def detach_role_policy(ctx: ServiceContext, account_id: str, name: str, arn: str) -> None:
    _check_policy_arn_parameter(arn, "policyArn")
    get_role(ctx, account_id, name)
    try:
        ctx.store.detach_role_policy(account_id, name, arn)
    except NotFound:
        raise _policy_not_found(arn) from None


# --- attribute mapping (samlfed extension, contract §11) ---------------------------------------------


MAX_MAPPED_NAMES = 10
"""Attribute names one tag may be read from (the first present wins): an IdP has one, a migration two or three."""
MAX_ATTRIBUTE_NAME = 1024


def parse_attribute_mapping(text: str) -> dict[str, list[str]]:
    """`{"email": ["mail"], "department": ["dept"]}`: session tag key → assertion attribute names (first present wins)."""
    try:
        mapping = parse_json(text)
    except ValueError:
        raise _invalid("The attribute mapping is not JSON.") from None
    if not isinstance(mapping, dict) or len(mapping) > MAX_TAGS:
        raise _invalid(f"The attribute mapping must be an object of at most {MAX_TAGS} tag keys.")
    seen: dict[str, str] = {}
    for key, names in mapping.items():
        if not is_valid_tag_key(key):
            raise _invalid(f"{key!r} is not a valid session tag key.")
        if key.lower() in seen:  # session tag keys are case-insensitive: every sign-in carrying both would be refused
            raise _invalid(f"The tag keys {seen[key.lower()]!r} and {key!r} differ only in case; session tag keys are case-insensitive.")
        seen[key.lower()] = key
        if (not isinstance(names, list) or not 1 <= len(names) <= MAX_MAPPED_NAMES
                or not all(isinstance(n, str) and 1 <= len(n) <= MAX_ATTRIBUTE_NAME for n in names)):
            raise _invalid(
                f"The attributes of tag {key!r} must be a list of 1 to {MAX_MAPPED_NAMES} attribute names "
                f"of 1 to {MAX_ATTRIBUTE_NAME} characters."
            )
    return mapping


def set_attribute_mapping(ctx: ServiceContext, account_id: str, arn: str, mapping: dict[str, list[str]] | None) -> None:
    get_saml_provider(ctx, account_id, arn)
    _provider_call(lambda: ctx.store.set_attribute_mapping(arn, mapping), arn)


# --- validation opt-ins (samlfed extension: the per-provider opt-ins of saml-validation-bar.md) -----------------

VALIDATION_OPTIONS = tuple(f.name for f in fields(ProviderPolicy))
"""The `ProviderPolicy` fields, which a provider may set; every default is the strict choice."""


def provider_policy(provider: SamlProvider) -> ProviderPolicy:
    """How strictly the provider's responses are validated: its stored opt-ins over the strict defaults."""
    return _policy_of(provider.validation_options)


def _policy_of(options: dict[str, bool] | None) -> ProviderPolicy:
    if not options:
        return STRICT
    return ProviderPolicy(**{name: options[name] is True for name in VALIDATION_OPTIONS if name in options})


def set_validation_options(ctx: ServiceContext, account_id: str, arn: str, changes: dict[str, bool]) -> ProviderPolicy:
    """Change some of the provider's opt-ins (the others stay as they are); returns the provider's policy after."""
    unknown = sorted(set(changes) - set(VALIDATION_OPTIONS))
    if unknown:
        raise _invalid(f"Unknown validation options {unknown}; known: {list(VALIDATION_OPTIONS)}.")
    get_saml_provider(ctx, account_id, arn)

    def merge(current: dict[str, bool] | None) -> dict[str, bool] | None:
        options = {name: getattr(_policy_of(current), name) for name in VALIDATION_OPTIONS} | changes
        return {name: True for name, on in options.items() if on} or None  # only what differs from the strict default

    # Merged in the store's transaction, under the provider's lock: a concurrent change of another option stays.
    return _policy_of(_provider_call(lambda: ctx.store.set_validation_options(arn, merge), arn))
