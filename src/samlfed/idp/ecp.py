"""SAML 2.0 ECP at the IdP (SAML Profiles §4.2): an AuthnRequest in a SOAP envelope, HTTP Basic credentials,
a Response in a SOAP envelope with the ecp:Response header naming where the client must deliver it."""

from __future__ import annotations

from lxml import etree

from ..saml import constants as c
from ..saml.xmlparse import XmlRejected, parse_xml
from .authn_request import AUTHN_REQUEST, RequestRefused

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_ECP = "urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp"
ENVELOPE = c.qname(NS_SOAP, "Envelope")
BODY = c.qname(NS_SOAP, "Body")
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"


def request_from_envelope(body: bytes) -> etree._Element:
    """The AuthnRequest inside a SOAP 1.1 envelope (hardened parse; nothing else may be in the Body)."""
    try:
        envelope = parse_xml(body)
    except XmlRejected as exc:
        raise RequestRefused(f"the SOAP message is not acceptable XML: {exc}") from None
    if envelope.tag != ENVELOPE:
        raise RequestRefused("the message is not a SOAP 1.1 envelope")
    bodies = envelope.findall(BODY)
    if len(bodies) != 1:
        raise RequestRefused("the SOAP envelope must have exactly one Body")
    children = [child for child in bodies[0] if isinstance(child.tag, str)]
    if len(children) != 1 or children[0].tag != AUTHN_REQUEST:
        raise RequestRefused("the SOAP Body must hold exactly one samlp:AuthnRequest")
    return children[0]


def response_envelope(response_xml: bytes, acs_url: str) -> bytes:
    envelope = etree.Element(ENVELOPE, nsmap={"soap11": NS_SOAP, "ecp": NS_ECP})
    header = etree.SubElement(envelope, c.qname(NS_SOAP, "Header"))
    etree.SubElement(
        header,
        c.qname(NS_ECP, "Response"),
        {c.qname(NS_SOAP, "mustUnderstand"): "1", c.qname(NS_SOAP, "actor"): "http://schemas.xmlsoap.org/soap/actor/next", "AssertionConsumerServiceURL": acs_url},
    )
    body = etree.SubElement(envelope, BODY)
    # The signed Response is embedded as parsed from its own bytes; exclusive c14n makes its signature independent
    # of the envelope's namespace context.
    body.append(etree.fromstring(response_xml))
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def fault_envelope(code: str, message: str) -> bytes:
    envelope = etree.Element(ENVELOPE, nsmap={"soap11": NS_SOAP})
    fault = etree.SubElement(etree.SubElement(envelope, BODY), c.qname(NS_SOAP, "Fault"))
    etree.SubElement(fault, "faultcode").text = f"soap11:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
