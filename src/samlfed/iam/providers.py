"""SAML providers over the store: their metadata, creation, lookup, update (metadata and assertion encryption), tags
and deletion. Raises `ServiceError` with AWS's codes and messages; knows nothing about HTTP.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..saml import MetadataError
from ..saml.metadata import IdpMetadata, parse_metadata
from ..store import AlreadyExists, Conflict, LimitReached, NoSuchPrivateKey, NotFound, SamlProvider, SamlProviderSummary, Tag
from . import arns, ids
from .constraints import arn_violations, invalid, name_violations, quota_exceeded
from .provider_keys import (
    KEY_LIMIT,
    KEY_NOT_FOUND,
    MAX_PRIVATE_KEYS,
    NO_UPDATES,
    REQUIRED_WITHOUT_KEY,
    EncryptionChange,
    check_encryption_change,
    sealed_private_key,
)
from .tags import MAX_TAGS, check_tag_keys, check_tags, too_many_tags

log = logging.getLogger("samlfed.iam")
PROVIDER_NAME = re.compile(r"[\w._-]+", re.ASCII)
MAX_PROVIDER_KEYS = 10
"""IAM's quota of keys per SAML provider (the signing certificates of its metadata)."""


def _metadata(ctx: ServiceContext, document: str, arn: str) -> IdpMetadata:
    """The parsed metadata for the provider `arn`; its warnings are logged by the caller once the provider is stored
    (`_log_warnings`). A refusal answers AWS's message; what was wrong goes to the log, for the operator."""
    try:
        metadata = parse_metadata(document, now=ctx.clock())
    except MetadataError as exc:
        log.info("SAML provider %s: metadata refused: %r", arn, exc.reason)  # %r: the reason may quote the document
        raise invalid(exc.aws_message) from None
    if len(metadata.signing_keys) > MAX_PROVIDER_KEYS:
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for KeysPerSAMLProvider: {MAX_PROVIDER_KEYS}", 409)
    return metadata


def _log_warnings(arn: str, metadata: IdpMetadata) -> None:
    """What the metadata accepted still needs (expiring certificates, a past validUntil, keys that verify only with the
    legacy opt-in): AWS's API has no field for it, so the operator learns it from the log. The warnings name
    certificates by subject and dates only, nothing secret."""
    for warning in metadata.warnings:
        log.warning("SAML provider %s: metadata: %r", arn, warning)  # %r: a certificate subject may hold a line break


MAX_PROVIDERS = 100
"""IAM's default quota per account (SAMLProvidersPerAccount)."""


def _no_such_provider(arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Manifest not found for arn {arn}", 404)  # AWS-observed (contract §6.2)


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
    check_encryption_change(encryption, update=False)
    if encryption.remove_private_key is not None:  # not in CreateSAMLProvider's model; a new provider holds no key
        raise invalid(KEY_NOT_FOUND)
    uuid = ids.provider_uuid()
    keys = () if encryption.add_private_key is None else (sealed_private_key(ctx, uuid, encryption.add_private_key),)
    mode = encryption.mode or "Allowed"
    if mode == "Required" and not keys:
        raise invalid(REQUIRED_WITHOUT_KEY)
    provider = SamlProvider(
        arn=arns.provider_arn(account_id, name), account_id=account_id, name=name, uuid=uuid,
        metadata_document=document, valid_until=metadata.valid_until, created_at=ctx.clock(), tags=tuple(tags),
        assertion_encryption_mode=mode, private_keys=keys,
    )
    try:
        ctx.store.create_provider(provider, limit=MAX_PROVIDERS)
    except LimitReached:
        raise quota_exceeded(MAX_PROVIDERS, "SAMLProvidersPerAccount") from None
    except AlreadyExists:
        # AWS's words, relayed unchanged from CreateSAMLProvider by a CloudFormation resource (org-formation/aws-resource-providers #59)
        raise ServiceError("EntityAlreadyExists", f"Provider with name {name} already exists.", 409) from None
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
        raise invalid(f"ARN {arn} is not valid.")
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
    provider_call(lambda: ctx.store.delete_provider(arn), arn)


def provider_call(call, arn: str):  # type: ignore[no-untyped-def]
    """A store call on a provider that `get_saml_provider` found: a concurrent delete may remove it in between."""
    try:
        return call()
    except NotFound:
        raise _no_such_provider(arn) from None


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
    check_encryption_change(encryption, update=True)
    if document is None and encryption.asks_nothing():
        raise invalid(NO_UPDATES)
    metadata = None
    parsed = None
    if document is not None:
        violations = document_violations(document)
        if violations:
            raise ValidationFailed(violations)
        parsed = _metadata(ctx, document, arn)
        metadata = (document, parsed.valid_until)
    remove = encryption.remove_private_key
    add = None if encryption.add_private_key is None else sealed_private_key(ctx, provider.uuid, encryption.add_private_key)
    try:
        updated = ctx.store.update_provider(
            arn, uuid=provider.uuid, metadata=metadata, mode=encryption.mode, add_key=add, remove_key_id=remove, key_limit=MAX_PRIVATE_KEYS,
        )
    except NoSuchPrivateKey:
        raise invalid(KEY_NOT_FOUND) from None
    except NotFound:  # deleted (or deleted and created again) since it was read
        raise _no_such_provider(arn) from None
    except LimitReached:
        raise ServiceError("LimitExceeded", KEY_LIMIT, 409) from None
    except Conflict:  # mode Required, or the last key of a Required provider removed
        raise invalid(REQUIRED_WITHOUT_KEY) from None
    if parsed is not None:
        _log_warnings(arn, parsed)
    return updated


def tag_saml_provider(ctx: ServiceContext, account_id: str, arn: str, tags: Sequence[Tag]) -> None:
    check_tags(tags, case_sensitive_keys=True)
    get_saml_provider(ctx, account_id, arn)
    try:
        provider_call(lambda: ctx.store.tag_provider(arn, tags, limit=MAX_TAGS), arn)
    except LimitReached:
        raise too_many_tags() from None


def untag_saml_provider(ctx: ServiceContext, account_id: str, arn: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    get_saml_provider(ctx, account_id, arn)
    provider_call(lambda: ctx.store.untag_provider(arn, keys), arn)
