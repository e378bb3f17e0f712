"""samlfed.saml.xmlenc: real IdP encrypted assertions, python-xmlsec both ways, and every allowed algorithm.

The refusals and the decryption-oracle cases are in tests/attacks/test_xmlenc_attacks.py.
"""

from __future__ import annotations

import base64
import os
from functools import cache
from itertools import product

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from saml_factory import response_tree
from shared_paths import shared_dir

from samlfed.saml import constants as c
from samlfed.saml import xmlenc
from samlfed.saml.xmlenc import decrypt_assertion, encrypt_assertion, plaintext_in_context
from samlfed.saml.xmlparse import parse_xml

FIXTURES = shared_dir() / "fixtures" / "saml"
SP_KEY_PEM = (FIXTURES / "gosaml2" / "oktaenc_sp_encryption_key.pem").read_bytes()
SP_CERT_PEM = (FIXTURES / "gosaml2" / "oktaenc_sp_encryption_cert.pem").read_bytes()
SP_KEY = load_pem_private_key(SP_KEY_PEM, None)
SP_CERT = x509.load_pem_x509_certificate(SP_CERT_PEM)
assert isinstance(SP_KEY, rsa.RSAPrivateKey)

XENC = "{http://www.w3.org/2001/04/xmlenc#}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
DATA_ALGORITHMS = ["aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc"]
# Every allowed (key transport, OAEP digest, MGF1 digest).
TRANSPORTS = [("rsa-oaep-mgf1p", d, "sha1") for d in ("sha1", "sha256", "sha384", "sha512")] + [
    ("rsa-oaep", d, m) for d, m in product(("sha1", "sha224", "sha256", "sha384", "sha512"), repeat=2)
]


@cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def assertion_xml() -> bytes:
    """A signed AWS-shaped assertion from the test factory, serialized on its own (as an IdP encrypts it)."""
    assertion = response_tree("assertion").find(c.ASSERTION)
    assert assertion is not None
    return etree.tostring(assertion)


def parse_plaintext(plaintext: bytes, encrypted_assertion: etree._Element) -> etree._Element:
    """Parse a decrypted assertion the way the pipeline must: hardened parser, in the namespace context of the
    EncryptedAssertion, and exactly one element."""
    wrapper = parse_xml(plaintext_in_context(plaintext, encrypted_assertion.nsmap))
    assert not (wrapper.text or "").strip() and len(wrapper) == 1 and not (wrapper[0].tail or "").strip()
    return wrapper[0]


def xmlsec_decrypt(encrypted_assertion: etree._Element, key_pem: bytes) -> bytes:
    """python-xmlsec's plaintext: without Type, libxmlsec returns the decrypted octets instead of replacing the node."""
    document = etree.fromstring(etree.tostring(encrypted_assertion))
    xmlsec.tree.add_ids(document, ["Id"])  # so that a RetrievalMethod finds the detached EncryptedKey
    encrypted_data = document.find(XENC + "EncryptedData")
    encrypted_data.attrib.pop("Type", None)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(key_pem, xmlsec.KeyFormat.PEM, None))
    result = xmlsec.EncryptionContext(manager).decrypt(encrypted_data)
    assert isinstance(result, bytes)
    return result


# --- the real fixtures -------------------------------------------------------------------------------------------

REAL = [
    ("gosaml2/adfs_response_enc.b64", "gosaml2/adfs_sp_encryption_key.pem", "inline"),
    ("gosaml2/oktaenc_response.b64", "gosaml2/oktaenc_sp_encryption_key.pem", "detached"),
    ("node-saml/signatures/valid/response.root-signed.assertion-unsigned-encrypted.xml", "node-saml/testshib_encryption_pvk.pem", "inline"),
    ("node-saml/signatures/invalid/response.root-signed.assertion-invalidly-signed-encrypted.xml", "node-saml/testshib_encryption_pvk.pem", "inline"),
]


def real_encrypted_assertion(path: str) -> etree._Element:
    data = (FIXTURES / path).read_bytes()
    root = parse_xml(base64.b64decode(data) if path.endswith(".b64") else data)
    found = root.findall(c.ENCRYPTED_ASSERTION)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(("path", "key", "placement"), REAL, ids=[r[0].rsplit("/", 1)[-1] for r in REAL])
