"""Claim rules: what the IdP asserts about a user to one service provider, in that provider's preset shape."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..saml.aws_claims import comma_named_pair
from ..saml.signing import AssertionSpec
from .config import ServiceProvider
from .directory import User

_ROLE = re.compile(r"arn:[\w-]+:iam::\d{12}:role/", re.ASCII)


def _first(user: User, attribute: str) -> str | None:
    values = user.attribute(attribute)
    return values[0] if values else None


def _ordered(value: str, order: str) -> str:
    """A `role,provider` pair in the preset's order (rules may write it either way)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 2:
        role, provider = parts if _ROLE.match(parts[0]) else parts[::-1]
    elif pair := comma_named_pair(value.strip()):  # a role whose name holds commas
        role, provider = pair
    else:
        return value  # not a pair: passed on as written, and the validator will say why it is unusable
    return f"{role},{provider}" if order == "role,provider" else f"{provider},{role}"


def role_values(user: User, sp: ServiceProvider) -> list[str]:
    values: list[str] = []
    for rule in sp.claims.roles:
        for value in rule.apply(user.groups):
            ordered = _ordered(value, sp.preset.role_order)
            if ordered not in values:
                values.append(ordered)
    return values


def assertion_spec(
    user: User,
    sp: ServiceProvider,
    *,
    issuer: str,
    acs_url: str,
    now: datetime,
    in_response_to: str | None = None,
    lifetime: timedelta = timedelta(minutes=5),
) -> AssertionSpec:
    rules, shape = sp.claims, sp.preset
    tags = {key: value for key, attribute in rules.principal_tags.items() if (value := _first(user, attribute)) is not None}
    attributes = {name: values for name, attribute in rules.attributes.items() if (values := user.attribute(attribute))}
    return AssertionSpec(
        issuer=issuer,
        name_id=_first(user, rules.name_id) or user.username,
        name_id_format=shape.name_id_format,
        roles=role_values(user, sp),
        role_session_name=_first(user, rules.role_session_name) or user.username,
        session_duration=rules.session_duration,
        source_identity=_first(user, rules.source_identity) if rules.source_identity else None,
        principal_tags=tags,
        transitive_tag_keys=[key for key in rules.transitive_tag_keys if key in tags],
        attributes=attributes,
        recipient=acs_url,
        destination=acs_url,
        audience=sp.entity_id,
        issue_instant=now,
        lifetime=lifetime,
        in_response_to=in_response_to,
        role_attribute_per_value=shape.role_attribute_per_value,
        attribute_name_format=shape.attribute_name_format,
        typed_values=shape.typed_values,
    )
