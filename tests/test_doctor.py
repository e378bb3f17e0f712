"""The doctor's logic and rendering (`samlfed.doctor`), on real signed responses and the real validator."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes
from lxml import etree
from rich.console import Console
from saml_factory import DEV_ROLE, ENTITY_ID, NOW, OPS_ROLE, PROVIDER_ARN, response_b64, signer

from samlfed import doctor, doctor_report
from samlfed.saml import CHECK_ORDER, ProviderPolicy, RolePair, SigningKey, ValidationSettings
from samlfed.saml import constants as c
from samlfed.saml.metadata import IdpMetadata, build_idp_metadata, parse_metadata
from samlfed.saml.signing import IdpSigner

SETTINGS = ValidationSettings()
ASSERTION_KEYS = {
    "issuer", "name_id", "name_id_format", "subject_type", "assertion_id", "issue_instant", "not_on_or_after",
    "redeem_by", "session_not_on_or_after", "recipient", "audiences", "roles", "role_session_name", "session_duration",
    "source_identity", "principal_tags", "transitive_tag_keys", "attributes", "signed", "key_thumbprint", "key_sha1_thumbprint",
    "warnings",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def metadata(entity_id: str = ENTITY_ID, key: str | None = None) -> IdpMetadata:
    # signer() and signer("idp") are distinct cache entries, hence distinct keys: call it as the factory does.
    certificate = (signer(key) if key else signer()).certificate
    return parse_metadata(build_idp_metadata(entity_id, [certificate]), now=NOW)


def run(
    b64: str,
    documents: list[IdpMetadata] | None = None,
    *,
    keys: tuple[SigningKey, ...] = (),
    requested_role: RolePair | None = None,
) -> doctor.Diagnosis:
    choice = doctor.choose_trust(b64, [metadata()] if documents is None else documents, keys, ProviderPolicy())
    return doctor.diagnose(b64, choice, now=NOW, settings=SETTINGS, requested_role=requested_role)


def render(diagnosis: doctor.Diagnosis) -> str:
    buffer = io.StringIO()
    doctor_report.render_text(diagnosis, Console(file=buffer, soft_wrap=True))
    return buffer.getvalue()


def check_lines(output: str) -> list[tuple[str, str]]:
    return re.findall(r"^(PASS|FAIL|WARN|SKIP) (\S+)", output, re.MULTILINE)


def failed(diagnosis: doctor.Diagnosis):
    return [r for r in diagnosis.checks if r.status == "fail"]


# --- input ---------------------------------------------------------------------------------------------

B64 = response_b64()
XML = base64.b64decode(B64)


@pytest.mark.parametrize(
    "data",
    [
        B64.encode(),
        b"\xef\xbb\xbf" + "\r\n".join(B64[i : i + 76] for i in range(0, len(B64), 76)).encode() + b"\r\n",
        b"\xef\xbb\xbf\n  " + XML + b"\n",
        f"RelayState=https%3A%2F%2Fconsole.aws.amazon.com&SAMLResponse={quote(B64, safe='')}&other=1".encode(),
        f"SAMLResponse={B64}&RelayState=x\n".encode(),  # pasted without URL-encoding: '+' must stay '+'
        f"SAMLResponse={quote(XML.decode(), safe='')}".encode(),
    ],
    ids=["base64", "wrapped-base64-with-bom", "raw-xml", "url-encoded-form", "unencoded-form", "xml-in-form"],
)
def test_decode_input_recognises_every_form(data: bytes) -> None:
    assert "+" in B64  # the unencoded-form case needs one
    decoded, notes = doctor.read_input(data)
    assert base64.b64decode("".join(decoded.split())) in (XML, XML.strip())
    assert run(decoded).valid
    # STS takes the base64 decoded: a percent-encoded paste is said to have been decoded (found by probing)
    assert notes == ([doctor.URL_DECODED_NOTE] if b"%" in data else [])


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf \r\n", b"RelayState=x&SAMLResponse=&other=1"], ids=["empty", "bom-only", "empty-field"])
def test_decode_input_refuses_empty_input(data: bytes) -> None:
    with pytest.raises(doctor.DoctorUsageError):
        doctor.decode_input(data)


def test_garbage_is_an_invalid_response_not_a_crash() -> None:
    diagnosis = run(doctor.decode_input(b"this is not a SAML response!"))
    assert not diagnosis.valid and diagnosis.error is not None and diagnosis.error.check_id == "input.base64"
    output = render(diagnosis)
    assert "FAIL input.base64" in output and "Decoded response" not in output


# --- trust ---------------------------------------------------------------------------------------------


def test_provider_is_chosen_by_the_response_issuer() -> None:
    other, ours = metadata("https://other.example/idp", "other"), metadata()
    choice = doctor.choose_trust(B64, [other, ours], [], ProviderPolicy())
    assert choice.trust.entity_id == ENTITY_ID
    assert choice.registered == ("https://other.example/idp", ENTITY_ID)
    assert choice.warnings == ()
    stranger = response_b64(issuer="https://stranger.example/idp")
    assert doctor.choose_trust(stranger, [other, ours], [], ProviderPolicy()).trust.entity_id == "https://other.example/idp"


def test_cert_only_trusts_the_issuer_and_says_so() -> None:
    key = SigningKey.from_certificate(signer().certificate)
    choice = doctor.choose_trust(B64, [], [key], ProviderPolicy(allow_legacy_algorithms=True))
    assert choice.trust.entity_id == ENTITY_ID and choice.trust.signing_keys == (key,)
    assert choice.trust.policy.allow_legacy_algorithms
    assert choice.warnings == (doctor.NO_METADATA_WARNING,)
    assert doctor.NO_METADATA_WARNING.startswith("issuer not checked: no metadata given")


def test_cert_keys_are_added_to_the_chosen_provider_once() -> None:
    same, extra = (SigningKey.from_certificate(s.certificate) for s in (signer(), signer("extra")))
    choice = doctor.choose_trust(B64, [metadata()], [same, extra], ProviderPolicy())
    assert [k.thumbprint for k in choice.trust.signing_keys] == [same.thumbprint, extra.thumbprint]


# --- diagnosis -----------------------------------------------------------------------------------------


def test_valid_response() -> None:
    diagnosis = run(B64)
    assert diagnosis.valid and diagnosis.error is None and diagnosis.notes == []
    assert [r.id for r in diagnosis.checks] == list(CHECK_ORDER)
    assert {r.status for r in diagnosis.checks} <= {"pass", "skip"}
    assert diagnosis.xml == XML


def _set_role(root: etree._Element) -> None:
    root.find(f".//{c.ATTRIBUTE}[@Name='{c.AWS_ROLE}']/{c.ATTRIBUTE_VALUE}").text = f"{DEV_ROLE.replace('Developer', 'Admin')},{PROVIDER_ARN}"


def test_tampered_response_notes_that_keyinfo_is_a_registered_key() -> None:
    diagnosis = run(response_b64(after_sign=_set_role))
    [failure] = failed(diagnosis)
    assert failure.id == "signature.verify" and failure.hint
    assert any("holds a registered key" in note and "changed after it was signed" in note for note in diagnosis.notes)
    assert any(note.startswith("registered signing key sha256:") for note in diagnosis.notes)


def test_certificates_are_also_named_by_the_sha1_thumbprint_idp_consoles_show() -> None:
    """ADFS and Entra ID ("Thumbprint") and Okta ("SHA-1 fingerprint") list a signing certificate by the SHA-1 of its
    DER: 40 uppercase hex digits, no colons. The SHA-256 names stay as they were."""
    thumbprint = signer().certificate.fingerprint(hashes.SHA1()).hex().upper()
    notes = run(response_b64(after_sign=_set_role)).notes
    [registered] = [note for note in notes if note.startswith("registered signing key sha256:")]
    [keyinfo] = [note for note in notes if note.startswith("the response's KeyInfo")]
    assert re.search(rf"sha256:[0-9a-f]{{64}}, SHA-1 thumbprint {thumbprint} \(CN=", registered)
    assert re.search(rf"names certificate sha256:[0-9a-f]{{64}}, SHA-1 thumbprint {thumbprint} \(CN=", keyinfo)
    valid = run(B64)
    facts = json.loads(doctor_report.to_json(valid))["assertion"]
    assert facts["key_sha1_thumbprint"] == thumbprint and re.fullmatch("[0-9a-f]{64}", facts["key_thumbprint"])
    assert re.search(rf"^  key_sha1_thumbprint +{thumbprint}$", render(valid), re.MULTILINE)


def test_response_signed_by_an_unregistered_key_suggests_a_rotation() -> None:
    diagnosis = run(response_b64(by=signer("rotated")))
    assert [r.id for r in failed(diagnosis)] == ["signature.verify"]
    [keyinfo] = [note for note in diagnosis.notes if "KeyInfo" in note]
    assert "NOT registered" in keyinfo and "rotated" in keyinfo and "CN=samlfed test rotated" in keyinfo


def test_rotation_notes_date_each_certificate_and_name_each_once() -> None:
    """After a rotation the old and the new certificate often share their subject, and only a 64-digit SHA-256 told them
    apart, though IdP consoles list signing certificates by their dates; and a certificate that both signatures carry
    was described twice."""
    rotated = IdpSigner.generate("samlfed test rotated", not_before=NOW - timedelta(hours=1), not_after=NOW + timedelta(days=730))
    diagnosis = run(response_b64("both", by=rotated))
    assert [r.id for r in failed(diagnosis)] == ["signature.verify"]
    [registered] = [note for note in diagnosis.notes if note.startswith("registered signing key")]
    [keyinfo] = [note for note in diagnosis.notes if "KeyInfo" in note]
    assert "(CN=samlfed test idp, valid 2026-11-23 to 2027-11-24)" in registered  # saml_factory's signer(): NOW - 1 day to NOW + 365 days
    assert "(CN=samlfed test rotated, valid 2026-11-24 to 2028-11-23), which is NOT registered" in keyinfo


def test_issuer_failure_lists_the_registered_entity_ids() -> None:
    documents = [metadata("https://a.example/idp"), metadata("https://b.example/idp", "other")]
    diagnosis = run(B64, documents)
    assert [r.id for r in failed(diagnosis)] == ["issuer"]
    assert diagnosis.notes == ["registered entityIDs: https://a.example/idp, https://b.example/idp; none is the response's Issuer"]


def _second_assertion_issuer(root: etree._Element) -> None:
    issuer = root.find(f"{c.ASSERTION}/{c.ISSUER}")
    issuer.addnext(etree.fromstring(etree.tostring(issuer)))


def test_two_issuers_are_not_explained_as_a_foreign_issuer() -> None:
    """Two Issuers are a malformed document ('Response signature invalid'), found by the issuer check: the doctor
    noted that none of the registered entityIDs was the response's Issuer, though the first one was."""
    diagnosis = run(response_b64(before_sign=_second_assertion_issuer), [metadata(), metadata("https://b.example/idp", "other")])
    assert [r.id for r in failed(diagnosis)] == ["issuer"] and diagnosis.error is not None
    assert diagnosis.error.aws.message == "Response signature invalid"
    assert diagnosis.notes == []


