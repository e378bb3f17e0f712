"""The `saml:*` condition keys of a verified assertion (aws-saml-contract.md §5.2), for trust-policy evaluation.

Every key is a list of strings (single-valued keys are one-element lists), keyed by its lower-cased name.
Only `saml:namequalifier`, `saml:sub` and `saml:sub_type` persist into the session.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from ..saml import VerifiedAssertion

_EDUPERSON = {
    1: "affiliation", 2: "nickname", 3: "orgdn", 4: "orgunitdn", 5: "primaryaffiliation", 6: "principalname",
    7: "entitlement", 8: "primaryorgunitdn", 9: "scopedaffiliation", 10: "targetedid", 11: "assurance",
}
_EDUORG = {2: "homepageuri", 3: "identityauthnpolicyuri", 4: "legalname", 5: "superioruri", 6: "whitepagesuri"}

# Attribute Name → condition key, as AWS maps them (including the OIDs as AWS prints them and the standard ones).
ATTRIBUTE_KEYS: dict[str, str] = {
    **{f"urn:oid:1.3.6.1.4.1.5923.1.1.1.{n}": f"saml:eduperson{suffix}" for n, suffix in _EDUPERSON.items()},
    **{f"urn:oid:1.3.6.1.4.1.5923.1.2.1.{n}": f"saml:eduorg{suffix}" for n, suffix in _EDUORG.items()},
    "urn:oid:2.5.4.3": "saml:cn",
    "http://schemas.xmlsoap.org/claims/CommonName": "saml:commonName",
    "2.5.4.3": "saml:commonName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": "saml:givenName",
    "2.4.5.42": "saml:givenName",
    "2.5.4.42": "saml:givenName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": "saml:surname",
    "2.5.4.4": "saml:surname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "saml:mail",
    "0.9.2342.19200300100.1.3": "saml:mail",
    "0.9.2342.19200300.100.1.3": "saml:mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": "saml:name",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid": "saml:uid",
    "0.9.2342.19200300100.1.1": "saml:uid",
    "0.9.2342.19200300.100.1.1": "saml:uid",
    "0.9.2342.19200300.100.1.45": "saml:organizationStatus",
    "2.5.4.45": "saml:x500UniqueIdentifier",
}
PERSISTENT_KEYS = ("saml:namequalifier", "saml:sub", "saml:sub_type")
_DOCUMENTED_KEYS = frozenset(key.lower() for key in ATTRIBUTE_KEYS.values()) | {"saml:primarygroupsid"}
"""Keys that only the attributes AWS documents for them may fill: an attribute merely named `mail` or `cn` is
not the mail or common-name claim, and a trust policy written for AWS must not read it as one. AWS lists
`saml:primaryGroupSID` with no source attribute (contract §5.2, "ours: none"): no attribute fills it."""


@lru_cache(maxsize=256)
def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """AWS's NameQualifier: Base64(SHA1(Issuer + AccountId + "/" + ProviderName)), on the exact Issuer string.

    Kept per provider: the same few values on every sign-in, and hashing them again cost 3 µs each time."""
    return base64.b64encode(hashlib.sha1((issuer + account_id + "/" + provider_name).encode()).digest()).decode()


def saml_context(verified: VerifiedAssertion, *, account_id: str, provider_name: str) -> dict[str, list[str]]:
    response = verified.response
    raw: dict[str, list[str]] = {}
    documented: dict[str, list[str]] = {}
    for name, values in response.attributes.items():  # document order: the first claim for a key wins
        if not values:
            continue
        raw_key = f"saml:{name}".lower()
        if raw_key not in _DOCUMENTED_KEYS:
            raw.setdefault(raw_key, list(values))
        key = ATTRIBUTE_KEYS.get(name)
        if key is not None:
            documented.setdefault(key.lower(), list(values))
    # Any attribute is also available under its own Name (samlfed extension, contract §11), except under a
    # documented key, which keeps its AWS meaning (and is absent without its documented attribute).
    context = {**raw, **documented}
    context.update(
        {
            "saml:aud": [response.recipient],
            "saml:iss": [response.issuer],
            "saml:sub": [response.name_id],
            "saml:sub_type": [response.subject_type],
            "saml:namequalifier": [name_qualifier(response.issuer, account_id, provider_name)],
            "saml:doc": [f"{account_id}/{provider_name}"],
        }
    )
    return context


def persisted(context: dict[str, list[str]]) -> dict[str, str]:
    """The keys that live on in the session (usable in permission policies and chained trust policies)."""
    return {key: context[key][0] for key in PERSISTENT_KEYS if key in context}
