"""One passing and at least one failing case for every named check of the pipeline."""

from __future__ import annotations

import base64
import copy
import importlib
from datetime import timedelta

import pytest
from lxml import etree
from saml_factory import (
    DEV_ROLE,
    NOW,
    OPS_ROLE,
    PROVIDER_ARN,
    SETTINGS,
    encode,
    response_b64,
    response_tree,
    signer,
    spec,
    trust,
)

from samlfed.saml import CHECK_ORDER, ProviderPolicy, RolePair, SamlValidationError, validate
from samlfed.saml import constants as c
from samlfed.saml.signing import IdpSigner, build_response, sign_element


def run(b64: str | bytes, *, now=NOW, policy: ProviderPolicy = ProviderPolicy(), settings=SETTINGS, requested=None, keys=None):
    return validate(b64, trust(*(keys or ()), policy=policy), now=now, settings=settings, requested_role=requested)


def rejected_by(check_id: str, b64: str | bytes, **kwargs) -> SamlValidationError:
    with pytest.raises(SamlValidationError) as info:
        run(b64, **kwargs)
    error = info.value
    assert error.check_id == check_id, f"expected {check_id}, got {error.check_id}: {error.message}"
    assert not error.unexpected, f"{check_id} rejected it only by failing: {error.message}"
    return error


def status_of(result_checks, check_id: str) -> str:
    return next(r.status for r in result_checks if r.id == check_id)


def b64_of(xml: bytes) -> str:
    return base64.b64encode(xml).decode()


def test_valid_response_passes_every_check_in_order() -> None:
    verified = run(response_b64())
    assert [r.id for r in verified.checks] == list(CHECK_ORDER)
    assert {r.status for r in verified.checks} <= {"pass", "skip"}
    assert verified.response.name_id == "alice@example.com"
    assert verified.claims.roles == (RolePair(DEV_ROLE, PROVIDER_ARN), RolePair(OPS_ROLE, PROVIDER_ARN))
    assert verified.claims.principal_tags == {"department": "Engineering", "project": "apollo"}
    assert verified.claims.session_duration == 3600
    assert verified.response.signed == "assertion"


def test_pass_messages_say_what_was_checked() -> None:
    """Some messages are written only when the report is read; they must read the same as written at once."""
    b64 = response_b64()
    messages = {r.id: r.message for r in run(b64).checks}
    assert all(isinstance(m, str) and m for m in messages.values())
    assert messages["input.size"] == f"{len(b64):,} characters"
    assert messages["signature.binding"].startswith("Assertion signature references #")
    assert messages["signature.algorithms"] == "rsa-sha256, sha256"
    assert messages["signature.verify"].startswith("verified with registered key sha256:")
    assert messages["aws.session_tags"] == "department=Engineering, project=apollo"
    assert messages["aws.role"] == f"{DEV_ROLE} via {PROVIDER_ARN}; {OPS_ROLE} via {PROVIDER_ARN}"
    error = rejected_by("aws.role", response_b64(), requested=RolePair(OPS_ROLE + "x", PROVIDER_ARN))
    assert next(r.message for r in error.checks if r.id == "audience") == "urn:amazon:webservices"


def test_failure_lists_every_check_with_later_ones_skipped() -> None:
    error = rejected_by("issuer", response_b64(issuer="https://other.example/"))
    statuses = [(r.id, r.status) for r in error.checks]
    assert [i for i, _ in statuses] == list(CHECK_ORDER)
    index = CHECK_ORDER.index("issuer")
    assert all(s in ("pass", "skip", "warn") for _, s in statuses[:index])
    assert statuses[index][1] == "fail"
    assert all(s == "skip" for _, s in statuses[index + 1:])
    assert error.aws.code == "InvalidIdentityToken"
    assert error.aws.message == "Issuer not present in specified provider"