def _drop_name_id(root: etree._Element) -> None:
    name_id = root.find(f".//{c.NAME_ID}")
    name_id.getparent().remove(name_id)


@pytest.mark.parametrize(
    ("b64", "requested", "check_id", "status", "hint_words"),
    [
        (response_b64(before_sign=_drop_name_id), None, "subject.name_id", "fail", "NameID"),
        (response_b64(audience="https://sp.example/"), None, "audience", "fail", "urn:amazon:webservices"),
        (response_b64(issue_instant=NOW + timedelta(minutes=10)), None, "conditions.not_before", "fail", "NTP"),
        (response_b64(issue_instant=NOW - timedelta(hours=1)), None, "conditions.not_on_or_after", "fail", "sign in at the IdP again"),
        (response_b64(roles=[f"{DEV_ROLE} {PROVIDER_ARN}"]), None, "aws.role", "fail", "separated by a comma"),
        (response_b64(roles=[f"{DEV_ROLE},{PROVIDER_ARN};{OPS_ROLE},{PROVIDER_ARN}"]), None, "aws.role", "warn", "several AttributeValues"),
        (B64, RolePair(DEV_ROLE.replace("Developer", "Admin"), PROVIDER_ARN), "aws.role", "fail", "Ask for one of the pairs"),
    ],
    ids=["missing-name-id", "wrong-audience", "clock-skew", "expired", "role-missing-comma", "role-semicolons", "role-not-granted"],
)
def test_text_shows_the_library_hint_under_the_check(b64: str, requested: RolePair | None, check_id: str, status: str, hint_words: str) -> None:
    diagnosis = run(b64, requested_role=requested)
    assert diagnosis.valid is (status == "warn")
    output = render(diagnosis).splitlines()
    [line] = [i for i, text in enumerate(output) if text.startswith(f"{status.upper()} {check_id} ")]
    assert "fix:" in output[line + 1] and hint_words in output[line + 1]


