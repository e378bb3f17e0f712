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
from typing import Any, Literal, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from . import constants as c
from . import xmlenc
from .model import utc
from .timeutil import xs_datetime_text

_NSMAP = {"samlp": c.NS_PROTOCOL, "saml": c.NS_ASSERTION, "xs": c.NS_XS, "xsi": c.NS_XSI}
_XSI_TYPE = c.qname(c.NS_XSI, "type")
_AUTHN_CONTEXT = c.qname(c.NS_ASSERTION, "AuthnContext")
_AUTHN_CONTEXT_CLASS_REF = c.qname(c.NS_ASSERTION, "AuthnContextClassRef")
_PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    c.ALG_RSA_SHA1: hashes.SHA1,
    c.ALG_RSA_SHA256: hashes.SHA256,
    c.ALG_RSA_SHA384: hashes.SHA384,
    c.ALG_RSA_SHA512: hashes.SHA512,
}
_DIGESTS = {c.ALG_SHA1: "sha1", c.ALG_SHA256: "sha256", c.ALG_SHA384: "sha384", c.ALG_SHA512: "sha512"}

_T = TypeVar("_T")


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
        """An unencrypted PEM private key (PKCS#8 or PKCS#1) and the PEM certificate of its public key."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("only RSA signing keys are supported")
        certificate = x509.load_pem_x509_certificate(cert_pem)
        if certificate.public_key() != key.public_key():
            raise ValueError("the certificate does not belong to the private key")
        return cls(key, certificate)

    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

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
    """Any other attributes, Name -> values, emitted after the AWS ones."""
    recipient: str = "https://signin.aws.amazon.com/saml"
    destination: str | None = "https://signin.aws.amazon.com/saml"
    audience: str | None = "urn:amazon:webservices"
    issue_instant: datetime | None = None
    """None: the time of `build_response`."""
    lifetime: timedelta = timedelta(minutes=5)
    """Conditions and SubjectConfirmationData NotOnOrAfter are issue_instant + lifetime; NotBefore is issue_instant."""
    session_not_on_or_after: datetime | None = None
    in_response_to: str | None = None
    status: str = c.STATUS_SUCCESS
    response_id: str | None = None
    assertion_id: str | None = None
    # Layout knobs, so the built-in IdP can imitate the assertion shapes of real IdPs.
    role_attribute_per_value: bool = False
    """True: one Role Attribute element per value (Keycloak); False: one Attribute with many values."""
    attribute_name_format: str | None = c.ATTRNAME_FORMAT_URI
    typed_values: bool = True
    """Whether AttributeValues carry xsi:type="xs:string"."""


def _new_id() -> str:
    # xs:ID must not start with a digit, hence the underscore.
    return "_" + secrets.token_hex(20)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _aws_attributes(spec: AssertionSpec) -> list[tuple[str, Sequence[str]]]:
    """The AttributeStatement content, Name -> values, in the order IdPs usually emit them."""
    attributes: list[tuple[str, Sequence[str]]] = []
    if spec.roles:
        attributes.append((c.AWS_ROLE, spec.roles))
    if spec.role_session_name is not None:
        attributes.append((c.AWS_ROLE_SESSION_NAME, [spec.role_session_name]))
    if spec.session_duration is not None:
        attributes.append((c.AWS_SESSION_DURATION, [str(spec.session_duration)]))
    if spec.source_identity is not None:
        attributes.append((c.AWS_SOURCE_IDENTITY, [spec.source_identity]))
    attributes.extend((c.AWS_PRINCIPAL_TAG_PREFIX + key, [value]) for key, value in spec.principal_tags.items())
    if spec.transitive_tag_keys:
        attributes.append((c.AWS_TRANSITIVE_TAG_KEYS, spec.transitive_tag_keys))
    attributes.extend(spec.attributes.items())
    return attributes


def _attribute_statement(assertion: etree._Element, attributes: list[tuple[str, Sequence[str]]], spec: AssertionSpec) -> None:
    statement = _sub(assertion, c.ATTRIBUTE_STATEMENT)
    name_format = {"NameFormat": spec.attribute_name_format} if spec.attribute_name_format else {}
    value_type = {_XSI_TYPE: "xs:string"} if spec.typed_values else {}
    for name, values in attributes:
        if isinstance(values, str):  # a str is a Sequence[str]: it would become one value per character
            raise TypeError(f"the values of attribute {name!r} must be a list of strings, not a string")
        groups = [[value] for value in values] if name == c.AWS_ROLE and spec.role_attribute_per_value else [values]
        for group in groups:
            attribute = _sub(statement, c.ATTRIBUTE, Name=name, **name_format)
            for value in group:
                _sub(attribute, c.ATTRIBUTE_VALUE, value, **value_type)


def _subject(assertion: etree._Element, spec: AssertionSpec, expires: str) -> None:
    subject = _sub(assertion, c.SUBJECT)
    name_id = _sub(subject, c.NAME_ID, spec.name_id)
    if spec.name_id_format is not None:
        name_id.set("Format", spec.name_id_format)
    confirmation = _sub(subject, c.SUBJECT_CONFIRMATION, Method=c.CM_BEARER)
    data = _sub(confirmation, c.SUBJECT_CONFIRMATION_DATA, NotOnOrAfter=expires, Recipient=spec.recipient)
    if spec.in_response_to is not None:
        data.set("InResponseTo", spec.in_response_to)


def _authn_statement(assertion: etree._Element, spec: AssertionSpec, issued: str) -> None:
    authn = _sub(assertion, c.AUTHN_STATEMENT, AuthnInstant=issued, SessionIndex=_new_id())
    if spec.session_not_on_or_after is not None:
        authn.set("SessionNotOnOrAfter", xs_datetime_text(spec.session_not_on_or_after))
    _sub(_sub(authn, _AUTHN_CONTEXT), _AUTHN_CONTEXT_CLASS_REF, _PASSWORD_PROTECTED_TRANSPORT)


def _assertion(response: etree._Element, spec: AssertionSpec, issued_at: datetime) -> None:
    issued, expires = xs_datetime_text(issued_at), xs_datetime_text(issued_at + spec.lifetime)
    assertion = _sub(response, c.ASSERTION, ID=spec.assertion_id or _new_id(), Version="2.0", IssueInstant=issued)
    _sub(assertion, c.ISSUER, spec.issuer)
    _subject(assertion, spec, expires)
    conditions = _sub(assertion, c.CONDITIONS, NotBefore=issued, NotOnOrAfter=expires)
    if spec.audience is not None:
        _sub(_sub(conditions, c.AUDIENCE_RESTRICTION), c.AUDIENCE, spec.audience)
    _authn_statement(assertion, spec, issued)
    attributes = _aws_attributes(spec)
    if attributes:  # an empty AttributeStatement is a schema violation
        _attribute_statement(assertion, attributes, spec)


def build_authn_request(
    *, request_id: str, issuer: str, acs_url: str, protocol_binding: str, issued_at: datetime, destination: str | None = None,
) -> etree._Element:
    """An unsigned samlp:AuthnRequest, as the console (HTTP-Redirect) and the login client (ECP) send it."""
    p, a = c.NS_PROTOCOL, c.NS_ASSERTION
    attributes = {"ID": request_id, "Version": "2.0", "IssueInstant": utc(issued_at).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if destination is not None:
        attributes["Destination"] = destination
    attributes |= {"AssertionConsumerServiceURL": acs_url, "ProtocolBinding": protocol_binding}
    request = etree.Element(etree.QName(p, "AuthnRequest"), attributes, nsmap={"samlp": p, "saml": a})
    _sub(request, c.ISSUER, issuer)
    return request


def build_response(spec: AssertionSpec) -> etree._Element:
    """An unsigned samlp:Response tree in the shape real IdPs send to AWS."""
    issued_at = utc(spec.issue_instant) if spec.issue_instant is not None else datetime.now(UTC)
    response = build_status_response(
        spec.issuer, (spec.status,), issued_at=issued_at, destination=spec.destination, in_response_to=spec.in_response_to,
        response_id=spec.response_id,
    )
    _assertion(response, spec, issued_at)
    return response


def build_status_response(
    issuer: str, status_codes: Sequence[str], *, issued_at: datetime, destination: str | None, in_response_to: str | None,
    response_id: str | None = None,
) -> etree._Element:
    """An unsigned samlp:Response without an assertion: its Issuer and Status, each further status code nested in
    the one before (e.g. Responder, then NoPassive)."""
    # xs and xsi live on the root so that xsi:type="xs:string" resolves in the document. Exclusive c14n still
    # drops xmlns:xs from the signed bytes: a prefix used only inside an attribute value is not "visibly used".
    response = etree.Element(c.RESPONSE, nsmap=_NSMAP)
    response.set("ID", response_id or _new_id())
    response.set("Version", "2.0")
    response.set("IssueInstant", xs_datetime_text(issued_at))
    if destination is not None:
        response.set("Destination", destination)
    if in_response_to is not None:
        response.set("InResponseTo", in_response_to)
    _sub(response, c.ISSUER, issuer)
    parent = _sub(response, c.STATUS)
    for code in status_codes:
        parent = _sub(parent, c.STATUS_CODE, Value=code)
    return response


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _lookup(table: Mapping[str, _T], algorithm: str, what: str) -> _T:
    try:
        return table[algorithm]
    except KeyError:
        raise ValueError(f"unsupported {what} algorithm {algorithm!r}") from None


def _signature_template(
    element_id: str, signature_algorithm: str, digest_algorithm: str, digest: bytes
) -> tuple[etree._Element, etree._Element, etree._Element]:
    """The ds:Signature with everything but the SignatureValue text; also returns its SignedInfo and SignatureValue."""
    signature = etree.Element(c.DS_SIGNATURE, nsmap={"ds": c.NS_DSIG})
    signed_info = _sub(signature, c.DS_SIGNED_INFO)
    _sub(signed_info, c.DS_C14N_METHOD, Algorithm=c.ALG_C14N_EXCLUSIVE)
    _sub(signed_info, c.DS_SIGNATURE_METHOD, Algorithm=signature_algorithm)
    reference = _sub(signed_info, c.DS_REFERENCE, URI="#" + element_id)
    transforms = _sub(reference, c.DS_TRANSFORMS)
    _sub(transforms, c.DS_TRANSFORM, Algorithm=c.ALG_ENVELOPED)
    _sub(transforms, c.DS_TRANSFORM, Algorithm=c.ALG_C14N_EXCLUSIVE)
    _sub(reference, c.DS_DIGEST_METHOD, Algorithm=digest_algorithm)
    _sub(reference, c.DS_DIGEST_VALUE, base64.b64encode(digest).decode())
    return signature, signed_info, _sub(signature, c.DS_SIGNATURE_VALUE)


def _place(signature: etree._Element, element: etree._Element) -> None:
    """Schema position: right after the element's Issuer, else first.

    The Signature gets no tail, so the enveloped-signature transform gives back exactly the bytes digested
    before it was inserted, whitespace included.
    """
    issuer = element.find(c.ISSUER)
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)


def sign_element(
    element: etree._Element,
    signer: IdpSigner,
    *,
    signature_algorithm: str = c.ALG_RSA_SHA256,
    digest_algorithm: str = c.ALG_SHA256,
    include_key_info: bool = True,
) -> etree._Element:
    """Sign `element` (by its ID) with an enveloped signature placed after its Issuer; return the ds:Signature."""
    element_id = element.get("ID")
    if not element_id:
        raise ValueError("the element to sign has no ID")
    hash_cls = _lookup(_SIGNATURE_HASHES, signature_algorithm, "signature")
    digest_name = _lookup(_DIGESTS, digest_algorithm, "digest")
    digest = hashlib.new(digest_name, _c14n(element)).digest()

    signature, signed_info, signature_value = _signature_template(element_id, signature_algorithm, digest_algorithm, digest)
    if include_key_info:
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        key_info = _sub(signature, c.DS_KEY_INFO)
        _sub(_sub(key_info, c.DS_X509_DATA), c.DS_X509_CERTIFICATE, base64.b64encode(der).decode())
    _place(signature, element)
    # SignedInfo is canonicalized in place, with the namespace context a verifier will see.
    raw = signer.private_key.sign(_c14n(signed_info), padding.PKCS1v15(), hash_cls())
    signature_value.text = base64.b64encode(raw).decode()
    return signature


def sign_response(
    spec: AssertionSpec,
    signer: IdpSigner,
    *,
    sign: Literal["assertion", "response", "both"] = "assertion",
    signature_algorithm: str = c.ALG_RSA_SHA256,
    digest_algorithm: str = c.ALG_SHA256,
    encrypt_for: x509.Certificate | rsa.RSAPublicKey | None = None,
    encryption: Mapping[str, Any] | None = None,
) -> bytes:
    """A signed Response as UTF-8 XML with a declaration.

    With "both" the Assertion is signed first, so the Response signature also covers the Assertion's. With
    `encrypt_for` (the service provider's certificate or public key) the signed Assertion is then encrypted, and the
    Response signature, if any, covers the EncryptedAssertion, as IdPs do (`encryption`: options of
    `xmlenc.encrypt_assertion`).
    """
    response = build_response(spec)
    assertion = response.find(c.ASSERTION)
    if sign not in ("assertion", "response", "both"):  # never fall through to an unsigned document
        raise ValueError(f"sign must be 'assertion', 'response' or 'both', not {sign!r}")
    # Order matters: the Response digest must cover the finished (and encrypted) Assertion.
    if sign in ("assertion", "both"):
        sign_element(assertion, signer, signature_algorithm=signature_algorithm, digest_algorithm=digest_algorithm)
    if encrypt_for is not None:
        encrypt_assertion_in(response, encrypt_for, **(encryption or {}))
    if sign in ("response", "both"):
        sign_element(response, signer, signature_algorithm=signature_algorithm, digest_algorithm=digest_algorithm)
    return etree.tostring(response, xml_declaration=True, encoding="UTF-8")


def encrypt_assertion_in(response: etree._Element, recipient: x509.Certificate | rsa.RSAPublicKey, **options: Any) -> etree._Element:
    """Replace the Response's Assertion by a saml:EncryptedAssertion for `recipient` (options: those of
    `xmlenc.encrypt_assertion`); returns the EncryptedAssertion."""
    assertion = response.find(c.ASSERTION)
    if assertion is None:
        raise ValueError("the Response holds no Assertion to encrypt")
    encrypted = xmlenc.encrypt_assertion(etree.tostring(assertion), recipient, **options)
    response.replace(assertion, encrypted)
    return encrypted


def encode_response(xml: bytes) -> str:
    """The HTTP-POST binding form of a Response (the SAMLResponse field): plain base64, no line breaks."""
    return base64.b64encode(xml).decode()
