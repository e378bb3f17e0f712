"""`samlfed doctor` on encrypted assertions: `--private-key` decrypts as the server does with uploaded keys, a
missing key is named as the cause, and the report shows the assertion decrypted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from saml_factory import ACCOUNT, ENTITY_ID, PROVIDER_ARN, encode, response_b64, response_tree, signer
from service_world import developer_world
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.config import Settings
from samlfed.iam.provider_keys import EncryptionChange
from samlfed.iam.providers import update_saml_provider
from samlfed.saml import CHECK_ORDER
from samlfed.saml.metadata import build_idp_metadata

NOW_ARG = "2026-11-24T12:00:00Z"
SP = signer("sp-encryption")
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("doctor-encrypted")
    contents = {
        "metadata": build_idp_metadata(ENTITY_ID, [signer().certificate]),
        "encrypted": encode(response_tree("assertion", encrypt_for=SP)).encode(),
        "sp_key": SP.key_pem(),
        "other_key": signer("other-sp").key_pem(),
        "public_key": SP.certificate.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    paths = {name: folder / name for name in contents}
    for name, data in contents.items():
        paths[name].write_bytes(data)
    return paths


def doctor(*args: str | Path):
    return runner.invoke(app, ["doctor", *map(str, args), "--now", NOW_ARG])


def test_the_private_key_decrypts_and_every_check_is_listed(files: dict[str, Path]) -> None:
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--private-key", files["sp_key"])
    assert result.exit_code == 0, result.output
    assert "PASS encryption.decrypt" in " ".join(result.output.split())
    lines = [line.split()[1] for line in result.output.splitlines() if line.split()[:1] in (["PASS"], ["SKIP"], ["WARN"])]
    assert lines == list(CHECK_ORDER)
    # the decoded response shows the Assertion decrypted, not the ciphertext
    assert "EncryptedAssertion shown decrypted" in result.output
    assert "<saml:NameID" in result.output and "CipherValue" not in result.output
    assert "PRIVATE KEY" not in result.output


def test_without_the_key_the_doctor_says_what_to_give(files: dict[str, Path]) -> None:
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    failed = next(check for check in report["checks"] if check["status"] == "fail")
    assert failed["id"] == "shape.assertion" and "encrypted assertions are not enabled" in failed["message"]
    assert any("--private-key" in note for note in report["notes"])


def test_another_key_fails_the_decryption_with_the_uniform_message(files: dict[str, Path]) -> None:
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--private-key", files["other_key"], "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    failed = next(check for check in report["checks"] if check["status"] == "fail")
    assert failed["id"] == "encryption.decrypt"
    assert failed["message"] == "the encrypted assertion could not be decrypted with this provider's private keys"
    assert report["error"]["message"] == "Response could not be decrypted"


def test_key_rotation_either_key_decrypts(files: dict[str, Path]) -> None:
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--private-key", files["other_key"], "--private-key", files["sp_key"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("bad", ["public_key", "metadata", "missing"])
def test_a_file_that_is_no_private_key_is_a_usage_error(files: dict[str, Path], bad: str) -> None:
    path = files[bad] if bad in files else files["sp_key"].parent / "absent.pem"
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--private-key", path)
    assert result.exit_code == 2
    assert "private key" in result.output or "cannot read" in result.output


def test_registered_mode_decrypts_with_the_uploaded_key_and_applies_the_mode(files: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = developer_world(Settings(data_dir=data))
    registered = ["--data-dir", str(data), "--principal-arn", PROVIDER_ARN]
    unkeyed = doctor(files["encrypted"], *registered, "--json")  # no key uploaded yet: says how to upload, not --private-key
    assert unkeyed.exit_code == 1
    assert f"upload the provider's private key (samlfed providers private-keys add {PROVIDER_ARN} KEY.pem)" in " ".join(json.loads(unkeyed.output)["notes"])
    update_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, encryption=EncryptionChange(add_private_key=SP.key_pem().decode()))
    result = doctor(files["encrypted"], *registered)
    assert result.exit_code == 0, result.output
    plaintext = tmp_path / "plain.b64"
    plaintext.write_text(response_b64())
    assert doctor(plaintext, *registered).exit_code == 0
    update_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, encryption=EncryptionChange(mode="Required"))
    refused = doctor(plaintext, *registered, "--json")
    assert refused.exit_code == 1 and "requires encrypted assertions" in refused.output
    # the doctor takes the registered keys only
    assert doctor(files["encrypted"], *registered, "--private-key", files["sp_key"]).exit_code == 2


def test_a_response_to_the_per_provider_acs_url_passes_with_a_caveat(files: dict[str, Path], tmp_path: Path) -> None:
    """AWS wants encrypted assertions sent to https://{region}.signin.aws.amazon.com/saml/acs/{SAMLProviderUUID}.
    Standalone, the doctor knows no provider's UUID: it failed such a response and told the admin to send it to
    /saml, which cannot take an encrypted assertion."""
    uuid = "CFO93F8P5R2S421CO51V6DGM4Q"
    acs = f"https://us-east-1.signin.aws.amazon.com/saml/acs/{uuid}"
    response = tmp_path / "to-acs.b64"
    response.write_text(encode(response_tree("assertion", encrypt_for=SP, recipient=acs, destination=acs)))
    result = doctor(response, "--metadata", files["metadata"], "--private-key", files["sp_key"], "--json")
    assert result.exit_code == 0, result.output
    caveats = json.loads(result.output)["caveats"]
    assert any(caveat.startswith(f"not checked: that {uuid}, which the response's ACS URL") for caveat in caveats), caveats
    response.write_text(response_b64(recipient=acs, destination=None))  # no Destination: the Recipient names it (found by review)
    assert doctor(response, "--metadata", files["metadata"], "--json").exit_code == 0
    # the UUID's shape is still that of a SAMLProviderUUID, and the URL one of the accepted ones
    for wrong in ("https://us-east-1.signin.aws.amazon.com/saml/acs/not-a-uuid", f"https://sp.example/saml/acs/{uuid}"):
        response.write_text(encode(response_tree("assertion", encrypt_for=SP, recipient=wrong, destination=wrong)))
        refused = doctor(response, "--metadata", files["metadata"], "--private-key", files["sp_key"], "--json")
        assert refused.exit_code == 1 and json.loads(refused.output)["error"]["message"] == "Response Destination is not an accepted endpoint"


@pytest.mark.parametrize(("content", "says"), [
    (lambda: SP.certificate.public_bytes(serialization.Encoding.PEM), "its PEM block is no private key (the IdP's signing certificate goes to --cert)"),
    (lambda: SP.certificate.public_bytes(serialization.Encoding.DER), "it is a certificate, not a private key"),
    (lambda: build_idp_metadata(ENTITY_ID, [signer().certificate]), "it is XML; give IdP metadata with --metadata"),
    (lambda: b"", "the file is empty"),
])
def test_a_private_key_file_that_holds_something_else_says_what(files: dict[str, Path], tmp_path: Path, content: Callable[[], bytes], says: str) -> None:
    """A certificate (often the provider's own encryption certificate, which sits next to its key), metadata or an empty
    file given to --private-key got only 'not an unencrypted PEM RSA private key', as --metadata and --cert files
    are told which option takes them."""
    path = tmp_path / "key.pem"
    path.write_bytes(content())
    result = doctor(files["encrypted"], "--metadata", files["metadata"], "--private-key", path)
    assert result.exit_code == 2
    assert f"{path}: not an unencrypted PEM RSA private key: {says}" in " ".join(result.output.split())
