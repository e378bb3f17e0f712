"""The SAML ECP client (SAML Profiles §4.2): an AuthnRequest in a PAOS envelope, HTTP Basic credentials, and the
Response taken out of the IdP's SOAP answer. No HTML is read, so an IdP's login page can change freely."""

from __future__ import annotations

import base64
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from ..saml import constants as c
from ..saml.signing import build_authn_request
from ..saml.xmlparse import XmlRejected, parse_xml
from .exchange import TransportError
from .transport import InsecureUrl, Transport, redacted

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_ECP = "urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp"
NS_PAOS = "urn:liberty:paos:2003-08"
OTP_HEADER = "X-Samlfed-OTP"
MAX_ANSWER_BYTES = 1_000_000


class EcpError(Exception):
    """The IdP did not issue a response; the message is for the user."""


class OtpRequired(EcpError):
    """The password was accepted; the IdP wants a one-time code too."""


class EcpUnreachable(EcpError):
    """No answer from the IdP: unreachable, too slow (the transport's deadline), too large, or not HTTP."""


class CredentialsRefused(EcpError):
    """The IdP refused the sign-in (HTTP 401) without asking for a one-time code: wrong password, code or user."""


@dataclass(frozen=True)
class EcpRequest:
    sp_entity_id: str
    acs_url: str
    request_id: str

    def envelope(self) -> bytes:
        envelope = etree.Element(etree.QName(NS_SOAP, "Envelope"), nsmap={"S": NS_SOAP, "paos": NS_PAOS, "ecp": NS_ECP})
        header = etree.SubElement(envelope, etree.QName(NS_SOAP, "Header"))
        must = {etree.QName(NS_SOAP, "mustUnderstand").text: "1", etree.QName(NS_SOAP, "actor").text: "http://schemas.xmlsoap.org/soap/actor/next"}
        etree.SubElement(header, etree.QName(NS_PAOS, "Request"), {**must, "responseConsumerURL": self.acs_url, "service": NS_ECP})
        ecp_request = etree.SubElement(header, etree.QName(NS_ECP, "Request"), {**must, "IsPassive": "0"})
        etree.SubElement(ecp_request, etree.QName(c.NS_ASSERTION, "Issuer")).text = self.sp_entity_id
        body = etree.SubElement(envelope, etree.QName(NS_SOAP, "Body"))
        body.append(build_authn_request(
            request_id=self.request_id, issuer=self.sp_entity_id, acs_url=self.acs_url, protocol_binding=c.BINDING_PAOS, issued_at=datetime.now(UTC),
        ))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def ecp_login(
    ecp_url: str, *, sp_entity_id: str, acs_url: str, username: str, password: str, otp: str | None = None,
    transport: Transport = Transport(), timeout: float = 30,
) -> str:
    """Sign in at the IdP's ECP endpoint; returns the SAMLResponse as base64, as the HTTP-POST binding carries it.

    The URL is checked here too, right before the password is sent; no redirect is followed (ECP answers come from
    the endpoint itself, and urllib would repeat the Authorization header to wherever a redirect points)."""
    try:
        transport.check(ecp_url, "the ECP endpoint")
    except InsecureUrl as exc:
        raise EcpError(str(exc)) from None
    request = EcpRequest(sp_entity_id, acs_url, "_" + secrets.token_hex(16))
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "Accept": "text/html; application/vnd.paos+xml",
        "PAOS": f'ver="{NS_PAOS}";"{NS_ECP}"',
        "Authorization": f"Basic {basic}",
    }
    if otp:
        headers[OTP_HEADER] = otp
    http = urllib.request.Request(ecp_url, data=request.envelope(), headers=headers, method="POST")
    try:
        with transport.opener(follow_redirects=False, max_bytes=MAX_ANSWER_BYTES).open(http, timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise EcpError(f"the ECP endpoint answered with a redirect (HTTP {exc.code}), which is not followed with your password; "
                           "set ecp_url to the endpoint itself") from None
        message = _fault_text(exc.read()) or f"HTTP {exc.code}"
        if exc.code == 401:
            raise (OtpRequired if exc.headers.get(OTP_HEADER, "").lower() == "required" else CredentialsRefused)(message) from None
        raise EcpError(message) from None
    except TransportError as exc:  # the deadline, the size cap (the transport read the answer), or not HTTP
        raise EcpUnreachable(f"the identity provider at {redacted(ecp_url)}: {exc}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise EcpUnreachable(f"cannot reach {redacted(ecp_url)}: {getattr(exc, 'reason', exc)}") from None
    return _response_of(body, request)


def _fault_text(body: bytes) -> str | None:
    try:
        root = parse_xml(body)
    except XmlRejected:
        return None
    return root.findtext(f"{{{NS_SOAP}}}Body/{{{NS_SOAP}}}Fault/faultstring")


def _response_of(body: bytes, request: EcpRequest) -> str:
    try:
        envelope = parse_xml(body)
    except XmlRejected as exc:
        raise EcpError(f"the identity provider's answer is not acceptable XML: {exc}") from None
    header = envelope.find(f"{{{NS_SOAP}}}Header/{{{NS_ECP}}}Response")
    responses = envelope.findall(f"{{{NS_SOAP}}}Body/{c.RESPONSE}")
    if header is None or len(responses) != 1:
        raise EcpError(_fault_text(body) or "the identity provider's answer is not an ECP response")
    # ECP §4.2.4.5: deliver only where we asked it to go, or a rogue IdP could route the assertion elsewhere.
    if header.get("AssertionConsumerServiceURL") != request.acs_url:
        raise EcpError("the identity provider answered for another service (AssertionConsumerServiceURL differs)")
    # The answer to this request, not one replayed or issued for another request (SAML Core §3.2.2).
    if responses[0].get("InResponseTo") != request.request_id:
        raise EcpError("the identity provider's response does not answer this sign-in's request (InResponseTo differs)")
    refusal = _refusal(responses[0])
    if refusal is not None:
        raise EcpError(refusal)
    return base64.b64encode(etree.tostring(responses[0])).decode()


def _refusal(response: etree._Element) -> str | None:
    """Why the IdP issued no assertion, when its Status is not Success (SAML Core §3.2.2.2): the IdP's StatusMessage and
    its status codes, last segment of each (`alice may not use this service (Responder, RequestDenied)`); None for Success.
    Passed on, such a response could only be refused later as one that grants no roles."""
    codes = response.xpath("samlp:Status/samlp:StatusCode/descendant-or-self::samlp:StatusCode/@Value", namespaces={"samlp": c.NS_PROTOCOL})
    if not codes or codes[0] == c.STATUS_SUCCESS:  # no Status at all breaks the schema: STS says so, as before
        return None
    said = (response.findtext(f"{c.STATUS}/{c.STATUS_MESSAGE}") or "").strip()
    names = ", ".join(str(code).rsplit(":", 1)[-1] for code in codes)
    return f"{said} ({names})" if said else f"the identity provider issued no assertion ({names})"
