"""Attacks on encrypted assertions (saml-validation-bar.md, attacks 18-19) against samlfed.saml.xmlenc.

Two kinds of refusal. Profile violations (public structure: algorithms, shapes, references) are refused before
any RSA or AES operation, each with its own message. Everything that depends on secret material (the key, the
tag, the padding, the plaintext) gets one uniform message and hint: distinct answers there are the padding and
Bleichenbacher oracles of attack 19. No timing is measured here (no thresholds on a noisy machine); what the
code does to keep the work equal is checked by counting the operations it performs.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from shared_paths import shared_dir

from samlfed.saml import SamlValidationError, xmlenc
from samlfed.saml.xmlenc import DECRYPTION_FAILED, DECRYPTION_FAILED_HINT, decrypt_assertion, encrypt_assertion
from samlfed.saml.xmlparse import XmlRejected, parse_xml

FIXTURES = shared_dir() / "fixtures" / "saml"
SP_KEY = load_pem_private_key((FIXTURES / "gosaml2" / "oktaenc_sp_encryption_key.pem").read_bytes(), None)
SP_CERT = x509.load_pem_x509_certificate((FIXTURES / "gosaml2" / "oktaenc_sp_encryption_cert.pem").read_bytes())
assert isinstance(SP_KEY, rsa.RSAPrivateKey)

XENC_NS = "http://www.w3.org/2001/04/xmlenc#"
XENC = "{" + XENC_NS + "}"
XENC11 = "{http://www.w3.org/2009/xmlenc11#}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
PLAINTEXT = b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0">' + b"x" * 200 + b"</saml:Assertion>"
SHA1_OAEP = padding.OAEP(mgf=padding.MGF1(xmlenc._HASHES["sha1"]()), algorithm=xmlenc._HASHES["sha1"](), label=None)


@cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def encrypted(**options: object) -> etree._Element:
    return encrypt_assertion(PLAINTEXT, SP_CERT, **options)  # type: ignore[arg-type]


def refusal(element: etree._Element, keys: list[object] | None = None) -> SamlValidationError:
    with pytest.raises(SamlValidationError) as caught:
        decrypt_assertion(element, keys if keys is not None else [SP_KEY])  # type: ignore[arg-type]
    assert caught.value.check_id == "encryption.decrypt"
    return caught.value


def data_of(element: etree._Element) -> etree._Element:
    return element.find(XENC + "EncryptedData")


def key_of(element: etree._Element) -> etree._Element:
    return next(element.iter(XENC + "EncryptedKey"))


def key_method(element: etree._Element) -> etree._Element:
    return key_of(element).find(XENC + "EncryptionMethod")


def set_data_ciphertext(element: etree._Element, ciphertext: bytes) -> None:
    data_of(element).find(f"{XENC}CipherData/{XENC}CipherValue").text = base64.b64encode(ciphertext).decode()


def set_session_key(element: etree._Element, session_key: bytes) -> None:
    key_of(element).find(f"{XENC}CipherData/{XENC}CipherValue").text = base64.b64encode(SP_KEY.public_key().encrypt(session_key, SHA1_OAEP)).decode()


def data_ciphertext(element: etree._Element) -> bytes:
    return base64.b64decode(data_of(element).find(f"{XENC}CipherData/{XENC}CipherValue").text)


class Tripwire:
    """A "private key" whose every use fails the test: proves a refusal came before any RSA operation."""

    calls = 0

    def decrypt(self, *args: object) -> bytes:
        Tripwire.calls += 1
        raise AssertionError("an RSA operation ran before the profile was refused")


# --- profile refusals: each before any RSA/AES operation, each with its own message ------------------------------


def _rsa_1_5(e: etree._Element) -> None:
    key_method(e).set("Algorithm", xmlenc.ALG_RSA_1_5)


def _rsa_1_5_beside_a_good_key(e: etree._Element) -> None:
    bad = copy.deepcopy(key_of(e))
    bad.set("Id", "_v15")
    bad.find(XENC + "EncryptionMethod").set("Algorithm", xmlenc.ALG_RSA_1_5)
    e.append(bad)


def _data_algorithm(uri: str) -> Callable[[etree._Element], None]:
    return lambda e: data_of(e).find(XENC + "EncryptionMethod").set("Algorithm", uri)


def _transport(uri: str) -> Callable[[etree._Element], None]:
    return lambda e: key_method(e).set("Algorithm", uri)


def _digest(uri: str) -> Callable[[etree._Element], None]:
    return lambda e: key_method(e).find(DS + "DigestMethod").set("Algorithm", uri)


def _mgf(uri: str) -> Callable[[etree._Element], None]:
    return lambda e: etree.SubElement(key_method(e), XENC11 + "MGF", Algorithm=uri)


def _oaep_params(e: etree._Element) -> None:
    etree.SubElement(key_method(e), XENC + "OAEPparams").text = "AAAA"


def _cipher_reference(e: etree._Element) -> None:
    cipher_data = data_of(e).find(XENC + "CipherData")
    cipher_data.remove(cipher_data[0])
    etree.SubElement(cipher_data, XENC + "CipherReference", URI="https://attacker.example/ciphertext")


def _key_cipher_reference(e: etree._Element) -> None:
    cipher_data = key_of(e).find(XENC + "CipherData")
    cipher_data.remove(cipher_data[0])
    etree.SubElement(cipher_data, XENC + "CipherReference", URI="#x")


def _two_encrypted_data(e: etree._Element) -> None:
    e.append(copy.deepcopy(data_of(e)))


def _five_keys(e: etree._Element) -> None:
    for n in range(4):
        extra = copy.deepcopy(key_of(e))
        extra.set("Id", f"_k{n}")
        e.append(extra)


def _retrieval(uri: str, kind: str | None = xmlenc.TYPE_ENCRYPTED_KEY) -> Callable[[etree._Element], None]:
    def mutate(e: etree._Element) -> None:
        method = data_of(e).find(f"{DS}KeyInfo/{DS}RetrievalMethod")
        method.set("URI", uri)
        if kind is None:
            del method.attrib["Type"]
        else:
            method.set("Type", kind)

    return mutate


def _retrieval_to_inline_key(e: etree._Element) -> None:
    """The RetrievalMethod names an EncryptedKey that is not a sibling of EncryptedData (it sits in its KeyInfo)."""
    inline = copy.deepcopy(e[1])
    inline.set("Id", "_inline")
    data_of(e).find(DS + "KeyInfo").append(inline)
    e.remove(e[1])
    data_of(e).find(f"{DS}KeyInfo/{DS}RetrievalMethod").set("URI", "#_inline")


def _retrieval_transforms(e: etree._Element) -> None:
    method = data_of(e).find(f"{DS}KeyInfo/{DS}RetrievalMethod")
    etree.SubElement(etree.SubElement(method, DS + "Transforms"), DS + "Transform", Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116")


def _duplicate_sibling_id(e: etree._Element) -> None:
    e.append(copy.deepcopy(e[1]))


def _no_key(e: etree._Element) -> None:
    data_of(e).remove(data_of(e).find(DS + "KeyInfo"))


def _type(kind: str) -> Callable[[etree._Element], None]:
    return lambda e: data_of(e).set("Type", kind)


def _comment_in_cipher_value(e: etree._Element) -> None:
    value = data_of(e).find(f"{XENC}CipherData/{XENC}CipherValue")
    text = value.text
    value.text = text[:8]
    comment = etree.Comment("c")
    comment.tail = text[8:]
    value.append(comment)


def _text_in_encrypted_assertion(e: etree._Element) -> None:
    data_of(e).tail = "plaintext"


def _foreign_child(e: etree._Element) -> None:
    etree.SubElement(e, "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")


def _key_name_in_key_info(e: etree._Element) -> None:
    etree.SubElement(data_of(e).find(DS + "KeyInfo"), DS + "KeyName").text = "sp"


def _encryption_properties(e: etree._Element) -> None:
    etree.SubElement(data_of(e), XENC + "EncryptionProperties")


def _no_encryption_method(e: etree._Element) -> None:
    data_of(e).remove(data_of(e).find(XENC + "EncryptionMethod"))


def _key_size_parameter(e: etree._Element) -> None:
    etree.SubElement(data_of(e).find(XENC + "EncryptionMethod"), XENC + "KeySize").text = "256"


def _bad_base64(e: etree._Element) -> None:
    data_of(e).find(f"{XENC}CipherData/{XENC}CipherValue").text = "AAAA*AAA"


def _not_encrypted_assertion(e: etree._Element) -> None:
    e.tag = "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion"


PROFILE_CASES: list[tuple[str, dict[str, object], Callable[[etree._Element], None], str]] = [
    ("rsa-1_5", {}, _rsa_1_5, "RSA PKCS#1 v1.5 (xmlenc#rsa-1_5), which is refused: it is open to Bleichenbacher"),
    ("rsa-1_5 beside a good key", {"detached_key": True}, _rsa_1_5_beside_a_good_key, "Bleichenbacher"),
    ("aes192-cbc", {}, _data_algorithm(XENC_NS + "aes192-cbc"), "data encryption algorithm http://www.w3.org/2001/04/xmlenc#aes192-cbc is not accepted"),
    ("aes192-gcm", {}, _data_algorithm("http://www.w3.org/2009/xmlenc11#aes192-gcm"), "data encryption algorithm"),
    ("tripledes", {}, _data_algorithm(XENC_NS + "tripledes-cbc"), "data encryption algorithm"),
    ("kw-aes128 transport", {}, _transport(XENC_NS + "kw-aes128"), "key transport algorithm http://www.w3.org/2001/04/xmlenc#kw-aes128 is not accepted"),
    ("transport without Algorithm", {}, lambda e: key_method(e).attrib.pop("Algorithm"), "EncryptionMethod of EncryptedKey has no Algorithm"),
    ("md5 digest", {}, _digest("http://www.w3.org/2001/04/xmldsig-more#md5"), "OAEP digest http://www.w3.org/2001/04/xmldsig-more#md5 is not accepted"),
    ("sha224 with mgf1p", {}, _digest(xmlenc.ALG_SHA224), "OAEP digest http://www.w3.org/2001/04/xmldsig-more#sha224 is not accepted"),
    ("unknown MGF", {"key_transport": "rsa-oaep"}, _mgf("http://www.w3.org/2009/xmlenc11#mgf1md5"), "mask generation function"),
    ("MGF with mgf1p", {}, _mgf("http://www.w3.org/2009/xmlenc11#mgf1sha256"), "may not hold MGF"),
    ("OAEPparams", {}, _oaep_params, "OAEPparams"),
    ("OAEPparams rsa-oaep", {"key_transport": "rsa-oaep"}, _oaep_params, "OAEPparams"),
    ("CipherReference", {}, _cipher_reference, "CipherReference; the ciphertext must be inline"),
    ("CipherReference in EncryptedKey", {}, _key_cipher_reference, "CipherReference"),
    ("two EncryptedData", {}, _two_encrypted_data, "more than one EncryptedData"),
    ("five EncryptedKeys", {"detached_key": True}, _five_keys, "more than 4 EncryptedKey"),
    ("RetrievalMethod to an external URI", {"detached_key": True}, _retrieval("https://attacker.example/key.xml"), "does not name exactly one EncryptedKey"),
    ("RetrievalMethod to a missing id", {"detached_key": True}, _retrieval("#_nothing"), "does not name exactly one EncryptedKey"),
    ("RetrievalMethod to a non-sibling", {"detached_key": True}, _retrieval_to_inline_key, "does not name exactly one EncryptedKey"),
    ("RetrievalMethod with XPointer", {"detached_key": True}, _retrieval("#xpointer(//*)"), "does not name exactly one EncryptedKey"),
    ("RetrievalMethod wrong Type", {"detached_key": True}, _retrieval("#k", "http://www.w3.org/2000/09/xmldsig#X509Data"), "only http://www.w3.org/2001/04/xmlenc#EncryptedKey"),
    ("RetrievalMethod Transforms", {"detached_key": True}, _retrieval_transforms, "RetrievalMethod holds Transforms"),
    ("RetrievalMethod ambiguous", {"detached_key": True}, _duplicate_sibling_id, "does not name exactly one EncryptedKey"),
    ("no EncryptedKey", {}, _no_key, "holds no EncryptedKey"),
    ("Type Content", {}, _type(XENC_NS + "Content"), "only http://www.w3.org/2001/04/xmlenc#Element"),
    ("Type EncryptedKey", {}, _type(xmlenc.TYPE_ENCRYPTED_KEY), "only http://www.w3.org/2001/04/xmlenc#Element"),
    ("comment in CipherValue", {}, _comment_in_cipher_value, "holds markup"),
    ("text in EncryptedAssertion", {}, _text_in_encrypted_assertion, "EncryptedAssertion holds text"),
    ("plaintext Assertion beside", {}, _foreign_child, "only EncryptedData and EncryptedKey; found Assertion"),
    ("KeyName in KeyInfo", {}, _key_name_in_key_info, "may hold only EncryptedKey and RetrievalMethod; found KeyName"),
    ("EncryptionProperties", {}, _encryption_properties, "must hold exactly EncryptionMethod, an optional KeyInfo and CipherData"),
    ("no EncryptionMethod", {}, _no_encryption_method, "must hold exactly EncryptionMethod"),
    ("KeySize", {}, _key_size_parameter, "may not hold parameters"),
    ("bad base64", {}, _bad_base64, "CipherValue of EncryptedData is not base64"),
    ("not an EncryptedAssertion", {}, _not_encrypted_assertion, "expected a saml:EncryptedAssertion"),
]


@pytest.mark.parametrize(("options", "mutate", "expected"), [case[1:] for case in PROFILE_CASES], ids=[case[0] for case in PROFILE_CASES])
def test_profile_refusal_before_any_cryptography(options: dict[str, object], mutate: Callable[[etree._Element], None], expected: str) -> None:
    element = encrypted(**options)
    mutate(element)
    Tripwire.calls = 0
    error = refusal(parse_xml(etree.tostring(element)), [Tripwire()])
    assert expected in error.message
    assert error.message != DECRYPTION_FAILED
    assert Tripwire.calls == 0


def test_rsa_1_5_is_refused_even_with_a_key_that_would_decrypt_it() -> None:
    """A genuine rsa-1_5 EncryptedKey for our key: still refused, with the message naming Bleichenbacher."""
    element = encrypted(data_algorithm="aes128-cbc")
    session_key = os.urandom(16)
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(b"\0" * 16)).encryptor()
    set_data_ciphertext(element, b"\0" * 16 + encryptor.update(_pad(PLAINTEXT)) + encryptor.finalize())
    key_method(element).set("Algorithm", xmlenc.ALG_RSA_1_5)
    key_method(element).remove(key_method(element)[0])
    key_of(element).find(f"{XENC}CipherData/{XENC}CipherValue").text = base64.b64encode(
        SP_KEY.public_key().encrypt(session_key, padding.PKCS1v15())
    ).decode()
    error = refusal(element)
    assert "Bleichenbacher" in error.message and "rsa-oaep" in (error.hint or "")


def test_key_info_inside_encrypted_key_is_never_used() -> None:
    """Whatever the EncryptedKey's KeyInfo names (an attacker's key, a URL to fetch), the key is the provider's."""
    element = encrypted()
    key_info = key_of(element).find(DS + "KeyInfo")
    key_info.clear()
    etree.SubElement(key_info, DS + "RetrievalMethod", URI="https://attacker.example/key", Type="http://www.w3.org/2000/09/xmldsig#RSAKeyValue")
    etree.SubElement(key_info, DS + "KeyName").text = "attacker"
    assert decrypt_assertion(element, [SP_KEY]) == PLAINTEXT
    assert refusal(element, [other_key()]).message == DECRYPTION_FAILED