@pytest.mark.parametrize(
    ("module", "function", "check_id"),
    [("aws_claims", "role_session_name", "aws.role_session_name"), ("dsig", "check_algorithms", "signature.algorithms")],
    ids=["checks-run-as-a-stage", "checks-run-one-by-one"],
)
def test_a_check_that_breaks_still_rejects(monkeypatch: pytest.MonkeyPatch, module: str, function: str, check_id: str) -> None:
    """Fail closed: an exception a check does not raise on purpose rejects under that check, marked as a fault."""

    def broken(*args: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(importlib.import_module(f"samlfed.saml.{module}"), function, broken)
    with pytest.raises(SamlValidationError) as info:
        run(response_b64())
    error = info.value
    assert (error.check_id, error.unexpected) == (check_id, True)
    assert error.message == "could not be checked: RuntimeError: boom"
    assert error.hint is not None and "samlfed fault" in error.hint
    assert error.aws.code == "InvalidIdentityToken"
    assert [(r.id, r.status) for r in error.checks if r.status == "fail"] == [(check_id, "fail")]


# --- input ---------------------------------------------------------------------------------------


def test_input_size() -> None:
    rejected_by("input.size", "A" * 100_001)
    assert status_of(run(response_b64()).checks, "input.size") == "pass"


def test_input_base64_strict() -> None:
    rejected_by("input.base64", "not*base64")
    rejected_by("input.base64", response_b64()[:-2])  # padding removed
    rejected_by("input.base64", "")
    genuine = response_b64()
    wrapped = "\n".join(genuine[i : i + 64] for i in range(0, len(genuine), 64))
    assert run(wrapped).response.name_id == "alice@example.com"  # line-wrapped base64 is common and fine


@pytest.mark.parametrize(
    "xml",
    [
        b"<samlp:Response",
        b'<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>',
        b'<?xml version="1.0"?><?xml-stylesheet href="x"?><r/>',
        b"<r><?pi data?></r>",
        b'<?xml version="1.0" encoding="ISO-8859-1"?><r>\xe9</r>',
        b"<r/><r/>",
        b"\xff\xfe" + "<r><?pi data?></r>".encode("utf-16-le"),
        b"\xfe\xff" + "<r><!--x--></r>".encode("utf-16-be"),
    ],
    ids=["truncated", "doctype", "pi-prolog", "pi-inside", "latin1", "two-roots", "utf16le-bom", "utf16be-bom"],
)
def test_xml_parse_refuses(xml: bytes) -> None:
    rejected_by("xml.parse", b64_of(xml))


def test_shape_root() -> None:
    rejected_by("shape.root", b64_of(b'<r xmlns="urn:x"/>'))
    rejected_by("shape.root", response_b64(before_sign=lambda r: r.set("Version", "1.1")))
    rejected_by("shape.root", response_b64(sign="assertion", before_sign=lambda r: r.attrib.pop("ID")))


def test_shape_assertion_exactly_one() -> None:
    def duplicate(root: etree._Element) -> None:
        root.append(copy.deepcopy(root.find(c.ASSERTION)))

    def remove(root: etree._Element) -> None:
        root.remove(root.find(c.ASSERTION))

    def encrypt(root: etree._Element) -> None:
        root.find(c.ASSERTION).tag = c.ENCRYPTED_ASSERTION

    rejected_by("shape.assertion", response_b64(after_sign=duplicate))
    rejected_by("shape.assertion", response_b64(sign="response", after_sign=remove))
    error = rejected_by("shape.assertion", response_b64(after_sign=encrypt))
    assert "encrypted assertions are not enabled for this provider" in error.message
    assert error.aws.message == "encrypted assertions are not enabled for this provider"


def test_shape_signatures_placement() -> None:
    def nest_signature(root: etree._Element) -> None:
        assertion = root.find(c.ASSERTION)
        signature = assertion.find(c.DS_SIGNATURE)
        assertion.find(c.SUBJECT).append(signature)

    def second_signature(root: etree._Element) -> None:
        assertion = root.find(c.ASSERTION)
        assertion.append(copy.deepcopy(assertion.find(c.DS_SIGNATURE)))

    def add_object(root: etree._Element) -> None:
        signature = root.find(c.ASSERTION).find(c.DS_SIGNATURE)
        etree.SubElement(signature, c.qname(c.NS_DSIG, "Object"))

    rejected_by("shape.signatures", response_b64(after_sign=nest_signature))
    rejected_by("shape.signatures", response_b64(after_sign=second_signature))
    rejected_by("shape.signatures", response_b64(after_sign=add_object))


def test_shape_text_refuses_comments_and_markup() -> None:
    def comment_in_name_id(root: etree._Element) -> None:
        name_id = root.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}")
        name_id.text = "alice@example.com"
        name_id.append(etree.Comment("x"))
        name_id[-1].tail = ".evil.test"

    rejected_by("shape.text", response_b64(after_sign=comment_in_name_id))


