"""samlfed.saml.signing: the Responses it builds have the AWS/SAML shape, and its signatures verify with signxml
and python-xmlsec (keys pinned, algorithms restricted to exactly the ones used), and stop verifying once changed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidSignature

from samlfed.saml import constants as c
from samlfed.saml.signing import AssertionSpec, IdpSigner, build_response, encode_response, sign_element, sign_response

NS = {"samlp": c.NS_PROTOCOL, "saml": c.NS_ASSERTION, "ds": c.NS_DSIG, "xsi": c.NS_XSI}
ISSUER = "https://idp.example.test/saml"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/ExampleIdP"
DEV = "arn:aws:iam::111111111111:role/Developer"
OPS = "arn:aws:iam::111111111111:role/Operator"
ISSUED = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)

# signxml `location` of each signature, per signing mode ("./" = directly in the Response).
LOCATIONS = {
    "assertion": [f"./{c.ASSERTION}/"],
    "response": ["./"],
    "both": ["./", f"./{c.ASSERTION}/"],
}
XMLSEC_TRANSFORMS = {
    c.ALG_RSA_SHA1: xmlsec.Transform.RSA_SHA1,
    c.ALG_RSA_SHA256: xmlsec.Transform.RSA_SHA256,
    c.ALG_RSA_SHA384: xmlsec.Transform.RSA_SHA384,
    c.ALG_RSA_SHA512: xmlsec.Transform.RSA_SHA512,
    c.ALG_SHA1: xmlsec.Transform.SHA1,
    c.ALG_SHA256: xmlsec.Transform.SHA256,
    c.ALG_SHA384: xmlsec.Transform.SHA384,
    c.ALG_SHA512: xmlsec.Transform.SHA512,
}
ALGORITHM_PAIRS = [
    pytest.param(c.ALG_RSA_SHA1, c.ALG_SHA1, id="rsa-sha1/sha1"),
    pytest.param(c.ALG_RSA_SHA256, c.ALG_SHA256, id="rsa-sha256/sha256"),
    pytest.param(c.ALG_RSA_SHA384, c.ALG_SHA384, id="rsa-sha384/sha384"),
    pytest.param(c.ALG_RSA_SHA512, c.ALG_SHA512, id="rsa-sha512/sha512"),
    pytest.param(c.ALG_RSA_SHA512, c.ALG_SHA256, id="rsa-sha512/sha256"),
]
MODES = ["assertion", "response", "both"]


@cache
def signer(name: str = "idp") -> IdpSigner:
    """One key per name for the whole run (RSA key generation is slow); valid around the real clock for signxml."""
    return IdpSigner.generate(f"samlfed test {name}")


def spec(**overrides: object) -> AssertionSpec:
    base = AssertionSpec(
        issuer=ISSUER,
        roles=[f"{DEV},{PROVIDER}", f"{PROVIDER},{OPS}"],
        role_session_name="alice@example.com",
        session_duration=3600,
        source_identity="alice",
        principal_tags={"department": "Engineering", "project": "apollo"},
        transitive_tag_keys=["department", "project"],
        attributes={"email": ["alice@example.com"], "groups": ["dev", "ops"]},
        issue_instant=ISSUED,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def xp(node: etree._Element, path: str) -> list:
    return node.xpath(path, namespaces=NS)


def signxml_verify(
    xml: bytes, location: str, *, by: IdpSigner | None = None, sig_alg: str = c.ALG_RSA_SHA256, digest_alg: str = c.ALG_SHA256
) -> etree._Element:
    """Verify the signature at `location` with signxml, accepting only the given algorithms; return what it signed."""
    config = SignatureConfiguration(
        location=location,
        expect_references=1,
        ignore_ambiguous_key_info=True,
        signature_methods=frozenset({SignatureMethod(sig_alg)}),
        digest_algorithms=frozenset({DigestAlgorithm(digest_alg)}),
    )
    return XMLVerifier().verify(xml, x509_cert=(by or signer()).cert_pem().decode(), expect_config=config).signed_xml


def xmlsec_verify(
    xml: bytes, location: str, *, by: IdpSigner | None = None, sig_alg: str = c.ALG_RSA_SHA256, digest_alg: str = c.ALG_SHA256
) -> None:
    """Verify the signature at `location` with libxmlsec: the pinned key, exactly the profile's transforms."""
    root = etree.fromstring(xml)
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    for transform in (xmlsec.Transform.ENVELOPED, xmlsec.Transform.EXCL_C14N, XMLSEC_TRANSFORMS[digest_alg]):
        context.enable_reference_transform(transform)
    for transform in (xmlsec.Transform.EXCL_C14N, XMLSEC_TRANSFORMS[sig_alg]):
        context.enable_signature_transform(transform)
    context.key = xmlsec.Key.from_memory((by or signer()).cert_pem(), xmlsec.KeyFormat.CERT_PEM)
    context.verify(root.find(location + c.DS_SIGNATURE))


