"""Per-provider samlfed extensions: the attribute mapping (contract §11) and the validation opt-ins of
saml-validation-bar.md, over the strict defaults.
"""

from __future__ import annotations

from dataclasses import fields

from ..context import ServiceContext
from ..jsoninput import parse_json
from ..saml import ProviderPolicy
from ..saml.aws_claims import is_valid_tag_key
from ..store import SamlProvider
from .constraints import invalid
from .providers import get_saml_provider, provider_call
from .tags import MAX_TAGS

STRICT = ProviderPolicy()
MAX_MAPPED_NAMES = 10
"""Attribute names one tag may be read from (the first present wins): an IdP has one, a migration two or three."""
MAX_ATTRIBUTE_NAME = 1024


def parse_attribute_mapping(text: str) -> dict[str, list[str]]:
    """`{"email": ["mail"], "department": ["dept"]}`: session tag key → assertion attribute names (first present wins)."""
    try:
        mapping = parse_json(text)
    except ValueError as exc:  # what is wrong, and where: a repeated key is no syntax error the writer would look for
        raise invalid(f"The attribute mapping cannot be read as JSON: {exc}.") from None
    if not isinstance(mapping, dict) or len(mapping) > MAX_TAGS:
        raise invalid(f"The attribute mapping must be an object of at most {MAX_TAGS} tag keys.")
    seen: dict[str, str] = {}
    for key, names in mapping.items():
        if not is_valid_tag_key(key):
            raise invalid(f"{key!r} is not a valid session tag key.")
        if key.lower() in seen:  # session tag keys are case-insensitive: every sign-in carrying both would be refused
            raise invalid(f"The tag keys {seen[key.lower()]!r} and {key!r} differ only in case; session tag keys are case-insensitive.")
        seen[key.lower()] = key
        if (not isinstance(names, list) or not 1 <= len(names) <= MAX_MAPPED_NAMES
                or not all(isinstance(n, str) and 1 <= len(n) <= MAX_ATTRIBUTE_NAME for n in names)):
            raise invalid(
                f"The attributes of tag {key!r} must be a list of 1 to {MAX_MAPPED_NAMES} attribute names "
                f"of 1 to {MAX_ATTRIBUTE_NAME} characters."
            )
    return mapping


def set_attribute_mapping(ctx: ServiceContext, account_id: str, arn: str, mapping: dict[str, list[str]] | None) -> None:
    get_saml_provider(ctx, account_id, arn)
    provider_call(lambda: ctx.store.set_attribute_mapping(arn, mapping), arn)


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
        raise invalid(f"Unknown validation options {unknown}; known: {list(VALIDATION_OPTIONS)}.")
    get_saml_provider(ctx, account_id, arn)

    def merge(current: dict[str, bool] | None) -> dict[str, bool] | None:
        options = {name: getattr(_policy_of(current), name) for name in VALIDATION_OPTIONS} | changes
        return {name: True for name, on in options.items() if on} or None  # only what differs from the strict default

    # Merged in the store's transaction, under the provider's lock: a concurrent change of another option stays.
    return _policy_of(provider_call(lambda: ctx.store.set_validation_options(arn, merge), arn))