def test_real_fixture_decrypts_to_one_assertion(path: str, key: str, placement: str) -> None:
    encrypted = real_encrypted_assertion(path)
    encrypted_data = encrypted.find(XENC + "EncryptedData")
    # The fixture has the shape the README says, so both placements are covered by real IdP output.
    if placement == "detached":
        assert encrypted.find(XENC + "EncryptedKey") is not None
        assert encrypted_data.find(f"{DS}KeyInfo/{DS}RetrievalMethod") is not None
    else:
        assert encrypted_data.find(f"{DS}KeyInfo/{XENC}EncryptedKey") is not None
    key_pem = (FIXTURES / key).read_bytes()
    plaintext = decrypt_assertion(encrypted, [load_pem_private_key(key_pem, None)])
    assertion = parse_plaintext(plaintext, encrypted)
    assert assertion.tag == c.ASSERTION and assertion.get("ID")
    # The same octets as libxmlsec gets from the same document and key.
    assert plaintext == xmlsec_decrypt(encrypted, key_pem)


def test_node_saml_plaintext_needs_the_namespace_context() -> None:
    """The TestShib plaintext uses the Response's `saml` prefix without declaring it: parsing it alone fails."""
    encrypted = real_encrypted_assertion(REAL[2][0])
    plaintext = decrypt_assertion(encrypted, [load_pem_private_key((FIXTURES / REAL[2][1]).read_bytes(), None)])
    assert plaintext.startswith(b"<saml:Assertion") and b"xmlns:saml=" not in plaintext.split(b">", 1)[0]
    assert b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' in plaintext_in_context(plaintext, encrypted.nsmap).split(b">", 1)[0]
    assert parse_plaintext(plaintext, encrypted).tag == c.ASSERTION


def test_adfs_fixture_needs_its_own_key() -> None:
    encrypted = real_encrypted_assertion(REAL[0][0])
    with pytest.raises(xmlenc.SamlValidationError) as caught:
        decrypt_assertion(encrypted, [other_key()])
    assert caught.value.message == xmlenc.DECRYPTION_FAILED


# --- python-xmlsec, both ways ------------------------------------------------------------------------------------

XMLSEC_DATA = {
    "aes128-cbc": (xmlsec.Transform.AES128, 128),
    "aes256-cbc": (xmlsec.Transform.AES256, 256),
    "aes128-gcm": (xmlsec.Transform.AES128_GCM, 128),
    "aes256-gcm": (xmlsec.Transform.AES256_GCM, 256),
}
# libxmlsec reads the key transport (and its DigestMethod and MGF) from the template, so the template is edited
# to name the ones python-xmlsec has no constant for.
XMLSEC_TRANSPORTS = [
    (xmlenc.ALG_RSA_OAEP_MGF1P, None, None),
    (xmlenc.ALG_RSA_OAEP_MGF1P, c.ALG_SHA256, None),
    (xmlenc.ALG_RSA_OAEP, c.ALG_SHA256, "http://www.w3.org/2009/xmlenc11#mgf1sha256"),
    (xmlenc.ALG_RSA_OAEP, None, None),
]


