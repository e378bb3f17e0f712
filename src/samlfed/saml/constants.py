"""Namespaces, algorithm identifiers and AWS attribute names used across `samlfed.saml`."""

from __future__ import annotations

NS_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_METADATA = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"
NS_DSIG11 = "http://www.w3.org/2009/xmldsig11#"
NS_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XS = "http://www.w3.org/2001/XMLSchema"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"


def qname(ns: str, local: str) -> str:
    """Clark notation `{ns}local`, the way lxml names elements (never by prefix)."""
    return f"{{{ns}}}{local}"


def local_name(tag: str) -> str:
    """The local part of a Clark-notation tag (`{ns}local` or `local`)."""
    return tag.rsplit("}", 1)[-1]


# Elements, by (namespace URI, local name).
RESPONSE = qname(NS_PROTOCOL, "Response")
STATUS = qname(NS_PROTOCOL, "Status")
STATUS_CODE = qname(NS_PROTOCOL, "StatusCode")
STATUS_MESSAGE = qname(NS_PROTOCOL, "StatusMessage")
ASSERTION = qname(NS_ASSERTION, "Assertion")
ENCRYPTED_ASSERTION = qname(NS_ASSERTION, "EncryptedAssertion")
ISSUER = qname(NS_ASSERTION, "Issuer")
SUBJECT = qname(NS_ASSERTION, "Subject")
NAME_ID = qname(NS_ASSERTION, "NameID")
ENCRYPTED_ID = qname(NS_ASSERTION, "EncryptedID")
SUBJECT_CONFIRMATION = qname(NS_ASSERTION, "SubjectConfirmation")
SUBJECT_CONFIRMATION_DATA = qname(NS_ASSERTION, "SubjectConfirmationData")
CONDITIONS = qname(NS_ASSERTION, "Conditions")
AUDIENCE_RESTRICTION = qname(NS_ASSERTION, "AudienceRestriction")
AUDIENCE = qname(NS_ASSERTION, "Audience")
ONE_TIME_USE = qname(NS_ASSERTION, "OneTimeUse")
PROXY_RESTRICTION = qname(NS_ASSERTION, "ProxyRestriction")
AUTHN_STATEMENT = qname(NS_ASSERTION, "AuthnStatement")
ATTRIBUTE_STATEMENT = qname(NS_ASSERTION, "AttributeStatement")
ATTRIBUTE = qname(NS_ASSERTION, "Attribute")
ATTRIBUTE_VALUE = qname(NS_ASSERTION, "AttributeValue")

DS_SIGNATURE = qname(NS_DSIG, "Signature")
DS_SIGNED_INFO = qname(NS_DSIG, "SignedInfo")
DS_C14N_METHOD = qname(NS_DSIG, "CanonicalizationMethod")
DS_SIGNATURE_METHOD = qname(NS_DSIG, "SignatureMethod")
DS_REFERENCE = qname(NS_DSIG, "Reference")
DS_TRANSFORMS = qname(NS_DSIG, "Transforms")
DS_TRANSFORM = qname(NS_DSIG, "Transform")
DS_DIGEST_METHOD = qname(NS_DSIG, "DigestMethod")
DS_DIGEST_VALUE = qname(NS_DSIG, "DigestValue")
DS_SIGNATURE_VALUE = qname(NS_DSIG, "SignatureValue")
DS_KEY_INFO = qname(NS_DSIG, "KeyInfo")
DS_RETRIEVAL_METHOD = qname(NS_DSIG, "RetrievalMethod")
DS_X509_DATA = qname(NS_DSIG, "X509Data")
DS_X509_CERTIFICATE = qname(NS_DSIG, "X509Certificate")
EXC_INCLUSIVE_NAMESPACES = qname(NS_EXC_C14N, "InclusiveNamespaces")

# Elements that make a signature dereference or wrap something else: never allowed anywhere.
FORBIDDEN_DSIG_ELEMENTS = frozenset(
    {
        qname(NS_DSIG, "Manifest"),
        qname(NS_DSIG, "Object"),
        DS_RETRIEVAL_METHOD,
        qname(NS_DSIG11, "KeyInfoReference"),
    }
)

# Metadata.
MD_ENTITIES_DESCRIPTOR = qname(NS_METADATA, "EntitiesDescriptor")
MD_ENTITY_DESCRIPTOR = qname(NS_METADATA, "EntityDescriptor")
MD_IDP_SSO_DESCRIPTOR = qname(NS_METADATA, "IDPSSODescriptor")
MD_KEY_DESCRIPTOR = qname(NS_METADATA, "KeyDescriptor")
MD_SINGLE_SIGN_ON_SERVICE = qname(NS_METADATA, "SingleSignOnService")
MD_NAME_ID_FORMAT = qname(NS_METADATA, "NameIDFormat")

# Algorithm identifiers.
ALG_C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
ALG_C14N_EXCLUSIVE_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ALG_C14N_INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ALG_C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
ALG_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

ALG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
ALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ALG_RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
ALG_RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

ALG_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
ALG_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ALG_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
ALG_SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_FORMAT_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_FORMAT_PREFIX_SAML2 = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
ATTRNAME_FORMAT_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"

BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_PAOS = "urn:oasis:names:tc:SAML:2.0:bindings:PAOS"

# AWS attribute names (case-sensitive, AWS IAM User Guide).
AWS_ATTR_PREFIX = "https://aws.amazon.com/SAML/Attributes/"
AWS_ROLE = AWS_ATTR_PREFIX + "Role"
AWS_ROLE_SESSION_NAME = AWS_ATTR_PREFIX + "RoleSessionName"
AWS_SESSION_DURATION = AWS_ATTR_PREFIX + "SessionDuration"
AWS_SOURCE_IDENTITY = AWS_ATTR_PREFIX + "SourceIdentity"
AWS_PRINCIPAL_TAG_PREFIX = AWS_ATTR_PREFIX + "PrincipalTag:"
AWS_TRANSITIVE_TAG_KEYS = AWS_ATTR_PREFIX + "TransitiveTagKeys"

# Attributes that are merged when repeated (Keycloak and JumpCloud emit one Attribute per role).
MULTI_ATTRIBUTE_NAMES = frozenset({AWS_ROLE})
