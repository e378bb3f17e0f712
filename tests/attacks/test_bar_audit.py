"""Items of the validation bar that test_attacks.py does not build: replay past the reuse window's edge, assertions
nested in Evidence, KeyInfoReference, a digest smuggled into StatusDetail, the Recipient/Audience/Destination forms
of contract §3.9 (regional, China, GovCloud, `/saml/acs/{uuid}`, trailing slashes, ports, case, fragments), and
documents that make canonicalization (which runs before any signature check) cost seconds of CPU."""

from __future__ import annotations

import base64
import copy
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from saml_factory import DEV_ROLE, NOW, PROVIDER_ARN, encode, response_b64, response_tree, signer, trust
from service_world import developer_world

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.saml import ProviderPolicy, SamlValidationError, ValidationSettings, validate
from samlfed.saml import constants as c
from samlfed.saml.signing import sign_element
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

SKEW = ValidationSettings().clock_skew
MAX_AGE = ValidationSettings().max_assertion_age
MS = timedelta(milliseconds=1)
UUID = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"


def verdict(b64: str, *, at: datetime = NOW, provider_uuid: str | None = None, policy: ProviderPolicy = ProviderPolicy()) -> str:
    """'accept', or the id of the check that refused the response."""
    try:
        validate(b64, replace(trust(policy=policy), provider_uuid=provider_uuid), now=at)
    except SamlValidationError as error:
        assert not error.unexpected, error.message
        return error.check_id
    return "accept"


# --- replay: a use is remembered for as long as the validator accepts the assertion ---------------------------


def one_time_use(root: etree._Element) -> None:
    etree.SubElement(root.find(f"{c.ASSERTION}/{c.CONDITIONS}"), c.ONE_TIME_USE)


def assume_at(ctx, b64: str, at: datetime) -> str:
    ctx.clock = lambda: at
    try:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=b64))
    except ServiceError as error:
        return error.message
    return "granted"


@pytest.mark.parametrize("strict_replay", [False, True], ids=["OneTimeUse", "strict replay"])
def test_a_used_assertion_is_refused_for_as_long_as_it_validates(tmp_path: Path, strict_replay: bool) -> None:
    """NotOnOrAfter is NOW + 5 min, and the validator accepts until 5 min + skew: the use must be remembered that long."""
    ctx = developer_world(Settings(data_dir=tmp_path, strict_replay=strict_replay))
    b64 = response_b64(issue_instant=NOW, before_sign=None if strict_replay else one_time_use)
    assert assume_at(ctx, b64, NOW + timedelta(seconds=5)) == "granted"
    late = NOW + timedelta(minutes=5) + SKEW - timedelta(seconds=1)
    assert verdict(b64, at=late) == "accept"  # still valid here, so a replay here must meet the cache
    assert assume_at(ctx, b64, late) == "The SAML assertion has already been used"


@pytest.mark.parametrize(
    ("lifetime", "last_accepted"),
    [(timedelta(minutes=5), NOW + timedelta(minutes=5) + SKEW - MS), (timedelta(hours=1), NOW + MAX_AGE + SKEW)],
    ids=["bounded by NotOnOrAfter", "bounded by the 5-minute rule"],
)
def test_redeem_by_is_never_before_the_last_accepted_moment(lifetime: timedelta, last_accepted: datetime) -> None:
    b64 = response_b64(issue_instant=NOW, lifetime=lifetime)
    assert verdict(b64, at=last_accepted + MS) != "accept"
    assert validate(b64, trust(), now=last_accepted).response.redeem_by >= last_accepted


# --- wrapping and dereferencing shapes not built in test_attacks.py ------------------------------------------


def assertion_in_evidence(root: etree._Element) -> None:
    """An unsigned assertion inside AuthzDecisionStatement/Evidence of the signed one (XSW into Evidence)."""
    assertion = root.find(c.ASSERTION)
    forged = copy.deepcopy(assertion)
    forged.remove(forged.find(c.DS_SIGNATURE))
    forged.set("ID", "_evil")
    statement = etree.SubElement(assertion, c.qname(c.NS_ASSERTION, "AuthzDecisionStatement"), Resource="urn:x", Decision="Permit")
    etree.SubElement(statement, c.qname(c.NS_ASSERTION, "Evidence")).append(forged)


def key_info_reference(root: etree._Element) -> None:
    key_info = root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_KEY_INFO}")
    etree.SubElement(key_info, c.qname(c.NS_DSIG11, "KeyInfoReference"), URI="#key")