def xmlsec_encrypt(plaintext: bytes, data_algorithm: str, transport: tuple[str, str | None, str | None]) -> etree._Element:
    method, digest, mgf = transport
    transform, bits = XMLSEC_DATA[data_algorithm]
    encrypted = etree.Element(c.ENCRYPTED_ASSERTION, nsmap={"saml": c.NS_ASSERTION})
    data = xmlsec.template.encrypted_data_create(encrypted, transform, type=xmlsec.EncryptionType.ELEMENT, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(data)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(data, ns="dsig")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    encryption_method = encrypted_key.find(XENC + "EncryptionMethod")
    encryption_method.set("Algorithm", method)
    if digest:
        etree.SubElement(encryption_method, DS + "DigestMethod", Algorithm=digest)
    if mgf:
        etree.SubElement(encryption_method, "{http://www.w3.org/2009/xmlenc11#}MGF", Algorithm=mgf)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(SP_CERT_PEM, xmlsec.KeyFormat.CERT_PEM, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.KeyData.AES, bits, xmlsec.KeyDataType.SESSION)
    result = context.encrypt_binary(data, plaintext)
    if result.getparent() is None:
        encrypted.append(result)
    assert encrypted.find(XENC + "EncryptedData").find(XENC + "EncryptionMethod").get("Algorithm").endswith(data_algorithm)
    return encrypted


@pytest.mark.parametrize("transport", XMLSEC_TRANSPORTS, ids=lambda t: "+".join(str(x).rsplit("#", 1)[-1] for x in t))
@pytest.mark.parametrize("data_algorithm", DATA_ALGORITHMS)
def test_what_xmlsec_encrypts_we_decrypt(data_algorithm: str, transport: tuple[str, str | None, str | None]) -> None:
    plaintext = assertion_xml()
    encrypted = xmlsec_encrypt(plaintext, data_algorithm, transport)
    # Serialized and parsed again, as it would arrive (libxmlsec line-wraps the base64).
    arrived = parse_xml(etree.tostring(encrypted))
    assert b"\n" in (arrived.find(f".//{XENC}CipherValue").text or "").encode()
    assert decrypt_assertion(arrived, [SP_KEY]) == plaintext


@pytest.mark.parametrize("detached", [False, True], ids=["inline", "detached"])
@pytest.mark.parametrize("data_algorithm", DATA_ALGORITHMS)
def test_what_we_encrypt_xmlsec_decrypts(data_algorithm: str, detached: bool) -> None:
    plaintext = assertion_xml()
    encrypted = encrypt_assertion(plaintext, SP_CERT, data_algorithm=data_algorithm, detached_key=detached)
    assert xmlsec_decrypt(encrypted, SP_KEY_PEM) == plaintext


@pytest.mark.parametrize(("transport", "digest", "mgf"), TRANSPORTS)
def test_every_key_transport_we_write_xmlsec_decrypts(transport: str, digest: str, mgf: str) -> None:
    plaintext = assertion_xml()
    encrypted = encrypt_assertion(plaintext, SP_CERT, key_transport=transport, oaep_digest=digest, mgf_digest=mgf)
    assert xmlsec_decrypt(encrypted, SP_KEY_PEM) == plaintext


def test_xmlsec_replaces_the_node_with_the_assertion() -> None:
    """With Type=Element kept, libxmlsec parses the plaintext in place: it is one saml:Assertion."""
    encrypted = encrypt_assertion(assertion_xml(), SP_CERT, detached_key=True)
    document = etree.fromstring(etree.tostring(encrypted))
    xmlsec.tree.add_ids(document, ["Id"])
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(SP_KEY_PEM, xmlsec.KeyFormat.PEM, None))
    decrypted = xmlsec.EncryptionContext(manager).decrypt(document.find(XENC + "EncryptedData"))
    assert decrypted.tag == c.ASSERTION
    assert etree.tostring(decrypted, method="c14n", exclusive=True) == etree.tostring(
        etree.fromstring(assertion_xml()), method="c14n", exclusive=True
    )


# --- round trips ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("detached", [False, True], ids=["inline", "detached"])
@pytest.mark.parametrize(("transport", "digest", "mgf"), TRANSPORTS)
@pytest.mark.parametrize("data_algorithm", DATA_ALGORITHMS)
def test_round_trip(data_algorithm: str, transport: str, digest: str, mgf: str, detached: bool) -> None:
    plaintext = assertion_xml()
    encrypted = encrypt_assertion(
        plaintext, SP_KEY.public_key(), data_algorithm=data_algorithm, key_transport=transport, oaep_digest=digest, mgf_digest=mgf, detached_key=detached
    )
    arrived = parse_xml(etree.tostring(encrypted))
    decrypted = decrypt_assertion(arrived, [SP_KEY])
    assert decrypted == plaintext
    assert parse_plaintext(decrypted, arrived).tag == c.ASSERTION


def test_shapes_follow_the_real_idps() -> None:
    """AD FS: the EncryptedKey inside KeyInfo; Okta: beside EncryptedData, named by a RetrievalMethod."""
    inline = encrypt_assertion(b"<a/>", SP_CERT)
    assert [child.tag for child in inline] == [XENC + "EncryptedData"]
    data = inline[0]
    assert data.get("Type") == xmlenc.TYPE_ELEMENT
    assert [child.tag for child in data] == [XENC + "EncryptionMethod", DS + "KeyInfo", XENC + "CipherData"]
    key = data.find(f"{DS}KeyInfo/{XENC}EncryptedKey")
    assert key.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate") is not None  # the recipient certificate, as IdPs add it

    detached = encrypt_assertion(b"<a/>", SP_KEY.public_key(), detached_key=True)
    assert [child.tag for child in detached] == [XENC + "EncryptedData", XENC + "EncryptedKey"]
    retrieval = detached[0].find(f"{DS}KeyInfo/{DS}RetrievalMethod")
    assert retrieval.get("URI") == "#" + detached[1].get("Id") and retrieval.get("Type") == xmlenc.TYPE_ENCRYPTED_KEY
    assert detached[1].find(f"{XENC}ReferenceList/{XENC}DataReference").get("URI") == "#" + detached[0].get("Id")
    assert detached[1].find(DS + "KeyInfo") is None  # a bare public key: no certificate to name