def test_no_keys_is_a_configuration_error() -> None:
    error = refusal(encrypted(), [])
    assert "no private key" in error.message


# --- secret-dependent failures: one message, one hint -----------------------------------------------------------


def _wrong_private_key() -> tuple[etree._Element, list[object]]:
    return encrypted(), [other_key()]


def _tampered_gcm_tag() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes256-gcm")
    ciphertext = bytearray(data_ciphertext(element))
    ciphertext[-1] ^= 1
    set_data_ciphertext(element, bytes(ciphertext))
    return element, [SP_KEY]


def _tampered_gcm_ciphertext() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes128-gcm")
    ciphertext = bytearray(data_ciphertext(element))
    ciphertext[20] ^= 0x80
    set_data_ciphertext(element, bytes(ciphertext))
    return element, [SP_KEY]


def _cbc(padded: bytes, key_size: int = 16, declared: str = "aes128-cbc") -> etree._Element:
    element = encrypted(data_algorithm=declared)
    session_key, iv = os.urandom(key_size), os.urandom(16)
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
    set_data_ciphertext(element, iv + encryptor.update(padded) + encryptor.finalize())
    set_session_key(element, session_key)
    return element


def _cbc_pad_zero() -> tuple[etree._Element, list[object]]:
    return _cbc(PLAINTEXT[:32] + b"\0" * 16), [SP_KEY]