# --- rendering -----------------------------------------------------------------------------------------


def test_text_of_a_valid_response() -> None:
    output = render(run(B64))
    assert [check_id for _, check_id in check_lines(output)] == list(CHECK_ORDER)
    assert "\x1b[" not in output
    assert output.startswith(f"provider {ENTITY_ID} (1 signing key(s))")
    assert "VALID: AWS would accept this response." in output
    assert f"{DEV_ROLE} via {PROVIDER_ARN}" in output and "department=Engineering, project=apollo" in output
    assert output.index("VALID") < output.index("Decoded response:") < output.index("  <saml:Assertion")


def test_text_lists_the_attributes_that_are_not_aws_ones() -> None:
    """Found by an audit: the text left out the attributes a trust policy's saml:<name> keys and an attribute mapping
    read (the JSON had them). Each other attribute has its line among the facts; the AWS ones stay the facts above."""
    output = render(run(response_b64(attributes={"mail": ["alice@example.com"], "groups": ["dev", "ops"]})))
    facts = output[output.index("VALID") : output.index("Decoded response:")]
    attribute_lines = re.findall(r"^  attribute +(.*)$", facts, re.MULTILINE)
    assert attribute_lines == ["mail = alice@example.com", "groups = dev; ops"]


def test_text_uses_colour_on_a_terminal() -> None:
    buffer = io.StringIO()
    doctor_report.render_text(run(B64), Console(file=buffer, force_terminal=True, color_system="standard", soft_wrap=True))
    assert "\x1b[" in buffer.getvalue() and "signature.verify" in buffer.getvalue()