@pytest.mark.parametrize(
    ("path", "check_id"),
    [
        (f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}", "subject.name_id"),
        (f"{c.ASSERTION}/{c.ISSUER}", "issuer"),
        (f"{c.ASSERTION}/{c.CONDITIONS}/{c.AUDIENCE_RESTRICTION}/{c.AUDIENCE}", "audience"),
    ],
)
def test_signed_markup_inside_a_text_value_is_refused_where_it_is_read(path: str, check_id: str) -> None:
    """Without comments in the document the shape walk skips text values; the check that reads one refuses markup."""

    def markup(root: etree._Element) -> None:
        element = root.find(path)
        child = etree.SubElement(element, f"{{{c.NS_ASSERTION}}}Extra")
        child.tail = "more"

    error = rejected_by(check_id, response_b64(before_sign=markup))
    assert "contains child markup" in error.message


# --- signature -----------------------------------------------------------------------------------


def test_signature_binding() -> None:
    def retarget(root: etree._Element) -> None:
        reference = root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNED_INFO}/{c.DS_REFERENCE}")
        reference.set("URI", "#" + root.get("ID"))

    def duplicate_id(root: etree._Element) -> None:
        etree.SubElement(root, "{urn:x}Extra", Id=root.find(c.ASSERTION).get("ID"))

    rejected_by("signature.binding", response_b64(after_sign=retarget))
    rejected_by("signature.binding", response_b64(after_sign=duplicate_id))


def _sha1_signed() -> str:
    root = response_tree("none")
    from samlfed.saml.signing import sign_element

    sign_element(root.find(c.ASSERTION), signer(), signature_algorithm=c.ALG_RSA_SHA1, digest_algorithm=c.ALG_SHA1)
    return encode(root)


def test_signature_algorithms_legacy_needs_opt_in() -> None:
    sha1 = _sha1_signed()
    error = rejected_by("signature.algorithms", sha1)
    assert "legacy" in error.message and error.hint
    assert run(sha1, policy=ProviderPolicy(allow_legacy_algorithms=True)).response.signed == "assertion"


def test_signature_required() -> None:
    rejected_by("signature.required", response_b64(sign="none"))
    response_only = response_b64(sign="response")
    rejected_by("signature.required", response_only)
    verified = run(response_only, policy=ProviderPolicy(allow_response_only_signature=True))
    assert verified.response.signed == "response"


def test_signature_both_signed_verifies_both() -> None:
    assert run(response_b64(sign="both")).response.signed == "both"

    def tamper_status_message(root: etree._Element) -> None:
        etree.SubElement(root.find(c.STATUS), c.STATUS_MESSAGE).text = "changed"

    rejected_by("signature.verify", response_b64(sign="both", after_sign=tamper_status_message))


def test_signature_verify_key_and_content() -> None:
    other = signer("attacker")
    rejected_by("signature.verify", response_b64(by=other))

    def tamper(root: etree._Element) -> None:
        root.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.NAME_ID}").text = "admin@example.com"

    error = rejected_by("signature.verify", response_b64(after_sign=tamper))
    assert "digest" in error.message
    # Key rotation: any registered key may have signed.
    assert run(response_b64(by=other), keys=(signer(), other)).response.name_id == "alice@example.com"


def test_signature_verify_a_first_child_signature_with_text_on_both_sides() -> None:
    """The enveloped transform removes only the Signature node: the text before and after it stays, joined."""

    def indent(root: etree._Element) -> None:
        root.find(c.ASSERTION).text = "\n  "

    def signature_first_splitting_the_text(root: etree._Element) -> None:
        assertion = root.find(c.ASSERTION)
        signature = assertion.find(c.DS_SIGNATURE)
        assertion.insert(0, signature)  # lxml moves it with its tail (none here)
        assertion.text, signature.tail = "\n", "  "  # the same text once the Signature is taken out

    b64 = response_b64(before_sign=indent, after_sign=signature_first_splitting_the_text)
    assert run(b64).response.signed == "assertion"


