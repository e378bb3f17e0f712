"""An X509Data may carry the signing certificate's chain: its CA certificates are not signing keys (the CA's holder
could otherwise sign as the IdP). A lone certificate stays a signing key even when marked as a CA, as self-signed
IdP certificates often are."""

from __future__ import annotations

import base64
import copy
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from samlfed.saml import constants as c
from samlfed.saml.errors import MetadataError
from samlfed.saml.metadata import MAX_KEY_DESCRIPTOR_CERTIFICATES, build_idp_metadata, parse_metadata

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


def _metadata_with_key_descriptors(*groups: tuple[x509.Certificate, ...], x509_data_each: bool = False) -> bytes:
    """One KeyDescriptor per group; its certificates in one X509Data, or each in its own X509Data of that KeyInfo."""
    root = etree.fromstring(build_idp_metadata("https://idp.example.test/saml", [groups[0][0]]))
    descriptor = root.find(f".//{c.MD_KEY_DESCRIPTOR}")
    for _ in groups[1:]:
        descriptor.addnext(copy.deepcopy(descriptor))
    for descriptor, group in zip(root.iterfind(f".//{c.MD_KEY_DESCRIPTOR}"), groups, strict=True):
        key_info = descriptor.find(c.DS_KEY_INFO)
        for child in list(key_info):
            key_info.remove(child)
        x509_data = None
        for certificate in group:
            if x509_data is None or x509_data_each:
                x509_data = etree.SubElement(key_info, c.DS_X509_DATA)
            etree.SubElement(x509_data, c.DS_X509_CERTIFICATE).text = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    return etree.tostring(root)


def test_a_chain_in_another_x509data_of_the_key_descriptor_is_not_trusted_either() -> None:
    """Found by a metadata probe: the CA certificate in its own X509Data of the leaf's KeyInfo was trusted."""
    for order in ((LEAF, CA), (CA, LEAF)):
        metadata = parse_metadata(_metadata_with_key_descriptors(order, x509_data_each=True), now=NOW)
        assert {key.subject for key in metadata.signing_keys} == {"CN=idp signing"}
        assert any("CN=Corp CA issued the signing certificate CN=idp signing" in warning for warning in metadata.warnings)


def test_each_key_descriptor_is_a_key_whichever_certificate_signed_it() -> None:
    """Found by the diff review: during a rotation the next certificate may be signed by the current key, published
    in a KeyDescriptor of its own; both are the IdP's keys. A KeyDescriptor names a key, so none is taken as another's
    chain (a CA certificate published as a KeyDescriptor of its own is trusted as the metadata says)."""
    current_key, next_key = rsa.generate_private_key(public_exponent=65537, key_size=2048), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    current = _certificate("idp", current_key, ca=True, signer=current_key, issuer="idp")
    following = _certificate("idp", next_key, ca=None, signer=current_key, issuer="idp")
    assert len(parse_metadata(_metadata_with_key_descriptors((current,), (following,)), now=NOW).signing_keys) == 2
    assert _trusted(_metadata_with_key_descriptors((CA,), (LEAF,))) == {"CN=Corp CA", "CN=idp signing"}


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)


def test_an_issuer_that_signed_with_sha1_is_still_left_out(tmp_path: Path) -> None:
    """Found by the diff review: a leaf signed with SHA-1 by its CA (verify_directly_issued_by refuses SHA-1, and
    cryptography will not make such a certificate: openssl does) kept the CA as a signing key."""
    _openssl(tmp_path, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Corp CA", "-days", "30")
    _openssl(tmp_path, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=idp signing")
    _openssl(tmp_path, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "30", "-sha1")
    ca, leaf = (x509.load_pem_x509_certificate((tmp_path / name).read_bytes()) for name in ("ca.pem", "leaf.pem"))
    assert leaf.signature_hash_algorithm.name == "sha1"
    assert _trusted(_metadata_with_key_descriptors((leaf, ca), x509_data_each=True)) == {"CN=idp signing"}
    forged = _certificate("idp signing", IDP_KEY, ca=False, signer=IDP_KEY, issuer="Corp CA")  # names the CA, not signed by it
    assert _trusted(_metadata_with_key_descriptors((forged, ca), x509_data_each=True)) == {"CN=idp signing", "CN=Corp CA"}


def test_certificates_that_each_issued_the_other_leave_no_key_and_say_so() -> None:
    key_a, key_b = rsa.generate_private_key(public_exponent=65537, key_size=2048), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    a = _certificate("A", key_a, ca=None, signer=key_b, issuer="B")
    b = _certificate("B", key_b, ca=None, signer=key_a, issuer="A")
    with pytest.raises(MetadataError, match="each issued another of them"):
        parse_metadata(_metadata_with_key_descriptors((a, b), x509_data_each=True), now=NOW)


def test_an_intermediate_not_marked_as_a_ca_is_known_by_what_it_issued() -> None:
    intermediate_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    intermediate = _certificate("Issuing CA", intermediate_key, ca=None, signer=CA_KEY, issuer="Corp CA")
    leaf = _certificate("idp signing", IDP_KEY, ca=False, signer=intermediate_key, issuer="Issuing CA")
    assert _trusted(_metadata_with_one_x509data(leaf, intermediate, CA)) == {"CN=idp signing"}


def test_certificates_renewed_on_the_same_key_or_self_signed_under_one_name_all_stay() -> None:
    """A renewal keeps the key (it "issued" itself again: nothing more is trusted); two self-signed CA-marked
    certificates of one name, during a rotation, issued neither the other."""
    renewed = _certificate("Corp CA", CA_KEY, ca=True, signer=CA_KEY, issuer="Corp CA")
    assert len(parse_metadata(_metadata_with_key_descriptors((CA,), (renewed,)), now=NOW).signing_keys) == 2
    next_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    successor = _certificate("Corp CA", next_key, ca=True, signer=next_key, issuer="Corp CA")
    assert len(parse_metadata(_metadata_with_key_descriptors((CA,), (successor,)), now=NOW).signing_keys) == 2


def test_a_key_descriptor_with_two_key_infos_is_refused() -> None:
    root = etree.fromstring(_metadata_with_key_descriptors((LEAF,)))
    key_info = root.find(f".//{c.DS_KEY_INFO}")
    key_info.addnext(copy.deepcopy(key_info))
    with pytest.raises(MetadataError, match="more than one ds:KeyInfo"):
        parse_metadata(etree.tostring(root), now=NOW)


def test_a_comment_inside_a_certificate_is_read_past_but_an_element_is_refused() -> None:
    root = etree.fromstring(_metadata_with_key_descriptors((LEAF,)))
    element = root.find(f".//{c.DS_X509_CERTIFICATE}")
    text = element.text
    element.text = text[:100]
    element.append(etree.Comment("rotated 2026"))
    element[-1].tail = text[100:]
    assert _trusted(etree.tostring(root)) == {"CN=idp signing"}
    etree.SubElement(element, "{urn:example}note")
    with pytest.raises(MetadataError, match="holds an element"):
        parse_metadata(etree.tostring(root), now=NOW)


def test_a_key_descriptor_with_more_certificates_than_a_chain_is_refused() -> None:
    with pytest.raises(MetadataError, match=f"a KeyDescriptor holds more than {MAX_KEY_DESCRIPTOR_CERTIFICATES} certificates"):
        parse_metadata(_metadata_with_key_descriptors((LEAF,) * (MAX_KEY_DESCRIPTOR_CERTIFICATES + 1)), now=NOW)
