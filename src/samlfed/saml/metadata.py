"""IdP metadata: parse what a SAML provider registration trusts, and build metadata for our own IdP keys.

Parsed with the same hardened parser as responses. AWS answers every refusal with "Could not parse metadata."
(`MetadataError.aws_message`); `MetadataError.reason` says precisely what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from . import constants as c
from .errors import MetadataError
from .model import ProviderPolicy, ProviderTrust, SigningKey
from .timeutil import parse_xs_datetime
from .xmlparse import XmlRejected, parse_xml

MIN_RSA_BITS = 1024
"""AWS's own floor for metadata keys; keys under 2048 bits then need the provider's legacy opt-in to verify."""
EXPIRY_WARNING = timedelta(days=30)
_WHITESPACE = re.compile(rb"\s+")
_MD_NSMAP = {"md": c.NS_METADATA, "ds": c.NS_DSIG}


@dataclass(frozen=True, slots=True)
class SsoEndpoint:
    binding: str
    location: str


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    entity_id: str
    signing_keys: tuple[SigningKey, ...]
    valid_until: datetime | None
    sso_endpoints: tuple[SsoEndpoint, ...]
    name_id_formats: tuple[str, ...]
    warnings: tuple[str, ...]

    def trust(
        self,
        *,
        policy: ProviderPolicy = ProviderPolicy(),
        provider_arn: str | None = None,
        provider_uuid: str | None = None,
    ) -> ProviderTrust:
        return ProviderTrust(self.entity_id, self.signing_keys, policy, provider_arn, provider_uuid)

    def sso_url(self, binding: str) -> str | None:
        return next((e.location for e in self.sso_endpoints if e.binding == binding), None)


def parse_metadata(document: bytes | str, *, now: datetime | None = None) -> IdpMetadata:
    """Parse IdP metadata (an EntityDescriptor, or an EntitiesDescriptor holding exactly one IdP)."""
    data = document.encode("utf-8") if isinstance(document, str) else document
    try:
        root = parse_xml(data)
    except XmlRejected as exc:
        raise MetadataError(f"the metadata is not acceptable XML: {exc}") from None
    entity = _the_idp_entity(root)
    entity_id = entity.get("entityID") or ""
    if not entity_id or entity_id != entity_id.strip():
        raise MetadataError("the EntityDescriptor has no usable entityID")
    idp = entity.find(c.MD_IDP_SSO_DESCRIPTOR)
    assert idp is not None  # _the_idp_entity only returns entities with one
    if c.NS_PROTOCOL not in (idp.get("protocolSupportEnumeration") or "").split():
        raise MetadataError("the IDPSSODescriptor does not support the SAML 2.0 protocol")
    keys = _signing_keys(idp)
    valid_until = _valid_until(entity, root)
    moment = now or datetime.now(UTC)
    return IdpMetadata(
        entity_id=entity_id,
        signing_keys=keys,
        valid_until=valid_until,
        sso_endpoints=tuple(
            SsoEndpoint(e.get("Binding", ""), e.get("Location", "")) for e in idp.findall(c.MD_SINGLE_SIGN_ON_SERVICE)
        ),
        name_id_formats=tuple((e.text or "").strip() for e in idp.findall(c.MD_NAME_ID_FORMAT)),
        warnings=tuple(_warnings(keys, valid_until, moment)),
    )


def _the_idp_entity(root: etree._Element) -> etree._Element:
    if root.tag == c.MD_ENTITY_DESCRIPTOR:
        entities = [root]
    elif root.tag == c.MD_ENTITIES_DESCRIPTOR:
        entities = list(root.iter(c.MD_ENTITY_DESCRIPTOR))
    else:
        raise MetadataError(f"the root element is {root.tag}, not an md:EntityDescriptor")
    idps = [e for e in entities if e.find(c.MD_IDP_SSO_DESCRIPTOR) is not None]
    if not idps:
        raise MetadataError("the metadata has no IDPSSODescriptor")
    if len(idps) > 1:
        raise MetadataError(f"the metadata describes {len(idps)} identity providers; register them one at a time")
    if len(idps[0].findall(c.MD_IDP_SSO_DESCRIPTOR)) > 1:
        raise MetadataError("the EntityDescriptor has more than one IDPSSODescriptor")
    return idps[0]


def _signing_keys(idp: etree._Element) -> tuple[SigningKey, ...]:
    keys: dict[str, SigningKey] = {}
    for descriptor in idp.findall(c.MD_KEY_DESCRIPTOR):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for element in descriptor.iterfind(f"{c.DS_KEY_INFO}/{c.DS_X509_DATA}/{c.DS_X509_CERTIFICATE}"):
            key = _load_certificate(element.text or "")
            keys.setdefault(key.thumbprint, key)
    if not keys:
        raise MetadataError("the IDPSSODescriptor has no signing certificate")
    return tuple(keys.values())


def _load_certificate(text: str) -> SigningKey:
    try:
        der = base64.b64decode(_WHITESPACE.sub(b"", text.encode("ascii")), validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise MetadataError("a signing certificate is not a valid base64 DER X.509 certificate") from None
    try:
        key = SigningKey.from_certificate(certificate)
    except ValueError:
        raise MetadataError("a signing certificate does not hold an RSA key") from None
    if key.key_size < MIN_RSA_BITS:
        raise MetadataError(f"a signing key has {key.key_size} bits; at least {MIN_RSA_BITS} are required")
    return key


def _valid_until(entity: etree._Element, root: etree._Element) -> datetime | None:
    values = [v for v in (entity.get("validUntil"), root.get("validUntil") if root is not entity else None) if v]
    try:
        instants = [parse_xs_datetime(v) for v in values]
    except ValueError:
        raise MetadataError("validUntil is not a valid xs:dateTime with a time zone") from None
    return min(instants) if instants else None


def _warnings(keys: tuple[SigningKey, ...], valid_until: datetime | None, now: datetime) -> list[str]:
    warnings = []
    for key in keys:
        after = key.not_valid_after
        if after is not None and after < now:
            warnings.append(
                f"signing certificate {key.subject} expired on {after:%Y-%m-%d}; it is still trusted as a key (as AWS does), but rotate it"
            )
        elif after is not None and after - now < EXPIRY_WARNING:
            warnings.append(f"signing certificate {key.subject} expires on {after:%Y-%m-%d}: plan the rotation now")
        if key.key_size < 2048:
            warnings.append(f"signing key of {key.subject} has {key.key_size} bits; it verifies only with the legacy-algorithms opt-in")
    if valid_until is not None and valid_until < now:
        warnings.append(f"the metadata's validUntil ({valid_until:%Y-%m-%d}) has passed; download fresh metadata from the IdP")
    return warnings


def build_idp_metadata(
    entity_id: str,
    certificates: Sequence[x509.Certificate],
    *,
    sso_endpoints: Sequence[SsoEndpoint] = (),
    name_id_formats: Sequence[str] = (),
    valid_until: datetime | None = None,
) -> bytes:
    """Standard IdP metadata for the given signing certificates (current and, during a rotation, next)."""
    entity = etree.Element(c.MD_ENTITY_DESCRIPTOR, nsmap=_MD_NSMAP, entityID=entity_id)
    if valid_until is not None:
        entity.set("validUntil", valid_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    idp = etree.SubElement(
        entity, c.MD_IDP_SSO_DESCRIPTOR, protocolSupportEnumeration=c.NS_PROTOCOL, WantAuthnRequestsSigned="false"
    )
    for certificate in certificates:
        descriptor = etree.SubElement(idp, c.MD_KEY_DESCRIPTOR, use="signing")
        x509_data = etree.SubElement(etree.SubElement(descriptor, c.DS_KEY_INFO), c.DS_X509_DATA)
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, c.DS_X509_CERTIFICATE).text = base64.b64encode(der).decode()
    for name_id_format in name_id_formats:
        etree.SubElement(idp, c.MD_NAME_ID_FORMAT).text = name_id_format
    for endpoint in sso_endpoints:
        etree.SubElement(idp, c.MD_SINGLE_SIGN_ON_SERVICE, Binding=endpoint.binding, Location=endpoint.location)
    return etree.tostring(entity, xml_declaration=True, encoding="UTF-8", pretty_print=True)