def test_signature_certificate_expired_is_a_warning() -> None:
    old = IdpSigner.generate("expired", not_before=NOW - timedelta(days=800), not_after=NOW - timedelta(days=400))
    verified = run(response_b64(by=old), keys=(old,))
    assert status_of(verified.checks, "signature.certificate") == "warn"
    assert any("expired" in w for w in verified.warnings)


# --- semantics -----------------------------------------------------------------------------------


def test_issuer_exact() -> None:
    rejected_by("issuer", response_b64(issuer="https://idp.example.test/saml/"))


def test_status_success_required() -> None:
    error = rejected_by("status", response_b64(status="urn:oasis:names:tc:SAML:2.0:status:Requester"))
    assert error.aws.code == "IDPRejectedClaim" and error.aws.status == 403


def test_conditions_not_before() -> None:
    rejected_by("conditions.not_before", response_b64(), now=NOW - timedelta(minutes=10))
    assert run(response_b64(), now=NOW - timedelta(seconds=200)).response  # within the 300 s skew


def test_conditions_not_on_or_after() -> None:
    error = rejected_by("conditions.not_on_or_after", response_b64(), now=NOW + timedelta(minutes=11))
    assert (error.aws.code, error.aws.message) == ("ExpiredTokenException", "Response has expired")


def test_issue_instant_five_minute_rule() -> None:
    stale = response_b64(issue_instant=NOW - timedelta(minutes=11), lifetime=timedelta(hours=1))
    error = rejected_by("issue_instant", stale)
    assert error.aws.message == "Token must be redeemed within 5 minutes of issuance"
    future = response_b64(issue_instant=NOW + timedelta(minutes=10))
    rejected_by("conditions.not_before", future)


def test_audience() -> None:
    rejected_by("audience", response_b64(audience="https://evil.example/"))
    error = rejected_by("audience", response_b64(audience=None))
    assert error.aws.message == "Response does not contain the required audience."
    assert run(response_b64(audience="https://signin.aws.amazon.com/saml")).response
    mine = SETTINGS.accepting(audiences=["https://samlfed.example/"])
    assert run(response_b64(audience="https://samlfed.example/"), settings=mine).response


def test_destination() -> None:
    rejected_by("destination", response_b64(destination="https://evil.example/saml"))
    verified = run(response_b64(destination=None))
    assert status_of(verified.checks, "destination") == "skip"


def test_subject_confirmation_recipient() -> None:
    rejected_by("subject_confirmation", response_b64(recipient="https://signin.aws.amazon.com/saml/extra", destination=None))
    regional = "https://eu-west-1.signin.aws.amazon.com/saml"
    assert run(response_b64(recipient=regional, destination=regional)).response.recipient == regional


def test_subject_name_id_required() -> None:
    error = rejected_by("subject.name_id", response_b64(name_id=""))
    assert error.aws.code == "AccessDenied"


@pytest.mark.parametrize(("written", "read"), [(" alice\n\t", "alice"), ("\u00a0admin", "\u00a0admin"), ("admin\u3000", "admin\u3000"), ("\u2028admin\u0085", "\u2028admin\u0085")])
def test_name_id_loses_only_surrounding_ascii_whitespace(written: str, read: str) -> None:
    """Unicode spaces are part of the signed subject: trimming them would turn "\u00a0admin" into "admin"."""
    assert run(response_b64(name_id=written)).response.name_id == read


def test_attributes_unique() -> None:
    def duplicate_session_name(root: etree._Element) -> None:
        for attribute in root.iter(c.ATTRIBUTE):
            if attribute.get("Name") == c.AWS_ROLE_SESSION_NAME:
                attribute.addnext(copy.deepcopy(attribute))
                return

    rejected_by("attributes.unique", response_b64(before_sign=duplicate_session_name))


def test_session_not_on_or_after() -> None:
    rejected_by("session.not_on_or_after", response_b64(session_not_on_or_after=NOW - timedelta(seconds=1)))


# --- AWS attributes ------------------------------------------------------------------------------


