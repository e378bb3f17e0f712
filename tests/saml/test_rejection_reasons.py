"""Every reason a check gives for a rejection, each with a response that provokes it.

test_checks.py has one failing case per check and the attack suite one case per attack. A check often has several
reasons to refuse, and a later check often refuses the same response again (defence in depth), so a reason could
stop working unnoticed. Here each reason must be the one that rejects: the expected check, the expected words, and
no fault inside the check. A mutation run over the validator (every `raise` removed, every comparison turned
around) found these reasons untested.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import pytest
from lxml import etree
from saml_factory import DEV_ROLE, NOW, PROVIDER_ARN, encode, response_b64, response_tree, signer, trust

from samlfed.saml import ProviderPolicy, RolePair, SamlValidationError, validate
from samlfed.saml import constants as c
from samlfed.saml.signing import IdpSigner

Tree = etree._Element

SIGNATURE = f"{c.ASSERTION}/{c.DS_SIGNATURE}"
SIGNED_INFO = f"{SIGNATURE}/{c.DS_SIGNED_INFO}"
REFERENCE = f"{SIGNED_INFO}/{c.DS_REFERENCE}"
TRANSFORMS = f"{REFERENCE}/{c.DS_TRANSFORMS}"
KEY_INFO = f"{SIGNATURE}/{c.DS_KEY_INFO}"
CONFIRMATION_DATA = f"{c.ASSERTION}/{c.SUBJECT}/{c.SUBJECT_CONFIRMATION}/{c.SUBJECT_CONFIRMATION_DATA}"
LEGACY = ProviderPolicy(allow_legacy_algorithms=True)
BOUNDS_REQUIRED = ProviderPolicy(require_condition_bounds=True)
OTHER_PROVIDER = "arn:aws:iam::111111111111:saml-provider/OtherIdP"


def after_signing(change: Callable[[Tree], None]) -> Callable[[], str]:
    """A response whose Assertion is signed, then changed (by an attacker, or on the way)."""
    return lambda: response_b64(after_sign=change)


def before_signing(change: Callable[[Tree], None]) -> Callable[[], str]:
    """A response changed, then signed: the change is part of what the IdP signed."""
    return lambda: response_b64(before_sign=change)


def at(path: str, change: Callable[[Tree], object]) -> Callable[[Tree], None]:
    def apply(root: Tree) -> None:
        element = root.find(path)
        assert element is not None, path
        change(element)

    return apply


def set_text(text: str) -> Callable[[Tree], None]:
    def apply(element: Tree) -> None:
        element.text = text

    return apply


def add_child(tag: str, **attributes: str) -> Callable[[Tree], None]:
    def apply(element: Tree) -> None:
        etree.SubElement(element, tag, attributes)

    return apply


def drop_attribute(name: str) -> Callable[[Tree], None]:
    def apply(element: Tree) -> None:
        del element.attrib[name]

    return apply


def remove(element: Tree) -> None:
    element.getparent().remove(element)


def duplicate(element: Tree) -> None:
    element.addnext(copy.deepcopy(element))


def swap_transforms(transforms: Tree) -> None:
    first, second = transforms[0], transforms[1]
    first_algorithm = first.get("Algorithm")
    first.set("Algorithm", second.get("Algorithm"))
    second.set("Algorithm", first_algorithm)


def inclusive_with_prefix_list(method: Tree) -> None:
    method.set("Algorithm", c.ALG_C14N_INCLUSIVE)
    etree.SubElement(method, c.EXC_INCLUSIVE_NAMESPACES, PrefixList="xs")


def assertion_as_root() -> str:
    return encode(response_tree().find(c.ASSERTION))


def assertion_inside_extensions(root: Tree) -> None:
    extensions = etree.SubElement(root, f"{{{c.NS_PROTOCOL}}}Extensions")
    extensions.append(root.find(c.ASSERTION))


def assertion_copy_in_extensions(root: Tree) -> None:
    etree.SubElement(root, f"{{{c.NS_PROTOCOL}}}Extensions").append(copy.deepcopy(root.find(c.ASSERTION)))


def assertion_copy_in_advice(root: Tree) -> None:
    assertion = root.find(c.ASSERTION)
    advised = copy.deepcopy(assertion)
    etree.SubElement(assertion, f"{{{c.NS_ASSERTION}}}Advice").append(advised)


def replace_name_id_by_encrypted_id(subject: Tree) -> None:
    name_id = subject.find(c.NAME_ID)
    name_id.addnext(etree.Element(c.ENCRYPTED_ID))
    subject.remove(name_id)


def attribute_named(name: str) -> str:
    return f"{c.ASSERTION}/{c.ATTRIBUTE_STATEMENT}/{c.ATTRIBUTE}[@Name='{name}']"


def markup_instead_of_text(value: Tree) -> None:
    value.text = None
    etree.SubElement(value, "{urn:example}name").text = "alice"


def second_value(attribute: Tree) -> None:
    etree.SubElement(attribute, c.ATTRIBUTE_VALUE).text = "mallory"


def second_statement_without_session_end(statement: Tree) -> None:
    copy_ = copy.deepcopy(statement)
    del copy_.attrib["SessionNotOnOrAfter"]
    statement.addnext(copy_)


def third_transform(transforms: Tree) -> None:
    etree.SubElement(transforms, c.DS_TRANSFORM, Algorithm=c.ALG_C14N_EXCLUSIVE)


def sub_status(code: Tree) -> None:
    code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    etree.SubElement(code, c.STATUS_CODE, Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")


def utf16_with_bom() -> str:
    """A genuine response transcoded: libxml2 reads it by its byte-order mark but reports it as UTF-8."""
    return encode(b"\xff\xfe" + etree.tostring(response_tree()).decode().encode("utf-16-le"))


def relative_namespace_on_the_response() -> str:
    """libxml2 parses xmlns:r="rel" but cannot canonicalize any element in its scope."""
    return encode(etree.tostring(response_tree()).replace(b"<samlp:Response ", b'<samlp:Response xmlns:r="rel" ', 1))


@cache
def small_signer() -> IdpSigner:
    return IdpSigner.generate("1024-bit IdP", key_size=1024, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=1))


def small_key_signed() -> str:
    return response_b64(by=small_signer())


@dataclass(frozen=True)
class Reason:
    name: str
    check_id: str
    words: str
    """Words the message must contain: what tells this reason apart from the check's others."""
    b64: Callable[[], str]
    policy: ProviderPolicy = ProviderPolicy()
    keys: Callable[[], tuple[IdpSigner, ...]] = lambda: (signer(),)
    requested: RolePair | None = None
    hint: str | None = None
    """Words the hint must contain, where the hint is what tells the reasons apart."""


