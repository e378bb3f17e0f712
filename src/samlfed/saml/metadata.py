"""IdP metadata: parse what a SAML provider registration trusts, and build metadata for our own IdP keys.

Parsed with the same hardened parser as responses (aws-saml-contract.md §6.3). AWS answers a refusal with
"Could not parse metadata.", or "Unable to parse metadata" for the signing certificates it documents refusing
(`MetadataError.aws_message`); `MetadataError.reason` says precisely what was wrong.
Elements are identified by namespace URI and local name, never by prefix.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from . import constants as c
from .b64 import strict_b64decode
from .errors import UNABLE_TO_PARSE_METADATA, MetadataError
from .model import ProviderPolicy, ProviderTrust, SigningKey, utc
from .timeutil import parse_xs_datetime
from .xmlparse import XmlRejected, parse_xml

MIN_RSA_BITS = 1024
"""AWS's floor for metadata keys; keys under `ProviderPolicy().min_rsa_bits` then need the legacy opt-in to verify."""
MAX_RSA_BITS = 16384
"""OpenSSL's limit for RSA public-key operations ("modulus too large"): a larger key can never verify a signature."""
EXPIRY_WARNING = timedelta(days=30)
_UTF8_BOM = b"\xef\xbb\xbf"
_XML_WHITESPACE = " \t\r\n"
_HAS_ZONE = re.compile(r"(?:Z|[+-]\d\d:\d\d)$", re.ASCII)
MAX_KEY_DESCRIPTOR_CERTIFICATES = 10
"""A KeyDescriptor is one key: its certificate, and perhaps its chain."""
_X509_DATA_PATH = f"{c.DS_KEY_INFO}/{c.DS_X509_DATA}"
_NSMAP = {"md": c.NS_METADATA, "ds": c.NS_DSIG}


@dataclass(frozen=True, slots=True)
class SsoEndpoint:
    binding: str
    location: str


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    """What a provider registration keeps from the metadata document."""

    entity_id: str
    signing_keys: tuple[SigningKey, ...]
    valid_until: datetime | None
    """The earliest validUntil bounding the IdP (its descriptor, its entity, enclosing aggregates)."""
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
        """The first SingleSignOnService location for `binding`, in document order."""
        return next((e.location for e in self.sso_endpoints if e.binding == binding), None)


def parse_metadata(document: bytes | str, *, now: datetime | None = None) -> IdpMetadata:
    """Parse IdP metadata (an EntityDescriptor, or an EntitiesDescriptor holding exactly one IdP).

    Raises `MetadataError` for anything AWS would refuse or that would leave the provider verifying nothing.
    Problems that do not stop verification (expiring certificates, short keys) become `warnings`.
    """
    entity = _the_idp_entity(_parse(document))
    entity_id = _entity_id(entity)
    idp = _idp_descriptor(entity)
    keys, chain_warnings = _signing_keys(idp)
    valid_until = _valid_until(idp)
    moment = utc(now) if now is not None else datetime.now(UTC)
    return IdpMetadata(
        entity_id=entity_id,
        signing_keys=keys,
        valid_until=valid_until,
        sso_endpoints=_sso_endpoints(idp),
        name_id_formats=_name_id_formats(idp),
        warnings=(*chain_warnings, *_key_warnings(keys, moment), *_validity_warnings(valid_until, moment)),
    )


def _parse(document: bytes | str) -> etree._Element:
    data = document.encode("utf-8") if isinstance(document, str) else document
    if data.startswith(_UTF8_BOM):  # AWS accepts UTF-8 without a BOM only (§6.3)
        raise MetadataError("the metadata starts with a byte order mark; only UTF-8 without a BOM is accepted")
    try:
        return parse_xml(data)
    except XmlRejected as exc:
        raise MetadataError(f"the metadata is not acceptable XML: {exc}") from None


def _the_idp_entity(root: etree._Element) -> etree._Element:
    if root.tag == c.MD_ENTITY_DESCRIPTOR:
        entities = [root]
    elif root.tag == c.MD_ENTITIES_DESCRIPTOR:
        entities = list(_entities_in(root))
    else:
        raise MetadataError(f"the root element is {root.tag}, not an md:EntityDescriptor or md:EntitiesDescriptor")
    idps = [e for e in entities if e.find(c.MD_IDP_SSO_DESCRIPTOR) is not None]
    if not idps:
        raise MetadataError("the metadata has no IDPSSODescriptor")
    if len(idps) > 1:
        raise MetadataError(f"the metadata describes {len(idps)} identity providers; register them one at a time")
    return idps[0]


