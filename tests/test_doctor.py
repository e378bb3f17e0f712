"""`samlfed doctor` and `samlfed sample`, through the real command line."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from saml_factory import DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, response_b64, signer
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.saml import CHECK_ORDER
from samlfed.saml.metadata import build_idp_metadata

NOW_ARG = NOW.isoformat().replace("+00:00", "Z")
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("doctor")
    paths = {
        "metadata": folder / "idp.xml",
        "other_metadata": folder / "other.xml",
        "cert": folder / "idp.pem",
        "response": folder / "response.b64",
    }
    paths["metadata"].write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    paths["other_metadata"].write_bytes(build_idp_metadata("https://other.example/idp", [signer("other").certificate]))
    paths["cert"].write_bytes(signer().cert_pem())
    paths["response"].write_text(response_b64())
    return paths


def doctor(*args: str, input: str | None = None):
    return runner.invoke(app, ["doctor", *args, "--now", NOW_ARG], input=input)


def test_valid_response_text_output(files) -> None:
    result = doctor(str(files["response"]), "--metadata", str(files["metadata"]))
    assert result.exit_code == 0, result.output
    lines = [line.split()[1] for line in result.output.splitlines() if line[:4] in ("PASS", "FAIL", "WARN", "SKIP")]
    assert lines == list(CHECK_ORDER)
    assert "VALID" in result.output and "\x1b[" not in result.output
    assert "<saml:NameID" in result.output  # the decoded response is shown


def test_json_shape(files) -> None:
    result = doctor(str(files["response"]), "--metadata", str(files["metadata"]), "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert set(document) >= {"valid", "checks", "assertion"}
    assert document["valid"] is True
    assert [c["id"] for c in document["checks"]] == list(CHECK_ORDER)
    assert all(set(c) == {"id", "status", "message", "hint"} for c in document["checks"])
    assert {c["status"] for c in document["checks"]} <= {"pass", "skip"}
    facts = document["assertion"]
    assert facts["name_id"] == "alice@example.com" and facts["issuer"] == ENTITY_ID
    assert {"role_arn": DEV_ROLE, "provider_arn": PROVIDER_ARN} in facts["roles"]
    assert facts["principal_tags"] == {"department": "Engineering", "project": "apollo"}


def test_tampered_response_explains_the_signature_failure(files, tmp_path) -> None:
    from lxml import etree

    root = etree.fromstring(base64.b64decode(response_b64()))
    root.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID").text = "admin@example.com"
    tampered = tmp_path / "tampered.b64"
    tampered.write_text(base64.b64encode(etree.tostring(root)).decode())
    result = doctor(str(tampered), "--metadata", str(files["metadata"]), "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    failed = [c for c in document["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["signature.verify"] and failed[0]["hint"]
    assert document["assertion"] is None
    assert document["error"] == {"check": "signature.verify", "code": "InvalidIdentityToken", "status": 400, "message": "Response signature invalid"}


def test_wrong_key_notes_compare_keyinfo_with_registered_keys(files, tmp_path) -> None:
    forged = tmp_path / "forged.b64"
    forged.write_text(response_b64(by=signer("attacker")))
    result = doctor(str(forged), "--metadata", str(files["metadata"]))
    assert result.exit_code == 1
    assert "is NOT registered" in result.output and "rotated" in result.output


@pytest.mark.parametrize(
    ("extra", "check_id"),
    [
        (["--now", (NOW + timedelta(hours=1)).isoformat()], "conditions.not_on_or_after"),
        (["--role-arn", DEV_ROLE.replace("Developer", "Admin"), "--principal-arn", PROVIDER_ARN], "aws.role"),
    ],
    ids=["expired", "role-not-granted"],
)
def test_failures_name_the_check(files, extra, check_id) -> None:
    result = runner.invoke(app, ["doctor", str(files["response"]), "--metadata", str(files["metadata"]), "--json", "--now", NOW_ARG, *extra])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["check"] == check_id


def test_wrong_audience_and_the_audience_option(files, tmp_path) -> None:
    response = tmp_path / "aud.b64"
    response.write_text(response_b64(audience="https://sp.example/"))
    assert doctor(str(response), "--metadata", str(files["metadata"])).exit_code == 1
    assert doctor(str(response), "--metadata", str(files["metadata"]), "--audience", "https://sp.example/").exit_code == 0


def test_input_forms_are_detected(files) -> None:
    b64 = files["response"].read_text()
    xml = base64.b64decode(b64).decode()
    form = f"RelayState=x&SAMLResponse={quote(b64, safe='')}&other=1"
    for text in (b64, xml, form, "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))):
        result = doctor("-", "--metadata", str(files["metadata"]), input=text)
        assert result.exit_code == 0, result.output


def test_metadata_is_chosen_by_issuer_and_cert_only_mode(files) -> None:
    result = doctor(str(files["response"]), "--metadata", str(files["other_metadata"]), "--metadata", str(files["metadata"]))
    assert result.exit_code == 0 and "provider chosen: https://idp.example.test/saml" in result.output
    result = doctor(str(files["response"]), "--cert", str(files["cert"]))
    assert result.exit_code == 0 and "issuer not checked" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "missing-file.b64", "--cert", "{cert}"],
        ["doctor", "{response}"],
        ["doctor", "{response}", "--metadata", "{response}"],
        ["doctor", "{response}", "--cert", "{cert}", "--now", "yesterday"],
        ["doctor", "{response}", "--cert", "{cert}", "--role-arn", DEV_ROLE],
    ],
    ids=["missing-file", "no-trust", "bad-metadata", "bad-now", "role-without-provider"],
)
def test_usage_errors_exit_2(files, args) -> None:
    resolved = [a.format(cert=files["cert"], response=files["response"]) for a in args]
    result = runner.invoke(app, resolved)
    assert result.exit_code == 2, result.output
    if "--metadata" in args:
        assert "Could not parse metadata." in result.output


def test_console_script_and_sample(tmp_path) -> None:
    """The installed `samlfed` script itself: `sample` writes files the doctor accepts and rejects."""
    script = Path(sys.executable).with_name("samlfed")
    subprocess.run([str(script), "sample", "--out", str(tmp_path)], check=True, capture_output=True)
    ok = subprocess.run([str(script), "doctor", str(tmp_path / "response.b64"), "--metadata", str(tmp_path / "idp-metadata.xml")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([str(script), "doctor", str(tmp_path / "tampered.b64"), "--metadata", str(tmp_path / "idp-metadata.xml"), "--json"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["check"] == "signature.verify"


def test_providers_attribute_mapping_cli(tmp_path) -> None:
    from samlfed.config import Settings
    from samlfed.iam.service import create_account, create_saml_provider
    from samlfed.server import build_context

    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, "111111111111")
    arn = create_saml_provider(ctx, "111111111111", "Corp", build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()).arn
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["providers", "attribute-mapping", "set", arn, '{"email": ["mail", "email"]}', *data]).exit_code == 0
    shown = runner.invoke(app, ["providers", "attribute-mapping", "get", arn, *data])
    assert json.loads(shown.output) == {"email": ["mail", "email"]}
    assert runner.invoke(app, ["providers", "attribute-mapping", "set", arn, "not json", *data]).exit_code == 2
    assert runner.invoke(app, ["providers", "attribute-mapping", "clear", arn, *data]).exit_code == 0
    assert json.loads(runner.invoke(app, ["providers", "attribute-mapping", "get", arn, *data]).output) == {}
