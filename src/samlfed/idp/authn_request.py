"""AuthnRequests from service providers: HTTP-Redirect (deflated) and HTTP-POST bindings, and PAOS for ECP.

The request only ever chooses among what the IdP's configuration allows: an unknown issuer or an ACS URL that
the service provider did not register is refused, never redirected to. Where a service provider has a request
certificate configured, signed requests are verified with it (Redirect: the query signature; POST: the
enveloped XML signature through samlfed's own verifier).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from ..decimal_text import decimal_at_most
from ..saml import constants as c
from ..saml import dsig
from ..saml.errors import SamlValidationError
from ..saml.model import ProviderPolicy, SigningKey
from ..saml.xmlparse import XmlRejected, parse_xml
from .config import IdpConfig, ServiceProvider

AUTHN_REQUEST = c.qname(c.NS_PROTOCOL, "AuthnRequest")
MAX_REQUEST_BYTES = 100_000
REDIRECT_PARAMETERS = ("SAMLRequest", "RelayState", "SigAlg", "Signature")
_REDIRECT_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    c.ALG_RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}


class RequestRefused(ValueError):
    """The AuthnRequest cannot be served; the message is safe to show to the user."""


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    sp: ServiceProvider
    acs_url: str
    signed: bool
    force_authn: bool = False
    """The user must sign in again, whatever session the IdP has (SAML Core §3.4.1)."""
    is_passive: bool = False
    """The IdP must not show the user anything: no sign-in page (SAML Core §3.4.1)."""


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise RequestRefused(f"{what} is not base64") from None


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        xml = inflater.decompress(data, MAX_REQUEST_BYTES)
    except zlib.error:
        raise RequestRefused("SAMLRequest is not DEFLATE-compressed (HTTP-Redirect binding)") from None
    if inflater.unconsumed_tail:
        raise RequestRefused("SAMLRequest is too large")
    return xml


def _certificate_key(sp: ServiceProvider) -> rsa.RSAPublicKey:
    assert sp.request_certificate is not None
    key = x509.load_pem_x509_certificate(sp.request_certificate.encode()).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise RequestRefused("the service provider's request certificate is not RSA")
    return key


def redirect_parameters(raw_query: str) -> dict[str, str]:
    """The HTTP-Redirect binding's parameters exactly as sent (still URL-encoded): its signature covers the bytes
    on the wire. A parameter sent twice (or once encoded, once not) is refused: the signature would cover one copy
    while the request was read from the other."""
    found: dict[str, str] = {}
    for part in raw_query.split("&"):
        key, _, value = part.partition("=")
        name = unquote_plus(key)
        if name in REDIRECT_PARAMETERS:
            if name in found:
                raise RequestRefused(f"the query carries {name} more than once")
            found[name] = value
    return found


def _verify_redirect_signature(sp: ServiceProvider, raw_query: str) -> bool:
    parameters = redirect_parameters(raw_query)
    signature = parameters.get("Signature")
    if signature is None:
        return False
    if sp.request_certificate is None:
        return False  # nothing to verify with: treated as unsigned
    sig_alg = unquote_plus(parameters.get("SigAlg", ""))
    hash_cls = _REDIRECT_SIGNATURE_HASHES.get(sig_alg)
    if hash_cls is None:
        raise RequestRefused(f"request signature algorithm {sig_alg!r} is not accepted")
    signed = "&".join(f"{name}={parameters[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in parameters)
    try:
        _certificate_key(sp).verify(_b64(unquote_plus(signature), "Signature"), signed.encode("ascii"), padding.PKCS1v15(), hash_cls())
    except (InvalidSignature, UnicodeEncodeError):
        raise RequestRefused("the AuthnRequest signature does not verify with the service provider's certificate") from None
    return True


def _verify_xml_signature(sp: ServiceProvider, root: etree._Element) -> bool:
    signature = root.find(c.DS_SIGNATURE)
    if signature is None or sp.request_certificate is None:
        return False
    policy = ProviderPolicy()
    try:
        bound = dsig.bind_signature(signature, root)
        dsig.check_algorithms(bound, policy)
        dsig.check_c14n_cost(bound, etree.tostring(root))  # as for responses: anyone may post a crowded request
        dsig.verify(bound, (SigningKey.from_pem(sp.request_certificate.encode()),), policy)
    except SamlValidationError as error:
        raise RequestRefused(f"the AuthnRequest signature is not acceptable: {error.message}") from None
    return True


def parse_authn_request(
    config: IdpConfig, saml_request: str, *, binding: str, location: str, raw_query: str = "", ecp: bool = False
) -> AuthnRequest:
    """Decode, parse and check an AuthnRequest received at `location` (the endpoint's public URL); `binding` is
    "redirect" or "post" (ECP requests arrive parsed as "post")."""
    data = _b64(saml_request, "SAMLRequest")
    xml = _inflate(data) if binding == "redirect" else data
    if len(xml) > MAX_REQUEST_BYTES:
        raise RequestRefused("SAMLRequest is too large")
    try:
        root = parse_xml(xml)
    except XmlRejected as exc:
        raise RequestRefused(f"SAMLRequest is not acceptable XML: {exc}") from None
    return check_authn_request(config, root, binding=binding, location=location, raw_query=raw_query, ecp=ecp)


def _boolean(root: etree._Element, name: str) -> bool:
    return root.get(name) in ("true", "1")  # xs:boolean


def check_authn_request(
    config: IdpConfig, root: etree._Element, *, binding: str, location: str, raw_query: str = "", ecp: bool = False
) -> AuthnRequest:
    if root.tag != AUTHN_REQUEST or root.get("Version") != "2.0" or not root.get("ID"):
        raise RequestRefused("SAMLRequest is not a SAML 2.0 AuthnRequest with an ID")
    # SAML Core §3.2.1: a request meant for another endpoint (forwarded or replayed here) MUST be discarded.
    destination = root.get("Destination")
    if destination is not None and destination != location:
        raise RequestRefused(f"the AuthnRequest was sent to {destination}, not to this identity provider ({location})")
    issuer = (root.findtext(c.ISSUER) or "").strip()
    sp = config.provider_by_entity_id(issuer)
    if sp is None:
        raise RequestRefused(f"the service provider {issuer or '(no Issuer)'} is not known to this identity provider")
    signed = _verify_redirect_signature(sp, raw_query) if binding == "redirect" else _verify_xml_signature(sp, root)
    if sp.require_signed_requests and not signed:
        raise RequestRefused(f"{sp.display_name} must sign its AuthnRequests")
    expected_binding = c.BINDING_PAOS if ecp else c.BINDING_HTTP_POST
    protocol_binding = root.get("ProtocolBinding")
    if protocol_binding is not None and protocol_binding != expected_binding:
        raise RequestRefused(f"responses can only be sent with {expected_binding}, not {protocol_binding}")
    acs_url = root.get("AssertionConsumerServiceURL")
    index = root.get("AssertionConsumerServiceIndex")
    if acs_url is not None:
        if acs_url not in sp.acs_urls:
            raise RequestRefused(f"{acs_url} is not a registered ACS URL of {sp.display_name}")
    elif index is not None:
        position = decimal_at_most(index, len(sp.acs_urls) - 1)
        if position is None:
            raise RequestRefused(f"{sp.display_name} has no ACS URL with index {index}")
        acs_url = sp.acs_urls[position]
    else:
        acs_url = sp.acs_urls[0]
    return AuthnRequest(
        id=root.get("ID", ""), sp=sp, acs_url=acs_url, signed=signed, force_authn=_boolean(root, "ForceAuthn"), is_passive=_boolean(root, "IsPassive")
    )
