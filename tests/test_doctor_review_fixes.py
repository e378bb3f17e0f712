"""Fixes from a black-box review of `samlfed doctor`: each test names the wrong verdict or hint the doctor gave."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, NOW, OPS_ROLE, PROVIDER_ARN, response_b64, response_tree, signer
from service_world import developer_world
from typer.testing import CliRunner

from samlfed import doctor, doctor_report
from samlfed.cli import app
from samlfed.config import Settings
from samlfed.saml import ProviderPolicy, ProviderTrust, RolePair, SamlValidationError, SigningKey, ValidationSettings, validate
from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata, parse_metadata
from samlfed.saml.signing import IdpSigner

NOW_ARG = "2026-11-24T12:00:00Z"
OTHER_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Other"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def metadata_file(tmp_path: Path) -> Path:
    path = tmp_path / "idp-metadata.xml"
    path.write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    return path


def run_doctor(*args: str | Path, input: bytes | str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["doctor", *map(str, args), "--now", NOW_ARG], input=input)


def write(tmp_path: Path, text: str, name: str = "response.b64") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def diagnose_standalone(b64: str, *signers: IdpSigner, entity_id: str = ENTITY_ID, policy: ProviderPolicy = ProviderPolicy(),
                        requested_role: RolePair | None = None) -> doctor.Diagnosis:
    documents = [parse_metadata(build_idp_metadata(entity_id, [s.certificate for s in signers or (signer(),)]), now=NOW)]
    choice = doctor.choose_trust(b64, documents, [], policy)
    return doctor.diagnose(b64, choice, now=NOW, settings=ValidationSettings(), requested_role=requested_role)


def fail_hint(diagnosis: doctor.Diagnosis) -> str:
    [failure] = [r for r in diagnosis.checks if r.status == "fail"]
    return failure.hint or ""


# --- 1. registered mode without --role-arn: a pair must name the provider checked against ---------------------


@pytest.fixture
def registered_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    developer_world(Settings(data_dir=data))  # registers saml_factory's IdP as PROVIDER_ARN
    return data


def run_registered(response: Path, data: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["doctor", str(response), "--data-dir", str(data), "--now", "2026-11-24T12:00:05Z", "--principal-arn", PROVIDER_ARN, *extra])


def test_registered_mode_fails_when_no_pair_names_the_provider(tmp_path: Path, registered_dir: Path) -> None:
    """It said VALID, though AssumeRoleWithSAML with this PrincipalArn answers AccessDenied and the console finds no role."""
    response = write(tmp_path, response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{OTHER_PROVIDER}"]))
    result = run_registered(response, registered_dir, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["valid"] is False
    assert report["error"] == {"check": "aws.role", "code": "AccessDenied", "status": 403, "message": "Not authorized to perform sts:AssumeRoleWithSAML"}
    [role] = [r for r in report["checks"] if r["id"] == "aws.role"]
    assert role["status"] == "fail" and PROVIDER_ARN in role["message"] and OTHER_PROVIDER in role["message"]
    assert f"--principal-arn {OTHER_PROVIDER}" in role["hint"] and PROVIDER_ARN in role["hint"]
    text = run_registered(response, registered_dir)
    assert "INVALID at aws.role" in text.output and "VALID: AWS would accept" not in text.output


def test_registered_mode_names_a_missing_provider_as_the_providers_commands_do(tmp_path: Path, registered_dir: Path) -> None:
    """Found by a CLI probe: it said AWS's "Manifest not found for arn …", where `providers` says what is missing."""
    response = write(tmp_path, response_b64(issue_instant=NOW))
    missing = PROVIDER_ARN + "Gone"
    result = runner.invoke(app, ["doctor", str(response), "--data-dir", str(registered_dir), "--principal-arn", missing])
    assert result.exit_code == 2 and f"no SAML provider {missing} in this samlfed" in result.output, result.output


