"""The doctor on mistakes IdP administrators make (from a probe that compared its answers with STS's): a misnamed
claim, a role ARN that differs in case, path or account, and a VALID verdict that says what it did not check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64, signer
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata

NOW = "2026-11-24T12:00:05Z"
NOW_INSTANT = datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC)
SP = signer("doctor-sp")


@pytest.fixture
def metadata(tmp_path: Path) -> Path:
    path = tmp_path / "idp.xml"
    path.write_bytes(build_idp_metadata("https://idp.example.test/saml", [signer().certificate]))
    return path


def doctor(tmp_path: Path, metadata: Path, response: str, *extra: str) -> tuple[int, dict]:
    path = tmp_path / "response.b64"
    path.write_text(response)
    result = CliRunner().invoke(app, ["doctor", str(path), "--metadata", str(metadata), "--now", NOW, "--json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def _renamed(old: str, new: str):  # type: ignore[no-untyped-def]
    def rename(root: etree._Element) -> None:
        for attribute in root.iter(c.ATTRIBUTE):
            if attribute.get("Name") == old:
                attribute.set("Name", new)
    return rename


@pytest.mark.parametrize(("name", "misnamed"), [
    (c.AWS_ROLE, "https://aws.amazon.com/SAML/Attributes/role"),
    (c.AWS_ROLE, "Role"),
    (c.AWS_ROLE_SESSION_NAME, "https://aws.amazon.com/SAML/Attributes/rolesessionname"),
])
def test_a_misnamed_claim_is_named_as_the_cause(tmp_path: Path, metadata: Path, name: str, misnamed: str) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(before_sign=_renamed(name, misnamed)))
    assert code == 1
    assert f"no attribute is named exactly {name}, but the response has {misnamed!r}" in " ".join(report["notes"])


def test_a_missing_claim_gets_no_such_note(tmp_path: Path, metadata: Path) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(roles=[]))
    assert code == 1 and not any("named exactly" in note for note in report["notes"])


@pytest.mark.parametrize(("overrides", "check", "message"), [
    ({"roles": []}, "aws.role", "the Role attribute is missing; the assertion's attributes are "
     f"{c.AWS_ROLE_SESSION_NAME!r}, {c.AWS_SESSION_DURATION!r}, 'https://aws.amazon.com/SAML/Attributes/PrincipalTag:department', "
     "'https://aws.amazon.com/SAML/Attributes/PrincipalTag:project', 'mail'"),
    ({"role_session_name": None, "roles": [], "session_duration": None, "principal_tags": {}}, "aws.role_session_name",
     "the RoleSessionName attribute is missing; the assertion's attributes are 'mail'"),
    ({"role_session_name": None, "roles": [], "session_duration": None, "principal_tags": {}, "attributes": {}}, "aws.role_session_name",
     "the RoleSessionName attribute is missing; the assertion has no attributes"),
])
def test_a_missing_claim_lists_the_attributes_the_idp_sent(tmp_path: Path, metadata: Path, overrides: dict, check: str, message: str) -> None:
    """A response without a Role attribute was said to hold 'no usable role/provider pair' (with advice on the pairs'
    format), and neither message showed what the IdP sent instead: the attribute names are the clue."""
    code, report = doctor(tmp_path, metadata, response_b64(**{"attributes": {"mail": ["alice@example.com"]}, **overrides}))
    failed = next(check for check in report["checks"] if check["status"] == "fail")
    assert code == 1 and (failed["id"], failed["message"]) == (check, message)
    assert c.AWS_ROLE in failed["hint"] if check == "aws.role" else c.AWS_ROLE_SESSION_NAME in failed["hint"]


@pytest.mark.parametrize(("listed", "says"), [
    (f"{DEV_ROLE.replace('Developer', 'developer')},{PROVIDER_ARN}", "differs from the requested pair only in letter case"),
    (f"{DEV_ROLE.replace('role/', 'role/team/')},{PROVIDER_ARN}", "whose path differs from the requested"),
    (f"{DEV_ROLE.replace('111111111111', '222222222222')},{PROVIDER_ARN.replace('111111111111', '222222222222')}", "in account 222222222222, not 111111111111"),
])
def test_a_requested_role_that_nearly_matches_says_what_differs(tmp_path: Path, metadata: Path, listed: str, says: str) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(roles=[listed]), "--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN)
    assert code == 1 and report["error"]["check"] == "aws.role"
    failed = next(check for check in report["checks"] if check["status"] == "fail")
    assert f"which lists {listed.split(',')[0]} via" in failed["message"]
    assert says in failed["hint"]


def test_valid_without_a_trust_policy_says_what_sts_checks_next(tmp_path: Path, metadata: Path) -> None:
    code, report = doctor(tmp_path, metadata, response_b64())
    assert code == 0 and report["verdict"] == "VALID: AWS would accept this response."
    assert len(report["caveats"]) == 1
    caveat = report["caveats"][0]
    assert caveat.startswith("not checked: the role's trust policy") and "sts:TagSession for the 2 session tags" in caveat
    assert "Recipient https://signin.aws.amazon.com/saml" in caveat
    with_trust = tmp_path / "trust.json"
    with_trust.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                                                                              "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]}))
    code, report = doctor(tmp_path, metadata, response_b64(), "--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN, "--trust-policy", str(with_trust))
    assert code == 0 and report["caveats"] == []


def test_valid_only_with_an_opt_in_says_the_provider_needs_it(tmp_path: Path, metadata: Path) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(sign="response"), "--allow-response-only-signature")
    assert code == 0
    relied = [c for c in report["caveats"] if c.startswith("valid only with --allow-response-only-signature")]
    assert relied and "samlfed providers validation-options set PROVIDER_ARN --allow-response-only-signature" in relied[0]
    assert "STS answers InvalidIdentityToken 'Response signature invalid'" in relied[0]
    code, report = doctor(tmp_path, metadata, response_b64(sign="both"), "--allow-response-only-signature")
    assert code == 0 and not any(c.startswith("valid only with") for c in report["caveats"])  # the flag was not needed


def test_decrypting_with_private_key_says_the_provider_must_hold_it(tmp_path: Path, metadata: Path) -> None:
    key = tmp_path / "sp.key"
    key.write_bytes(SP.key_pem())
    code, report = doctor(tmp_path, metadata, response_b64(encrypt_for=SP), "--private-key", str(key))
    assert code == 0
    assert any(c.startswith("decrypted with --private-key: STS decrypts only with keys uploaded to the provider") for c in report["caveats"])


def test_caveats_are_printed_after_the_verdict(tmp_path: Path, metadata: Path) -> None:
    path = tmp_path / "response.b64"
    path.write_text(response_b64())
    output = CliRunner().invoke(app, ["doctor", str(path), "--metadata", str(metadata), "--now", NOW]).output
    verdict_at = output.index("VALID: AWS would accept this response.")
    assert output.index("caveat: not checked: the role's trust policy") > verdict_at


def _failed(report: dict) -> dict:
    return next(check for check in report["checks"] if check["status"] == "fail")


@pytest.mark.parametrize(("overrides", "message", "hint"), [
    ({"recipient": "http://signin.aws.amazon.com/saml"}, "is not an accepted ACS URL",
     "'http://signin.aws.amazon.com/saml' is not 'https://signin.aws.amazon.com/saml': values are compared exactly"),
    ({"destination": "https://signin.aws.amazon.com/saml/"}, "is not an accepted ACS URL",
     "'https://signin.aws.amazon.com/saml/' is not 'https://signin.aws.amazon.com/saml'"),
    ({"audience": "urn:amazon:webservices/"}, "no accepted audience", "'urn:amazon:webservices/' is not 'urn:amazon:webservices'"),
])
def test_a_url_that_differs_by_a_character_says_which(tmp_path: Path, metadata: Path, overrides: dict, message: str, hint: str) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(**overrides))
    assert code == 1 and message in _failed(report)["message"] and hint in _failed(report)["hint"]


@pytest.mark.parametrize(("name", "why"), [
    ("a" * 65, "it has 65 characters, at most 64 are allowed"),
    ("josé.müller", "it holds 'é', 'ü', which are not allowed"),
    ("a", "it has 1 character, at least 2 are needed"),
])
def test_a_bad_session_name_says_what_is_wrong_with_it(tmp_path: Path, metadata: Path, name: str, why: str) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(role_session_name=name))
    assert code == 1 and _failed(report)["message"].endswith(why)


@pytest.mark.parametrize(("shift", "says"), [
    (timedelta(minutes=6, seconds=20), "6 min 20 s before it (clock skew allowed: 5 min)"),
    (-timedelta(hours=1, minutes=1), "after it (clock skew allowed: 5 min)"),
])
def test_a_clock_difference_is_stated(tmp_path: Path, metadata: Path, shift: timedelta, says: str) -> None:
    code, report = doctor(tmp_path, metadata, response_b64(issue_instant=NOW_INSTANT + shift))
    assert code == 1 and says in _failed(report)["message"]


def test_a_saml_sub_condition_says_it_is_the_name_id(tmp_path: Path, metadata: Path) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        "Condition": {"StringEquals": {"SAML:sub": "bob@example.com"}}}]}))
    code, report = doctor(tmp_path, metadata, response_b64(), "--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN, "--trust-policy", str(trust))
    assert code == 1 and "SAML:sub is the assertion's NameID." in _failed(report)["hint"]
    assert report["notes"] == []  # one statement: its verdict is the failed check's message, not said again
    two = json.loads(trust.read_text())
    two["Statement"].append({**two["Statement"][0], "Condition": {"StringEquals": {"SAML:sub": "carol@example.com"}}})
    trust.write_text(json.dumps(two))
    code, report = doctor(tmp_path, metadata, response_b64(), "--role-arn", DEV_ROLE, "--principal-arn", PROVIDER_ARN, "--trust-policy", str(trust))
    assert code == 1 and "(and 1 more statement(s) whose conditions fail, see the notes)" in _failed(report)["message"]
    assert len([note for note in report["notes"] if note.startswith("sts:AssumeRoleWithSAML: statement")]) == 2