def verify_everywhere(xml: bytes, locations: list[str], **options: object) -> None:
    """Every listed signature verifies with both libraries, and there are no other signatures."""
    root = etree.fromstring(xml)
    assert len(list(root.iter(c.DS_SIGNATURE))) == len(locations)
    for location in locations:
        signed = signxml_verify(xml, location, **options)  # type: ignore[arg-type]
        assert signed.tag == (c.RESPONSE if location == "./" else c.ASSERTION)
        xmlsec_verify(xml, location, **options)  # type: ignore[arg-type]


# --- signatures verify with the reference implementations ---------------------------------------------------


@pytest.mark.parametrize("sig_alg, digest_alg", ALGORITHM_PAIRS)
@pytest.mark.parametrize("mode", MODES)
def test_signatures_verify_with_signxml_and_xmlsec(mode: str, sig_alg: str, digest_alg: str) -> None:
    xml = sign_response(spec(), signer(), sign=mode, signature_algorithm=sig_alg, digest_algorithm=digest_alg)  # type: ignore[arg-type]
    verify_everywhere(xml, LOCATIONS[mode], sig_alg=sig_alg, digest_alg=digest_alg)


@pytest.mark.parametrize("mode", MODES)
def test_changed_name_id_fails_both_verifiers(mode: str) -> None:
    root = etree.fromstring(sign_response(spec(), signer(), sign=mode))  # type: ignore[arg-type]
    xp(root, "//saml:NameID")[0].text = "mallory@example.com"
    tampered = etree.tostring(root)
    for location in LOCATIONS[mode]:
        with pytest.raises(InvalidSignature):
            signxml_verify(tampered, location)
        with pytest.raises(xmlsec.Error):
            xmlsec_verify(tampered, location)


def test_another_key_does_not_verify_despite_its_certificate_in_key_info() -> None:
    xml = sign_response(spec(), signer("attacker"), sign="both")
    for location in LOCATIONS["both"]:
        with pytest.raises(InvalidSignature):
            signxml_verify(xml, location)
        with pytest.raises(xmlsec.Error):
            xmlsec_verify(xml, location)


@pytest.mark.parametrize("mode", MODES)
def test_pretty_printed_tree_signed_afterwards_verifies(mode: str) -> None:
    pretty = etree.fromstring(etree.tostring(build_response(spec()), pretty_print=True))
    assertion = pretty.find(c.ASSERTION)
    assert assertion.text is not None and assertion.text.isspace()  # whitespace inside the signed element
    if mode in ("assertion", "both"):
        sign_element(assertion, signer())
    if mode in ("response", "both"):
        sign_element(pretty, signer())
    verify_everywhere(etree.tostring(pretty, xml_declaration=True, encoding="UTF-8"), LOCATIONS[mode])


def test_signature_without_key_info_verifies_with_the_pinned_certificate() -> None:
    root = build_response(spec())
    signature = sign_element(root.find(c.ASSERTION), signer(), include_key_info=False)
    assert signature.find(c.DS_KEY_INFO) is None
    verify_everywhere(etree.tostring(root), LOCATIONS["assertion"])


