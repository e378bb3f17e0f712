"""`samlfed serve --tls-certfile --tls-keyfile`: HTTPS without a proxy in front. SDKs verify the certificate and work
as over HTTP; policies see aws:SecureTransport true; weak suites are refused; a bad certificate or key is an error
at start (exit 2), not in every worker."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError
from cryptography.hazmat.primitives import serialization
from pki import make_pki
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from servers import SAMLFED, samlfed_process
from service_world import TRUST
from test_cluster import cli, register


def secure_only(trust: str) -> str:
    """`trust` with each statement allowing only requests over TLS (aws:SecureTransport)."""
    document = json.loads(trust)
    for statement in document["Statement"]:
        statement.setdefault("Condition", {})["Bool"] = {"aws:SecureTransport": "true"}
    return json.dumps(document)


def clients(url: str, admin: dict[str, str], verify: str | bool) -> tuple[Any, Any]:
    keys = {"aws_access_key_id": admin["AccessKeyId"], "aws_secret_access_key": admin["SecretAccessKey"]}
    config = Config(retries={"total_max_attempts": 1})
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", verify=verify, config=config, **keys)
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", verify=verify, config=config.merge(Config(signature_version=UNSIGNED)))
    return iam, sts


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_serve_over_https_verifies_with_the_sdk_and_policies_see_secure_transport(tmp_path: Path, pki: dict[str, Path]) -> None:
    data = str(tmp_path / "data")
    admin = cli("accounts", "create", "--id", "111111111111", "--data-dir", data, "--json")
    tls = ("--tls-certfile", str(pki["cert"]), "--tls-keyfile", str(pki["key"]))
    with samlfed_process(["serve"], "--data-dir", data, *tls, probe="/healthz", tls_ca=str(pki["ca"])) as url:
        assert url.startswith("https://")
        iam, sts = clients(url, admin, str(pki["ca"]))
        register(iam)
        iam.update_assume_role_policy(RoleName="Developer", PolicyDocument=secure_only(TRUST))
        assertion = response_b64(issue_instant=datetime.now(UTC))
        answer = sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)
        assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")

        with pytest.raises(SSLError):  # no certificate check skipped: a client without the CA refuses the server
            clients(url, admin, True)[0].list_roles()

        port = int(url.rsplit(":", 1)[1])
        weak = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        weak.load_verify_locations(pki["ca"])
        weak.maximum_version = ssl.TLSVersion.TLSv1_2
        weak.set_ciphers("ECDHE-ECDSA-AES128-SHA")  # CBC with SHA-1: not among the suites served
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, pytest.raises(ssl.SSLError):
            weak.wrap_socket(raw, server_hostname="127.0.0.1")

    # The same role over plain HTTP: the trust policy's aws:SecureTransport condition now refuses it.
    with samlfed_process(["serve"], "--data-dir", data, probe="/healthz") as url:
        _, sts = clients(url, admin, True)
        with pytest.raises(ClientError) as refused:
            sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def serve_refused(*options: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, "serve", "--data-dir", str(data), "--port", "1", *options], capture_output=True, text=True, timeout=60)


def test_a_certificate_without_its_key_or_a_key_that_is_not_its_own_is_refused_at_start(tmp_path: Path, pki: dict[str, Path]) -> None:
    alone = serve_refused("--tls-certfile", str(pki["cert"]), data=tmp_path / "data")
    assert alone.returncode == 2 and "tls_certfile and tls_keyfile go together" in alone.stderr, alone.stderr
    other = make_pki(tmp_path)  # another CA's certificate, with this key
    mismatched = serve_refused("--tls-certfile", str(other["cert"]), "--tls-keyfile", str(pki["key"]), data=tmp_path / "data")
    assert mismatched.returncode == 2 and f"cannot serve TLS with {other['cert']} and {pki['key']}" in mismatched.stderr, mismatched.stderr
    missing = serve_refused("--tls-certfile", str(tmp_path / "none.pem"), "--tls-keyfile", str(pki["key"]), data=tmp_path / "data")
    assert missing.returncode == 2 and "No such file or directory" in missing.stderr, missing.stderr
    assert "Traceback" not in alone.stderr + mismatched.stderr + missing.stderr


def test_an_encrypted_key_and_a_plain_http_public_url_are_refused_at_start(tmp_path: Path, pki: dict[str, Path]) -> None:
    key = serialization.load_pem_private_key(pki["key"].read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"pass phrase")))
    encrypted = serve_refused("--tls-certfile", str(pki["cert"]), "--tls-keyfile", str(locked), data=tmp_path / "data")
    assert encrypted.returncode == 2 and "the private key is encrypted" in encrypted.stderr, encrypted.stderr
    plain = serve_refused("--tls-certfile", str(pki["cert"]), "--tls-keyfile", str(pki["key"]), "--public-url", "http://127.0.0.1:8443",
                          data=tmp_path / "data")
    assert plain.returncode == 2 and "is http://, but with tls_certfile samlfed serves HTTPS" in plain.stderr, plain.stderr


def _rsa_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate for 127.0.0.1 and its key: the suites a TLS 1.2 client may pick depend on the key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "rsa-cert.pem", directory / "rsa-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _tls12_handshake(port: int, cipher: str, ca: Path) -> str | None:
    """The suite a TLS 1.2 client offering only `cipher` agrees on with the server, or None when it is refused."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(ca)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.set_ciphers(cipher)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                agreed = tls.cipher()
                return agreed[0] if agreed else None
        except ssl.SSLError:
            return None


def test_tls12_suites_are_the_documented_ecdhe_ones_only(tmp_path: Path) -> None:
    """Found by a docs probe: operations.md and security.md said TLS 1.2 took "ECDHE or DHE" suites, but the server
    loads no Diffie-Hellman parameters, so a DHE suite was never agreed on; the docs now name ECDHE only."""
    cert, key = _rsa_certificate(tmp_path)
    data = str(tmp_path / "data")
    with samlfed_process(["serve"], "--data-dir", data, "--tls-certfile", str(cert), "--tls-keyfile", str(key),
                         probe="/healthz", tls_ca=str(cert)) as url:
        port = int(url.rsplit(":", 1)[1])
        assert _tls12_handshake(port, "ECDHE-RSA-AES128-GCM-SHA256", cert) == "ECDHE-RSA-AES128-GCM-SHA256"
        assert _tls12_handshake(port, "ECDHE-RSA-CHACHA20-POLY1305", cert) == "ECDHE-RSA-CHACHA20-POLY1305"
        assert _tls12_handshake(port, "DHE-RSA-AES128-GCM-SHA256", cert) is None
        assert _tls12_handshake(port, "ECDHE-RSA-AES128-SHA256", cert) is None  # CBC: not authenticated encryption
