"""The IAM operations on SAML providers: create, get, list, update, delete and tag them, and samlfed's attribute
mapping and validation opt-in extensions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ...context import ServiceContext
from ...errors import ServiceError, ValidationFailed
from ...iam import provider_keys as iam_provider_keys
from ...iam import provider_options as iam_provider_options
from ...iam import providers as iam_providers
from ...saml import ProviderPolicy
from ...store import SamlProvider, SamlProviderSummary
from ..auth import Caller
from ..protocol import QueryRequest
from . import results
from .pagination import paginate
from .parameters import account, enum, refuse_unimplemented, required, required_list, tags

_VALID_UNTIL_WITHOUT_ONE = timedelta(days=36500)


def _valid_until(provider: SamlProvider | SamlProviderSummary) -> datetime:
    """ValidUntil: the metadata's validUntil, or, for metadata without one, 100 years of 365 days after CreateDate.
    AWS answers a ValidUntil for such metadata too (LocalStack's recordings of GetSAMLProvider and ListSAMLProviders
    against AWS hold one), and an IAM-compatible store documents that date. Only shown: nothing expires then."""
    return provider.valid_until if provider.valid_until is not None else provider.created_at + _VALID_UNTIL_WITHOUT_ONE


def _provider(provider: SamlProvider) -> dict[str, Any]:
    return {
        "SAMLProviderUUID": provider.uuid,
        "SAMLMetadataDocument": provider.metadata_document,
        "CreateDate": provider.created_at,
        "ValidUntil": _valid_until(provider),
        "Tags": results.sorted_tag_list(provider.tags),
        "AssertionEncryptionMode": provider.assertion_encryption_mode,
        "PrivateKeyList": [{"KeyId": key.key_id, "Timestamp": key.created_at} for key in provider.private_keys],
    }


def _encryption_change(request: QueryRequest) -> iam_provider_keys.EncryptionChange:
    """AssertionEncryptionMode, AddPrivateKey (a PEM private key: it goes no further than the service, which seals
    it) and RemovePrivateKey (a KeyId)."""
    params = request.params
    return iam_provider_keys.EncryptionChange(
        mode=enum(request, "AssertionEncryptionMode", iam_provider_keys.ENCRYPTION_MODES),
        add_private_key=params.get("AddPrivateKey"), remove_private_key=params.get("RemovePrivateKey"),
    )


def create_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    document, name = required(request, "SAMLMetadataDocument", "Name")
    refuse_unimplemented(request)
    provider = iam_providers.create_saml_provider(ctx, account(caller), name, document, tags(request), _encryption_change(request))
    # botocore's CreateSAMLProviderResponse: "The returned list of tags is sorted by tag key." (as GetSAMLProvider's);
    # without tags AWS answers the ARN alone (recorded).
    return {"SAMLProviderArn": provider.arn, "Tags": results.sorted_tag_list(provider.tags) or None}


def get_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "SAMLProviderArn")
    return _provider(iam_providers.get_saml_provider(ctx, account(caller), arn))


def list_saml_providers(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    providers = iam_providers.list_saml_providers(ctx, account(caller))
    return {"SAMLProviderList": [{"Arn": p.arn, "ValidUntil": _valid_until(p), "CreateDate": p.created_at} for p in providers]}


def delete_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "SAMLProviderArn")
    iam_providers.delete_saml_provider(ctx, account(caller), arn)


def update_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "SAMLProviderArn")
    refuse_unimplemented(request)
    iam_providers.get_saml_provider(ctx, account(caller), arn)  # NoSuchEntity comes before what the key parameters say
    provider = iam_providers.update_saml_provider(ctx, account(caller), arn, request.params.get("SAMLMetadataDocument"), _encryption_change(request))
    return {"SAMLProviderArn": provider.arn}


def tag_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "SAMLProviderArn")
    required_list(request, "Tags")
    iam_providers.tag_saml_provider(ctx, account(caller), arn, tags(request))


def untag_saml_provider(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    (arn,) = required(request, "SAMLProviderArn")
    required_list(request, "TagKeys")
    iam_providers.untag_saml_provider(ctx, account(caller), arn, request.member_list("TagKeys"))


def list_saml_provider_tags(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "SAMLProviderArn")
    page, more = paginate(request, results.tag_list(iam_providers.get_saml_provider(ctx, account(caller), arn).tags), results.tag_key)
    return {"Tags": page, **more}


def set_attribute_mapping(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> None:
    """samlfed extension: AWS SDKs have no such field, so the call is made by samlfed's CLI or a raw request."""
    (arn,) = required(request, "SAMLProviderArn")
    text = request.params.get("AttributeMapping")
    iam_provider_options.set_attribute_mapping(ctx, account(caller), arn, iam_provider_options.parse_attribute_mapping(text) if text else None)


def get_attribute_mapping(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "SAMLProviderArn")
    mapping = iam_providers.get_saml_provider(ctx, account(caller), arn).attribute_mapping
    return {"AttributeMapping": json.dumps(mapping or {}, sort_keys=True)}


_OPTION_PARAMETERS = {"AllowLegacyAlgorithms": "allow_legacy_algorithms", "AllowResponseOnlySignature": "allow_response_only_signature",
                      "RequireConditionBounds": "require_condition_bounds"}


def _validation_options(policy: ProviderPolicy) -> dict[str, Any]:
    return {"ValidationOptions": {parameter: str(getattr(policy, name)).lower() for parameter, name in _OPTION_PARAMETERS.items()}}


def set_validation_options(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    """samlfed extension: turn a provider's validation opt-ins on or off (`true`/`false`); those not named stay."""
    (arn,) = required(request, "SAMLProviderArn")
    changes = {}
    for parameter, name in _OPTION_PARAMETERS.items():
        value = request.params.get(parameter)
        if value is None:
            continue
        if value not in ("true", "false"):
            raise ValidationFailed([f"Value '{value}' at '{parameter[0].lower()}{parameter[1:]}' failed to satisfy constraint: Member must be true or false"])
        changes[name] = value == "true"
    if not changes:
        raise ServiceError("InvalidInput", f"Name at least one of {', '.join(_OPTION_PARAMETERS)}.")
    return _validation_options(iam_provider_options.set_validation_options(ctx, account(caller), arn, changes))


def get_validation_options(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    (arn,) = required(request, "SAMLProviderArn")
    return _validation_options(iam_provider_options.provider_policy(iam_providers.get_saml_provider(ctx, account(caller), arn)))
