"""The attack catalogue of saml-validation-bar.md §3, each built from a validly signed AWS-shaped response.

Every attack must be rejected, by the check named in its row. The control row shows the unmodified document is
accepted, so a rejection is the attack's doing. Attacks that need a valid signature over attacker-chosen
content are signed before the tampering (or re-signed with an attacker's key).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from saml_factory import DEV_ROLE, NOW, OPS_ROLE, PROVIDER_ARN, response_tree, signer, trust

from samlfed.saml import CHECKS, ProviderPolicy, RolePair, SamlValidationError, validate
from samlfed.saml import constants as c
from samlfed.saml.checks import NO_CONFIRMATION_DATA
from samlfed.saml.signing import sign_element

ATTACKER = "attacker"
EVIL_NAME = "admin@example.com"
Tree = etree._Element


def assertion_of(root: Tree) -> Tree:
    return root.find(c.ASSERTION)


def signature_of(element: Tree) -> Tree:
    return element.find(c.DS_SIGNATURE)


def name_id_of(element: Tree) -> Tree:
    return element.find(f"{c.SUBJECT}/{c.NAME_ID}")


def unsigned_copy(element: Tree, *, new_id: str | None = None, name: str | None = None) -> Tree:
    clone = copy.deepcopy(element)
    signature = signature_of(clone)
    if signature is not None:
        clone.remove(signature)
    if new_id:
        clone.set("ID", new_id)
    if name:
        target = name_id_of(clone) if clone.tag == c.ASSERTION else name_id_of(assertion_of(clone))
        target.text = name
    return clone


def attribute_value(root: Tree, name: str) -> Tree:
    for attribute in root.iter(c.ATTRIBUTE):
        if attribute.get("Name") == name:
            return attribute.find(c.ATTRIBUTE_VALUE)
    raise AssertionError(name)


# --- XML signature wrapping (Somorovsky et al. 2012; the SAML Raider XSW1-XSW8 set) --------------


def xsw1(root: Tree) -> Tree:
    """Response signature: a forged Response carries the original (unsigned copy) inside its Signature."""
    evil = unsigned_copy(root, new_id="_evil", name=EVIL_NAME)
    signature = copy.deepcopy(signature_of(root))
    signature.append(unsigned_copy(root))
    evil.insert(1, signature)
    return evil


def xsw2(root: Tree) -> Tree:
    """Response signature: the original Response placed before the Signature of a forged Response."""
    evil = unsigned_copy(root, new_id="_evil", name=EVIL_NAME)
    evil.insert(1, unsigned_copy(root))
    evil.insert(2, copy.deepcopy(signature_of(root)))
    return evil


def xsw3(root: Tree) -> Tree:
    """Assertion signature: a forged assertion before the signed one."""
    original = assertion_of(root)
    original.addprevious(unsigned_copy(original, new_id="_evil", name=EVIL_NAME))
    return root


def xsw4(root: Tree) -> Tree:
    """Assertion signature: the signed assertion nested inside a forged one that takes its place."""
    original = assertion_of(root)
    evil = unsigned_copy(original, new_id="_evil", name=EVIL_NAME)
    original.addprevious(evil)
    evil.append(original)
    return root


def xsw5(root: Tree) -> Tree:
    """The forged assertion keeps the original signature; an unsigned copy of the original goes to the end."""
    original = assertion_of(root)
    plain = unsigned_copy(original)
    name_id_of(original).text = EVIL_NAME
    original.set("ID", "_evil")
    root.append(plain)
    return root


def xsw6(root: Tree) -> Tree:
    """The forged assertion keeps the signature, which holds an unsigned copy of the original."""
    original = assertion_of(root)
    plain = unsigned_copy(original)
    name_id_of(original).text = EVIL_NAME
    original.set("ID", "_evil")
    signature_of(original).append(plain)
    return root


def xsw7(root: Tree) -> Tree:
    """An Extensions element carries the signed original; a forged unsigned assertion is consumed."""
    original = assertion_of(root)
    extensions = etree.Element(c.qname(c.NS_PROTOCOL, "Extensions"))
    root.insert(1, extensions)
    evil = unsigned_copy(original, name=EVIL_NAME)
    original.addprevious(evil)
    extensions.append(original)
    return root


def xsw8(root: Tree) -> Tree:
    """The forged assertion keeps the signature, with the original inside a ds:Object."""
    original = assertion_of(root)
    plain = unsigned_copy(original)
    name_id_of(original).text = EVIL_NAME
    holder = etree.SubElement(signature_of(original), c.qname(c.NS_DSIG, "Object"))
    holder.append(plain)
    return root


def moved_signature_single_assertion(root: Tree) -> Tree:
    """One assertion only: the assertion's signature moved to the Response (still naming the assertion)."""
    signature = signature_of(assertion_of(root))
    root.insert(1, signature)
    name_id_of(assertion_of(root)).text = EVIL_NAME
    return root


