"""samlfed as a SAML service provider: its metadata and the AuthnRequests of SP-initiated console sign-in.

Request IDs are self-contained: the issue time sealed under the master key. Any node can tell that an
`InResponseTo` names a request this deployment sent, and how old it is, without storing the request; the
store then records its one use.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from lxml import etree

from ..masterkey import MasterKey, MasterKeyError
from ..saml import constants as c

REQUEST_LIFETIME = timedelta(minutes=5)
_REQUEST_CONTEXT = "samlfed authn request id"
_REQUEST_PREFIX = "_sf"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
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


def sp_metadata(entity_id: str, acs_url: str) -> bytes:
    """An SPSSODescriptor shaped like AWS's (contract §9): signed assertions wanted, one HTTP-POST ACS."""
    md = c.NS_METADATA
    root = etree.Element(etree.QName(md, "EntityDescriptor"), nsmap={"md": md}, entityID=entity_id)
    sp = etree.SubElement(
        root, etree.QName(md, "SPSSODescriptor"),
        AuthnRequestsSigned="false", WantAssertionsSigned="true", protocolSupportEnumeration=c.NS_PROTOCOL,
    )
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


def new_request_id(master: MasterKey, now: datetime) -> str:
    sealed = master.seal(struct.pack(">Q", int(now.timestamp())), context=_REQUEST_CONTEXT)
    return _REQUEST_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def request_issued_at(master: MasterKey, request_id: str) -> datetime | None:
    """When this deployment issued `request_id`, or None if it never did (a request of someone else's, or forged)."""
    if not request_id.startswith(_REQUEST_PREFIX) or len(request_id) > 100:
        return None
    encoded = request_id[len(_REQUEST_PREFIX):]
    try:
        plain = master.unseal(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)), context=_REQUEST_CONTEXT)
        (seconds,) = struct.unpack(">Q", plain)
    except (binascii.Error, ValueError, MasterKeyError, struct.error):
        return None
    return datetime.fromtimestamp(seconds, UTC)


def authn_request_url(sso_url: str, *, entity_id: str, acs_url: str, request_id: str, now: datetime, relay_state: str | None) -> str:
    """The IdP's SSO URL with a deflated AuthnRequest (HTTP-Redirect binding)."""
    p, a = c.NS_PROTOCOL, c.NS_ASSERTION
    request = etree.Element(
        etree.QName(p, "AuthnRequest"), nsmap={"samlp": p, "saml": a},
        ID=request_id, Version="2.0", IssueInstant=now.strftime("%Y-%m-%dT%H:%M:%SZ"), Destination=sso_url,
        AssertionConsumerServiceURL=acs_url, ProtocolBinding=c.BINDING_HTTP_POST,
    )
    etree.SubElement(request, etree.QName(a, "Issuer")).text = entity_id
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(etree.tostring(request)) + compressor.flush()
    query = {"SAMLRequest": base64.b64encode(deflated).decode()}
    if relay_state:
        query["RelayState"] = relay_state
    return sso_url + ("&" if "?" in sso_url else "?") + urlencode(query)
