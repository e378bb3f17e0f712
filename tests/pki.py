"""A certificate authority of the tests' own and a server certificate it issued for 127.0.0.1, as PEM files."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    return (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)])).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )


def make_pki(directory: Path) -> dict[str, Path]:
    """ca.pem (the CA), server.pem and server.key (a server certificate for 127.0.0.1), written into `directory`."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    usage = {name: name in ("digital_signature", "key_cert_sign", "crl_sign") for name in (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
        "encipher_only", "decipher_only")}
    ca = (_certificate("samlfed test CA", ca_key, None).add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(**usage), critical=True).sign(ca_key, hashes.SHA256()))
    server = (_certificate("127.0.0.1", server_key, ("samlfed test CA", ca_key))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


_DER_FLAWS = {
    # tbsCertificate's version [0] EXPLICIT INTEGER 2 (v3) made 5, which no X.509 version is: x509.InvalidVersion
    "version-5": (bytes.fromhex("a003020102"), bytes.fromhex("a003020105")),
    # the subject key's algorithm rsaEncryption (1.2.840.113549.1.1.1) made an unknown one: UnsupportedAlgorithm
    "unknown-key-algorithm": (bytes.fromhex("06092a864886f70d010101"), bytes.fromhex("06092a864886f70d010163")),
}


def damaged_certificate_pem(certificate: x509.Certificate, flaw: str) -> str:
    """`certificate` (RSA, v3) as PEM with one flaw cryptography refuses with an error that is no ValueError."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    found, replacement = _DER_FLAWS[flaw]
    assert der.count(found) == 1, flaw
    body = base64.encodebytes(der.replace(found, replacement)).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"