def _cbc_pad_too_long() -> tuple[etree._Element, list[object]]:
    return _cbc(PLAINTEXT[:32] + b"\x11" * 16), [SP_KEY]


def _cbc_bit_flip() -> tuple[etree._Element, list[object]]:
    """The CCS 2011 move: flip bits of the IV/previous block to probe the last plaintext byte."""
    element = encrypted(data_algorithm="aes128-cbc")
    ciphertext = bytearray(data_ciphertext(element))
    ciphertext[-17] ^= 0xFF  # the last plaintext byte (the pad length) becomes pad ^ 0xFF, outside 1..16
    set_data_ciphertext(element, bytes(ciphertext))
    return element, [SP_KEY]


def _truncated_gcm() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes256-gcm")
    set_data_ciphertext(element, data_ciphertext(element)[:27])
    return element, [SP_KEY]


def _truncated_cbc() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes256-cbc")
    set_data_ciphertext(element, data_ciphertext(element)[:-1])
    return element, [SP_KEY]


def _cbc_iv_only() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes256-cbc")
    set_data_ciphertext(element, data_ciphertext(element)[:16])
    return element, [SP_KEY]


def _truncated_key_ciphertext() -> tuple[etree._Element, list[object]]:
    element = encrypted()
    value = key_of(element).find(f"{XENC}CipherData/{XENC}CipherValue")
    value.text = base64.b64encode(base64.b64decode(value.text)[:-1]).decode()
    return element, [SP_KEY]


