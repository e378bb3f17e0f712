"""An application's `request_certificate` in idp.yaml is read with the rest of the file: one that cannot check a
signature is a clear configuration error at once (503 pages, a CLI usage error), not an internal error (500, a
traceback in the log) at each signed AuthnRequest."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from demo_stack import demo_server
from lxml import etree
from pki import damaged_certificate_pem
from test_web_flows import _authn_request

from samlfed.idp.config import parse_config
from samlfed.idp.directory import DirectoryError
from samlfed.saml.signing import IdpSigner, sign_element
from samlfed.saml.xmlparse import parse_xml


def _ec_certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "an EC service provider")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
                   .not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _config(request_certificate: Any) -> dict[str, Any]:
    provider = {"entity_id": "urn:amazon:webservices", "acs_urls": ["https://signin.aws.amazon.com/saml"], "request_certificate": request_certificate}
    return {"service_providers": {"aws": provider}}


@pytest.mark.parametrize(
    ("certificate", "message"),
    [
        ("garbage", "is not a PEM certificate"),
        (42, "is not a PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "is not a PEM certificate"),
        (IdpSigner.generate("sp").certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(), "is not a PEM certificate"),
        (_ec_certificate(), "must hold an RSA key"),
        # neither is a ValueError: a traceback at start-up before (found by an audit)
        (damaged_certificate_pem(IdpSigner.generate("sp").certificate, "version-5"), "is not a PEM certificate"),
        (damaged_certificate_pem(IdpSigner.generate("sp").certificate, "unknown-key-algorithm"), "is not a PEM certificate"),
    ],
    ids=["text", "number", "bad-body", "public-key", "ec", "version-5", "unknown-key-algorithm"],
)
def test_an_unusable_request_certificate_is_a_configuration_error(certificate: Any, message: str) -> None:
    with pytest.raises(DirectoryError, match=f"request_certificate of service provider 'aws' {message}"):
        parse_config(_config(certificate))


def test_an_rsa_certificate_is_taken() -> None:
    pem = IdpSigner.generate("sp").cert_pem().decode()
    assert parse_config(_config(pem)).service_providers["aws"].request_certificate == pem


def test_a_signed_request_to_an_idp_with_an_unreadable_certificate_is_not_an_internal_error(tmp_path: Path) -> None:
    def garble(_ctx: object, idp: Any, _url: str) -> None:
        data = yaml.safe_load(idp.config_path.read_text())
        data["service_providers"]["aws"]["request_certificate"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        idp.config_path.write_text(yaml.safe_dump(data))

    request = parse_xml(_authn_request("urn:amazon:webservices", None))
    sign_element(request, IdpSigner.generate("sp"))
    with demo_server(tmp_path, prepare=garble) as stack:
        signed = base64.b64encode(etree.tostring(request)).decode()
        answer = httpx.post(f"{stack['url']}/idp/sso", data={"SAMLRequest": signed})
    assert answer.status_code == 503, answer.text
    assert "request_certificate of service provider" not in answer.text  # the reason is for the operator's log