def evil_takes_the_id_original_in_status_detail(root: Tree) -> Tree:
    """python3-saml's wrapping shape: the signed original hidden in StatusDetail, a forged one takes its ID."""
    original = assertion_of(root)
    detail = etree.SubElement(root.find(c.STATUS), c.qname(c.NS_PROTOCOL, "StatusDetail"))
    forged = unsigned_copy(original, name=EVIL_NAME)
    original.addprevious(forged)
    detail.append(original)
    return root


# --- comment truncation (CVE-2017-11427 and friends): comments signed around, then read around -------


def commented(value: str, split: int) -> Callable[[Tree], None]:
    def put(element: Tree) -> None:
        element.text = value[:split]
        comment = etree.Comment("")
        comment.tail = value[split:]
        element.append(comment)

    return put


def comment_in_name_id(root: Tree) -> None:
    commented("admin@example.com.evil.test", len("admin@example.com"))(name_id_of(assertion_of(root)))


def comment_in_role(root: Tree) -> None:
    value = attribute_value(root, c.AWS_ROLE)
    commented(value.text + "x", len(value.text))(value)


def comment_in_session_name(root: Tree) -> None:
    commented("admin.evil", len("admin"))(attribute_value(root, c.AWS_ROLE_SESSION_NAME))


# --- keys and algorithms -----------------------------------------------------------------------------


def resign_with_attacker_key(root: Tree) -> Tree:
    assertion = assertion_of(root)
    assertion.remove(signature_of(assertion))
    name_id_of(assertion).text = EVIL_NAME
    sign_element(assertion, signer(ATTACKER))
    return root


def keyvalue_of_attacker(root: Tree) -> Tree:
    root = resign_with_attacker_key(root)
    key_info = signature_of(assertion_of(root)).find(c.DS_KEY_INFO)
    for child in list(key_info):
        key_info.remove(child)
    numbers = signer(ATTACKER).private_key.public_key().public_numbers()
    value = etree.SubElement(etree.SubElement(key_info, c.qname(c.NS_DSIG, "KeyValue")), c.qname(c.NS_DSIG, "RSAKeyValue"))
    etree.SubElement(value, c.qname(c.NS_DSIG, "Modulus")).text = base64.b64encode(numbers.n.to_bytes(256, "big")).decode()
    etree.SubElement(value, c.qname(c.NS_DSIG, "Exponent")).text = "AQAB"
    return root


def decoy_certificate_in_key_info(root: Tree) -> Tree:
    """Not an attack on us: KeyInfo is ignored, so an extra certificate there changes nothing."""
    x509_data = signature_of(assertion_of(root)).find(f"{c.DS_KEY_INFO}/{c.DS_X509_DATA}")
    der = signer(ATTACKER).certificate.public_bytes(serialization.Encoding.DER)
    etree.SubElement(x509_data, c.DS_X509_CERTIFICATE).text = base64.b64encode(der).decode()
    return root


def hmac_with_public_certificate(root: Tree) -> Tree:
    signature = signature_of(assertion_of(root))
    signed_info = signature.find(c.DS_SIGNED_INFO)
    signed_info.find(c.DS_SIGNATURE_METHOD).set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")
    name_id_of(assertion_of(root)).text = EVIL_NAME
    key = signer().certificate.public_bytes(serialization.Encoding.DER)
    mac = hmac.new(key, etree.tostring(signed_info, method="c14n", exclusive=True), hashlib.sha256).digest()
    signature.find(c.DS_SIGNATURE_VALUE).text = base64.b64encode(mac).decode()
    return root