def test_role_session_name() -> None:
    error = rejected_by("aws.role_session_name", response_b64(role_session_name=None))
    assert error.aws.message == "RoleSessionName is required in AuthnResponse"
    error = rejected_by("aws.role_session_name", response_b64(role_session_name="alice smith"))
    assert error.aws.message == "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
    rejected_by("aws.role_session_name", response_b64(role_session_name="a" * 65))


def test_source_identity() -> None:
    assert run(response_b64(source_identity="alice")).claims.source_identity == "alice"
    error = rejected_by("aws.source_identity", response_b64(source_identity="aws:alice"))
    assert error.aws.message == 'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"'


@pytest.mark.parametrize("value", ["899", "43201", "1h", "-900", "９００"])
def test_session_duration_range(value: str) -> None:
    rejected_by("aws.session_duration", response_b64(session_duration=value))


def test_session_tags() -> None:
    rejected_by("aws.session_tags", response_b64(principal_tags={"aws:team": "x"}))
    rejected_by("aws.session_tags", response_b64(principal_tags={"Team": "a", "team": "b"}))
    rejected_by("aws.session_tags", response_b64(principal_tags={"k": "v" * 257}))
    for malformed in ("aws:team", "", "k" * 129, "a!"):
        rejected_by("aws.session_tags", response_b64(transitive_tag_keys=[malformed]))
    verified = run(response_b64(transitive_tag_keys=["department"]))
    assert verified.claims.transitive_tag_keys == ("department",) and status_of(verified.checks, "aws.session_tags") == "pass"


def test_a_transitive_key_naming_no_principal_tag_is_a_warning_for_the_mapping_to_settle() -> None:
    """The provider's attribute mapping may add that tag (sts.trust_context.requested_tags refuses it otherwise)."""
    verified = run(response_b64(transitive_tag_keys=["dept"]))
    assert verified.claims.transitive_tag_keys == ("dept",) and status_of(verified.checks, "aws.session_tags") == "warn"
    assert any("TransitiveTagKeys names 'dept', which no PrincipalTag attribute sets" in w for w in verified.warnings)


def test_role_pairs_and_requested_role() -> None:
    rejected_by("aws.role", response_b64(roles=["arn:aws:iam::111111111111:role/Dev"]))  # missing provider
    rejected_by("aws.role", response_b64(roles=[]))
    requested = RolePair(OPS_ROLE, PROVIDER_ARN)
    assert run(response_b64(), requested=requested).grants(OPS_ROLE, PROVIDER_ARN)
    error = rejected_by("aws.role", response_b64(), requested=RolePair(OPS_ROLE.replace("Operator", "operator"), PROVIDER_ARN))
    assert error.aws.message == "Not authorized to perform sts:AssumeRoleWithSAML"


def test_role_semicolon_separated_is_accepted_with_warning() -> None:
    joined = f"{DEV_ROLE},{PROVIDER_ARN};{OPS_ROLE},{PROVIDER_ARN}"
    verified = run(response_b64(roles=[joined]))
    assert len(verified.claims.roles) == 2
    assert status_of(verified.checks, "aws.role") == "warn"
    assert any("semicolon" in w for w in verified.warnings)


def test_a_role_path_holding_a_semicolon_is_read_as_aws_reads_it() -> None:
    # IAM paths may hold ";": AWS reads each value as one pair, and so does samlfed before trying semicolons
    in_path = "arn:aws:iam::111111111111:role/ops;eu/Deployer"
    verified = run(response_b64(roles=[f"{in_path},{PROVIDER_ARN}"]))
    assert verified.claims.roles == (RolePair(in_path, PROVIDER_ARN),) and not verified.warnings
    # one pair to AWS (the path is "/x;arn:aws:iam::111111111111:role/"), never a grant of role/Admin
    admin = "arn:aws:iam::111111111111:role/Admin"
    odd = f"arn:aws:iam::111111111111:role/x;{admin},{PROVIDER_ARN}"
    verified = run(response_b64(roles=[odd, f"{DEV_ROLE},{PROVIDER_ARN}"]))
    assert verified.claims.roles == (RolePair(odd.split(",")[0], PROVIDER_ARN), RolePair(DEV_ROLE, PROVIDER_ARN))
    assert not verified.grants(admin, PROVIDER_ARN)