def _aes128_key_for_aes256_gcm() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes256-gcm")
    session_key, iv = os.urandom(16), os.urandom(12)
    set_data_ciphertext(element, iv + AESGCM(session_key).encrypt(iv, PLAINTEXT, None))
    set_session_key(element, session_key)
    return element, [SP_KEY]


def _aes256_key_for_aes128_cbc() -> tuple[etree._Element, list[object]]:
    return _cbc(PLAINTEXT[:32] + b"\x10" * 16, key_size=32, declared="aes128-cbc"), [SP_KEY]


def _empty_plaintext_cbc() -> tuple[etree._Element, list[object]]:
    return _cbc(b"\x10" * 16), [SP_KEY]


def _empty_plaintext_gcm() -> tuple[etree._Element, list[object]]:
    element = encrypted(data_algorithm="aes128-gcm")
    session_key, iv = os.urandom(16), os.urandom(12)
    set_data_ciphertext(element, iv + AESGCM(session_key).encrypt(iv, b"", None))
    set_session_key(element, session_key)
    return element, [SP_KEY]


def _key_for_someone_else() -> tuple[etree._Element, list[object]]:
    """A well-formed EncryptedKey wrapped for another key pair, in the right slot."""
    element = encrypted()
    value = key_of(element).find(f"{XENC}CipherData/{XENC}CipherValue")
    value.text = base64.b64encode(other_key().public_key().encrypt(os.urandom(32), SHA1_OAEP)).decode()
    return element, [SP_KEY]