def test_registered_mode_passes_when_some_pair_names_the_provider(tmp_path: Path, registered_dir: Path) -> None:
    response = write(tmp_path, response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{OTHER_PROVIDER}", f"{OPS_ROLE},{PROVIDER_ARN}"]))
    result = run_registered(response, registered_dir)
    assert result.exit_code == 0, result.output


def test_the_validator_itself_is_unchanged_for_a_provider_no_pair_names() -> None:
    """The check is the doctor's: the server's validation semantics (no requested role: any pair) stay as they were."""
    keys = (SigningKey.from_certificate(signer().certificate),)
    trust = ProviderTrust(ENTITY_ID, keys, provider_arn=PROVIDER_ARN)
    verified = validate(response_b64(roles=[f"{DEV_ROLE},{OTHER_PROVIDER}"]), trust, now=NOW)
    assert verified.claims.roles == (RolePair(DEV_ROLE, OTHER_PROVIDER),)


# --- 2. (metadata warnings at CreateSAMLProvider: tests/saml/test_metadata_review_fixes.py) -------------------
# --- 3. KeyInfo naming a registered key too small to be tried -------------------------------------------------


@pytest.fixture(scope="module")
def small() -> IdpSigner:
    return IdpSigner.generate("small idp", key_size=1024, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=30))


def test_a_genuine_response_from_a_too_small_key_is_not_called_changed(small: IdpSigner) -> None:
    diagnosis = diagnose_standalone(response_b64(by=small), small)
    assert [r.id for r in diagnosis.checks if r.status == "fail"] == ["signature.verify"]
    assert not any("changed after it was signed" in note for note in diagnosis.notes), diagnosis.notes
    [keyinfo] = [note for note in diagnosis.notes if "KeyInfo" in note]
    assert "1024-bit key, too small to be tried" in keyinfo and "legacy-algorithms opt-in" in keyinfo
    [registered] = [note for note in diagnosis.notes if note.startswith("registered signing key")]
    assert "not tried" in registered
    assert "changed after" not in fail_hint(diagnosis)


def test_a_tampered_response_from_a_tried_small_key_is_still_called_changed(small: IdpSigner) -> None:
    def tamper(root: etree._Element) -> None:
        root.find(f".//{c.NAME_ID}").text = "mallory@example.com"

    diagnosis = diagnose_standalone(response_b64(by=small, after_sign=tamper), small, policy=ProviderPolicy(allow_legacy_algorithms=True))
    assert any("was tried" in note and "changed after it was signed" in note for note in diagnosis.notes), diagnosis.notes
    assert fail_hint(diagnosis) == doctor.CHANGED_AFTER_SIGNING_HINT


# --- 4. semicolon-separated Role pairs: samlfed accepts, AWS would not ----------------------------------------

SEMICOLON = f"{DEV_ROLE},{PROVIDER_ARN};{OPS_ROLE},{PROVIDER_ARN}"


def test_semicolon_pairs_do_not_end_with_aws_would_accept(tmp_path: Path, metadata_file: Path) -> None:
    response = write(tmp_path, response_b64(roles=[SEMICOLON]))
    text = run_doctor(response, "--metadata", metadata_file, "--role-arn", OPS_ROLE, "--principal-arn", PROVIDER_ARN)
    assert text.exit_code == 0, text.output  # samlfed's verdict
    assert "AWS would accept" not in text.output
    assert "VALID: samlfed accepts this response, but AWS would refuse it:" in text.output and "semicolons" in text.output
    as_json = json.loads(run_doctor(response, "--metadata", metadata_file, "--json").output)
    assert as_json["valid"] is True
    assert "AWS would refuse it" in as_json["verdict"] and "AWS would accept" not in as_json["verdict"]


def test_a_requested_pair_in_its_own_value_is_accepted_by_aws_too() -> None:
    b64 = response_b64(roles=[SEMICOLON, f"{DEV_ROLE},{PROVIDER_ARN}"])
    assert diagnose_standalone(b64, requested_role=RolePair(DEV_ROLE, PROVIDER_ARN)).aws_refusal is None
    refused = diagnose_standalone(b64, requested_role=RolePair(OPS_ROLE, PROVIDER_ARN))
    assert refused.valid and refused.aws_refusal is not None and "semicolons" in refused.aws_refusal
    assert doctor_report.verdict(refused)[1].startswith(": samlfed accepts this response, but AWS would refuse it")


def test_a_role_path_holding_a_semicolon_is_one_pair_to_aws_too() -> None:
    in_path = f"arn:aws:iam::{ACCOUNT}:role/ops;eu/Deployer"
    verified = diagnose_standalone(response_b64(roles=[f"{in_path},{PROVIDER_ARN}"]), requested_role=RolePair(in_path, PROVIDER_ARN))
    assert verified.valid and verified.aws_refusal is None


def test_plain_pairs_still_say_aws_would_accept() -> None:
    diagnosis = diagnose_standalone(response_b64())
    assert diagnosis.aws_refusal is None and doctor_report.verdict(diagnosis) == ("VALID", ": AWS would accept this response.")