def tampered_with_digest_in_status_detail(root: etree._Element) -> None:
    """CVE-2024-45409: a DigestValue of the forged content where a document-wide lookup would find it first."""
    detail = etree.SubElement(root.find(c.STATUS), c.qname(c.NS_PROTOCOL, "StatusDetail"))
    detail.insert(0, copy.deepcopy(root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNED_INFO}")))
    root.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}").text = "admin@example.com"


def encrypted_assertion_beside(root: etree._Element) -> None:
    etree.SubElement(root, c.ENCRYPTED_ASSERTION).append(copy.deepcopy(root.find(c.ASSERTION)))


@pytest.mark.parametrize(
    ("mutate", "check_id"),
    [
        (assertion_in_evidence, "shape.assertion"),
        (key_info_reference, "shape.signatures"),
        (tampered_with_digest_in_status_detail, "signature.verify"),
        (encrypted_assertion_beside, "shape.assertion"),
    ],
    ids=["assertion in Evidence", "KeyInfoReference", "digest in StatusDetail", "EncryptedAssertion beside"],
)
def test_wrapping_shape_is_refused(mutate, check_id: str) -> None:
    assert verdict(encode(response_tree(after_sign=mutate))) == check_id


# --- contract §3.9: accepted endpoint forms, exact strings only ----------------------------------------------

ACCEPTED_ACS = [
    "https://eu-west-1.signin.aws.amazon.com/saml",
    "https://signin.amazonaws.cn/saml",
    "https://cn-north-1.signin.amazonaws.cn/saml",
    "https://signin.amazonaws-us-gov.com/saml",
    "https://us-gov-west-1.signin.amazonaws-us-gov.com/saml",
    f"https://signin.aws.amazon.com/saml/acs/{UUID}",
    f"https://eu-west-1.signin.aws.amazon.com/saml/acs/{UUID}",
]
REFUSED_ACS = [
    "https://signin.aws.amazon.com/saml/",
    "https://signin.aws.amazon.com:443/saml",
    "https://Signin.aws.amazon.com/saml",
    "http://signin.aws.amazon.com/saml",
    "https://signin.aws.amazon.com/saml#1",
    "https://signin.aws.amazon.com/saml?x=1",
    "https://eu-west-1.signin.amazonaws.cn/saml",  # a commercial region in the China partition
    f"https://signin.aws.amazon.com/saml/acs/{UUID}/",
    f"https://signin.aws.amazon.com/saml/acs/{UUID.upper()}",
    "https://signin.aws.amazon.com/saml/acs/0f1e2d3c-aaaa-bbbb-cccc-000000000002",  # another provider's
    f"https://signin.aws.amazon.com/saml/ACS/{UUID}",
    f"https://signin.aws.amazon.com/saml/acs//{UUID}",
]


@pytest.mark.parametrize("url", ACCEPTED_ACS + REFUSED_ACS)
def test_recipient_audience_and_destination_forms(url: str) -> None:
    expected = url in ACCEPTED_ACS
    as_recipient = verdict(response_b64(recipient=url, destination=None), provider_uuid=UUID)
    as_audience = verdict(response_b64(audience=url), provider_uuid=UUID)
    as_destination = verdict(response_b64(destination=url), provider_uuid=UUID)
    assert (as_recipient, as_audience, as_destination) == (
        ("accept", "accept", "accept") if expected else ("subject_confirmation", "audience", "destination")
    )


def test_the_acs_uuid_form_needs_the_provider_uuid() -> None:
    assert verdict(response_b64(recipient=f"https://signin.aws.amazon.com/saml/acs/{UUID}", destination=None)) == "subject_confirmation"


# --- canonicalization cost: libxml2 works quadratically on crowded elements and namespaces ---------------------

SIGNED_XML = etree.tostring(response_tree(), xml_declaration=True, encoding="UTF-8")
EXC_TRANSFORM = b'Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'


def crowded(xml: bytes, *, declarations: int = 0, elements: int = 0, prefixes: int = 0, attributes: int = 0, inclusive: bool = False) -> str:
    """The signed response with namespace declarations on the Response, empty elements and an attribute-laden
    element in the Assertion, and a PrefixList of the declared prefixes (or inclusive c14n) in its transform."""
    declared = b"".join(b' xmlns:p%d="urn:p:%d"' % (i, i) for i in range(declarations))
    xml = xml.replace(b"<samlp:Response", b"<samlp:Response" + declared, 1)
    listed = b" ".join(b"p%d" % i for i in range(prefixes))
    if inclusive:
        xml = xml.replace(EXC_TRANSFORM, b'Algorithm="' + c.ALG_C14N_INCLUSIVE.encode() + b'"/></ds:Transforms>', 1)
    elif prefixes:
        inclusive_namespaces = b'<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="' + listed + b'"/>'
        xml = xml.replace(EXC_TRANSFORM, EXC_TRANSFORM[:-len(b"/></ds:Transforms>")] + b">" + inclusive_namespaces + b"</ds:Transform></ds:Transforms>", 1)
    laden = b"<x" + b"".join(b' a%d=">"' % i for i in range(attributes)) + b"/>"
    xml = xml.replace(b"</saml:Assertion>", laden + b"<b/>" * elements + b"</saml:Assertion>", 1)
    return encode(xml)