def set_algorithm(path: str, algorithm: str, child: str | None = None) -> Callable[[Tree], Tree]:
    def mutate(root: Tree) -> Tree:
        element = signature_of(assertion_of(root)).find(path)
        element.set("Algorithm", algorithm)
        if child:
            element.append(etree.fromstring(child))
        return root

    return mutate


SIGNED_INFO = c.DS_SIGNED_INFO
SECOND_TRANSFORM = f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}/{c.DS_TRANSFORMS}/{c.DS_TRANSFORM}[2]"


def three_transforms(root: Tree) -> Tree:
    transforms = signature_of(assertion_of(root)).find(f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}/{c.DS_TRANSFORMS}")
    transforms.insert(0, copy.deepcopy(transforms[0]))
    return root


def no_transforms(root: Tree) -> Tree:
    reference = signature_of(assertion_of(root)).find(f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}")
    reference.remove(reference.find(c.DS_TRANSFORMS))
    return root


def signed_info_hidden_in_key_value(root: Tree) -> Tree:
    """A second SignedInfo where a searching verifier may find it first (xml-crypto CVE-2025-29774)."""
    signature = signature_of(assertion_of(root))
    key_value = etree.SubElement(signature.find(c.DS_KEY_INFO), c.qname(c.NS_DSIG, "KeyValue"))
    key_value.append(copy.deepcopy(signature.find(c.DS_SIGNED_INFO)))
    return root


def two_references(root: Tree) -> Tree:
    reference = signature_of(assertion_of(root)).find(f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}")
    reference.addnext(copy.deepcopy(reference))
    return root


def reference_uri(uri: str) -> Callable[[Tree], Tree]:
    def mutate(root: Tree) -> Tree:
        signature_of(assertion_of(root)).find(f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}").set("URI", uri)
        return root

    return mutate


def duplicate_id(attribute: str) -> Callable[[Tree], Tree]:
    def mutate(root: Tree) -> Tree:
        etree.SubElement(root.find(c.STATUS), "{urn:example:evil}Detail", {attribute: assertion_of(root).get("ID")})
        return root

    return mutate


def dsig_element(local: str) -> Callable[[Tree], Tree]:
    def mutate(root: Tree) -> Tree:
        key_info = signature_of(assertion_of(root)).find(c.DS_KEY_INFO)
        etree.SubElement(key_info, c.qname(c.NS_DSIG, local), URI="file:///etc/passwd")
        return root

    return mutate


# --- response-level swaps ----------------------------------------------------------------------------


def strip_signature(root: Tree) -> Tree:
    assertion = assertion_of(root)
    assertion.remove(signature_of(assertion))
    name_id_of(assertion).text = EVIL_NAME
    return root


def unsigned_beside_signed(root: Tree) -> Tree:
    root.append(unsigned_copy(assertion_of(root), new_id="_evil", name=EVIL_NAME))
    return root


def unsigned_inside_advice(root: Tree) -> Tree:
    original = assertion_of(root)
    advice = etree.Element(c.qname(c.NS_ASSERTION, "Advice"))
    original.find(c.CONDITIONS).addnext(advice)
    advice.append(unsigned_copy(original, new_id="_evil", name=EVIL_NAME))
    return root


def swap_assertion_under_response_signature(root: Tree) -> Tree:
    original = assertion_of(root)
    original.addprevious(unsigned_copy(original, name=EVIL_NAME))
    root.remove(original)
    return root


def move_assertion_signature_to_subject(root: Tree) -> Tree:
    assertion = assertion_of(root)
    assertion.find(c.SUBJECT).append(signature_of(assertion))
    return root


# --- parser and input attacks (raw bytes) -----------------------------------------------------------

def xml_with_prefix(prefix: bytes) -> Callable[[bytes], bytes]:
    def mutate(xml: bytes) -> bytes:
        return prefix + xml.split(b"?>", 1)[1]

    return mutate


XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
LAUGHS = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]>'