SECRET_CASES: list[tuple[str, Callable[[], tuple[etree._Element, list[object]]]]] = [
    ("wrong private key", _wrong_private_key),
    ("tampered GCM tag", _tampered_gcm_tag),
    ("tampered GCM ciphertext", _tampered_gcm_ciphertext),
    ("CBC padding length 0", _cbc_pad_zero),
    ("CBC padding length 17", _cbc_pad_too_long),
    ("CBC bit flip", _cbc_bit_flip),
    ("truncated GCM ciphertext", _truncated_gcm),
    ("truncated CBC ciphertext", _truncated_cbc),
    ("CBC IV only", _cbc_iv_only),
    ("truncated EncryptedKey ciphertext", _truncated_key_ciphertext),
    ("AES-128 key for aes256-gcm", _aes128_key_for_aes256_gcm),
    ("AES-256 key for aes128-cbc", _aes256_key_for_aes128_cbc),
    ("empty plaintext CBC", _empty_plaintext_cbc),
    ("empty plaintext GCM", _empty_plaintext_gcm),
    ("EncryptedKey for another key pair", _key_for_someone_else),
]


@pytest.mark.parametrize("build", [case[1] for case in SECRET_CASES], ids=[case[0] for case in SECRET_CASES])
def test_secret_dependent_failure_is_uniform(build: Callable[[], tuple[etree._Element, list[object]]]) -> None:
    element, keys = build()
    error = refusal(parse_xml(etree.tostring(element)), keys)
    assert (error.message, error.hint) == (DECRYPTION_FAILED, DECRYPTION_FAILED_HINT)