REASONS = [
    # input and parse
    Reason("not base64", "input.base64", "is not strict base64", lambda: "not*base64"),
    Reason("exactly the size limit is not too large", "xml.parse", "XML", lambda: "A" * 100_000),
    Reason("UTF-16 with a byte-order mark and no declaration", "xml.parse", "not UTF-8 XML", utf16_with_bom),
    Reason("DOCTYPE", "xml.parse", "a DOCTYPE or entity declaration is present",
           lambda: encode(b'<?xml version="1.0"?><!DOCTYPE r []>' + etree.tostring(response_tree()))),
    # shape
    Reason("root is an Assertion", "shape.root", "not a SAML 2.0 protocol Response", assertion_as_root),
    Reason("Assertion Version 1.1", "shape.assertion", "Assertion Version is '1.1'", before_signing(at(c.ASSERTION, lambda e: e.set("Version", "1.1")))),
    Reason("Assertion below Extensions", "shape.assertion", "is not a direct child of the Response", after_signing(assertion_inside_extensions)),
    # Where each of several Assertions sits tells an IdP's Advice from a signature-wrapping attack.
    Reason("a second Assertion in Extensions", "shape.assertion", "2 Assertion elements (in Response, in Response/Extensions)",
           after_signing(assertion_copy_in_extensions), hint="signature-wrapping attack"),
    Reason("a second Assertion in Advice", "shape.assertion", "2 Assertion elements (in Response, in Response/Assertion/Advice)",
           before_signing(assertion_copy_in_advice), hint="if the IdP adds Advice, configure its application to send the Assertion without it"),
    # signature binding
    Reason("empty DigestValue", "signature.binding", "DigestValue is empty", after_signing(at(f"{REFERENCE}/{c.DS_DIGEST_VALUE}", set_text("")))),
    Reason("empty SignatureValue", "signature.binding", "SignatureValue is empty", after_signing(at(f"{SIGNATURE}/{c.DS_SIGNATURE_VALUE}", set_text("")))),
    Reason("signed element without ID", "signature.binding", "the signed Assertion has no ID attribute", after_signing(at(c.ASSERTION, drop_attribute("ID")))),
    Reason("empty SignedInfo", "signature.binding", "ds:SignedInfo must contain exactly CanonicalizationMethod, SignatureMethod, Reference; found nothing",
           after_signing(at(SIGNED_INFO, lambda e: e.clear()))),
    Reason("foreign element in Transforms", "signature.binding", "may contain only ds:Transform elements",
           after_signing(at(TRANSFORMS, add_child(f"{{{c.NS_DSIG}}}Other")))),
    Reason("comment in SignedInfo", "signature.binding", "contains a comment or processing instruction",
           after_signing(at(SIGNED_INFO, lambda e: e.insert(0, etree.Comment("note"))))),
    Reason("PGPData in KeyInfo", "signature.binding", "ds:KeyInfo holds something other than",
           after_signing(at(KEY_INFO, lambda e: (e.clear(), etree.SubElement(e, f"{{{c.NS_DSIG}}}PGPData"))))),
    Reason("CRL in X509Data", "signature.binding", "ds:X509Data holds something other than",
           after_signing(at(f"{KEY_INFO}/{c.DS_X509_DATA}", add_child(f"{{{c.NS_DSIG}}}X509CRL")))),
    # signature algorithms
    Reason("HMACOutputLength under an RSA method", "signature.algorithms", "must not have child elements",
           after_signing(at(f"{SIGNED_INFO}/{c.DS_SIGNATURE_METHOD}", add_child(f"{{{c.NS_DSIG}}}HMACOutputLength")))),
    Reason("foreign element in CanonicalizationMethod", "signature.algorithms", "unexpected content inside CanonicalizationMethod",
           after_signing(at(f"{SIGNED_INFO}/{c.DS_C14N_METHOD}", add_child("{urn:example}Other")))),
    Reason("malformed PrefixList", "signature.algorithms", "PrefixList is malformed",
           after_signing(at(f"{SIGNED_INFO}/{c.DS_C14N_METHOD}", add_child(c.EXC_INCLUSIVE_NAMESPACES, PrefixList="1st")))),
    Reason("a third transform after the c14n", "signature.algorithms", "must be exactly enveloped-signature then exclusive c14n",
           after_signing(at(TRANSFORMS, third_transform))),
    Reason("SHA-1 digest under RSA-SHA256", "signature.algorithms", "legacy digest method",
           after_signing(at(f"{REFERENCE}/{c.DS_DIGEST_METHOD}", lambda e: e.set("Algorithm", c.ALG_SHA1)))),
    Reason("inclusive c14n transform without the opt-in", "signature.algorithms", "is not allowed",
           after_signing(at(f"{TRANSFORMS}/{c.DS_TRANSFORM}[2]", lambda e: e.set("Algorithm", c.ALG_C14N_INCLUSIVE))), hint="legacy-algorithms opt-in"),
    Reason("transforms in the wrong order", "signature.algorithms", "must be exactly enveloped-signature then exclusive c14n",
           after_signing(at(TRANSFORMS, swap_transforms))),
    Reason("PrefixList with inclusive c14n of SignedInfo", "signature.algorithms", "only meaningful with exclusive c14n",
           after_signing(at(f"{SIGNED_INFO}/{c.DS_C14N_METHOD}", inclusive_with_prefix_list)), policy=LEGACY),
    Reason("PrefixList with an inclusive c14n transform", "signature.algorithms", "only meaningful with exclusive c14n",
           after_signing(at(f"{TRANSFORMS}/{c.DS_TRANSFORM}[2]", inclusive_with_prefix_list)), policy=LEGACY),
    # signature required and verify
    Reason("only the Response signed", "signature.required", "this provider requires a signed Assertion", lambda: response_b64(sign="response")),
    Reason("every key too small", "signature.verify", "every registered signing key is under 2048 bits", small_key_signed, keys=lambda: (small_signer(),)),
    Reason("relative namespace URI in scope of the signed Assertion", "signature.verify", "cannot be canonicalized", relative_namespace_on_the_response),
    Reason("one key too small, the other not the signer", "signature.verify", "does not verify with any of the 2 registered signing key(s)",
           lambda: response_b64(), keys=lambda: (small_signer(), signer("attacker"))),
    # semantics
    Reason("status with a second-level code", "status", "Responder / urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
           after_signing(at(f"{c.STATUS}/{c.STATUS_CODE}", sub_status))),
    Reason("Assertion Issuer of another IdP", "issuer", "the Assertion Issuer", lambda: response_b64(issuer="https://other.example/")),
    Reason("Response Issuer of another IdP", "issuer", "the Response Issuer", after_signing(at(c.ISSUER, set_text("https://other.example/")))),
    Reason("two Conditions", "conditions.not_before", "has 2 Conditions elements; at most one", before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", duplicate))),
    Reason("NotBefore not a dateTime", "conditions.not_before", "is not a valid xs:dateTime",
           before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", lambda e: e.set("NotBefore", "yesterday")))),
    Reason("no Conditions when bounds are required", "conditions.not_before", "the Assertion has no Conditions",
           before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", remove)), policy=BOUNDS_REQUIRED),
    Reason("no NotBefore when bounds are required", "conditions.not_before", "Conditions has no NotBefore",
           before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", drop_attribute("NotBefore"))), policy=BOUNDS_REQUIRED),
    Reason("no Conditions NotOnOrAfter when bounds are required", "conditions.not_on_or_after", "Conditions has no NotOnOrAfter",
           before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", drop_attribute("NotOnOrAfter"))), policy=BOUNDS_REQUIRED),
    Reason("no Conditions, so no audience", "audience", "has no AudienceRestriction", before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", remove))),
    Reason("no NotOnOrAfter anywhere", "conditions.not_on_or_after", "states no NotOnOrAfter at all",
           before_signing(lambda r: (drop_attribute("NotOnOrAfter")(r.find(f"{c.ASSERTION}/{c.CONDITIONS}")),
                                      drop_attribute("NotOnOrAfter")(r.find(CONFIRMATION_DATA))))),
    # The allowed age is 5 minutes plus the skew: "more than 5 minutes ago" alone left an admin wondering why a response
    # issued 7 minutes ago passed.
    Reason("issued 11 minutes ago", "issue_instant", "now is 2026-11-24T12:00:00Z, 11 min after it, more than 5 min (clock skew allowed: 5 min)",
           lambda: response_b64(issue_instant=NOW - timedelta(minutes=11), lifetime=timedelta(hours=1))),
    Reason("no IssueInstant", "issue_instant", "the Assertion has no IssueInstant", before_signing(at(c.ASSERTION, drop_attribute("IssueInstant")))),
    Reason("no Subject", "subject_confirmation", "Assertion has no Subject", before_signing(at(f"{c.ASSERTION}/{c.SUBJECT}", remove))),
    Reason("bearer confirmation without data", "subject_confirmation", "has no SubjectConfirmationData", before_signing(at(CONFIRMATION_DATA, remove))),
    Reason("two SubjectConfirmationData in the bearer confirmation", "subject_confirmation", "holds 2 SubjectConfirmationData elements",
           before_signing(at(CONFIRMATION_DATA, duplicate))),
    Reason("confirmation data without Recipient", "subject_confirmation", "has no Recipient", before_signing(at(CONFIRMATION_DATA, drop_attribute("Recipient")))),
    Reason("confirmation data valid only later", "subject_confirmation", "SubjectConfirmationData is valid only from",
           before_signing(at(CONFIRMATION_DATA, lambda e: e.set("NotBefore", "2026-11-24T12:20:00Z")))),
    Reason("no NameID", "subject.name_id", "the Subject has no NameID", before_signing(at(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}", remove))),
    Reason("empty NameID", "subject.name_id", "the NameID is empty", lambda: response_b64(name_id=" ")),
    Reason("EncryptedID instead of NameID", "subject.name_id", "the NameID is encrypted", before_signing(at(f"{c.ASSERTION}/{c.SUBJECT}", replace_name_id_by_encrypted_id))),
    Reason("Attribute without Name", "attributes.unique", "an Attribute has no Name",
           before_signing(at(f"{c.ASSERTION}/{c.ATTRIBUTE_STATEMENT}", add_child(c.ATTRIBUTE)))),
    Reason("AWS attribute holding markup", "attributes.unique", "contains XML elements instead of text",
           before_signing(at(f"{attribute_named(c.AWS_ROLE_SESSION_NAME)}/{c.ATTRIBUTE_VALUE}", markup_instead_of_text))),
    Reason("ended IdP session in the first of two AuthnStatements", "session.not_on_or_after", "the IdP session ended",
           lambda: response_b64(session_not_on_or_after=NOW - timedelta(seconds=1),
                                before_sign=at(f"{c.ASSERTION}/{c.AUTHN_STATEMENT}", second_statement_without_session_end))),
    # AWS attributes
    Reason("two RoleSessionName values", "aws.role_session_name", "RoleSessionName must have exactly one value; it has 2",
           before_signing(at(attribute_named(c.AWS_ROLE_SESSION_NAME), second_value))),
    Reason("SessionDuration of 5,000 digits", "aws.session_duration", "is not an integer from 900 to 43200", lambda: response_b64(session_duration="9" * 5000)),
    Reason("SourceIdentity with a space", "aws.source_identity", "does not match", lambda: response_b64(source_identity="alice smith")),
    Reason("tag key with a forbidden character", "aws.session_tags", "session tag key 'cost!' is not 1-128 allowed characters",
           lambda: response_b64(principal_tags={"cost!": "1"})),
    Reason("51 session tags", "aws.session_tags", "51 session tags; at most 50",
           lambda: response_b64(principal_tags={f"key{i}": "v" for i in range(51)})),
    Reason("requested pair names another provider", "aws.role", f"the requested provider {OTHER_PROVIDER} is not the provider that verified",
           lambda: response_b64(roles=[f"{DEV_ROLE},{OTHER_PROVIDER}"]), requested=RolePair(DEV_ROLE, OTHER_PROVIDER)),
]


@pytest.mark.parametrize("reason", REASONS, ids=[r.name for r in REASONS])
def test_reason_rejects(reason: Reason) -> None:
    with pytest.raises(SamlValidationError) as info:
        validate(reason.b64(), trust(*reason.keys(), policy=reason.policy), now=NOW, requested_role=reason.requested)
    error = info.value
    assert (error.check_id, error.unexpected) == (reason.check_id, False), error.message
    assert reason.words in error.message
    if reason.hint is not None:
        assert error.hint is not None and reason.hint in error.hint


def test_reasons_are_not_provoked_by_their_own_controls() -> None:
    """The policies and keys above accept a genuine response, so each rejection is the change's doing."""
    for policy in (ProviderPolicy(), LEGACY, BOUNDS_REQUIRED):
        assert validate(response_b64(), trust(policy=policy), now=NOW).response.name_id == "alice@example.com"
    assert validate(small_key_signed(), trust(small_signer(), policy=LEGACY), now=NOW).response.signed == "assertion"
    requested = RolePair(DEV_ROLE, PROVIDER_ARN)
    assert validate(response_b64(roles=[f"{DEV_ROLE},{PROVIDER_ARN}"]), trust(), now=NOW, requested_role=requested).grants(*requested)


def test_two_role_session_names_are_answered_as_no_valid_name_not_as_none() -> None:
    """The attribute is there, so AWS's "RoleSessionName is required" would send the IdP admin looking for a
    missing mapping; the client gets "must match" and the hint says what is wrong."""
    with pytest.raises(SamlValidationError) as info:
        validate(before_signing(at(attribute_named(c.AWS_ROLE_SESSION_NAME), second_value))(), trust(), now=NOW)
    assert (info.value.aws.code, info.value.aws.message) == ("InvalidIdentityToken", "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
    assert "exactly one AttributeValue" in info.value.hint


@pytest.mark.parametrize(
    ("check_id", "b64"),
    [
        ("conditions.not_before", before_signing(at(f"{c.ASSERTION}/{c.CONDITIONS}", duplicate))),
        ("status", after_signing(at(c.STATUS, duplicate))),
        ("status", after_signing(at(f"{c.STATUS}/{c.STATUS_CODE}", duplicate))),
        ("issuer", before_signing(at(f"{c.ASSERTION}/{c.ISSUER}", duplicate))),
        ("issuer", after_signing(at(c.ISSUER, duplicate))),
        ("subject_confirmation", before_signing(at(f"{c.ASSERTION}/{c.SUBJECT}", duplicate))),
        ("subject.name_id", before_signing(at(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}", duplicate))),
    ],
    ids=["two Conditions", "two Status", "two StatusCode", "two Assertion Issuers", "two Response Issuers", "two Subjects", "two NameIDs"],
)
def test_a_repeated_singleton_is_answered_as_a_document_error(check_id: str, b64: Callable[[], str]) -> None:
    """Two Conditions (or Status) elements, each in order, are a malformed document (contract §3.4 step 6), not a
    NotBefore in the future ("Response is not yet valid" sends users to their clocks) nor the IdP's refusal
    (IDPRejectedClaim, 403). So are two Issuers ("Issuer not present in specified provider", though the provider's
    was), two Subjects (no "valid SubjectConfirmation" is missing) and two NameIDs (AccessDenied, 403, as if none)."""
    with pytest.raises(SamlValidationError) as info:
        validate(b64(), trust(), now=NOW)
    assert info.value.check_id == check_id and "at most one is allowed" in info.value.message
    assert (info.value.aws.code, info.value.aws.status, info.value.aws.message) == ("InvalidIdentityToken", 400, "Response signature invalid")


def test_no_not_on_or_after_anywhere_is_answered_as_missing_confirmation_data_not_as_expired() -> None:
    """Without the SubjectConfirmationData bound the answer is AWS's "Responses must contain SubjectConfirmatonData
    with a Recipient and NotOnOrAfter", and dropping the Conditions bound as well must not turn it into
    ExpiredTokenException "Response has expired": nothing expired, and clients answer that by signing in again."""
    def without_bounds(root: Tree) -> None:
        drop_attribute("NotOnOrAfter")(root.find(f"{c.ASSERTION}/{c.CONDITIONS}"))
        drop_attribute("NotOnOrAfter")(root.find(CONFIRMATION_DATA))

    answers = []
    for change in (at(CONFIRMATION_DATA, drop_attribute("NotOnOrAfter")), without_bounds):
        with pytest.raises(SamlValidationError) as info:
            validate(before_signing(change)(), trust(), now=NOW)
        answers.append((info.value.aws.code, info.value.aws.status, info.value.aws.message))
    expected = ("InvalidIdentityToken", 400, "Responses must contain SubjectConfirmatonData with a Recipient and NotOnOrAfter")
    assert answers == [expected, expected]


def test_a_missing_issue_instant_is_answered_as_a_document_error_not_as_too_old() -> None:
    """IssueInstant is a required attribute: without it the assertion is malformed, as with an IssueInstant that is
    no xs:dateTime, and not "Token must be redeemed within 5 minutes of issuance" (ExpiredTokenException)."""
    answers = []
    for change in (drop_attribute("IssueInstant"), lambda e: e.set("IssueInstant", "yesterday")):
        with pytest.raises(SamlValidationError) as info:
            validate(before_signing(at(c.ASSERTION, change))(), trust(), now=NOW)
        assert info.value.check_id == "issue_instant"
        answers.append((info.value.aws.code, info.value.aws.status, info.value.aws.message))
    assert answers == [("InvalidIdentityToken", 400, "Response signature invalid")] * 2


XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
SESSION_NAME_VALUE = f"{attribute_named(c.AWS_ROLE_SESSION_NAME)}/{c.ATTRIBUTE_VALUE}"


@pytest.mark.parametrize(
    "change",
    [
        at(f"{c.ASSERTION}/{c.ATTRIBUTE_STATEMENT}", add_child(c.ATTRIBUTE)),
        at(SESSION_NAME_VALUE, markup_instead_of_text),
        at(SESSION_NAME_VALUE, lambda e: e.set(XSI_NIL, "yes")),
        at(SESSION_NAME_VALUE, lambda e: e.set(XSI_NIL, "true")),
    ],
    ids=["Attribute without Name", "markup in an AWS attribute value", "xsi:nil that is no boolean", "xsi:nil with content"],
)
def test_a_malformed_attribute_is_not_answered_as_a_repeated_one(change: Callable[[Tree], None]) -> None:
    """Nothing is repeated in these: they are malformed documents, answered as one (as a comment inside an
    AttributeValue is, by shape.text), not with the attributes.unique check's "Attribute is repeated in AuthnResponse"."""
    with pytest.raises(SamlValidationError) as info:
        validate(before_signing(change)(), trust(), now=NOW)
    assert info.value.check_id == "attributes.unique"
    assert (info.value.aws.code, info.value.aws.status, info.value.aws.message) == ("InvalidIdentityToken", 400, "Response signature invalid")


@pytest.mark.parametrize("path", [f"{c.ASSERTION}/{c.ISSUER}", f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}", f".//{c.AUDIENCE}"], ids=["Issuer", "NameID", "Audience"])
def test_markup_in_a_text_value_gets_one_answer_whether_or_not_the_document_holds_comments(path: str) -> None:
    """shape.text refuses child markup in Issuer, NameID and Audience when the document holds a comment; otherwise the
    check that reads the value refuses it. The client's answer was the reading check's (for NameID, AccessDenied 403),
    so an unrelated comment elsewhere changed it."""
    answers = []
    for comment in (False, True):
        def change(root: Tree, comment: bool = comment) -> None:
            etree.SubElement(root.find(path), "{urn:example}b")
            if comment:
                root.find(c.ISSUER).addprevious(etree.Comment(" elsewhere "))

        with pytest.raises(SamlValidationError) as info:
            validate(before_signing(change)(), trust(), now=NOW)
        answers.append((info.value.aws.code, info.value.aws.status, info.value.aws.message))
    assert answers == [("InvalidIdentityToken", 400, "Response signature invalid")] * 2


@pytest.mark.parametrize(
    "change",
    [
        at(f"{c.ASSERTION}/{c.CONDITIONS}", remove),
        at(f"{c.ASSERTION}/{c.CONDITIONS}", drop_attribute("NotBefore")),
        at(f"{c.ASSERTION}/{c.CONDITIONS}", drop_attribute("NotOnOrAfter")),
    ],
    ids=["no Conditions", "no NotBefore", "no NotOnOrAfter"],
)
def test_a_bound_missing_under_required_bounds_is_neither_not_yet_valid_nor_expired(change: Callable[[Tree], None]) -> None:
    """With require_condition_bounds, an absent bound was answered "Response is not yet valid" or, for NotOnOrAfter,
    ExpiredTokenException "Response has expired": the response lacks what the provider requires, nothing is early or late."""
    with pytest.raises(SamlValidationError) as info:
        validate(before_signing(change)(), trust(policy=BOUNDS_REQUIRED), now=NOW)
    assert info.value.check_id in ("conditions.not_before", "conditions.not_on_or_after")
    assert (info.value.aws.code, info.value.aws.status, info.value.aws.message) == ("InvalidIdentityToken", 400, "Response signature invalid")