def test_non_ascii_values_verify() -> None:
    xml = sign_response(spec(name_id="zoë@exämple.com", attributes={"displayName": ["Zoë Ünal 日本"]}), signer(), sign="both")
    assert "zoë@exämple.com".encode() in xml  # UTF-8, not character references
    verify_everywhere(xml, LOCATIONS["both"])


def test_both_signs_the_assertion_first_so_the_response_signature_covers_it() -> None:
    xml = sign_response(spec(), signer(), sign="both")
    signed_response = signxml_verify(xml, "./")
    assert len(xp(signed_response, "saml:Assertion/ds:Signature")) == 1


# --- signature shape ----------------------------------------------------------------------------------------


def test_signature_follows_the_profile_and_sits_after_the_issuer() -> None:
    root = etree.fromstring(sign_response(spec(), signer(), sign="both", signature_algorithm=c.ALG_RSA_SHA384))
    assert [child.tag for child in root] == [c.ISSUER, c.DS_SIGNATURE, c.STATUS, c.ASSERTION]
    assertion = root.find(c.ASSERTION)
    assert [child.tag for child in assertion] == [
        c.ISSUER,
        c.DS_SIGNATURE,
        c.SUBJECT,
        c.CONDITIONS,
        c.AUTHN_STATEMENT,
        c.ATTRIBUTE_STATEMENT,
    ]
    for element in (root, assertion):
        signature = element.find(c.DS_SIGNATURE)
        assert signature.prefix == "ds" and signature.tail is None
        assert [child.tag for child in signature] == [c.DS_SIGNED_INFO, c.DS_SIGNATURE_VALUE, c.DS_KEY_INFO]
        assert xp(signature, "ds:SignedInfo/ds:CanonicalizationMethod/@Algorithm") == [c.ALG_C14N_EXCLUSIVE]
        assert xp(signature, "ds:SignedInfo/ds:SignatureMethod/@Algorithm") == [c.ALG_RSA_SHA384]
        assert xp(signature, "ds:SignedInfo/ds:Reference/@URI") == ["#" + element.get("ID")]
        assert xp(signature, "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform/@Algorithm") == [c.ALG_ENVELOPED, c.ALG_C14N_EXCLUSIVE]
        assert xp(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod/@Algorithm") == [c.ALG_SHA256]
        (certificate,) = xp(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()")
        assert base64.b64decode(certificate) == signer().certificate.public_bytes(serialization.Encoding.DER)


def test_signature_goes_first_when_the_element_has_no_issuer() -> None:
    root = build_response(spec())
    root.remove(root.find(c.ISSUER))
    signature = sign_element(root, signer())
    assert root[0] is signature
    verify_everywhere(etree.tostring(root), LOCATIONS["response"])


def test_bad_arguments_are_refused() -> None:
    root = build_response(spec())
    with pytest.raises(ValueError, match="no ID"):
        sign_element(root.find(c.ISSUER), signer())
    with pytest.raises(ValueError, match="unsupported signature"):
        sign_element(root, signer(), signature_algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    with pytest.raises(ValueError, match="unsupported digest"):
        sign_element(root, signer(), digest_algorithm="http://www.w3.org/2001/04/xmldsig-more#md5")
    with pytest.raises(TypeError, match="list of strings"):
        build_response(spec(roles=f"{DEV},{PROVIDER}"))
    with pytest.raises(ValueError, match="sign must be"):
        sign_response(spec(), signer(), sign="none")  # type: ignore[arg-type]
    assert root.find(c.DS_SIGNATURE) is None  # nothing was inserted by the refused calls


# --- the Response document ----------------------------------------------------------------------------------


def test_response_has_the_aws_shape() -> None:
    root = build_response(spec(session_not_on_or_after=ISSUED + timedelta(hours=8)))
    assert root.tag == c.RESPONSE and root.prefix == "samlp"
    assert root.nsmap == {"samlp": c.NS_PROTOCOL, "saml": c.NS_ASSERTION, "xs": c.NS_XS, "xsi": c.NS_XSI}
    assert xp(root, "@Version") == ["2.0"] and xp(root, "@IssueInstant") == ["2026-11-24T12:00:00Z"]
    assert xp(root, "@Destination") == ["https://signin.aws.amazon.com/saml"]
    assert xp(root, "@InResponseTo") == []
    assert xp(root, "saml:Issuer/text()") == [ISSUER]
    assert xp(root, "samlp:Status/samlp:StatusCode/@Value") == [c.STATUS_SUCCESS]

    (assertion,) = xp(root, "saml:Assertion")
    assert assertion.prefix == "saml"
    assert xp(assertion, "@Version") == ["2.0"] and xp(assertion, "@IssueInstant") == ["2026-11-24T12:00:00Z"]
    assert xp(assertion, "saml:Issuer/text()") == [ISSUER]
    assert xp(assertion, "saml:Subject/saml:NameID/text()") == ["alice@example.com"]
    assert xp(assertion, "saml:Subject/saml:NameID/@Format") == [c.NAMEID_PERSISTENT]
    assert xp(assertion, "saml:Subject/saml:SubjectConfirmation/@Method") == [c.CM_BEARER]
    (data,) = xp(assertion, "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData")
    assert dict(data.attrib) == {"Recipient": "https://signin.aws.amazon.com/saml", "NotOnOrAfter": "2026-11-24T12:05:00Z"}
    (conditions,) = xp(assertion, "saml:Conditions")
    assert dict(conditions.attrib) == {"NotBefore": "2026-11-24T12:00:00Z", "NotOnOrAfter": "2026-11-24T12:05:00Z"}
    assert xp(conditions, "saml:AudienceRestriction/saml:Audience/text()") == ["urn:amazon:webservices"]
    (authn,) = xp(assertion, "saml:AuthnStatement")
    assert authn.get("AuthnInstant") == "2026-11-24T12:00:00Z"
    assert authn.get("SessionNotOnOrAfter") == "2026-11-24T20:00:00Z"
    assert re.fullmatch(r"_[0-9a-f]{40}", authn.get("SessionIndex"))
    assert xp(authn, "saml:AuthnContext/saml:AuthnContextClassRef/text()") == [
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    ]


def test_attribute_statement_carries_the_aws_attributes_in_order() -> None:
    (statement,) = xp(build_response(spec()), "saml:Assertion/saml:AttributeStatement")
    attributes = {a.get("Name"): xp(a, "saml:AttributeValue/text()") for a in statement}
    assert list(attributes.items()) == [
        (c.AWS_ROLE, [f"{DEV},{PROVIDER}", f"{PROVIDER},{OPS}"]),
        (c.AWS_ROLE_SESSION_NAME, ["alice@example.com"]),
        (c.AWS_SESSION_DURATION, ["3600"]),
        (c.AWS_SOURCE_IDENTITY, ["alice"]),
        (c.AWS_PRINCIPAL_TAG_PREFIX + "department", ["Engineering"]),
        (c.AWS_PRINCIPAL_TAG_PREFIX + "project", ["apollo"]),
        (c.AWS_TRANSITIVE_TAG_KEYS, ["department", "project"]),
        ("email", ["alice@example.com"]),
        ("groups", ["dev", "ops"]),
    ]
    assert set(xp(statement, "saml:Attribute/@NameFormat")) == {c.ATTRNAME_FORMAT_URI}
    values = xp(statement, "saml:Attribute/saml:AttributeValue")
    assert {v.get(f"{{{c.NS_XSI}}}type") for v in values} == {"xs:string"}
    assert all(v.nsmap["xs"] == c.NS_XS for v in values)  # the QName in xsi:type resolves


def test_optional_parts_are_omitted_when_none() -> None:
    root = build_response(
        spec(
            name_id_format=None,
            destination=None,
            audience=None,
            roles=(),
            role_session_name=None,
            session_duration=None,
            source_identity=None,
            principal_tags={},
            transitive_tag_keys=(),
            attributes={},
        )
    )
    assert root.get("Destination") is None
    assert xp(root, "saml:Assertion/saml:Subject/saml:NameID/@Format") == []
    assert xp(root, "saml:Assertion/saml:Conditions/*") == []
    assert xp(root, "saml:Assertion/saml:AuthnStatement/@SessionNotOnOrAfter") == []
    assert xp(root, "saml:Assertion/saml:AttributeStatement") == []  # never an empty statement


def test_in_response_to_status_lifetime_and_ids_come_from_the_spec() -> None:
    root = build_response(
        spec(
            in_response_to="_req1",
            status="urn:oasis:names:tc:SAML:2.0:status:Responder",
            lifetime=timedelta(minutes=1),
            response_id="_resp",
            assertion_id="_assert",
        )
    )
    assert root.get("InResponseTo") == "_req1" and root.get("ID") == "_resp"
    assert xp(root, "saml:Assertion/@ID") == ["_assert"]
    assert xp(root, "samlp:Status/samlp:StatusCode/@Value") == ["urn:oasis:names:tc:SAML:2.0:status:Responder"]
    (data,) = xp(root, "//saml:SubjectConfirmationData")
    assert data.get("InResponseTo") == "_req1" and data.get("NotOnOrAfter") == "2026-11-24T12:01:00Z"
    assert xp(root, "saml:Assertion/saml:Conditions/@NotOnOrAfter") == ["2026-11-24T12:01:00Z"]


def test_generated_ids_are_fresh_xs_ids() -> None:
    ids = [build_response(spec()).get("ID") for _ in range(3)] + xp(build_response(spec()), "//@ID")
    assert all(re.fullmatch(r"_[0-9a-f]{40}", i) for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "instant, text",
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 123999, tzinfo=UTC), "2026-01-02T03:04:05.123Z"),
        (datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T03:04:05Z"),
    ],
)
def test_instants_are_utc_with_whole_seconds_or_milliseconds(instant: datetime, text: str) -> None:
    assert build_response(spec(issue_instant=instant)).get("IssueInstant") == text


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        build_response(spec(issue_instant=datetime(2026, 1, 2, 3, 4, 5)))


def test_issue_instant_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    issued = datetime.fromisoformat(build_response(spec(issue_instant=None)).get("IssueInstant"))
    assert before <= issued <= datetime.now(UTC)


def test_output_is_utf8_xml_with_declaration_and_encodes_for_http_post() -> None:
    xml = sign_response(spec(), signer())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    encoded = encode_response(xml)
    assert "\n" not in encoded and base64.b64decode(encoded, validate=True) == xml


# --- IdpSigner ----------------------------------------------------------------------------------------------


def test_generated_signer_is_a_self_signed_rsa_certificate_valid_for_a_year() -> None:
    idp = signer()
    cert = idp.certificate
    assert idp.private_key.key_size == 2048
    assert cert.public_key() == idp.private_key.public_key()
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "samlfed test idp"
    now = datetime.now(UTC)
    assert now - timedelta(days=1, minutes=5) < cert.not_valid_before_utc < now - timedelta(hours=23)
    assert now + timedelta(days=364) < cert.not_valid_after_utc < now + timedelta(days=365, minutes=5)


def test_generated_signer_takes_key_size_and_validity() -> None:
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
    idp = IdpSigner.generate("old", key_size=3072, not_before=start, not_after=end)
    assert idp.private_key.key_size == 3072
    assert (idp.certificate.not_valid_before_utc, idp.certificate.not_valid_after_utc) == (start, end)


def test_signer_round_trips_through_pem() -> None:
    again = IdpSigner.from_pem(signer().key_pem(), signer().cert_pem())
    assert again.certificate == signer().certificate
    assert again.private_key.private_numbers() == signer().private_key.private_numbers()
    assert signer().key_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    verify_everywhere(sign_response(spec(), again), LOCATIONS["assertion"])


def test_from_pem_refuses_non_rsa_keys_and_foreign_certificates() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="only RSA"):
        IdpSigner.from_pem(ec_pem, signer().cert_pem())
    with pytest.raises(ValueError, match="does not belong"):
        IdpSigner.from_pem(signer().key_pem(), signer("attacker").cert_pem())