def test_fresh_key_and_iv_on_every_call() -> None:
    """pysaml2 CVE-2017-1000246 used a static IV: two encryptions of the same plaintext share no CipherValue."""
    values = [
        [v.text for v in encrypt_assertion(b"<a/>", SP_CERT, data_algorithm=alg).iter(XENC + "CipherValue")]
        for alg in ("aes256-gcm", "aes256-gcm", "aes128-cbc", "aes128-cbc")
    ]
    assert values[0][0] != values[1][0] and values[0][1] != values[1][1]
    assert values[2][0] != values[3][0] and values[2][1][:24] != values[3][1][:24]  # the IV leads the ciphertext


@pytest.mark.parametrize(
    "options",
    [
        dict(data_algorithm="aes192-cbc"),
        dict(data_algorithm="tripledes-cbc"),
        dict(key_transport="rsa-1_5"),
        dict(oaep_digest="md5"),
        dict(oaep_digest="sha224"),  # rsa-oaep-mgf1p takes SHA-1 and SHA-2 256/384/512 only
        dict(key_transport="rsa-oaep-mgf1p", mgf_digest="sha256"),  # its MGF is MGF1-SHA1 by definition
    ],
)
def test_encrypt_refuses_what_decrypt_would(options: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encrypt_assertion(b"<a/>", SP_CERT, **options)  # type: ignore[arg-type]


def wrap(session_key: bytes) -> str:
    oaep = padding.OAEP(mgf=padding.MGF1(xmlenc._HASHES["sha1"]()), algorithm=xmlenc._HASHES["sha1"](), label=None)
    return base64.b64encode(SP_KEY.public_key().encrypt(session_key, oaep)).decode()


@pytest.mark.parametrize("pad", [1, 7, 16])
def test_cbc_padding_bytes_other_than_the_last_are_arbitrary(pad: int) -> None:
    """XML Encryption padding is not PKCS#7: only the last byte (the length) counts (libxmlsec agrees)."""
    plaintext = assertion_xml()[: 16 * 20 - pad]
    session_key, iv = os.urandom(16), os.urandom(16)
    padded = plaintext + os.urandom(pad - 1).replace(bytes([pad]), b"\x00") + bytes([pad])
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
    ciphertext = iv + encryptor.update(padded) + encryptor.finalize()
    encrypted = encrypt_assertion(b"<a/>", SP_CERT, data_algorithm="aes128-cbc")
    key_value, data_value = list(encrypted.iter(XENC + "CipherValue"))
    key_value.text, data_value.text = wrap(session_key), base64.b64encode(ciphertext).decode()
    assert decrypt_assertion(encrypted, [SP_KEY]) == plaintext
    assert xmlsec_decrypt(encrypted, SP_KEY_PEM) == plaintext


def test_cipher_value_may_be_line_wrapped() -> None:
    encrypted = encrypt_assertion(assertion_xml(), SP_CERT)
    for value in encrypted.iter(XENC + "CipherValue"):
        text = value.text or ""
        value.text = "\n  " + "\r\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n\t"
    assert decrypt_assertion(encrypted, [SP_KEY]) == assertion_xml()


def test_key_rotation_tries_every_key() -> None:
    """AWS keeps up to two private keys during a rotation; the matching one may be the second."""
    encrypted = encrypt_assertion(assertion_xml(), SP_CERT)
    assert decrypt_assertion(encrypted, [other_key(), SP_KEY]) == assertion_xml()
    assert decrypt_assertion(encrypted, [SP_KEY, other_key()]) == assertion_xml()


def test_idp_encrypting_to_two_certificates() -> None:
    """An IdP mid-rotation may wrap the session key for two SP keys; the second EncryptedKey is ours."""
    encrypted = encrypt_assertion(assertion_xml(), SP_CERT, detached_key=True)
    foreign = encrypt_assertion(assertion_xml(), other_key().public_key(), detached_key=True)[1]
    foreign.set("Id", "_foreign")
    encrypted.insert(1, foreign)
    assert decrypt_assertion(encrypted, [SP_KEY]) == assertion_xml()