def test_semicolon_pairs_are_read_whole_or_not_at_all() -> None:
    # a piece that is no pair voids the value, rather than the other pieces granting roles
    verified = run(response_b64(roles=[f"{OPS_ROLE},{PROVIDER_ARN};garbage", f"{DEV_ROLE},{PROVIDER_ARN}"]))
    assert verified.claims.roles == (RolePair(DEV_ROLE, PROVIDER_ARN),)
    assert "nor pairs separated by semicolons" in verified.claims.role_problems[0] and "'garbage'" in verified.claims.role_problems[0]


def test_a_long_role_attribute_is_listed_in_part() -> None:
    # each refusal's message is a log line too: a trusted IdP listing hundreds of roles must not make it 60 KB
    many = [f"arn:aws:iam::111111111111:role/Team{i},{PROVIDER_ARN}" for i in range(300)]
    error = rejected_by("aws.role", response_b64(roles=many), requested=RolePair(DEV_ROLE, PROVIDER_ARN))
    assert "role/Team19 via" in error.message and "role/Team20 via" not in error.message and error.message.endswith("; and 280 more")
    verified = run(response_b64(roles=[f"{DEV_ROLE},{PROVIDER_ARN}", *(f"bad{i}" for i in range(50))]))
    warning = {check.id: check.message for check in verified.checks}["aws.role"]
    assert "'bad19'" in warning and "'bad20'" not in warning and warning.endswith("And 30 more like these.")


@pytest.mark.parametrize(("element", "attribute", "value", "check_id"), [
    (c.AUTHN_STATEMENT, "AuthnInstant", "2026-12-06T03:00:00", "session.not_on_or_after"),
    (c.CONDITIONS, "NotOnOrAfter", "9999-12-31T23:59:59-14:00", "conditions.not_on_or_after"),
    (c.CONDITIONS, "NotBefore", "yesterday", "conditions.not_before"),
], ids=["AuthnInstant without a zone", "NotOnOrAfter past year 9999 in UTC", "NotBefore not a date"])
def test_an_instant_that_does_not_parse_is_a_document_error_not_an_expiry(element: str, attribute: str, value: str, check_id: str) -> None:
    """Found by probing: a malformed AuthnInstant got ExpiredTokenException 'Response has expired', which clients
    (okta-awscli matches ExpiredToken) read as "sign in again"; it is a document error (contract step 6)."""
    error = rejected_by(check_id, response_b64(before_sign=lambda root: root.find(f"{c.ASSERTION}/{element}").set(attribute, value)))
    assert (error.aws.code, error.aws.status, error.aws.message) == ("InvalidIdentityToken", 400, "Response signature invalid")
    assert "is not a valid xs:dateTime" in error.message


def test_role_values_are_trimmed_and_bad_ones_reported() -> None:
    verified = run(response_b64(roles=[f"\n   {DEV_ROLE} , {PROVIDER_ARN}\n", "garbage"]))
    assert verified.claims.roles == (RolePair(DEV_ROLE, PROVIDER_ARN),)
    assert verified.claims.role_problems and "garbage" in verified.claims.role_problems[0]


# --- what an accepted response yields, where a check could refuse too much or read the wrong value --------------


def test_comments_outside_text_values_are_accepted() -> None:
    """Exclusive c14n without comments ignores them, and only comments inside text values are the truncation attack."""

    def comment_between_elements(root: etree._Element) -> None:
        root.find(f"{c.ASSERTION}/{c.SUBJECT}").addprevious(etree.Comment(" subject follows "))

    verified = run(response_b64(before_sign=comment_between_elements))
    assert status_of(verified.checks, "shape.text") == "pass" and verified.response.name_id == "alice@example.com"


def test_signing_certificate_validity_edges() -> None:
    ends_now = IdpSigner.generate("ends now", not_before=NOW - timedelta(days=1), not_after=NOW)
    assert status_of(run(response_b64(by=ends_now), keys=(ends_now,)).checks, "signature.certificate") == "pass"
    starts_now = IdpSigner.generate("starts now", not_before=NOW, not_after=NOW + timedelta(days=30))
    assert status_of(run(response_b64(by=starts_now), keys=(starts_now,)).checks, "signature.certificate") == "pass"
    not_yet = IdpSigner.generate("not yet", not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(days=30))
    verified = run(response_b64(by=not_yet), keys=(not_yet,))
    assert status_of(verified.checks, "signature.certificate") == "warn"
    assert any("is not valid before" in w for w in verified.warnings)


