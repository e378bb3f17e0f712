"""Builds and signs AWS-shaped SAML 2.0 Responses (for tests, demos and the built-in IdP).

Signatures follow the one profile the verifier accepts: enveloped, a single Reference to the signed element's
ID, transforms enveloped-signature + exc-c14n, exclusive c14n of SignedInfo, RSA PKCS#1 v1.5.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from . import constants as c

_NSMAP = {"samlp": c.NS_PROTOCOL, "saml": c.NS_ASSERTION, "xs": c.NS_XS, "xsi": c.NS_XSI}
_SIGNATURE_HASHES: dict[str, hashes.HashAlgorithm] = {
    c.ALG_RSA_SHA1: hashes.SHA1(),
    c.ALG_RSA_SHA256: hashes.SHA256(),
    c.ALG_RSA_SHA384: hashes.SHA384(),
    c.ALG_RSA_SHA512: hashes.SHA512(),
}
_DIGESTS = {c.ALG_SHA1: "sha1", c.ALG_SHA256: "sha256", c.ALG_SHA384: "sha384", c.ALG_SHA512: "sha512"}


@dataclass(frozen=True)
class IdpSigner:
    """An IdP signing key and its certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(
        cls,
        common_name: str = "samlfed test IdP",
        *,
        key_size: int = 2048,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> IdpSigner:
        """A new key with a self-signed certificate (metadata keys are trusted as bare keys; no CA involved)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes) -> IdpSigner:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("only RSA signing keys are supported")
        return cls(key, x509.load_pem_x509_certificate(cert_pem))

    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class AssertionSpec:
    """What the IdP asserts. The defaults make a valid AWS sign-in assertion; None omits an element."""

    issuer: str
    name_id: str = "alice@example.com"
    name_id_format: str | None = c.NAMEID_PERSISTENT
    roles: Sequence[str] = ()
    """Raw Role AttributeValues, e.g. 'arn:aws:iam::111111111111:role/Dev,arn:aws:iam::111111111111:saml-provider/Idp'."""
    role_session_name: str | None = "alice"
    session_duration: int | str | None = None
    source_identity: str | None = None
    principal_tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: Sequence[str] = ()
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    recipient: str = "https://signin.aws.amazon.com/saml"
    destination: str | None = "https://signin.aws.amazon.com/saml"
    audience: str | None = "urn:amazon:webservices"
    issue_instant: datetime | None = None
    lifetime: timedelta = timedelta(minutes=5)
    session_not_on_or_after: datetime | None = None
    in_response_to: str | None = None
    status: str = c.STATUS_SUCCESS
    response_id: str | None = None
    assertion_id: str | None = None


def _new_id() -> str:
    return "_" + secrets.token_hex(20)


def _instant(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _attribute(statement: etree._Element, name: str, values: Sequence[str]) -> None:
    attribute = _sub(statement, c.ATTRIBUTE, Name=name, NameFormat=c.ATTRNAME_FORMAT_URI)
    for value in values:
        _sub(attribute, c.ATTRIBUTE_VALUE, value, **{f"{{{c.NS_XSI}}}type": "xs:string"})


def _aws_attributes(spec: AssertionSpec) -> list[tuple[str, list[str]]]:
    attributes: list[tuple[str, list[str]]] = []
    if spec.roles:
        attributes.append((c.AWS_ROLE, list(spec.roles)))
    if spec.role_session_name is not None:
        attributes.append((c.AWS_ROLE_SESSION_NAME, [spec.role_session_name]))
    if spec.session_duration is not None:
        attributes.append((c.AWS_SESSION_DURATION, [str(spec.session_duration)]))
    if spec.source_identity is not None:
        attributes.append((c.AWS_SOURCE_IDENTITY, [spec.source_identity]))
    attributes.extend((c.AWS_PRINCIPAL_TAG_PREFIX + key, [value]) for key, value in spec.principal_tags.items())
    if spec.transitive_tag_keys:
        attributes.append((c.AWS_TRANSITIVE_TAG_KEYS, list(spec.transitive_tag_keys)))
    attributes.extend((name, list(values)) for name, values in spec.attributes.items())
    return attributes


def build_response(spec: AssertionSpec) -> etree._Element:
    """An unsigned samlp:Response tree in the shape real IdPs send to AWS."""
    issued = spec.issue_instant or datetime.now(UTC)
    expires = issued + spec.lifetime
    response = etree.Element(c.RESPONSE, nsmap=_NSMAP)
    response.set("ID", spec.response_id or _new_id())
    response.set("Version", "2.0")
    response.set("IssueInstant", _instant(issued))
    if spec.destination is not None:
        response.set("Destination", spec.destination)
    if spec.in_response_to is not None:
        response.set("InResponseTo", spec.in_response_to)
    _sub(response, c.ISSUER, spec.issuer)
    _sub(_sub(response, c.STATUS), c.STATUS_CODE, Value=spec.status)

    assertion = _sub(response, c.ASSERTION, ID=spec.assertion_id or _new_id(), Version="2.0", IssueInstant=_instant(issued))
    _sub(assertion, c.ISSUER, spec.issuer)
    subject = _sub(assertion, c.SUBJECT)
    name_id = _sub(subject, c.NAME_ID, spec.name_id)
    if spec.name_id_format is not None:
        name_id.set("Format", spec.name_id_format)
    confirmation = _sub(subject, c.SUBJECT_CONFIRMATION, Method=c.CM_BEARER)
    data = _sub(confirmation, c.SUBJECT_CONFIRMATION_DATA, NotOnOrAfter=_instant(expires), Recipient=spec.recipient)
    if spec.in_response_to is not None:
        data.set("InResponseTo", spec.in_response_to)
    conditions = _sub(assertion, c.CONDITIONS, NotBefore=_instant(issued), NotOnOrAfter=_instant(expires))
    if spec.audience is not None:
        _sub(_sub(conditions, c.AUDIENCE_RESTRICTION), c.AUDIENCE, spec.audience)
    authn = _sub(assertion, c.AUTHN_STATEMENT, AuthnInstant=_instant(issued), SessionIndex=_new_id())
    if spec.session_not_on_or_after is not None:
        authn.set("SessionNotOnOrAfter", _instant(spec.session_not_on_or_after))
    context = _sub(authn, c.qname(c.NS_ASSERTION, "AuthnContext"))
    _sub(context, c.qname(c.NS_ASSERTION, "AuthnContextClassRef"), "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    attributes = _aws_attributes(spec)
    if attributes:
        statement = _sub(assertion, c.ATTRIBUTE_STATEMENT)
        for name, values in attributes:
            _attribute(statement, name, values)
    return response


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def sign_element(
    element: etree._Element,
    signer: IdpSigner,
    *,
    signature_algorithm: str = c.ALG_RSA_SHA256,
    digest_algorithm: str = c.ALG_SHA256,
    include_key_info: bool = True,
) -> etree._Element:
    """Sign `element` with an enveloped signature placed right after its Issuer; return the ds:Signature."""
    element_id = element.get("ID")
    if not element_id:
        raise ValueError("the element to sign has no ID")
    digest = base64.b64encode(hashlib.new(_DIGESTS[digest_algorithm], _c14n(element)).digest()).decode()

    signature = etree.Element(c.DS_SIGNATURE, nsmap={"ds": c.NS_DSIG})
    signed_info = _sub(signature, c.DS_SIGNED_INFO)
    _sub(signed_info, c.DS_C14N_METHOD, Algorithm=c.ALG_C14N_EXCLUSIVE)
    _sub(signed_info, c.DS_SIGNATURE_METHOD, Algorithm=signature_algorithm)
    reference = _sub(signed_info, c.DS_REFERENCE, URI="#" + element_id)
    transforms = _sub(reference, c.DS_TRANSFORMS)
    _sub(transforms, c.DS_TRANSFORM, Algorithm=c.ALG_ENVELOPED)
    _sub(transforms, c.DS_TRANSFORM, Algorithm=c.ALG_C14N_EXCLUSIVE)
    _sub(reference, c.DS_DIGEST_METHOD, Algorithm=digest_algorithm)
    _sub(reference, c.DS_DIGEST_VALUE, digest)
    value = _sub(signature, c.DS_SIGNATURE_VALUE)
    if include_key_info:
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        _sub(_sub(_sub(signature, c.DS_KEY_INFO), c.DS_X509_DATA), c.DS_X509_CERTIFICATE, base64.b64encode(der).decode())

    issuer = element.find(c.ISSUER)
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)
    # SignedInfo is canonicalized in place so that it carries the namespace context the verifier will see.
    raw = signer.private_key.sign(_c14n(signed_info), padding.PKCS1v15(), _SIGNATURE_HASHES[signature_algorithm])
    value.text = base64.b64encode(raw).decode()
    return signature


def sign_response(
    spec: AssertionSpec,
    signer: IdpSigner,
    *,
    sign: Literal["assertion", "response", "both"] = "assertion",
    signature_algorithm: str = c.ALG_RSA_SHA256,
    digest_algorithm: str = c.ALG_SHA256,
) -> bytes:
    """A signed Response as UTF-8 XML. With "both", the Assertion is signed first, then the Response over it."""
    response = build_response(spec)
    options = dict(signature_algorithm=signature_algorithm, digest_algorithm=digest_algorithm)
    if sign in ("assertion", "both"):
        sign_element(response.find(c.ASSERTION), signer, **options)  # type: ignore[arg-type]
    if sign in ("response", "both"):
        sign_element(response, signer, **options)  # type: ignore[arg-type]
    return etree.tostring(response, xml_declaration=True, encoding="UTF-8")


def encode_response(xml: bytes) -> str:
    """The HTTP-POST binding form of a Response: plain base64 of the XML."""
    return base64.b64encode(xml).decode()