def _entities_in(aggregate: etree._Element) -> Iterator[etree._Element]:
    """The EntityDescriptors of an aggregate, nested aggregates included (never those inside other elements)."""
    for child in aggregate:
        if child.tag == c.MD_ENTITY_DESCRIPTOR:
            yield child
        elif child.tag == c.MD_ENTITIES_DESCRIPTOR:
            yield from _entities_in(child)


def _entity_id(entity: etree._Element) -> str:
    entity_id = entity.get("entityID")
    if entity_id is None:
        raise MetadataError("the EntityDescriptor has no entityID")
    if not entity_id.strip():
        raise MetadataError("the EntityDescriptor's entityID is empty")
    # The entityID becomes the required Issuer, compared exactly: silently trimming it would hide a mismatch.
    if entity_id != entity_id.strip():
        raise MetadataError(f"the entityID {entity_id!r} has leading or trailing whitespace")
    return entity_id


def _idp_descriptor(entity: etree._Element) -> etree._Element:
    descriptors = entity.findall(c.MD_IDP_SSO_DESCRIPTOR)
    if len(descriptors) > 1:
        raise MetadataError("the EntityDescriptor has more than one IDPSSODescriptor")
    idp = descriptors[0]
    if c.NS_PROTOCOL not in (idp.get("protocolSupportEnumeration") or "").split():
        raise MetadataError(f"the IDPSSODescriptor's protocolSupportEnumeration does not include {c.NS_PROTOCOL}")
    return idp


def _signing_keys(idp: etree._Element) -> tuple[tuple[SigningKey, ...], list[str]]:
    """Every signing key of a signing (or unqualified) KeyDescriptor, several coexisting during a rotation; and the
    warnings about chain certificates left out."""
    keys: dict[str, SigningKey] = {}
    warnings: list[str] = []
    unsupported: list[str] = []
    for certificate in _published_certificates(idp, warnings):
        if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
            unsupported.append(_unsupported_key(certificate))
            continue
        key = _signing_key(certificate)
        keys.setdefault(key.thumbprint, key)  # the same certificate listed twice is one key
    if not keys and unsupported:
        raise MetadataError(unsupported[0])
    if not keys:
        raise MetadataError('the IDPSSODescriptor has no signing certificate (KeyDescriptor use="signing" or without use)')
    # A key of another kind beside RSA ones (an IdP that also publishes an EC key, say) is left out, never trusted:
    # the signature profile verifies RSA only, so it could verify nothing, and the RSA keys still do.
    warnings.extend(f"{message}: it is left out" for message in unsupported)
    return tuple(keys.values()), warnings


def _published_certificates(idp: etree._Element, warnings: list[str]) -> list[x509.Certificate]:
    """The key certificates of the signing (or unqualified) KeyDescriptors. Each KeyDescriptor is a key of its own
    (an IdP publishes the next one beside the current one, whichever signed it); within one, what its KeyInfo carries
    beside the key's certificate is that certificate's chain (_key_certificates)."""
    certificates: list[x509.Certificate] = []
    for descriptor in idp.findall(c.MD_KEY_DESCRIPTOR):
        if descriptor.get("use", "signing") != "signing":
            continue
        if len(descriptor.findall(c.DS_KEY_INFO)) > 1:  # the schema allows one: which would the IdP mean?
            raise MetadataError("a KeyDescriptor holds more than one ds:KeyInfo")
        groups = [list(x509_data.iterfind(c.DS_X509_CERTIFICATE)) for x509_data in descriptor.iterfind(_X509_DATA_PATH)]
        if sum(map(len, groups)) > MAX_KEY_DESCRIPTOR_CERTIFICATES:  # before parsing them; each pair is compared
            raise MetadataError(f"a KeyDescriptor holds more than {MAX_KEY_DESCRIPTOR_CERTIFICATES} certificates")
        loaded = [[_load_certificate(_decode_base64(_text_of(e))) for e in group] for group in groups]
        certificates.extend(_key_certificates(loaded, warnings))
    return certificates


def _text_of(element: etree._Element) -> str:
    """An X509Certificate's text, whole: an XML comment splits it into several text nodes."""
    if any(isinstance(child.tag, str) for child in element):
        raise MetadataError("a signing X509Certificate holds an element; it must hold only base64 text")
    return "".join(element.itertext())


