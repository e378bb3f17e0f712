"""`samlfed doctor --data-dir`: the options given on the command line, over what the registered provider has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from saml_factory import ACCOUNT, PROVIDER_ARN, response_b64
from service_world import developer_world
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.config import Settings
from samlfed.iam.provider_options import set_attribute_mapping, set_validation_options
from samlfed.saml import constants as c

runner = CliRunner()
NOW_ARG = "2026-11-24T12:00:05Z"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ctx = developer_world(Settings(data_dir=data))  # registers saml_factory's IdP as PROVIDER_ARN
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"allow_response_only_signature": True})
    return data


def run(response: Path, data: Path, *extra: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["doctor", str(response), "--data-dir", str(data), "--principal-arn", PROVIDER_ARN, "--now", NOW_ARG, "--json", *extra])
    return result.exit_code, json.loads(result.stdout)


def test_no_flag_tries_without_an_opt_in_the_provider_has(tmp_path: Path, data_dir: Path) -> None:
    response = tmp_path / "response.b64"
    response.write_text(response_b64("response"))  # a signed Response around an unsigned Assertion

    code, report = run(response, data_dir)
    assert code == 0 and report["valid"]

    code, report = run(response, data_dir, "--no-allow-response-only-signature")
    assert code == 1 and not report["valid"]
    assert report["error"]["check"] == "signature.required"


def test_a_verdict_that_relies_on_an_acs_url_the_server_refuses_says_so(tmp_path: Path, data_dir: Path) -> None:
    elsewhere = "https://sp.example.test/saml"
    response = tmp_path / "response.b64"
    response.write_text(response_b64("both", recipient=elsewhere, destination=elsewhere))

    code, report = run(response, data_dir, "--acs", elsewhere)
    assert code == 0 and report["valid"]  # the doctor's verdict with the URL it was told to accept
    [caveat] = [c for c in report["caveats"] if "--acs/--audience" in c]
    assert "Response Destination is not an accepted endpoint" in caveat  # what STS answers: the server has no such URL

    code, report = run(response, data_dir)
    assert code == 1 and report["error"]["check"] == "destination"


def test_no_url_caveat_when_the_server_accepts_the_response_anyway(tmp_path: Path, data_dir: Path) -> None:
    response = tmp_path / "response.b64"
    response.write_text(response_b64("both"))
    code, report = run(response, data_dir, "--acs", "https://sp.example.test/saml", "--audience", "urn:sp.example.test")
    assert code == 0 and not [c for c in report["caveats"] if "--acs/--audience" in c]


@pytest.fixture
def mapping_dir(tmp_path: Path) -> Path:
    data = tmp_path / "mapped"
    ctx = developer_world(Settings(data_dir=data))
    set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, {"email": ["mail"]})
    return data


def test_mapped_session_tags_are_checked_without_a_role_too(tmp_path: Path, mapping_dir: Path) -> None:
    """STS checks the mapped session tags before it looks the role up: a tag value past 256 characters is refused
    whichever role is asked for, so no --role-arn is needed to say so."""
    response = tmp_path / "response.b64"
    response.write_text(response_b64("both", principal_tags={}, attributes={"mail": ["x" * 300]}))
    code, report = run(response, mapping_dir)
    assert code == 1 and not report["valid"]
    assert report["error"] == {"check": "trust.session_tags", "code": "InvalidIdentityToken", "status": 400,
                               "message": "Session tags in AuthnResponse are invalid"}


def test_the_unchecked_trust_policy_caveat_counts_mapped_session_tags(tmp_path: Path, mapping_dir: Path) -> None:
    response = tmp_path / "response.b64"
    response.write_text(response_b64("both", principal_tags={}, attributes={"mail": ["alice@example.com"]}))
    code, report = run(response, mapping_dir)
    assert code == 0
    [caveat] = [c for c in report["caveats"] if "trust policy" in c]
    assert "it must allow sts:TagSession for the 1 session tag" in caveat


def test_a_verdict_that_relies_on_no_require_condition_bounds_says_the_server_refuses(tmp_path: Path) -> None:
    """--no-require-condition-bounds over a provider that requires them said VALID without a word for a response whose
    Conditions lack NotBefore, which the server refuses: the opt-outs that let a response through need the caveat that
    the opt-ins have."""
    data = tmp_path / "bounded"
    ctx = developer_world(Settings(data_dir=data))
    set_validation_options(ctx, ACCOUNT, PROVIDER_ARN, {"require_condition_bounds": True})
    response = tmp_path / "response.b64"
    response.write_text(response_b64(before_sign=lambda root: root.find(f"{c.ASSERTION}/{c.CONDITIONS}").attrib.pop("NotBefore")))

    code, report = run(response, data)
    assert code == 1 and report["error"]["check"] == "conditions.not_before"
    refusal = report["error"]["message"]

    code, report = run(response, data, "--no-require-condition-bounds")
    assert code == 0 and report["valid"]  # the doctor's verdict without the requirement it was told to drop
    [caveat] = [c for c in report["caveats"] if "--no-require-condition-bounds" in c]
    assert f"{PROVIDER_ARN} requires condition bounds" in caveat and refusal in caveat