def test_signature_required_says_what_is_signed() -> None:
    messages = {r.id: r.message for r in run(response_b64(sign="both")).checks}
    assert messages["signature.required"] == "the Assertion is signed (and the Response)"


def test_condition_bounds_are_optional_by_default() -> None:
    """AWS requires only the SubjectConfirmationData bound; the stricter rule is the provider's opt-in."""
    for name in ("NotBefore", "NotOnOrAfter"):
        b64 = response_b64(before_sign=lambda root, name=name: root.find(f"{c.ASSERTION}/{c.CONDITIONS}").attrib.pop(name))
        assert run(b64).response.name_id == "alice@example.com", name


def test_the_earliest_not_on_or_after_bounds_the_response() -> None:
    def earlier_confirmation(root: etree._Element) -> None:
        root.find(f".//{c.SUBJECT_CONFIRMATION_DATA}").set("NotOnOrAfter", "2026-11-24T12:02:00Z")

    verified = run(response_b64(issue_instant=NOW, before_sign=earlier_confirmation))
    assert verified.response.not_on_or_after == NOW + timedelta(minutes=2)
    assert run(response_b64(issue_instant=NOW)).response.not_on_or_after == NOW + timedelta(minutes=5)


def test_conditions_understood() -> None:
    def add_condition(tag: str, **attributes: str):
        def change(root: etree._Element) -> None:
            etree.SubElement(root.find(f"{c.ASSERTION}/{c.CONDITIONS}"), tag, attributes)

        return change

    typed = add_condition(f"{{{c.NS_ASSERTION}}}Condition", **{f"{{{c.NS_XSI}}}type": "xs:string"})
    error = rejected_by("conditions.understood", response_b64(before_sign=typed))
    assert "Condition, which samlfed does not understand" in error.message
    rejected_by("conditions.understood", response_b64(before_sign=add_condition("{urn:example:conditions}Geofence")))
    verified = run(response_b64(before_sign=lambda root: (add_condition(c.ONE_TIME_USE)(root), add_condition(c.PROXY_RESTRICTION, Count="0")(root))))
    assert "AudienceRestriction, OneTimeUse, ProxyRestriction" in next(r.message for r in verified.checks if r.id == "conditions.understood")


def test_one_time_use_is_read_from_the_conditions() -> None:
    def one_time_use(root: etree._Element) -> None:
        etree.SubElement(root.find(f"{c.ASSERTION}/{c.CONDITIONS}"), c.ONE_TIME_USE)

    assert run(response_b64(before_sign=one_time_use)).response.one_time_use is True
    assert run(response_b64()).response.one_time_use is False


def test_in_response_to_comes_only_from_signed_bytes() -> None:
    assert run(response_b64(in_response_to="_request1")).response.in_response_to == "_request1"

    def response_level_only(root: etree._Element) -> None:
        root.set("InResponseTo", "_request2")

    # Only the Assertion signed: the Response's attribute is unsigned and ignored.
    assert run(response_b64(after_sign=response_level_only)).response.in_response_to is None
    # Both signed: the signed Response's attribute counts.
    both = response_b64(sign="both", before_sign=response_level_only)
    assert run(both).response.in_response_to == "_request2"


def test_authn_statement_values_are_read() -> None:
    verified = run(response_b64(issue_instant=NOW))
    assert verified.response.authn_instant == NOW
    assert verified.response.session_index and verified.response.session_index.startswith("_")


def test_other_attributes_holding_markup_are_skipped_with_a_warning() -> None:
    def markup_value(root: etree._Element) -> None:
        value = next(a for a in root.iter(c.ATTRIBUTE) if a.get("Name") == "groups")[0]
        value.text = None
        etree.SubElement(value, "{urn:example}group").text = "admins"

    verified = run(response_b64(attributes={"groups": ["x"]}, before_sign=markup_value))
    assert status_of(verified.checks, "attributes.unique") == "warn"
    assert verified.response.attributes["groups"] == ()