def _key_certificates(groups: list[list[x509.Certificate]], warnings: list[str]) -> list[x509.Certificate]:
    """The certificates of one KeyDescriptor's key, its chain left out: in each X509Data the CA certificates beside
    one that is no CA (_end_entities), and in the whole KeyInfo any certificate that issued another of them, marked
    as a CA or not. Its holder could sign as the IdP were it trusted. An issuer with the same key as what it issued
    (a renewal on the same key) gains nothing and stays."""
    certificates = [certificate for group in groups for certificate in _end_entities(group, warnings)]
    kept = []
    for certificate in certificates:
        issued = next((other for other in certificates if _issued_by(other, certificate)), None)
        if issued is None:
            kept.append(certificate)
        else:
            warnings.append(f"the certificate {certificate.subject.rfc4514_string()} issued the signing certificate "
                            f"{issued.subject.rfc4514_string()}: it is taken as its chain, not as a signing key")
    if certificates and not kept:
        raise MetadataError("the certificates of a KeyDescriptor each issued another of them: none is a signing key")
    return kept


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` issued `certificate` with another key. Named as its issuer but with a signature that cannot
    be checked here (an algorithm such as MD5 with RSA, or a key of a kind not handled): taken as issued, fail closed."""
    if certificate.issuer != issuer.subject or certificate.public_key() == issuer.public_key():
        return False
    return _signed_by(certificate, issuer) is not False


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether `issuer`'s key made `certificate`'s signature; None when that cannot be told. By hand for RSA and
    ECDSA: verify_directly_issued_by refuses SHA-1, which older corporate CAs still sign with."""
    key = issuer.public_key()
    try:
        parameters = certificate.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and isinstance(parameters, (padding.PKCS1v15, padding.PSS)):
            algorithm = certificate.signature_hash_algorithm
            if algorithm is None:
                return None
            key.verify(certificate.signature, certificate.tbs_certificate_bytes, parameters, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(parameters, ec.ECDSA):
            key.verify(certificate.signature, certificate.tbs_certificate_bytes, parameters)
        else:
            certificate.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return True


def _unsupported_key(certificate: x509.Certificate) -> str:
    kind = type(certificate.public_key()).__name__.removesuffix("PublicKey")
    return f"the signing certificate {certificate.subject.rfc4514_string()} has a non-RSA key ({kind}); only RSA keys are supported"


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _end_entities(certificates: list[x509.Certificate], warnings: list[str]) -> list[x509.Certificate]:
    """The certificates of one X509Data that hold the IdP's key. An X509Data may carry the signing certificate's
    chain as well; its CA certificates sign certificates, not SAML responses, and trusting their keys would let
    the CA's holder sign as the IdP. So when it holds a certificate that is no CA, its CA certificates are left out
    (a lone certificate stays, even a self-signed one marked as a CA, as IdPs generate them)."""
    flagged = [(certificate, _is_ca(certificate)) for certificate in certificates]
    leaves = [certificate for certificate, ca in flagged if not ca]
    if len(certificates) < 2 or not leaves:
        return certificates
    warnings.extend(
        f"the CA certificate {certificate.subject.rfc4514_string()} beside a signing certificate is taken as its chain, not as a signing key"
        for certificate, ca in flagged if ca
    )
    return leaves


def _signing_key(certificate: x509.Certificate) -> SigningKey:
    key = certificate.public_key()
    subject = certificate.subject.rfc4514_string()
    assert isinstance(key, rsa.RSAPublicKey)  # _signing_keys set the others apart
    if key.key_size < MIN_RSA_BITS:
        raise MetadataError(
            f"the signing certificate {subject} has a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} bits are required",
            UNABLE_TO_PARSE_METADATA,
        )
    if key.key_size > MAX_RSA_BITS:
        raise MetadataError(
            f"the signing certificate {subject} has a {key.key_size}-bit RSA key; over {MAX_RSA_BITS} bits it can verify no signature"
        )
    return SigningKey.from_certificate(certificate)


def _decode_base64(text: str) -> bytes:
    if "-----BEGIN" in text or "-----END" in text:  # a PEM file pasted whole: say so, rather than "not base64"
        raise MetadataError(
            "a signing X509Certificate holds PEM lines (-----BEGIN CERTIFICATE----- / -----END CERTIFICATE-----); "
            "it must hold only the base64 between them"
        )
    try:
        return strict_b64decode(text)
    except binascii.Error:
        raise MetadataError("a signing X509Certificate is not valid base64") from None


UNREADABLE_CERTIFICATE = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)
"""What cryptography raises for a certificate, or its key, that it cannot read. Neither InvalidVersion (a version
other than v1-v3), nor the TypeError of a name whose value has a type its attribute may not have (a BIT STRING CN),
nor UnsupportedAlgorithm (a key of an algorithm it does not know) is a ValueError."""


def _load_certificate(der: bytes) -> x509.Certificate:
    try:
        certificate = x509.load_der_x509_certificate(der)
        # Names, extensions and the key are decoded lazily: force them now so that a broken certificate fails here,
        # not later as a 500 or a traceback wherever its subject is first shown.
        _ = certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string(), certificate.extensions, certificate.public_key()
    except x509.DuplicateExtension as exc:  # AWS refuses repeated extensions too (§6.3)
        raise MetadataError(f"a signing certificate repeats an extension ({exc.oid.dotted_string})", UNABLE_TO_PARSE_METADATA) from None
    except UNREADABLE_CERTIFICATE as exc:
        raise MetadataError(f"a signing X509Certificate is not a valid DER X.509 certificate ({exc})") from None
    return certificate


def _valid_until(idp: etree._Element) -> datetime | None:
    """The earliest validUntil on the IDPSSODescriptor, its EntityDescriptor or any enclosing EntitiesDescriptor."""
    instants = []
    for element in (idp, *idp.iterancestors()):
        value = element.get("validUntil")
        if value is None:
            continue
        try:
            instants.append(_metadata_instant(value))
        except ValueError:
            raise MetadataError(f"validUntil {value!r} is not a valid xs:dateTime") from None
    return min(instants, default=None)


def _metadata_instant(value: str) -> datetime:
    """validUntil as an instant: xs:dateTime collapses surrounding whitespace, and SAML Core §1.3.3 says times are
    UTC without a zone component, so a zone-less value is read as UTC. Instants in responses keep the strict parser."""
    text = value.strip(_XML_WHITESPACE)
    return parse_xs_datetime(text if _HAS_ZONE.search(text) else f"{text}Z")


def _sso_endpoints(idp: etree._Element) -> tuple[SsoEndpoint, ...]:
    # An endpoint without Binding or Location is unusable, but AWS never reads endpoints: skip it, keep the keys.
    pairs = ((e.get("Binding"), e.get("Location")) for e in idp.findall(c.MD_SINGLE_SIGN_ON_SERVICE))
    return tuple(SsoEndpoint(binding, location) for binding, location in pairs if binding and location)


def _name_id_formats(idp: etree._Element) -> tuple[str, ...]:
    formats = ((e.text or "").strip() for e in idp.findall(c.MD_NAME_ID_FORMAT))
    return tuple(f for f in formats if f)


def _key_warnings(keys: tuple[SigningKey, ...], now: datetime) -> Iterator[str]:
    # Expiry never rejects a key: the metadata interoperability profile treats it as a bare key (§6.3).
    for key in keys:
        after = key.not_valid_after
        if after is not None and after < now:
            yield f"signing certificate {key.subject} expired on {after:%Y-%m-%d}; AWS keeps accepting it, but rotate it"
        elif after is not None and after - now < EXPIRY_WARNING:
            yield f"signing certificate {key.subject} expires on {after:%Y-%m-%d}; publish its successor now"
        if key.key_size < ProviderPolicy().min_rsa_bits:
            yield (
                f"signing certificate {key.subject} has a {key.key_size}-bit RSA key; "
                "it verifies only with the provider's legacy-algorithms opt-in"
            )


def _validity_warnings(valid_until: datetime | None, now: datetime) -> Iterator[str]:
    if valid_until is not None and valid_until < now:
        yield f"the metadata's validUntil ({valid_until:%Y-%m-%d}) has passed; download fresh metadata from the IdP"


def build_idp_metadata(
    entity_id: str,
    certificates: Sequence[x509.Certificate],
    *,
    sso_endpoints: Sequence[SsoEndpoint] = (),
    name_id_formats: Sequence[str] = (),
    valid_until: datetime | None = None,
) -> bytes:
    """Standard IdP metadata for the given signing certificates (current and, during a rotation, next)."""
    entity = etree.Element(c.MD_ENTITY_DESCRIPTOR, nsmap=_NSMAP, entityID=entity_id)
    if valid_until is not None:
        entity.set("validUntil", utc(valid_until).isoformat().replace("+00:00", "Z"))
    idp = etree.SubElement(entity, c.MD_IDP_SSO_DESCRIPTOR, protocolSupportEnumeration=c.NS_PROTOCOL, WantAuthnRequestsSigned="false")
    # Schema order: KeyDescriptor, NameIDFormat, SingleSignOnService.
    for certificate in certificates:
        descriptor = etree.SubElement(idp, c.MD_KEY_DESCRIPTOR, use="signing")
        x509_data = etree.SubElement(etree.SubElement(descriptor, c.DS_KEY_INFO), c.DS_X509_DATA)
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, c.DS_X509_CERTIFICATE).text = base64.b64encode(der).decode("ascii")
    for name_id_format in name_id_formats:
        etree.SubElement(idp, c.MD_NAME_ID_FORMAT).text = name_id_format
    for endpoint in sso_endpoints:
        etree.SubElement(idp, c.MD_SINGLE_SIGN_ON_SERVICE, Binding=endpoint.binding, Location=endpoint.location)
    return etree.tostring(entity, xml_declaration=True, encoding="UTF-8", pretty_print=True)
