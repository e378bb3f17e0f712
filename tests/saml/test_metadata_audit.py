"""Metadata whose certificates decode only partly or hold unusable keys: refused as "Could not parse metadata.", never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml_factory import ENTITY_ID, NOW, signer
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.saml import MetadataError
from samlfed.saml.metadata import MAX_RSA_BITS, build_idp_metadata, parse_metadata
from samlfed.server import build_context

ACCOUNT = "111111111111"
SUBJECT, ISSUER = "subject-name-xyz", "issuer-name-xyz"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate_der() -> bytes:
    key = signer().private_key
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(SUBJECT))
        .issuer_name(_name(ISSUER))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def with_broken_name(common_name: str) -> bytes:
    """Metadata whose certificate loads, but whose `common_name` is a UTF8String that is not UTF-8."""
    der = _certificate_der()
    broken = der.replace(common_name.encode(), b"\xff" * len(common_name))
    assert broken != der and x509.load_der_x509_certificate(broken)  # it loads: only the name is broken
    genuine = base64.b64encode(signer().certificate.public_bytes(serialization.Encoding.DER))
    document = build_idp_metadata(ENTITY_ID, [signer().certificate])
    return document.replace(genuine, base64.b64encode(broken))


@pytest.mark.parametrize("common_name", [SUBJECT, ISSUER], ids=["subject", "issuer"])
def test_certificate_with_an_undecodable_name_is_refused(common_name: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_metadata(with_broken_name(common_name), now=NOW)
    assert "not a valid DER X.509 certificate" in info.value.reason
    assert info.value.aws_message == "Could not parse metadata."


def with_bit_string_name(common_name: str) -> bytes:
    """Metadata whose certificate loads, but whose `common_name` is a BIT STRING: cryptography allows that type only
    for x500UniqueIdentifier, and decoding the name raises TypeError."""
    der = _certificate_der()
    utf8 = b"\x0c" + bytes([len(common_name)]) + common_name.encode()  # UTF8String
    assert der.count(utf8) == 1
    bits = b"\x03" + bytes([len(common_name)]) + b"\x00" + common_name.encode()[1:]  # BIT STRING, no unused bits
    assert x509.load_der_x509_certificate(der.replace(utf8, bits))  # it loads: only the name is broken
    genuine = base64.b64encode(signer().certificate.public_bytes(serialization.Encoding.DER))
    document = build_idp_metadata(ENTITY_ID, [signer().certificate])
    return document.replace(genuine, base64.b64encode(der.replace(utf8, bits)))


@pytest.mark.parametrize("common_name", [SUBJECT, ISSUER], ids=["subject", "issuer"])
def test_certificate_with_a_bit_string_name_is_refused(common_name: str) -> None:
    """Found by mutating a chain certificate's DER: the TypeError cryptography raises for such a name escaped
    parse_metadata (CreateSAMLProvider answered 500 InternalFailure)."""
    with pytest.raises(MetadataError) as info:
        parse_metadata(with_bit_string_name(common_name), now=NOW)
    assert "not a valid DER X.509 certificate" in info.value.reason
    assert info.value.aws_message == "Could not parse metadata."


@pytest.fixture(scope="module")
def iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("data")))
    admin = create_account(ctx, ACCOUNT, "metadata-audit")
    with app_in_thread(build_app(ctx)) as url:
        yield boto3.client(
            "iam",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=admin.access_key_id,
            aws_secret_access_key=admin.secret_access_key,
        )


def test_create_saml_provider_answers_invalid_input_not_a_500(iam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        iam.create_saml_provider(SAMLMetadataDocument=with_broken_name(SUBJECT).decode(), Name="BrokenSubject")
    error = info.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("InvalidInput", "Could not parse metadata.")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def with_modulus_bits(bits: int) -> bytes:
    """Metadata whose certificate (signed by the test IdP key) certifies a bare RSA modulus of `bits` bits."""
    public_key = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 1).public_key()
    key = signer().private_key
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(f"rsa-{bits}"))
        .issuer_name(_name(ISSUER))
        .public_key(public_key)
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return build_idp_metadata(ENTITY_ID, [certificate])


def test_rsa_key_over_openssl_limit_is_refused() -> None:
    """OpenSSL refuses RSA operations with a modulus over 16384 bits ("modulus too large"): such a key verifies nothing."""
    with pytest.raises(MetadataError) as info:
        parse_metadata(with_modulus_bits(MAX_RSA_BITS + 1), now=NOW)
    assert f"{MAX_RSA_BITS + 1}-bit RSA key; over {MAX_RSA_BITS} bits it can verify no signature" in info.value.reason
    assert [k.key_size for k in parse_metadata(with_modulus_bits(MAX_RSA_BITS), now=NOW).signing_keys] == [MAX_RSA_BITS]


def test_a_signing_key_under_1024_bits_gets_awss_documented_message(iam) -> None:  # type: ignore[no-untyped-def]
    """Contract §6.3: AWS documents "Unable to parse metadata" for a signing certificate whose key is under 1024 bits."""
    with pytest.raises(ClientError) as info:
        iam.create_saml_provider(SAMLMetadataDocument=with_modulus_bits(512).decode(), Name="ShortKey")
    error = info.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidInput", "Unable to parse metadata", 400)


def with_x509_version(version: int) -> bytes:
    """Metadata whose certificate states X.509 version number `version` (v3 is 2; 0 to 2 are the only valid ones)."""
    der = _certificate_der()
    v3 = b"\xa0\x03\x02\x01\x02"  # tbsCertificate's version: [0] EXPLICIT INTEGER 2
    assert der.count(v3) == 1
    genuine = base64.b64encode(signer().certificate.public_bytes(serialization.Encoding.DER))
    document = build_idp_metadata(ENTITY_ID, [signer().certificate])
    return document.replace(genuine, base64.b64encode(der.replace(v3, v3[:-1] + bytes([version]))))


def test_certificate_with_an_invalid_version_is_refused() -> None:
    """Found by mutating a certificate's DER: cryptography raises x509.InvalidVersion, no ValueError, for a version
    number other than v1-v3, and it escaped parse_metadata (CreateSAMLProvider answered 500 InternalFailure)."""
    with pytest.raises(MetadataError) as info:
        parse_metadata(with_x509_version(5), now=NOW)
    assert "not a valid DER X.509 certificate" in info.value.reason
    assert info.value.aws_message == "Could not parse metadata."


def test_create_saml_provider_answers_invalid_input_for_an_invalid_version(iam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        iam.create_saml_provider(SAMLMetadataDocument=with_x509_version(5).decode(), Name="BadVersion")
    error = info.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidInput", "Could not parse metadata.", 400)


def test_create_saml_provider_answers_invalid_input_for_a_bit_string_name(iam) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        iam.create_saml_provider(SAMLMetadataDocument=with_bit_string_name(SUBJECT).decode(), Name="BitStringName")
    error = info.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidInput", "Could not parse metadata.", 400)