@pytest.mark.parametrize("prefix", ["xsi", "i"])
def test_nil_attribute_values_are_no_values(prefix: str) -> None:
    """xsi:nil="true" (or "1") marks an absent value, whatever prefix names the namespace; "false" is a value."""
    xml = etree.tostring(build_response(spec(attributes={"a": ["x"], "b": ["x"], "c": ["x"], "d": ["kept"]}))).decode()
    for name, nil in (("a", "true"), ("b", "1"), ("c", "false")):
        xml = xml.replace(
            f'Name="{name}" NameFormat="{c.ATTRNAME_FORMAT_URI}"><saml:AttributeValue xsi:type="xs:string">x</saml:AttributeValue>',
            f'Name="{name}" NameFormat="{c.ATTRNAME_FORMAT_URI}"><saml:AttributeValue xmlns:{prefix}="{c.NS_XSI}" {prefix}:nil="{nil}"/>',
        )
    root = etree.fromstring(xml.encode())
    sign_element(root.find(c.ASSERTION), signer())
    b64 = encode(root)
    assert base64.b64decode(b64).count(f' {prefix}:nil="'.encode()) == 3
    attributes = run(b64).response.attributes
    assert (attributes["a"], attributes["b"], attributes["c"], attributes["d"]) == ((), (), ("",), ("kept",))


def _with_nil_value(nil: str, text: str) -> str:
    """A signed response whose attribute "a" has one value marked xsi:nil="`nil`" holding `text`."""
    xml = etree.tostring(build_response(spec(attributes={"a": ["x"]}))).decode()
    xml = xml.replace(
        f'Name="a" NameFormat="{c.ATTRNAME_FORMAT_URI}"><saml:AttributeValue xsi:type="xs:string">x</saml:AttributeValue>',
        f'Name="a" NameFormat="{c.ATTRNAME_FORMAT_URI}"><saml:AttributeValue xsi:nil="{nil}">{text}</saml:AttributeValue>',
    )
    root = etree.fromstring(xml.encode())
    sign_element(root.find(c.ASSERTION), signer())
    return encode(root)


@pytest.mark.parametrize(("nil", "read"), [(" true ", ()), ("&#9;true&#10;", ()), (" 1", ()), (" false ", ("",))])
def test_nil_is_an_xs_boolean_whose_whitespace_collapses(nil: str, read: tuple[str, ...]) -> None:
    assert run(_with_nil_value(nil, "")).response.attributes["a"] == read


@pytest.mark.parametrize(("nil", "text", "says"), [
    ("true", "alice", "is marked xsi:nil but has content"),
    (" true ", "alice", "is marked xsi:nil but has content"),
    ("yes", "", "which is no xs:boolean"),
])
def test_a_nil_value_with_content_or_a_nil_that_is_no_boolean_is_refused(nil: str, text: str, says: str) -> None:
    """Such a value was read one way or the other (dropped for "true", kept for " true "): a schema-invalid
    document is refused rather than guessed at."""
    with pytest.raises(SamlValidationError) as refused:
        run(_with_nil_value(nil, text))
    assert refused.value.check_id == "attributes.unique" and says in refused.value.message


def test_absent_session_duration_is_skipped() -> None:
    verified = run(response_b64(session_duration=None))
    assert status_of(verified.checks, "aws.session_duration") == "skip" and verified.claims.session_duration is None


def test_inclusive_namespaces_on_the_signed_info_canonicalization_are_accepted() -> None:
    """Exclusive c14n may name prefixes to keep (PrefixList) for SignedInfo too, not only in the Reference transform."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def prefix_list_then_sign_again(root: etree._Element) -> None:
        signed_info = root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNED_INFO}")
        etree.SubElement(signed_info.find(c.DS_C14N_METHOD), c.EXC_INCLUSIVE_NAMESPACES, PrefixList="xs saml")
        canonical = etree.tostring(signed_info, method="c14n", exclusive=True, inclusive_ns_prefixes=["xs", "saml"])
        raw = signer().private_key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())
        root.find(f"{c.ASSERTION}/{c.DS_SIGNATURE}/{c.DS_SIGNATURE_VALUE}").text = base64.b64encode(raw).decode()

    assert run(response_b64(after_sign=prefix_list_then_sign_again)).response.signed == "assertion"
