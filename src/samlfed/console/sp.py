"""samlfed as a SAML service provider: its metadata, its signing key and the AuthnRequests of SP-initiated
console sign-in.

Request IDs are self-contained: the issue time, a digest of the sign-in cookie's nonce of the browser that started
the sign-in and, for a command-line sign-in, a digest of the RelayState the request carried, sealed under the
master key. Any node can tell that an `InResponseTo` names a request this deployment sent, how old it is, which
browser must post its answer and which RelayState must come back with it, without storing the request; the store
then records its one use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from ..context import ServiceContext
from ..masterkey import MasterKey, MasterKeyError
from ..saml import constants as c
from ..saml.signing import IdpSigner, build_authn_request
from ..saml.xmlenc import ACCEPTED_ALGORITHMS
from ..store import SamlProvider
from ..sts.assume import open_private_keys

REQUEST_LIFETIME = timedelta(minutes=5)
SP_KEY_NAME = "sp-signing"
_REQUEST_CONTEXT = "samlfed authn request id"
_REQUEST_PREFIX = "_sf"
_NAME_ID_FORMATS = (
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
)
_EDUPERSON = ("affiliation", "nickname", "orgDN", "orgUnitDN", "primaryAffiliation", "principalName", "entitlement",
              "primaryOrgUnitDN", "scopedAffiliation", "targetedID", "assurance")
_EDUORG = {2: "homePageURI", 3: "identityAuthnPolicyURI", 4: "legalName", 5: "superiorURI", 6: "whitePagesURI"}
_NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def service_provider_key(ctx: ServiceContext) -> IdpSigner:
    """The key that signs our AuthnRequests: created once per deployment, sealed in the store, same on every node."""
    context = f"samlfed instance key {SP_KEY_NAME}"
    sealed = ctx.store.get_instance_key(SP_KEY_NAME)
    if sealed is None:
        now = ctx.clock()
        fresh = IdpSigner.generate("samlfed service provider", not_before=now - timedelta(days=1), not_after=now + timedelta(days=3650))
        pem = fresh.key_pem() + fresh.cert_pem()
        if ctx.store.add_instance_key(SP_KEY_NAME, ctx.master.seal(pem, context=context), now=now):
            return fresh
        sealed = ctx.store.get_instance_key(SP_KEY_NAME)  # another node created it first
        assert sealed is not None
    pem = ctx.master.unseal(sealed, context=context)
    split = pem.index(b"-----BEGIN CERTIFICATE-----")
    return IdpSigner.from_pem(pem[:split], pem[split:])


def encryption_certificate(key: rsa.RSAPrivateKey, key_id: str, uploaded_at: datetime) -> x509.Certificate:
    """A self-signed certificate of a provider's uploaded private key, for its SP metadata: IdPs that import SP
    metadata read the encryption key from an X509Certificate. It only carries the public key (nobody is meant to
    trust its signature) and never expires (RFC 5280 §4.1.2.5), since the key is valid until it is removed. Every
    field derives from the key and its upload, and RSA PKCS#1 v1.5 signatures are deterministic, so every node and
    every request serve the same certificate."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"samlfed assertion encryption {key_id[:16]}")])
    serial = int.from_bytes(hashlib.sha256(f"samlfed encryption certificate {key_id}".encode()).digest()[:16]) >> 1
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(serial or 1)
        .not_valid_before(uploaded_at.replace(microsecond=0)).not_valid_after(_NO_EXPIRY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=True, data_encipherment=False, key_agreement=False,
                key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


_MINTED: dict[tuple[str, datetime], x509.Certificate] = {}
"""Certificates already made on this node, by key ID and upload time (which, with the key, are all they derive from)."""
_MAX_MINTED = 256


def provider_encryption_certificates(provider: SamlProvider, master: MasterKey) -> tuple[x509.Certificate, ...]:
    """`encryption_certificate` of each of the provider's private keys, in order, made once per key on this node:
    the metadata URL needs no credentials, and an RSA signature per key and request would make it the costliest
    page to ask for."""
    wanted = [(stored.key_id, stored.created_at) for stored in provider.private_keys]
    if any(key not in _MINTED for key in wanted):
        if len(_MINTED) + len(wanted) > _MAX_MINTED:
            _MINTED.clear()
        for (key_id, uploaded_at), key in zip(wanted, open_private_keys(provider, master), strict=True):
            _MINTED[(key_id, uploaded_at)] = encryption_certificate(key, key_id, uploaded_at)
    return tuple(_MINTED[key] for key in wanted)


def sp_metadata(
    entity_id: str, acs_url: str, signing: IdpSigner | None = None, encryption: tuple[x509.Certificate, ...] = (),
) -> bytes:
    """An SPSSODescriptor shaped like AWS's (contract §9): signed assertions wanted, one HTTP-POST ACS, the key
    that signs our AuthnRequests when we sign them, and the keys IdPs may encrypt assertions to (`encryption`, in a
    provider's own metadata) with the algorithms we decrypt."""
    md = c.NS_METADATA
    root = etree.Element(etree.QName(md, "EntityDescriptor"), nsmap={"md": md, "ds": c.NS_DSIG}, entityID=entity_id)
    sp = etree.SubElement(
        root, etree.QName(md, "SPSSODescriptor"),
        AuthnRequestsSigned="true" if signing else "false", WantAssertionsSigned="true", protocolSupportEnumeration=c.NS_PROTOCOL,
    )

    def key_descriptor(use: str, certificate: x509.Certificate) -> etree._Element:
        descriptor = etree.SubElement(sp, etree.QName(md, "KeyDescriptor"), use=use)
        data = etree.SubElement(etree.SubElement(descriptor, etree.QName(c.NS_DSIG, "KeyInfo")), etree.QName(c.NS_DSIG, "X509Data"))
        der = certificate.public_bytes(serialization.Encoding.DER)
        etree.SubElement(data, etree.QName(c.NS_DSIG, "X509Certificate")).text = base64.b64encode(der).decode()
        return descriptor

    if signing is not None:
        key_descriptor("signing", signing.certificate)
    for certificate in encryption:
        descriptor = key_descriptor("encryption", certificate)
        for algorithm in ACCEPTED_ALGORITHMS:
            etree.SubElement(descriptor, etree.QName(md, "EncryptionMethod"), Algorithm=algorithm)
    for fmt in _NAME_ID_FORMATS:
        etree.SubElement(sp, etree.QName(md, "NameIDFormat")).text = fmt
    etree.SubElement(sp, etree.QName(md, "AssertionConsumerService"), index="1", isDefault="true", Binding=c.BINDING_HTTP_POST, Location=acs_url)
    service = etree.SubElement(sp, etree.QName(md, "AttributeConsumingService"), index="1")
    etree.SubElement(service, etree.QName(md, "ServiceName"), {"{http://www.w3.org/XML/1998/namespace}lang": "en"}).text = "AWS Management Console"

    def requested(name: str, friendly: str, required: bool) -> None:
        etree.SubElement(
            service, etree.QName(md, "RequestedAttribute"), isRequired="true" if required else "false",
            Name=name, FriendlyName=friendly, NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
        )

    requested(c.AWS_ROLE, "RoleEntitlement", True)
    requested(c.AWS_ATTR_PREFIX + "RoleSessionName", "RoleSessionName", True)
    for number, name in enumerate(_EDUPERSON, start=1):
        requested(f"urn:oid:1.3.6.1.4.1.5923.1.1.1.{number}", f"eduPerson{name[0].upper()}{name[1:]}", False)
    for number, name in _EDUORG.items():
        requested(f"urn:oid:1.3.6.1.4.1.5923.1.2.1.{number}", f"eduOrg{name[0].upper()}{name[1:]}", False)
    requested("urn:oid:2.5.4.3", "cn", False)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_RELAY_BOUND, _BROWSER_BOUND = 1, 2
"""Flags of a request ID's plaintext: which digests follow the issue time."""


def _relay_digest(relay_state: str) -> bytes:
    return hashlib.sha256(relay_state.encode()).digest()[:16]


def _browser_digest(nonce: str) -> bytes:
    return hashlib.sha256(b"samlfed sign-in browser\0" + nonce.encode()).digest()[:16]


def new_request_id(master: MasterKey, now: datetime, *, bound_relay_state: str | None = None, browser_nonce: str | None = None) -> str:
    """`bound_relay_state`: the answer is accepted only with exactly this RelayState (see relay_state_admitted).
    `browser_nonce`: the sign-in cookie of the browser that starts the sign-in (see browser_admitted)."""
    flags = (_RELAY_BOUND if bound_relay_state is not None else 0) | (_BROWSER_BOUND if browser_nonce is not None else 0)
    plain = struct.pack(">QB", int(now.timestamp()), flags)
    if bound_relay_state is not None:
        plain += _relay_digest(bound_relay_state)
    if browser_nonce is not None:
        plain += _browser_digest(browser_nonce)
    sealed = master.seal(plain, context=_REQUEST_CONTEXT)
    return _REQUEST_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


@dataclass(frozen=True)
class _Request:
    issued_at: datetime
    relay: bytes | None
    browser: bytes | None


def _open_request(master: MasterKey, request_id: str) -> _Request | None:
    if not request_id.startswith(_REQUEST_PREFIX) or len(request_id) > 100:
        return None
    encoded = request_id[len(_REQUEST_PREFIX):]
    try:
        plain = master.unseal(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)), context=_REQUEST_CONTEXT)
        (seconds,) = struct.unpack(">Q", plain[:8])
    except (binascii.Error, ValueError, MasterKeyError, struct.error):
        return None
    issued = datetime.fromtimestamp(seconds, UTC)
    if len(plain) in (8, 24):  # made before requests were bound to a browser (at most REQUEST_LIFETIME ago)
        return _Request(issued, plain[8:] or None, None)
    flags, digests = plain[8], plain[9:]
    relay = digests[:16] if flags & _RELAY_BOUND else None
    browser = digests[-16:] if flags & _BROWSER_BOUND else None
    if flags & ~(_RELAY_BOUND | _BROWSER_BOUND) or len(digests) != 16 * ((relay is not None) + (browser is not None)):
        return None
    return _Request(issued, relay, browser)


