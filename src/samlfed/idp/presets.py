"""Assertion shapes of common IdPs, so a team can check its AWS-side configuration against each.

Each preset sets the dimensions in which real IdPs' AWS assertions differ (from their AWS integration guides
and captured responses): the order inside a Role value, one Role attribute with many values or one attribute
per role, the NameID format, what is signed, the attribute NameFormat and whether values are typed. The
content (which roles, which tags) always comes from the service provider's claim rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..saml import constants as c

EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    role_order: Literal["role,provider", "provider,role"] = "role,provider"
    role_attribute_per_value: bool = False
    name_id_format: str = c.NAMEID_PERSISTENT
    sign: Literal["assertion", "response", "both"] = "assertion"
    attribute_name_format: str | None = c.ATTRNAME_FORMAT_URI
    typed_values: bool = True


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("samlfed", "samlfed's own shape: persistent NameID, Assertion signed, one Role attribute, typed values"),
        Preset("okta", "Okta AWS app: email NameID, Assertion signed, one Role attribute, typed values", name_id_format=EMAIL),
        Preset(
            "entra",
            "Microsoft Entra ID: email NameID, Assertion signed, untyped values without NameFormat",
            name_id_format=EMAIL,
            attribute_name_format=None,
            typed_values=False,
        ),
        Preset(
            "adfs",
            "AD FS: provider ARN first in each Role value, persistent NameID, Assertion signed, untyped values",
            role_order="provider,role",
            typed_values=False,
        ),
        Preset(
            "keycloak",
            "Keycloak: one Role attribute element per role, basic NameFormat, Response and Assertion signed",
            role_attribute_per_value=True,
            name_id_format=c.NAMEID_FORMAT_UNSPECIFIED,
            sign="both",
            attribute_name_format=BASIC,
        ),
        Preset(
            "google",
            "Google Workspace: only the Response signed (the provider needs the response-only opt-in), email NameID",
            name_id_format=EMAIL,
            sign="response",
            attribute_name_format=None,
            typed_values=False,
        ),
    )
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
