"""An X509Data may carry the signing certificate's chain: its CA certificates are not signing keys (the CA's holder
could otherwise sign as the IdP). A lone certificate stays a signing key even when marked as a CA, as self-signed
IdP certificates often are."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from samlfed.saml import constants as c
from samlfed.saml.metadata import build_idp_metadata, parse_metadata

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
CA_KEY, IDP_KEY = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))


def _certificate(common_name: str, key: rsa.RSAPrivateKey, *, ca: bool | None, signer: rsa.RSAPrivateKey, issuer: str) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(signer, hashes.SHA256())


CA = _certificate("Corp CA", CA_KEY, ca=True, signer=CA_KEY, issuer="Corp CA")
LEAF = _certificate("idp signing", IDP_KEY, ca=False, signer=CA_KEY, issuer="Corp CA")


def _metadata_with_one_x509data(*certificates: x509.Certificate) -> bytes:
    root = etree.fromstring(build_idp_metadata("https://idp.example.test/saml", [certificates[0]]))
    x509_data = root.find(f".//{c.DS_X509_DATA}")
    for extra in certificates[1:]:
        element = etree.SubElement(x509_data, c.DS_X509_CERTIFICATE)
        element.text = base64.b64encode(extra.public_bytes(serialization.Encoding.DER)).decode()
    return etree.tostring(root)


def _trusted(document: bytes) -> set[str]:
    return {key.subject for key in parse_metadata(document, now=NOW).signing_keys}


def test_the_chain_beside_a_signing_certificate_is_not_trusted() -> None:
    for order in ((LEAF, CA), (CA, LEAF)):
        metadata = parse_metadata(_metadata_with_one_x509data(*order), now=NOW)
        assert {key.subject for key in metadata.signing_keys} == {"CN=idp signing"}
        assert any("CA certificate CN=Corp CA" in warning and "chain" in warning for warning in metadata.warnings)


def test_a_lone_certificate_stays_a_signing_key_even_marked_as_a_ca() -> None:
    assert _trusted(_metadata_with_one_x509data(CA)) == {"CN=Corp CA"}


def test_certificates_that_are_no_cas_all_stay() -> None:
    other = _certificate("idp next", CA_KEY, ca=None, signer=CA_KEY, issuer="idp next")
    assert _trusted(_metadata_with_one_x509data(LEAF, other)) == {"CN=idp signing", "CN=idp next"}