def request_issued_at(master: MasterKey, request_id: str) -> datetime | None:
    """When this deployment issued `request_id`, or None if it never did (a request of someone else's, or forged)."""
    opened = _open_request(master, request_id)
    return opened.issued_at if opened else None


def browser_admitted(master: MasterKey, request_id: str, nonce: str | None) -> bool:
    """Whether the browser posting an answer to `request_id` is the one that started it: it carries the sign-in
    cookie whose nonce the request was bound to. False for requests bound to no browser."""
    opened = _open_request(master, request_id)
    if opened is None or opened.browser is None or not nonce:
        return False
    return hmac.compare_digest(opened.browser, _browser_digest(nonce))


def relay_state_admitted(master: MasterKey, request_id: str | None, relay_state: str, *, cli: bool) -> bool:
    """Whether `relay_state` may come back with an answer to `request_id`: a request bound to a RelayState takes
    only that one, and a command-line RelayState (`cli`) comes only with a request bound to it."""
    opened = _open_request(master, request_id) if request_id else None
    bound = opened.relay if opened else None
    if bound is None:
        return not cli
    return hmac.compare_digest(bound, _relay_digest(relay_state))


def authn_request_url(
    sso_url: str, *, entity_id: str, acs_url: str, request_id: str, now: datetime, relay_state: str | None, signing: IdpSigner | None = None,
) -> str:
    """The IdP's SSO URL with a deflated AuthnRequest (HTTP-Redirect binding), signed over the query when `signing`."""
    request = build_authn_request(
        request_id=request_id, issuer=entity_id, acs_url=acs_url, protocol_binding=c.BINDING_HTTP_POST, issued_at=now, destination=sso_url,
    )
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(etree.tostring(request)) + compressor.flush()
    query = {"SAMLRequest": base64.b64encode(deflated).decode()}
    if relay_state:
        query["RelayState"] = relay_state
    if signing is not None:
        # HTTP-Redirect binding §3.4.4.1: the signature covers the URL-encoded query, in this order.
        query["SigAlg"] = c.ALG_RSA_SHA256
        signed = urlencode(query).encode()
        query["Signature"] = base64.b64encode(signing.private_key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()
    return sso_url + ("&" if "?" in sso_url else "?") + urlencode(query)