def test_text_prints_document_values_verbatim() -> None:
    """Rich markup in a document (or a note) is text, never styling."""
    output = render(run(response_b64(attributes={"custom": ["[bold]x[/bold] [/]"]})))
    assert "[bold]x[/bold] [/]" in output


def test_text_of_an_invalid_response_names_the_aws_error() -> None:
    output = render(run(response_b64(after_sign=_set_role)))
    assert "INVALID at signature.verify: STS answers InvalidIdentityToken (400) 'Response signature invalid'" in output
    assert re.search(r"^note: the response's KeyInfo \(compared only, never trusted\) names certificate sha256:[0-9a-f]{64}", output, re.MULTILINE)
    assert "role/Admin" in output  # the decoded (tampered) document is shown


def test_json_of_a_valid_response() -> None:
    document = json.loads(doctor_report.to_json(run(B64)))
    assert set(document) == {"valid", "verdict", "checks", "assertion", "error", "provider", "warnings", "notes", "caveats"}
    assert document["valid"] is True and document["error"] is None
    assert all(set(check) == {"id", "status", "message", "hint"} for check in document["checks"])
    facts = document["assertion"]
    assert set(facts) == ASSERTION_KEYS
    assert facts["issue_instant"] == (NOW - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert facts["not_on_or_after"].endswith("Z") and facts["redeem_by"].endswith("Z")
    assert facts["roles"] == [{"role_arn": DEV_ROLE, "provider_arn": PROVIDER_ARN}, {"role_arn": OPS_ROLE, "provider_arn": PROVIDER_ARN}]
    assert facts["audiences"] == ["urn:amazon:webservices"] and facts["recipient"] == "https://signin.aws.amazon.com/saml"
    assert facts["session_duration"] == 3600 and facts["signed"] == "assertion" and len(facts["key_thumbprint"]) == 64
    assert facts["subject_type"] == "persistent" and facts["attributes"][c.AWS_ROLE_SESSION_NAME] == ["alice@example.com"]


def test_json_of_an_invalid_response() -> None:
    document = json.loads(doctor_report.to_json(run(response_b64(audience="https://sp.example/"))))
    assert document["valid"] is False and document["assertion"] is None
    assert document["error"] == {
        "check": "audience",
        "code": "InvalidIdentityToken",
        "status": 400,
        "message": "Response does not contain the required audience.",
    }
    statuses = {check["id"]: check["status"] for check in document["checks"]}
    assert statuses["audience"] == "fail" and statuses["aws.role"] == "skip"


@pytest.mark.parametrize("xml", [None, b"", b"not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'], ids=["none", "empty", "garbage", "doctype"])
def test_pretty_xml_shows_nothing_it_cannot_parse(xml: bytes | None) -> None:
    assert doctor_report.pretty_xml(xml) is None


def test_pretty_xml_reindents_and_keeps_text() -> None:
    assert doctor_report.pretty_xml(b"<a>  <b> x </b><c/>\n</a>") == "<a>\n  <b> x </b>\n  <c/>\n</a>"
