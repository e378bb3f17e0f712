"""The built-in IdP encrypts the assertions it issues to a service provider with an `encryption_certificate`:
config validation, the response's shape (signed, then encrypted, then the Response signed), samlfed's validator
with and without the private key, and `samlfed idp encryption-keypair` / `samlfed idp assertion`."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from pki import damaged_certificate_pem
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.idp.config import DATA_ALGORITHMS, KEY_TRANSPORTS, parse_config
from samlfed.idp.directory import DirectoryError, hash_password
from samlfed.idp.presets import PRESETS
from samlfed.idp.service import IdentityProvider
from samlfed.saml import ProviderPolicy, ProviderTrust, RolePair, SamlValidationError, ValidationSettings, validate
from samlfed.saml.metadata import parse_metadata
from samlfed.saml.signing import IdpSigner

ACS = "https://signin.aws.amazon.com/saml"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/corp"
DEVELOPER = "arn:aws:iam::111111111111:role/Developer"
SAML, SAMLP, DS = "urn:oasis:names:tc:SAML:2.0:assertion", "urn:oasis:names:tc:SAML:2.0:protocol", "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
SETTINGS = ValidationSettings()
runner = CliRunner()

SP_KEYS = IdpSigner.generate("sp encryption test")
OTHER_KEYS = IdpSigner.generate("another sp key")


def _config(preset: str = "samlfed", **encryption: object) -> dict:
    sp: dict = {
        "entity_id": "urn:amazon:webservices",
        "acs_urls": [ACS],
        "preset": preset,
        "claims": {
            "roles": [{"group": r"AWS-(\d{12})-(\w+)", "value": "arn:aws:iam::$1:role/$2,arn:aws:iam::$1:saml-provider/corp"}],
            "role_session_name": "email",
        },
        "encryption_certificate": SP_KEYS.cert_pem().decode(),
    }
    if encryption:
        sp["encryption"] = encryption
    return {
        "service_providers": {"aws": sp},
        "users": {"carol": {"password_hash": hash_password("carol's password"), "email": "carol@example.com", "groups": ["AWS-111111111111-Developer"]}},
    }


def _with(**sp_changes: object) -> dict:
    config = _config()
    config["service_providers"]["aws"].update(sp_changes)
    return config


def _idp(tmp_path: Path, config: dict) -> IdentityProvider:
    path = tmp_path / "idp" / "idp.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return IdentityProvider(path, tmp_path / "idp" / "keys", "http://127.0.0.1:9/idp")


def _trust(idp: IdentityProvider, *keys: IdpSigner, response_only: bool = False) -> ProviderTrust:
    registered = parse_metadata(idp.metadata()).trust(policy=ProviderPolicy(allow_response_only_signature=response_only), provider_arn=PROVIDER)
    return ProviderTrust(
        registered.entity_id, registered.signing_keys, registered.policy, PROVIDER, decryption_keys=tuple(k.private_key for k in keys),
    )


def _issue(idp: IdentityProvider) -> str:
    config = idp.config
    return idp.issue(config.directory.get("carol"), config.service_providers["aws"], ACS)


def _root(saml_response: str) -> etree._Element:
    return etree.fromstring(base64.b64decode(saml_response))


def _decrypted(verified) -> bool:  # type: ignore[no-untyped-def]
    """The validator decrypted an EncryptedAssertion (its decryption check passed)."""
    return any(check.id == "encryption.decrypt" and check.status == "pass" for check in verified.response.checks)


def _ec_certificate_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- configuration ---------------------------------------------------------------------------------------------


def test_a_valid_encryption_entry_is_read_with_its_options() -> None:
    sp = parse_config(_config(data_algorithm="aes128-cbc", key_transport="rsa-oaep", detached_key=True)).service_providers["aws"]
    assert sp.encryption is not None
    assert sp.encryption.certificate == SP_KEYS.certificate
    assert sp.encryption.options() == {"data_algorithm": "aes128-cbc", "key_transport": "rsa-oaep", "detached_key": True}
    defaults = parse_config(_config()).service_providers["aws"].encryption
    assert defaults is not None and defaults.options() == {"data_algorithm": "aes256-gcm", "key_transport": "rsa-oaep-mgf1p", "detached_key": False}
    # the base64 body alone, as metadata shows a certificate, is read too
    body = "".join(SP_KEYS.cert_pem().decode().splitlines()[1:-1])
    assert parse_config(_with(encryption_certificate=body)).service_providers["aws"].encryption.certificate == SP_KEYS.certificate  # type: ignore[union-attr]
    plain = _config()
    del plain["service_providers"]["aws"]["encryption_certificate"]
    assert parse_config(plain).service_providers["aws"].encryption is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"encryption_certificate": "not a certificate"}, "is not a readable X.509 certificate"),
        ({"encryption_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "is not a readable X.509 certificate"),
        ({"encryption_certificate": 42}, "must be the PEM text of a certificate"),
        ({"encryption_certificate": SP_KEYS.key_pem().decode()}, "holds a private key"),
        ({"encryption_certificate": (SP_KEYS.cert_pem() + OTHER_KEYS.cert_pem()).decode()}, "holds 2 certificates"),
        ({"encryption_certificate": IdpSigner.generate("small", key_size=1024).cert_pem().decode()}, "holds a 1024-bit RSA key; at least 2048 bits"),
        ({"encryption_certificate": _ec_certificate_pem()}, "must hold an RSA key"),
        # neither is a ValueError: a traceback at start-up before (found by an audit)
        ({"encryption_certificate": damaged_certificate_pem(SP_KEYS.certificate, "version-5")}, "is not a readable X.509 certificate"),
        ({"encryption_certificate": damaged_certificate_pem(SP_KEYS.certificate, "unknown-key-algorithm")}, "is not a readable X.509 certificate"),
        ({"encryption": {"data_algorithm": "aes192-gcm"}}, "encryption.data_algorithm 'aes192-gcm' of service provider 'aws' is unknown; choose one of aes256-gcm"),
        ({"encryption": {"key_transport": "rsa-1_5"}}, "encryption.key_transport 'rsa-1_5' of service provider 'aws' is unknown; choose one of rsa-oaep-mgf1p"),
        ({"encryption": {"data_algorithm": "AES256-GCM"}}, "is unknown"),
        ({"encryption": {"detached_key": "yes"}}, "detached_key of service provider 'aws' must be true or false"),
        ({"encryption": {"algorithm": "aes256-gcm"}}, "unknown option(s) algorithm"),
        ({"encryption": ["aes256-gcm"]}, "must be a mapping"),
        ({"encryption_certificate": None, "encryption": {"data_algorithm": "aes256-gcm"}}, "no encryption_certificate"),
    ],
)
def test_a_bad_encryption_entry_is_a_config_error_naming_the_sp(changes: dict, message: str) -> None:
    with pytest.raises(DirectoryError) as refused:
        parse_config(_with(**changes))
    assert message in str(refused.value)
    assert "'aws'" in str(refused.value)


def test_the_cli_reports_a_bad_encryption_certificate_as_a_usage_error(tmp_path: Path) -> None:
    _idp(tmp_path, _with(encryption_certificate=IdpSigner.generate("small", key_size=1024).cert_pem().decode()))
    result = runner.invoke(app, ["idp", "assertion", "--user", "carol", "--idp-dir", str(tmp_path / "idp"), "--public-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "1024-bit" in result.output and "'aws'" in result.output


# --- the issued response ---------------------------------------------------------------------------------------


def test_the_assertion_is_signed_then_encrypted_and_only_the_providers_key_opens_it(tmp_path: Path) -> None:
    idp = _idp(tmp_path, _config())
    saml_response = _issue(idp)
    root = _root(saml_response)
    assert root.find(f"{{{SAML}}}Assertion") is None
    encrypted = root.find(f"{{{SAML}}}EncryptedAssertion")
    assert encrypted is not None and encrypted.find(f"{{{XENC}}}EncryptedData") is not None
    assert b"carol@example.com" not in base64.b64decode(saml_response)

    verified = validate(saml_response, _trust(idp, SP_KEYS), now=datetime.now(UTC), settings=SETTINGS)
    assert _decrypted(verified)
    assert verified.response.signed == "assertion"  # the Assertion inside was signed before it was encrypted
    assert verified.claims.roles == (RolePair(DEVELOPER, PROVIDER),)
    assert verified.claims.role_session_name == "carol@example.com"

    with pytest.raises(SamlValidationError) as no_key:
        validate(saml_response, _trust(idp), now=datetime.now(UTC), settings=SETTINGS)
    assert "encrypted assertions are not enabled for this provider" in no_key.value.message
    with pytest.raises(SamlValidationError) as wrong_key:
        validate(saml_response, _trust(idp, OTHER_KEYS), now=datetime.now(UTC), settings=SETTINGS)
    assert wrong_key.value.check_id == "encryption.decrypt"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_signs_around_the_encryption_as_idps_do(tmp_path: Path, name: str) -> None:
    idp = _idp(tmp_path, _config(name))
    root = _root(saml_response := _issue(idp))
    response_signed = root.find(f"{{{DS}}}Signature") is not None
    assert response_signed == (PRESETS[name].sign in ("response", "both"))
    if response_signed:  # the Response signature covers the EncryptedAssertion: it comes after it in the document
        assert root.find(f"{{{SAML}}}EncryptedAssertion") is not None
    verified = validate(saml_response, _trust(idp, SP_KEYS, response_only=PRESETS[name].sign == "response"), now=datetime.now(UTC), settings=SETTINGS)
    assert _decrypted(verified) and verified.response.signed == PRESETS[name].sign


@pytest.mark.parametrize("detached_key", [False, True])
@pytest.mark.parametrize("key_transport", KEY_TRANSPORTS)
@pytest.mark.parametrize("data_algorithm", DATA_ALGORITHMS)
def test_every_configurable_algorithm_is_one_samlfed_accepts(tmp_path: Path, data_algorithm: str, key_transport: str, detached_key: bool) -> None:
    idp = _idp(tmp_path, _config(data_algorithm=data_algorithm, key_transport=key_transport, detached_key=detached_key))
    saml_response = _issue(idp)
    encrypted = _root(saml_response).find(f"{{{SAML}}}EncryptedAssertion")
    assert encrypted is not None
    methods = {m.get("Algorithm") for m in encrypted.iter(f"{{{XENC}}}EncryptionMethod")}
    assert any(uri.endswith(data_algorithm) for uri in methods) and any(uri.endswith(key_transport) for uri in methods)
    assert (encrypted.find(f"{{{XENC}}}EncryptedKey") is not None) == detached_key
    verified = validate(saml_response, _trust(idp, SP_KEYS), now=datetime.now(UTC), settings=SETTINGS)
    assert _decrypted(verified) and verified.claims.roles == (RolePair(DEVELOPER, PROVIDER),)


# --- the CLI ---------------------------------------------------------------------------------------------------


def test_encryption_keypair_then_idp_assertion_gives_an_encrypted_response(tmp_path: Path) -> None:
    made = runner.invoke(app, ["idp", "encryption-keypair", str(tmp_path / "enc")])
    assert made.exit_code == 0, made.output
    key_file, cert_file = tmp_path / "enc" / "encryption-key.pem", tmp_path / "enc" / "encryption-cert.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "encryption_certificate: |" in made.output and "samlfed providers private-keys add" in made.output
    assert "/saml/acs/{SAMLProviderUUID}" in made.output
    assert cert_file.read_text().splitlines()[1] in made.output  # the certificate, ready to paste
    pair = IdpSigner.from_pem(key_file.read_bytes(), cert_file.read_bytes())
    assert pair.private_key.key_size == 2048
    # the printed YAML is what the IdP reads
    snippet = made.output[made.output.index("     aws:"): made.output.index("-----END CERTIFICATE-----") + 25]
    pasted = yaml.safe_load(snippet)["aws"]["encryption_certificate"]

    again = runner.invoke(app, ["idp", "encryption-keypair", str(tmp_path / "enc")])
    assert again.exit_code == 2 and "--force" in again.output
    assert key_file.read_bytes() == pair.key_pem()  # never overwritten silently
    assert runner.invoke(app, ["idp", "encryption-keypair", str(tmp_path / "small"), "--key-size", "1024"]).exit_code == 2

    idp = _idp(tmp_path, _with(encryption_certificate=pasted))
    printed = runner.invoke(app, ["idp", "assertion", "--user", "carol", "--idp-dir", str(tmp_path / "idp"), "--public-url", "http://127.0.0.1:9"])
    assert printed.exit_code == 0, printed.output
    saml_response = printed.output.strip()
    assert _root(saml_response).find(f"{{{SAML}}}EncryptedAssertion") is not None
    verified = validate(saml_response, _trust(idp, pair), now=datetime.now(UTC), settings=SETTINGS)
    assert _decrypted(verified) and verified.claims.roles == (RolePair(DEVELOPER, PROVIDER),)
    with pytest.raises(SamlValidationError):
        validate(saml_response, _trust(idp), now=datetime.now(UTC), settings=SETTINGS)