# --- 5. --cert only: the Response's and the Assertion's Issuers differ ------------------------------------------


def _response_issuer(value: str):  # type: ignore[no-untyped-def]
    def edit(root: etree._Element) -> None:
        root.find(c.ISSUER).text = value  # outside the Assertion's signature

    return edit


def test_cert_only_names_differing_issuers(tmp_path: Path) -> None:
    pem = tmp_path / "idp.pem"
    pem.write_bytes(signer().certificate.public_bytes(serialization.Encoding.PEM))
    response = write(tmp_path, response_b64(after_sign=_response_issuer(ENTITY_ID + "/")))
    result = run_doctor(response, "--cert", pem, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    [issuer] = [r for r in report["checks"] if r["id"] == "issuer"]
    assert issuer["status"] == "fail"
    assert f"The Response's Issuer {ENTITY_ID + '/'!r} and the Assertion's Issuer {ENTITY_ID!r} differ" in issuer["hint"]
    assert "metadata" not in issuer["hint"]


@pytest.mark.parametrize("which", ["response", "assertion"])
def test_validator_hint_names_differing_issuers(which: str) -> None:
    """With metadata: whichever Issuer is wrong, two entity IDs in one response is what the hint says first."""
    keys = (SigningKey.from_certificate(signer().certificate),)
    other = "https://elsewhere.example/idp"
    b64 = response_b64(after_sign=_response_issuer(other)) if which == "response" else response_b64(issuer=other, after_sign=_response_issuer(ENTITY_ID))
    with pytest.raises(SamlValidationError) as info:
        validate(b64, ProviderTrust(ENTITY_ID, keys), now=NOW)
    assert info.value.check_id == "issuer"
    assert "differ" in (info.value.hint or "") and other in (info.value.hint or "")


def test_validator_hint_for_one_wrong_issuer_still_names_the_metadata() -> None:
    keys = (SigningKey.from_certificate(signer().certificate),)
    with pytest.raises(SamlValidationError) as info:
        validate(response_b64(), ProviderTrust("https://elsewhere.example/idp", keys), now=NOW)
    assert "The provider's metadata has entityID" in (info.value.hint or "")


# --- 6. another IdP's metadata is not a rotation ---------------------------------------------------------------


def test_metadata_of_another_idp_is_said_to_be_the_wrong_metadata() -> None:
    foreign = response_b64(by=signer("foreign"), issuer="https://foreign.example/idp")
    diagnosis = diagnose_standalone(foreign)
    assert [r.id for r in diagnosis.checks if r.status == "fail"] == ["signature.verify"]
    hint = fail_hint(diagnosis)
    assert "another IdP's metadata" in hint and "rotation" in hint and "https://foreign.example/idp" in hint
    assert "is not the metadata's entityID" in diagnosis.notes[0]
    assert not any("rotated" in note for note in diagnosis.notes), diagnosis.notes


def test_same_issuer_with_an_unknown_key_is_still_a_rotation() -> None:
    diagnosis = diagnose_standalone(response_b64(by=signer("rotated")))
    assert "(rotation)" in fail_hint(diagnosis)
    assert any("rotated" in note for note in diagnosis.notes)


# --- 7. standalone mode: --acs and --audience -----------------------------------------------------------------

OWN = "https://samlfed.example.com/saml"


@pytest.mark.parametrize(
    ("overrides", "check", "option"),
    [
        ({"destination": OWN}, "destination", "--acs URL"),
        ({"destination": None, "recipient": OWN}, "subject_confirmation", "--acs URL"),
        ({"audience": "https://samlfed.example.com"}, "audience", "--audience URI"),
    ],
)
def test_standalone_url_failures_mention_the_option(tmp_path: Path, metadata_file: Path, overrides: dict, check: str, option: str) -> None:
    response = write(tmp_path, response_b64(**overrides))
    report = json.loads(run_doctor(response, "--metadata", metadata_file, "--json").output)
    assert report["error"]["check"] == check
    [failure] = [r for r in report["checks"] if r["status"] == "fail"]
    assert option in failure["hint"]
    # Given the option (with another value), the doctor was told and does not suggest it again.
    flag = option.split()[0]
    told = json.loads(run_doctor(response, "--metadata", metadata_file, flag, "https://unrelated.example/x", "--json").output)
    assert told["error"]["check"] == check
    assert option not in next(r for r in told["checks"] if r["status"] == "fail")["hint"]


def test_other_subject_confirmation_failures_get_no_acs_option() -> None:
    def drop_not_on_or_after(root: etree._Element) -> None:
        root.find(f".//{c.SUBJECT_CONFIRMATION_DATA}").attrib.pop("NotOnOrAfter")

    diagnosis = diagnose_standalone(response_b64(before_sign=drop_not_on_or_after))
    doctor.add_url_option_hints(diagnosis, acs_given=False, audience_given=False)
    assert diagnosis.error is not None and diagnosis.error.check_id == "subject_confirmation"
    assert "--acs" not in fail_hint(diagnosis)


def test_registered_mode_gets_no_acs_option(tmp_path: Path, registered_dir: Path) -> None:
    response = write(tmp_path, response_b64(issue_instant=NOW, destination=OWN, recipient=OWN))
    report = json.loads(run_registered(response, registered_dir, "--json").output)
    assert report["error"]["check"] == "destination"
    assert "--acs URL" not in next(r for r in report["checks"] if r["status"] == "fail")["hint"]


# --- 8. a deflated (HTTP-Redirect binding) SAMLResponse ---------------------------------------------------------


def deflated(xml: bytes) -> str:
    compressor = zlib.compressobj(wbits=-15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def test_deflated_response_is_named_and_still_refused(tmp_path: Path, metadata_file: Path) -> None:
    xml = etree.tostring(response_tree(), xml_declaration=True, encoding="UTF-8")
    b64 = deflated(xml)
    with pytest.raises(SamlValidationError) as info:  # the validator stays strict
        validate(b64, ProviderTrust(ENTITY_ID, (SigningKey.from_certificate(signer().certificate),)), now=NOW)
    assert info.value.check_id == "xml.parse"
    report = json.loads(run_doctor(write(tmp_path, b64), "--metadata", metadata_file, "--json").output)
    assert report["valid"] is False and report["error"]["check"] == "xml.parse"
    hint = next(r for r in report["checks"] if r["status"] == "fail")["hint"]
    assert hint == doctor.DEFLATED_HINT and "HTTP-POST" in hint
    assert any("HTTP-Redirect" in note for note in report["notes"])


def test_other_unparsable_input_gets_no_deflate_hint(tmp_path: Path, metadata_file: Path) -> None:
    report = json.loads(run_doctor(write(tmp_path, base64.b64encode(b"\x00\x01 not xml at all").decode()), "--metadata", metadata_file, "--json").output)
    assert report["error"]["check"] == "xml.parse"
    assert not report["notes"] and next(r for r in report["checks"] if r["status"] == "fail")["hint"] != doctor.DEFLATED_HINT


# --- 9. standard input from a terminal --------------------------------------------------------------------------


def test_terminal_input_gets_a_notice_and_a_cut_line_is_named(metadata_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "stdin_is_terminal", lambda: True)
    cut = response_b64()[: doctor.TERMINAL_LINE_LIMIT]
    result = run_doctor("-", "--metadata", metadata_file, "--json", input=cut + "\n")
    assert result.exit_code == 1
    assert doctor.TERMINAL_NOTICE in result.stderr and "Ctrl-D" in result.stderr
    report = json.loads(result.stdout)
    assert report["error"]["check"] == "input.base64" and doctor.CUT_BY_TERMINAL_NOTE in report["notes"]
    without_newline = json.loads(run_doctor("-", "--metadata", metadata_file, "--json", input=cut).stdout)
    assert doctor.CUT_BY_TERMINAL_NOTE in without_newline["notes"]


def test_no_notice_or_note_without_a_terminal_or_at_another_length(metadata_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cut = response_b64()[: doctor.TERMINAL_LINE_LIMIT]
    piped = run_doctor("-", "--metadata", metadata_file, "--json", input=cut)
    assert doctor.TERMINAL_NOTICE not in piped.stderr and doctor.CUT_BY_TERMINAL_NOTE not in json.loads(piped.stdout)["notes"]
    monkeypatch.setattr(doctor, "stdin_is_terminal", lambda: True)
    shorter = run_doctor("-", "--metadata", metadata_file, "--json", input=cut[:-1])
    assert doctor.CUT_BY_TERMINAL_NOTE not in json.loads(shorter.stdout)["notes"]
    whole = run_doctor("-", "--metadata", metadata_file, "--json", input=response_b64())
    assert whole.exit_code == 0 and doctor.TERMINAL_NOTICE in whole.stderr