def deflate(xml: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(xml) + compressor.flush()


def utf16(xml: bytes) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-16"?>' + xml.split(b"?>", 1)[1].decode()).encode("utf-16")


def utf16_declared_after_utf8_bom(xml: bytes) -> bytes:
    """UTF-8 bytes under a UTF-8 byte order mark whose declaration names UTF-16: libxml2 reads them as UTF-8."""
    return b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-16"?>' + xml.split(b"?>", 1)[1]


def oversized(xml: bytes) -> bytes:
    return xml.replace(b"</samlp:Response>", b"<!--" + b"x" * 80_000 + b"--></samlp:Response>")


def processing_instruction(xml: bytes) -> bytes:
    return xml.replace(b"<saml:Issuer>", b"<?evil data?><saml:Issuer>", 1)


@dataclass(frozen=True)
class Attack:
    name: str
    check_id: str
    """The check that must reject it; 'accept' for the controls."""
    sign: str = "assertion"
    tree: Callable[[Tree], Tree | None] | None = None
    """Runs on the signed tree (returning a new root, or None to keep it)."""
    before_sign: Callable[[Tree], None] | None = None
    raw: Callable[[bytes], bytes] | None = None
    spec: dict = field(default_factory=dict)
    policy: ProviderPolicy = ProviderPolicy()
    now_offset: timedelta = timedelta(0)
    requested: RolePair | None = None


RESPONSE_ONLY = ProviderPolicy(allow_response_only_signature=True)

ATTACKS = [
    Attack("control: genuine", "accept"),
    Attack("control: decoy certificate in KeyInfo", "accept", tree=decoy_certificate_in_key_info),
    Attack("XSW1", "shape.assertion", sign="response", tree=xsw1, policy=RESPONSE_ONLY),
    Attack("XSW2", "shape.assertion", sign="response", tree=xsw2, policy=RESPONSE_ONLY),
    Attack("XSW3", "shape.assertion", tree=xsw3),
    Attack("XSW4", "shape.assertion", tree=xsw4),
    Attack("XSW5", "shape.assertion", tree=xsw5),
    Attack("XSW6", "shape.assertion", tree=xsw6),
    Attack("XSW7", "shape.assertion", tree=xsw7),
    Attack("XSW8", "shape.assertion", tree=xsw8),
    Attack("signature moved to the Response, one assertion", "signature.binding", tree=moved_signature_single_assertion),
    Attack("forged assertion takes the ID, original in StatusDetail", "shape.assertion", tree=evil_takes_the_id_original_in_status_detail),
    Attack("signature moved inside Subject", "shape.signatures", tree=move_assertion_signature_to_subject),
    Attack("comment truncation in NameID", "shape.text", before_sign=comment_in_name_id),
    Attack("comment truncation in Role", "shape.text", before_sign=comment_in_role),
    Attack("comment truncation in RoleSessionName", "shape.text", before_sign=comment_in_session_name),
    Attack("signature stripped", "signature.required", tree=strip_signature),
    Attack("unsigned assertion beside the signed one", "shape.assertion", tree=unsigned_beside_signed),
    Attack("unsigned assertion inside Advice", "shape.assertion", tree=unsigned_inside_advice),
    Attack("forged assertion under a Response signature", "signature.verify", sign="response", tree=swap_assertion_under_response_signature, policy=RESPONSE_ONLY),
    Attack("signed Response around an unsigned assertion", "signature.required", sign="response"),
    Attack("re-signed by attacker, cert in KeyInfo", "signature.verify", tree=resign_with_attacker_key),
    Attack("re-signed by attacker, RSAKeyValue in KeyInfo", "signature.verify", tree=keyvalue_of_attacker),
    Attack("HMAC keyed with the public certificate", "signature.algorithms", tree=hmac_with_public_certificate),
    Attack("SHA-1 digest without opt-in", "signature.algorithms", tree=set_algorithm(f"{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}/{c.DS_DIGEST_METHOD}", c.ALG_SHA1)),
    Attack("RSA-SHA1 without opt-in", "signature.algorithms", tree=set_algorithm(f"{SIGNED_INFO}/{c.DS_SIGNATURE_METHOD}", c.ALG_RSA_SHA1)),
    Attack("DSA signature method", "signature.algorithms", tree=set_algorithm(f"{SIGNED_INFO}/{c.DS_SIGNATURE_METHOD}", "http://www.w3.org/2000/09/xmldsig#dsa-sha1")),
    Attack("#WithComments canonicalization", "signature.algorithms", tree=set_algorithm(f"{SIGNED_INFO}/{c.DS_C14N_METHOD}", c.ALG_C14N_EXCLUSIVE_COMMENTS)),
    Attack("#WithComments transform", "signature.algorithms", tree=set_algorithm(SECOND_TRANSFORM, c.ALG_C14N_EXCLUSIVE_COMMENTS)),
    Attack("inclusive c14n without opt-in", "signature.algorithms", tree=set_algorithm(SECOND_TRANSFORM, c.ALG_C14N_INCLUSIVE)),
    Attack("XSLT transform", "signature.algorithms", tree=set_algorithm(SECOND_TRANSFORM, "http://www.w3.org/TR/1999/REC-xslt-19991116", '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/>')),
    Attack("XPath transform", "signature.algorithms", tree=set_algorithm(SECOND_TRANSFORM, "http://www.w3.org/TR/1999/REC-xpath-19991116", '<ds:XPath xmlns:ds="http://www.w3.org/2000/09/xmldsig#">not(ancestor-or-self::ds:Signature)</ds:XPath>')),
    Attack("three transforms", "signature.algorithms", tree=three_transforms),
    Attack("no transforms", "signature.binding", tree=no_transforms),
    Attack("two References", "signature.binding", tree=two_references),
    Attack("second SignedInfo hidden in KeyInfo", "signature.binding", tree=signed_info_hidden_in_key_value),
    Attack("Reference URI empty", "signature.binding", tree=reference_uri("")),
    Attack("Reference URI external", "signature.binding", tree=reference_uri("http://evil.example/assertion.xml")),
    Attack("Reference URI xpointer", "signature.binding", tree=reference_uri("#xpointer(/)")),
    Attack("duplicate ID as Id", "signature.binding", tree=duplicate_id("Id")),
    Attack("duplicate ID as xml:id", "signature.binding", tree=duplicate_id(f"{{{c.NS_XML}}}id")),
    Attack("duplicate ID as ID", "signature.binding", tree=duplicate_id("ID")),
    Attack("duplicate ID as a namespaced ID", "signature.binding", tree=duplicate_id("{urn:example:evil}ID")),
    Attack("RetrievalMethod", "shape.signatures", tree=dsig_element("RetrievalMethod")),
    Attack("Manifest", "shape.signatures", tree=dsig_element("Manifest")),
    Attack("ds:Object", "shape.signatures", tree=dsig_element("Object")),
    Attack("DOCTYPE with external entity (XXE)", "xml.parse", raw=xml_with_prefix(XXE)),
    Attack("billion laughs", "xml.parse", raw=xml_with_prefix(LAUGHS)),
    Attack("oversized input", "input.size", raw=oversized),
    Attack("raw-deflated input", "xml.parse", raw=deflate),
    Attack("UTF-16 document", "xml.parse", raw=utf16),
    Attack("UTF-16 declared after a UTF-8 byte order mark", "xml.parse", raw=utf16_declared_after_utf8_bom),
    Attack("processing instruction", "xml.parse", raw=processing_instruction),
    Attack("wrong Destination", "destination", spec={"destination": "https://sp.evil.example/saml"}),
    Attack("Recipient with the AWS URL as prefix", "subject_confirmation", spec={"recipient": "https://signin.aws.amazon.com/saml.evil.example", "destination": None}),
    Attack("Recipient containing the AWS URL", "subject_confirmation", spec={"recipient": "https://evil.example/?https://signin.aws.amazon.com/saml", "destination": None}),
    Attack("Recipient in another case", "subject_confirmation", spec={"recipient": "https://SIGNIN.aws.amazon.com/saml", "destination": None}),
    Attack("wrong Audience", "audience", spec={"audience": "https://sp.evil.example/"}),
    Attack("Audience with the AWS URN as prefix", "audience", spec={"audience": "urn:amazon:webservices:evil"}),
    Attack("Issuer of another IdP", "issuer", spec={"issuer": "https://idp.evil.example/"}),
    Attack("Issuer with a trailing slash", "issuer", spec={"issuer": "https://idp.example.test/saml/"}),
    Attack("Issuer with whitespace", "issuer", spec={"issuer": " https://idp.example.test/saml"}),
    Attack("expired", "conditions.not_on_or_after", now_offset=timedelta(minutes=11)),
    Attack("not yet valid", "conditions.not_before", now_offset=timedelta(minutes=-11)),
    Attack("IssueInstant too old", "issue_instant", spec={"issue_instant": NOW - timedelta(minutes=20), "lifetime": timedelta(hours=1)}),
    Attack("IssueInstant in the future", "issue_instant", spec={"issue_instant": NOW + timedelta(minutes=20)}, before_sign=lambda r: assertion_of(r).find(c.CONDITIONS).set("NotBefore", "2026-11-24T11:59:00Z")),
    Attack("status Responder", "status", spec={"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"}),
    Attack("SubjectConfirmationData without NotOnOrAfter", "subject_confirmation", before_sign=lambda r: r.find(f".//{c.SUBJECT_CONFIRMATION_DATA}").attrib.pop("NotOnOrAfter")),
    Attack("two bearer SubjectConfirmations", "subject_confirmation", before_sign=lambda r: r.find(f".//{c.SUBJECT_CONFIRMATION}").addnext(copy.deepcopy(r.find(f".//{c.SUBJECT_CONFIRMATION}")))),
    Attack("role not in the assertion", "aws.role", requested=RolePair(DEV_ROLE.replace("Developer", "Admin"), PROVIDER_ARN)),
    Attack("role pair split across two values", "aws.role", spec={"roles": [DEV_ROLE, PROVIDER_ARN]}),
    Attack("role of one pair with the provider of another", "aws.role", spec={"roles": [f"{DEV_ROLE},arn:aws:iam::111111111111:saml-provider/Other", f"{OPS_ROLE},{PROVIDER_ARN}"]}, requested=RolePair(DEV_ROLE, PROVIDER_ARN)),
]

ALLOWED_CODES = {"InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim", "AccessDenied", "ValidationError"}
"""ValidationError: an oversized input, which STS refuses as a parameter too long before validating anything."""
CATALOGUE_MESSAGES = {check.aws.message for check in CHECKS.values()} | {
    "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
    "Response is not yet valid",
    "encrypted assertions are not enabled for this provider",
    NO_CONFIRMATION_DATA.message,
}


def build(attack: Attack) -> bytes:
    root = response_tree("none" if attack.sign == "none" else attack.sign, before_sign=attack.before_sign, **attack.spec)  # type: ignore[arg-type]
    if attack.tree is not None:
        replaced = attack.tree(root)
        root = root if replaced is None else replaced
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return attack.raw(xml) if attack.raw else xml


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_rejected_by_the_expected_check(attack: Attack) -> None:
    b64 = base64.b64encode(build(attack)).decode()
    run = lambda: validate(b64, trust(policy=attack.policy), now=NOW + attack.now_offset, requested_role=attack.requested)  # noqa: E731
    if attack.check_id == "accept":
        assert run().response.name_id == "alice@example.com"
        return
    with pytest.raises(SamlValidationError) as info:
        run()
    error = info.value
    assert error.check_id == attack.check_id, error.message
    assert not error.unexpected, error.message  # refused on purpose, not by a check that broke on the input
    assert error.aws.code in ALLOWED_CODES
    assert error.aws.message in CATALOGUE_MESSAGES  # the public error never echoes the document
    assert EVIL_NAME not in error.aws.message


def test_every_bar_attack_class_is_represented() -> None:
    names = " ".join(a.name for a in ATTACKS)
    for required in ["XSW1", "XSW8", "comment truncation", "stripped", "KeyInfo", "HMAC", "SHA-1", "WithComments", "XSLT", "XPath", "duplicate ID", "two References", "XXE", "billion laughs", "oversized", "Destination", "Recipient", "Audience", "Issuer", "expired", "not yet valid", "IssueInstant", "status"]:
        assert required in names, required