def test_all_secret_dependent_failures_say_the_same() -> None:
    answers = set()
    for _, build in SECRET_CASES:
        element, keys = build()
        error = refusal(element, keys)
        answers.add((error.check_id, error.message, error.hint, error.aws, str(error)))
    assert len(answers) == 1
    # and it differs from every profile refusal, which may be specific because it reveals nothing secret
    assert not any(expected in DECRYPTION_FAILED for _, _, _, expected in PROFILE_CASES)


def test_the_controls_of_the_uniform_cases_decrypt() -> None:
    """Each uniform case differs from a decrypting document only in the defect it names."""
    assert decrypt_assertion(_cbc(_pad(PLAINTEXT)), [SP_KEY]) == PLAINTEXT
    assert decrypt_assertion(encrypted(data_algorithm="aes256-gcm"), [SP_KEY]) == PLAINTEXT
    assert decrypt_assertion(_cbc(PLAINTEXT[:32] + b"\x10" * 16), [SP_KEY]) == PLAINTEXT[:32]
    assert decrypt_assertion(_cbc(PLAINTEXT[:32] + b"\x10" * 16, key_size=32, declared="aes256-cbc"), [SP_KEY]) == PLAINTEXT[:32]


def _pad(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


# --- equal work on the failure paths ----------------------------------------------------------------------------


class CountingKey:
    """Wraps a private key and counts RSA decryptions."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key, self.calls = key, 0

    def decrypt(self, ciphertext: bytes, pad: padding.AsymmetricPadding) -> bytes:
        self.calls += 1
        return self.key.decrypt(ciphertext, pad)


def test_every_encrypted_key_is_tried_with_every_key_even_after_a_match() -> None:
    """The RSA work does not reveal which key (or EncryptedKey) matched."""
    element = encrypted(detached_key=True)
    second = copy.deepcopy(element[1])
    second.set("Id", "_second")
    element.append(second)
    keys = [CountingKey(SP_KEY), CountingKey(other_key())]
    assert decrypt_assertion(element, keys) == PLAINTEXT  # type: ignore[arg-type]
    assert [k.calls for k in keys] == [2, 2]


@pytest.mark.parametrize("data_algorithm", ["aes128-gcm", "aes256-cbc"])
def test_aes_runs_even_when_no_key_unwraps(data_algorithm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OAEP failure does not skip the AES work that a tag or padding failure costs (a random stand-in key)."""
    element = encrypted(data_algorithm=data_algorithm)
    used: list[int] = []
    real_aes, real_gcm = xmlenc.algorithms.AES, xmlenc.AESGCM

    def spy(real: Callable[[bytes], object]) -> Callable[[bytes], object]:
        def construct(key: bytes) -> object:
            used.append(len(key))
            return real(key)

        return construct

    monkeypatch.setattr(xmlenc, "algorithms", SimpleNamespace(AES=spy(real_aes)))
    monkeypatch.setattr(xmlenc, "AESGCM", spy(real_gcm))
    error = refusal(element, [other_key()])
    assert error.message == DECRYPTION_FAILED
    assert used == [16 if data_algorithm.startswith("aes128") else 32]


def test_bad_cbc_padding_still_yields_the_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad pad length does not return before the work of the good path: the decryptor is finalized and the
    verdict comes at the end (the uniform error, not an early one)."""
    finalized: list[bool] = []
    real_cipher = xmlenc.Cipher

    class SpyCipher:
        def __init__(self, *args: object) -> None:
            self.cipher = real_cipher(*args)

        def decryptor(self) -> object:
            inner = self.cipher.decryptor()

            class Decryptor:
                def update(self, data: bytes) -> bytes:
                    return inner.update(data)

                def finalize(self) -> bytes:
                    finalized.append(True)
                    return inner.finalize()

            return Decryptor()

    element, keys = _cbc_pad_zero()
    monkeypatch.setattr(xmlenc, "Cipher", SpyCipher)
    assert refusal(element, keys).message == DECRYPTION_FAILED
    assert finalized == [True]


# --- fuzzing: anything but SamlValidationError is a bug ---------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [
    etree.tostring(encrypted(data_algorithm="aes128-cbc", detached_key=True)),
    etree.tostring(encrypted(data_algorithm="aes256-gcm", key_transport="rsa-oaep", oaep_digest="sha256", mgf_digest="sha512")),
]
FRAGMENTS = [
    b"<!--c-->", b"<?pi?>", b"&amp;", b"<![CDATA[AAAA]]>", b"#", b"=", b"A", b"/", b"+", b" ", b"\n", b"\xc3\xa9", b"\xff",
    b'URI="#x"', b'Type="http://www.w3.org/2001/04/xmlenc#Content"', b"<xenc:CipherReference/>", b"<ds:RetrievalMethod/>",
    b'Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"', b"<xenc:EncryptedKey>", b"</xenc:EncryptedKey>",
]


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "delete", "insert"]), st.floats(0, 1), st.integers(1, 255), st.sampled_from(FRAGMENTS)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutations_only_ever_raise_saml_validation_error(seed: bytes, edits: list[tuple[str, float, int, bytes]]) -> None:
    data = bytearray(seed)
    for op, where, value, fragment in edits:
        at = min(int(where * len(data)), len(data) - 1)
        if op == "flip":
            data[at] ^= value
        elif op == "delete":
            del data[at : at + value % 8 + 1]
        else:
            data[at:at] = fragment
        if not data:
            return
    try:
        root = parse_xml(bytes(data))
    except XmlRejected:
        return
    try:
        plaintext = decrypt_assertion(root, [other_key(), SP_KEY])
    except SamlValidationError as error:
        assert error.check_id == "encryption.decrypt"
        return
    assert isinstance(plaintext, bytes) and plaintext


def test_fuzz_seeds_decrypt() -> None:
    """The mutations start from documents that decrypt, so the fuzzer reaches the cryptography."""
    for seed in SEEDS:
        assert decrypt_assertion(parse_xml(seed), [SP_KEY]) == PLAINTEXT


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    which=st.sampled_from(["data", "key"]),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=3),
    cut=st.integers(0, 40),
)
def test_ciphertext_mutations_give_plaintext_or_the_uniform_error(seed: bytes, which: str, flips: list[tuple[float, int]], cut: int) -> None:
    """Changing ciphertext bytes (what an oracle attacker does) never yields a specific message."""
    root = parse_xml(seed)
    holder = data_of(root) if which == "data" else key_of(root)
    value = holder.find(f"{XENC}CipherData/{XENC}CipherValue")
    ciphertext = bytearray(base64.b64decode(value.text))
    for where, mask in flips:
        ciphertext[min(int(where * len(ciphertext)), len(ciphertext) - 1)] ^= mask
    value.text = base64.b64encode(bytes(ciphertext[: len(ciphertext) - cut] or b"\0")).decode()
    try:
        plaintext = decrypt_assertion(root, [SP_KEY])
    except SamlValidationError as error:
        assert (error.message, error.hint) == (DECRYPTION_FAILED, DECRYPTION_FAILED_HINT)
        return
    assert plaintext == PLAINTEXT or (b"aes128-cbc" in seed and which == "data")  # CBC is malleable: garbage may decrypt