@pytest.mark.parametrize(
    ("document", "check_id"),
    [
        # 0.4 s of sorting attributes; '>' inside the values does not hide them from the count
        (crowded(SIGNED_XML, attributes=7000), "xml.parse"),
        (crowded(SIGNED_XML, attributes=500), "signature.verify"),  # the control: tampered, and refused for that
        (crowded(SIGNED_XML, declarations=128, elements=10000, prefixes=10), "signature.algorithms"),  # was 1 s
        (crowded(SIGNED_XML, declarations=11, prefixes=11), "signature.algorithms"),  # a PrefixList no IdP writes
        (crowded(SIGNED_XML, declarations=400, elements=14000), "signature.algorithms"),
        (crowded(SIGNED_XML, declarations=64, elements=15000, inclusive=True), "signature.algorithms"),  # was 0.3 s
        (crowded(SIGNED_XML, declarations=10, elements=10, prefixes=10), "signature.verify"),  # the control
    ],
    ids=["7000 attributes", "500 attributes", "PrefixList over many elements", "11 prefixes", "declarations over many elements",
         "inclusive c14n over many elements", "a few prefixes"],
)
def test_canonicalization_work_is_bounded_before_any_signature_check(document: str, check_id: str) -> None:
    assert len(document) <= 100_000
    assert verdict(document, policy=ProviderPolicy(allow_legacy_algorithms=True)) == check_id


def test_a_large_response_declaring_namespaces_on_every_value_is_accepted() -> None:
    """Okta declares xs and xsi on each AttributeValue and lists xs in a PrefixList: the bounds leave it alone."""

    def many_values(root: etree._Element) -> None:
        groups = etree.SubElement(root.find(f"{c.ASSERTION}/{c.ATTRIBUTE_STATEMENT}"), c.ATTRIBUTE, Name="https://example.com/groups")
        for i in range(290):
            etree.SubElement(groups, c.ATTRIBUTE_VALUE).text = f"arn:aws:iam::111111111111:role/Group{i:04d},arn:aws:iam::111111111111:saml-provider/ExampleIdP"

    declared = f'<saml:AttributeValue xmlns:xs="{c.NS_XS}" xmlns:xsi="{c.NS_XSI}"'.encode()
    root = etree.fromstring(etree.tostring(response_tree("none", before_sign=many_values)).replace(b"<saml:AttributeValue", declared))
    sign_element(root.find(c.ASSERTION), signer())
    signed_info = root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNED_INFO}")
    etree.SubElement(signed_info.find(c.DS_C14N_METHOD), c.EXC_INCLUSIVE_NAMESPACES, PrefixList="xs saml")
    canonical = etree.tostring(signed_info, method="c14n", exclusive=True, inclusive_ns_prefixes=["xs", "saml"])
    raw = signer().private_key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())
    root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNATURE_VALUE}").text = base64.b64encode(raw).decode()
    document = encode(root)
    assert len(document) > 90_000 and len(re.findall(rb"xmlns:xsi?=", base64.b64decode(document))) > 550
    assert verdict(document) == "accept"


def test_equals_signs_in_text_are_not_attributes() -> None:
    """A group list sent as one value (LDAP names: 600 '=') is text, not a crowded element."""

    def groups_in_one_value(root: etree._Element) -> None:
        statement = root.find(f"{c.ASSERTION}/{c.ATTRIBUTE_STATEMENT}")
        groups = etree.SubElement(statement, c.ATTRIBUTE, Name="https://example.com/memberOf")
        etree.SubElement(groups, c.ATTRIBUTE_VALUE).text = ";".join(f"CN=g{i},OU=Groups,DC=corp,DC=example,DC=com" for i in range(120))

    document = encode(response_tree(before_sign=groups_in_one_value))
    assert base64.b64decode(document).count(b"=") > 600
    assert verdict(document) == "accept"
