"""A profile-restricted XML Encryption decryptor (and encryptor) for `saml:EncryptedAssertion`.

Written by hand for the same reason as `dsig`: general XML Encryption engines fetch keys from wherever
`ds:KeyInfo` points, accept every algorithm they were built with and report each failure differently, and the
published attacks on XML Encryption (saml-validation-bar.md, attack 19) use exactly that generality. Here
  * the whole structure and every algorithm are checked before any RSA or AES operation,
  * the only accepted shapes are the two real IdPs emit: the `EncryptedKey` inside `EncryptedData`'s
    `ds:KeyInfo` (AD FS, Shibboleth, PingFederate) or beside `EncryptedData`, optionally named by a
    same-document `ds:RetrievalMethod` (Okta); nothing is ever fetched,
  * keys come only from the caller (the provider's uploaded private keys), never from KeyInfo,
  * `rsa-1_5` (Bleichenbacher) is refused outright,
  * every failure that depends on secret material raises one uniform error, after the same work.
The primitives are OpenSSL's, through `cryptography`. The plaintext is returned as bytes: the caller parses it
with the hardened parser and must report a parse failure with `DECRYPTION_FAILED` too (see `decryption_failed`).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from . import constants as c
from .b64 import strict_b64decode
from .errors import SamlValidationError

NS_XENC = c.NS_XENC
NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"

ENCRYPTED_DATA = c.qname(NS_XENC, "EncryptedData")
ENCRYPTED_KEY = c.qname(NS_XENC, "EncryptedKey")
ENCRYPTION_METHOD = c.qname(NS_XENC, "EncryptionMethod")
CIPHER_DATA = c.qname(NS_XENC, "CipherData")
CIPHER_VALUE = c.qname(NS_XENC, "CipherValue")
CIPHER_REFERENCE = c.qname(NS_XENC, "CipherReference")
REFERENCE_LIST = c.qname(NS_XENC, "ReferenceList")
DATA_REFERENCE = c.qname(NS_XENC, "DataReference")
CARRIED_KEY_NAME = c.qname(NS_XENC, "CarriedKeyName")
OAEP_PARAMS = c.qname(NS_XENC, "OAEPparams")
MGF = c.qname(NS_XENC11, "MGF")

TYPE_ELEMENT = NS_XENC + "Element"
TYPE_ENCRYPTED_KEY = NS_XENC + "EncryptedKey"

ALG_AES128_GCM = NS_XENC11 + "aes128-gcm"
ALG_AES256_GCM = NS_XENC11 + "aes256-gcm"
ALG_AES128_CBC = NS_XENC + "aes128-cbc"
ALG_AES256_CBC = NS_XENC + "aes256-cbc"
ALG_RSA_OAEP_MGF1P = NS_XENC + "rsa-oaep-mgf1p"
ALG_RSA_OAEP = NS_XENC11 + "rsa-oaep"
ALG_RSA_1_5 = NS_XENC + "rsa-1_5"
ALG_SHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"


@dataclass(frozen=True, slots=True)
class _DataAlgorithm:
    uri: str
    key_size: int
    gcm: bool


_DATA_ALGORITHMS: dict[str, _DataAlgorithm] = {
    "aes128-gcm": _DataAlgorithm(ALG_AES128_GCM, 16, True),
    "aes256-gcm": _DataAlgorithm(ALG_AES256_GCM, 32, True),
    "aes128-cbc": _DataAlgorithm(ALG_AES128_CBC, 16, False),
    "aes256-cbc": _DataAlgorithm(ALG_AES256_CBC, 32, False),
}
_DATA_BY_URI = {a.uri: a for a in _DATA_ALGORITHMS.values()}

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_DIGEST_URIS = {"sha1": c.ALG_SHA1, "sha224": ALG_SHA224, "sha256": c.ALG_SHA256, "sha384": c.ALG_SHA384, "sha512": c.ALG_SHA512}
_DIGEST_BY_URI = {uri: name for name, uri in _DIGEST_URIS.items()}
_MGF_URIS = {name: f"{NS_XENC11}mgf1{name}" for name in _HASHES}
_MGF_BY_URI = {uri: name for name, uri in _MGF_URIS.items()}
# The OAEP digests each key transport accepts (RSA-OAEP with SHA-1 is still sound: OAEP needs no collision resistance).
_TRANSPORT_DIGESTS = {
    ALG_RSA_OAEP_MGF1P: frozenset({"sha1", "sha256", "sha384", "sha512"}),
    ALG_RSA_OAEP: frozenset(_HASHES),
}
_TRANSPORTS = {"rsa-oaep-mgf1p": ALG_RSA_OAEP_MGF1P, "rsa-oaep": ALG_RSA_OAEP}
ACCEPTED_ALGORITHMS = (*(a.uri for a in _DATA_ALGORITHMS.values()), *_TRANSPORTS.values())
"""The data-encryption and key-transport algorithms `decrypt_assertion` takes, as our SP metadata advertises them."""

MAX_ENCRYPTED_KEYS = 4
"""EncryptedKey elements per EncryptedAssertion: each costs one RSA decryption per provider key."""

_GCM_IV = 12
_GCM_TAG = 16
_BLOCK = 16

CHECK_ID = "encryption.decrypt"
DECRYPTION_FAILED = "the encrypted assertion could not be decrypted with this provider's private keys"
DECRYPTION_FAILED_HINT = (
    "Check that the IdP encrypts to the certificate of a private key uploaded for this provider, and that the "
    "response was not altered on the way. (Every decryption failure gives this same message on purpose.)"
)
_PROFILE_HINT = (
    "samlfed accepts AES-GCM or AES-CBC (128 or 256) data encryption with RSA-OAEP key transport, the EncryptedKey "
    "inside EncryptedData's KeyInfo or beside EncryptedData; configure the IdP accordingly."
)


def _error(message: str, hint: str | None) -> SamlValidationError:
    return SamlValidationError(CHECK_ID, message, hint=hint)  # its AWS answer is the check's, one for every case


def _refuse(message: str, hint: str | None = _PROFILE_HINT) -> SamlValidationError:
    """A refusal that depends only on public structure: it may say precisely what is wrong."""
    return _error(message, hint)


def decryption_failed() -> SamlValidationError:
    """The one error for every failure that depends on secret material (key, tag, padding, plaintext).

    Distinct errors there are decryption oracles (bar, attack 19). The caller raises this too when the plaintext
    does not parse as exactly one saml:Assertion."""
    return _error(DECRYPTION_FAILED, DECRYPTION_FAILED_HINT)


# --- the structure ---------------------------------------------------------------------------------------------


def _blank(text: str | None) -> bool:
    return not text or not text.strip(" \t\r\n")


def _elements(parent: etree._Element, where: str) -> list[etree._Element]:
    """The element children of `parent`; text other than XML whitespace, comments and PIs are refused."""
    if not _blank(parent.text):
        raise _refuse(f"{where} holds text")
    children = []
    for child in parent:
        if not isinstance(child.tag, str):
            raise _refuse(f"{where} holds a comment or processing instruction")
        if not _blank(child.tail):
            raise _refuse(f"{where} holds text")
        children.append(child)
    return children


def _cipher_value(cipher_data: etree._Element, where: str) -> bytes:
    children = _elements(cipher_data, f"the CipherData of {where}")
    if [child.tag for child in children] == [CIPHER_REFERENCE]:
        raise _refuse(f"the CipherData of {where} is a CipherReference; the ciphertext must be inline (nothing is fetched)")
    if [child.tag for child in children] != [CIPHER_VALUE]:
        raise _refuse(f"the CipherData of {where} must hold exactly one CipherValue")
    value = children[0]
    if len(value):  # elements, comments and PIs alike
        raise _refuse(f"the CipherValue of {where} holds markup")
    try:
        decoded = strict_b64decode(value.text or "")
    except (binascii.Error, ValueError):
        raise _refuse(f"the CipherValue of {where} is not base64", None) from None
    if not decoded:
        raise _refuse(f"the CipherValue of {where} is empty", None)
    return decoded


@dataclass(frozen=True, slots=True)
class _KeyTransport:
    oaep: padding.OAEP
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class _Profile:
    data: _DataAlgorithm
    ciphertext: bytes
    keys: tuple[_KeyTransport, ...]


def _algorithm(method: etree._Element, where: str) -> str:
    algorithm = method.get("Algorithm")
    if not algorithm:
        raise _refuse(f"the EncryptionMethod of {where} has no Algorithm")
    return algorithm


def _key_transport(encrypted_key: etree._Element) -> _KeyTransport:
    """Check one EncryptedKey: RSA-OAEP with an allowed digest and MGF, an inline CipherValue."""
    children = _elements(encrypted_key, "EncryptedKey")
    tags = [child.tag for child in children]
    # Schema order: EncryptionMethod, KeyInfo?, CipherData, ReferenceList?, CarriedKeyName? (EncryptionProperties refused).
    # The KeyInfo is never read: the key is one of the provider's, whatever this one names.
    expected = [ENCRYPTION_METHOD] + ([c.DS_KEY_INFO] if c.DS_KEY_INFO in tags else []) + [CIPHER_DATA]
    optional = [REFERENCE_LIST, CARRIED_KEY_NAME]
    rest = tags[len(expected) :]
    if tags[: len(expected)] != expected or rest != [t for t in optional if t in rest]:
        names = ", ".join(map(c.local_name, tags)) or "nothing"
        raise _refuse(f"EncryptedKey must hold EncryptionMethod, an optional KeyInfo, CipherData, then optionally ReferenceList and CarriedKeyName; found {names}")
    method = children[0]
    algorithm = _algorithm(method, "EncryptedKey")
    if algorithm == ALG_RSA_1_5:
        raise _refuse(
            "the key transport is RSA PKCS#1 v1.5 (xmlenc#rsa-1_5), which is refused: it is open to Bleichenbacher's "
            "padding-oracle attack, which recovers the session key",
            "Configure the IdP to use RSA-OAEP (xmlenc#rsa-oaep-mgf1p or xmlenc11#rsa-oaep) key transport.",
        )
    if algorithm not in _TRANSPORT_DIGESTS:
        raise _refuse(f"the key transport algorithm {algorithm} is not accepted; only RSA-OAEP (xmlenc#rsa-oaep-mgf1p, xmlenc11#rsa-oaep) is")
    digest, mgf = "sha1", "sha1"
    params = _elements(method, "the EncryptionMethod of EncryptedKey")
    seen: set[str] = set()
    for param in params:
        if param.tag in seen:
            raise _refuse(f"the EncryptionMethod of EncryptedKey holds {c.local_name(param.tag)} twice")
        seen.add(param.tag)
        if param.tag == OAEP_PARAMS:
            raise _refuse("the EncryptedKey carries OAEPparams (an OAEP label), which is refused")
        if len(param) or not _blank(param.text):
            raise _refuse(f"the {c.local_name(param.tag)} of EncryptedKey's EncryptionMethod has content")
        if param.tag == c.DS_DIGEST_METHOD:
            name = _DIGEST_BY_URI.get(param.get("Algorithm") or "")
            if name not in _TRANSPORT_DIGESTS[algorithm]:
                raise _refuse(f"the OAEP digest {param.get('Algorithm')} is not accepted with {algorithm}")
            digest = name
        elif param.tag == MGF and algorithm == ALG_RSA_OAEP:
            name = _MGF_BY_URI.get(param.get("Algorithm") or "")
            if name is None:
                raise _refuse(f"the OAEP mask generation function {param.get('Algorithm')} is not accepted")
            mgf = name
        else:
            raise _refuse(f"the EncryptionMethod of EncryptedKey may not hold {c.local_name(param.tag)} with {algorithm}")
    ciphertext = _cipher_value(children[tags.index(CIPHER_DATA)], "EncryptedKey")
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=_HASHES[mgf]()), algorithm=_HASHES[digest](), label=None)
    return _KeyTransport(oaep, ciphertext)


def _profile(encrypted_assertion: etree._Element) -> _Profile:
    """Everything that can be refused without a key, refused, before any cryptography."""
    if encrypted_assertion.tag != c.ENCRYPTED_ASSERTION:
        raise _refuse(f"expected a saml:EncryptedAssertion, found {c.local_name(str(encrypted_assertion.tag))}", None)
    children = _elements(encrypted_assertion, "EncryptedAssertion")
    if not children or children[0].tag != ENCRYPTED_DATA:
        raise _refuse("EncryptedAssertion must begin with an EncryptedData")
    if sum(1 for child in children if child.tag == ENCRYPTED_DATA) > 1:
        raise _refuse("EncryptedAssertion holds more than one EncryptedData")
    siblings = children[1:]
    for sibling in siblings:
        if sibling.tag != ENCRYPTED_KEY:
            raise _refuse(f"EncryptedAssertion may hold only EncryptedData and EncryptedKey; found {c.local_name(sibling.tag)}")
    if sum(1 for _ in encrypted_assertion.iter(ENCRYPTED_KEY)) > MAX_ENCRYPTED_KEYS:
        raise _refuse(f"the EncryptedAssertion holds more than {MAX_ENCRYPTED_KEYS} EncryptedKey elements")

    data = children[0]
    data_type = data.get("Type")
    if data_type is not None and data_type != TYPE_ELEMENT:
        raise _refuse(f"EncryptedData has Type {data_type}; only {TYPE_ELEMENT} (an encrypted element) is accepted")
    if data.get("Encoding") is not None:
        raise _refuse("EncryptedData has an Encoding attribute, which is refused")
    parts = _elements(data, "EncryptedData")
    tags = [part.tag for part in parts]
    if tags not in ([ENCRYPTION_METHOD, CIPHER_DATA], [ENCRYPTION_METHOD, c.DS_KEY_INFO, CIPHER_DATA]):
        names = ", ".join(map(c.local_name, tags)) or "nothing"
        raise _refuse(f"EncryptedData must hold exactly EncryptionMethod, an optional KeyInfo and CipherData; found {names}")
    method = parts[0]
    uri = _algorithm(method, "EncryptedData")
    algorithm = _DATA_BY_URI.get(uri)
    if algorithm is None:
        raise _refuse(f"the data encryption algorithm {uri} is not accepted; only AES-128/256 in GCM or CBC mode are")
    if _elements(method, "the EncryptionMethod of EncryptedData"):
        raise _refuse("the EncryptionMethod of EncryptedData may not hold parameters (KeySize or others)")

    inline: list[etree._Element] = []
    if len(parts) == 3:
        key_info = parts[1]
        for item in _elements(key_info, "the KeyInfo of EncryptedData"):
            if item.tag == ENCRYPTED_KEY:
                inline.append(item)
            elif item.tag == c.DS_RETRIEVAL_METHOD:
                _check_retrieval_method(item, siblings)
            else:
                raise _refuse(f"the KeyInfo of EncryptedData may hold only EncryptedKey and RetrievalMethod; found {c.local_name(item.tag)}")
    encrypted_keys = inline + siblings
    if not encrypted_keys:
        raise _refuse("the EncryptedAssertion holds no EncryptedKey: the session key must travel with it, wrapped with RSA-OAEP")
    transports = tuple(_key_transport(key) for key in encrypted_keys)
    ciphertext = _cipher_value(parts[-1], "EncryptedData")
    return _Profile(algorithm, ciphertext, transports)


def _check_retrieval_method(method: etree._Element, siblings: list[etree._Element]) -> None:
    """Accept a RetrievalMethod only as a same-document pointer to a sibling EncryptedKey. It is never followed."""
    if _elements(method, "RetrievalMethod"):
        raise _refuse("RetrievalMethod holds Transforms or other children, which are refused")
    kind = method.get("Type")
    if kind is not None and kind != TYPE_ENCRYPTED_KEY:
        raise _refuse(f"RetrievalMethod has Type {kind}; only {TYPE_ENCRYPTED_KEY} is accepted")
    uri = method.get("URI") or ""
    matches = [key for key in siblings if uri.startswith("#") and key.get("Id") == uri[1:]]
    if len(matches) != 1:
        raise _refuse(f"RetrievalMethod URI {uri!r} does not name exactly one EncryptedKey beside the EncryptedData; nothing is fetched")


CONTEXT_TAG = "samlfed-decrypted"


def plaintext_in_context(plaintext: bytes, namespaces: Mapping[str | None, str]) -> bytes:
    """The plaintext inside a `CONTEXT_TAG` element that declares `namespaces`, those in scope at the
    EncryptedAssertion (its `nsmap`).

    XML Encryption parses a decrypted element in the context of the place it replaces, so a plaintext may use
    prefixes it does not declare (node-saml's TestShib fixtures write `<saml:Assertion` and rely on the
    Response's `xmlns:saml`). The caller parses the result with the hardened parser and takes its one child."""
    opening = etree.tostring(etree.Element(CONTEXT_TAG, nsmap=dict(namespaces)))  # <samlfed-decrypted xmlns:…/>
    return opening[:-2] + b">" + plaintext + b"</" + CONTEXT_TAG.encode() + b">"


# --- the cryptography -------------------------------------------------------------------------------------------


def decrypt_assertion(encrypted_assertion: etree._Element, keys: Sequence[rsa.RSAPrivateKey]) -> bytes:
    """The plaintext of a `saml:EncryptedAssertion` (unparsed), decrypted only with `keys`.

    Raises `SamlValidationError("encryption.decrypt")`: a specific message for profile violations (public
    structure), `decryption_failed()` for everything that depends on the keys or the ciphertext's content.
    """
    profile = _profile(encrypted_assertion)
    if not keys:
        raise _refuse("no private key is registered for this provider, so encrypted assertions cannot be read", None)
    size = profile.data.key_size
    ciphertext = profile.ciphertext
    # Lengths are public (they are the document's), so refusing them early reveals nothing; the message is the
    # uniform one all the same, because a truncated ciphertext is one more way of tampering.
    if profile.data.gcm:
        if len(ciphertext) < _GCM_IV + _GCM_TAG + 1:
            raise decryption_failed()
    elif len(ciphertext) < 2 * _BLOCK or len(ciphertext) % _BLOCK:
        raise decryption_failed()

    # Every EncryptedKey with every key, without stopping at the first success, so that the RSA work does not
    # depend on which key (if any) matched. When none yields a key of the right length, a random key takes its
    # place and the AES work is done all the same (as TLS does for RSA key exchange): an OAEP failure then costs
    # what a wrong tag or padding costs.
    session_key: bytes | None = None
    for transport in profile.keys:
        for key in keys:
            try:
                candidate = key.decrypt(transport.ciphertext, transport.oaep)
            except ValueError:
                continue
            if session_key is None and len(candidate) == size:
                session_key = candidate
    ok = session_key is not None
    aes_key = session_key if session_key is not None else os.urandom(size)

    if profile.data.gcm:
        try:
            plaintext = AESGCM(aes_key).decrypt(ciphertext[:_GCM_IV], ciphertext[_GCM_IV:], None)
        except InvalidTag:
            ok, plaintext = False, b""
    else:
        decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(ciphertext[:_BLOCK])).decryptor()
        padded = decryptor.update(ciphertext[_BLOCK:]) + decryptor.finalize()
        # XML Encryption padding: the last byte is the pad length (1..16); the other pad bytes are arbitrary,
        # so unlike PKCS#7 they are not checked. A bad pad length does not return early: the slice is taken
        # either way (with a stand-in length), and the verdict is combined at the end.
        pad = padded[-1]
        good_pad = 1 <= pad <= _BLOCK
        plaintext = padded[: len(padded) - (pad if good_pad else _BLOCK)]
        ok = ok and good_pad
    # What remains timing-wise: Python-level branches above differ by nanoseconds; OpenSSL's OAEP decoding is
    # constant-time, but raising its ValueError costs a microsecond or so next to a millisecond of RSA. The big
    # remaining signal is the caller's: a plaintext that decrypted goes on to XML parsing and validation, whose
    # duration depends on the plaintext. With CBC that is the parse oracle of "How to Break XML Encryption"
    # (CCS 2011); only GCM's tag closes it. Hence the uniform message for parse failures too, and rate limits.
    if not ok or not plaintext:
        raise decryption_failed()
    return plaintext


def encrypt_assertion(
    assertion_xml: bytes,
    recipient: rsa.RSAPublicKey | x509.Certificate,
    *,
    data_algorithm: str = "aes256-gcm",
    key_transport: str = "rsa-oaep-mgf1p",
    oaep_digest: str = "sha1",
    mgf_digest: str = "sha1",
    detached_key: bool = False,
) -> etree._Element:
    """A `saml:EncryptedAssertion` holding `assertion_xml`, as real IdPs produce it.

    `detached_key=False` puts the EncryptedKey in EncryptedData's KeyInfo (AD FS); True puts it beside
    EncryptedData, named by a RetrievalMethod (Okta). `mgf_digest` applies to xmlenc11#rsa-oaep only. A fresh
    random session key and IV per call (pysaml2's static IV, CVE-2017-1000246, is what this avoids).
    """
    data = _DATA_ALGORITHMS.get(data_algorithm)
    transport = _TRANSPORTS.get(key_transport)
    if data is None:
        raise ValueError(f"unknown data algorithm {data_algorithm!r}; one of {sorted(_DATA_ALGORITHMS)}")
    if transport is None:
        raise ValueError(f"unknown key transport {key_transport!r}; one of {sorted(_TRANSPORTS)}")
    if oaep_digest not in _TRANSPORT_DIGESTS[transport]:
        raise ValueError(f"OAEP digest {oaep_digest!r} is not allowed with {key_transport}")
    if mgf_digest not in _HASHES or (transport == ALG_RSA_OAEP_MGF1P and mgf_digest != "sha1"):
        raise ValueError(f"MGF1 digest {mgf_digest!r} is not allowed with {key_transport}")
    certificate = recipient if isinstance(recipient, x509.Certificate) else None
    public_key = recipient.public_key() if isinstance(recipient, x509.Certificate) else recipient
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the recipient must hold an RSA public key")

    session_key = os.urandom(data.key_size)
    if data.gcm:
        iv = os.urandom(_GCM_IV)
        ciphertext = iv + AESGCM(session_key).encrypt(iv, assertion_xml, None)
    else:
        iv = os.urandom(_BLOCK)
        pad = _BLOCK - len(assertion_xml) % _BLOCK
        encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
        # PKCS#7-style bytes are one valid choice of XML Encryption's arbitrary padding, and the most interoperable.
        ciphertext = iv + encryptor.update(assertion_xml + bytes([pad]) * pad) + encryptor.finalize()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=_HASHES[mgf_digest]()), algorithm=_HASHES[oaep_digest](), label=None)
    wrapped = public_key.encrypt(session_key, oaep)

    root = etree.Element(c.ENCRYPTED_ASSERTION, nsmap={"saml": c.NS_ASSERTION})
    data_id, key_id = "_" + os.urandom(16).hex(), "_" + os.urandom(16).hex()
    encrypted_data = etree.SubElement(root, ENCRYPTED_DATA, nsmap={"xenc": NS_XENC}, Type=TYPE_ELEMENT)
    etree.SubElement(encrypted_data, ENCRYPTION_METHOD, Algorithm=data.uri)
    key_info = etree.SubElement(encrypted_data, c.DS_KEY_INFO, nsmap={"ds": c.NS_DSIG})
    if detached_key:
        encrypted_data.set("Id", data_id)
        etree.SubElement(key_info, c.DS_RETRIEVAL_METHOD, Type=TYPE_ENCRYPTED_KEY, URI="#" + key_id)
        encrypted_key = etree.SubElement(root, ENCRYPTED_KEY, nsmap={"xenc": NS_XENC}, Id=key_id)
    else:
        encrypted_key = etree.SubElement(key_info, ENCRYPTED_KEY)
    method = etree.SubElement(encrypted_key, ENCRYPTION_METHOD, Algorithm=transport)
    etree.SubElement(method, c.DS_DIGEST_METHOD, nsmap={"ds": c.NS_DSIG}, Algorithm=_DIGEST_URIS[oaep_digest])
    if transport == ALG_RSA_OAEP and mgf_digest != "sha1":
        etree.SubElement(method, MGF, nsmap={"xenc11": NS_XENC11}, Algorithm=_MGF_URIS[mgf_digest])
    if certificate is not None:
        x509_data = etree.SubElement(etree.SubElement(encrypted_key, c.DS_KEY_INFO, nsmap={"ds": c.NS_DSIG}), c.DS_X509_DATA)
        etree.SubElement(x509_data, c.DS_X509_CERTIFICATE).text = base64.b64encode(certificate.public_bytes(Encoding.DER)).decode()
    etree.SubElement(etree.SubElement(encrypted_key, CIPHER_DATA), CIPHER_VALUE).text = base64.b64encode(wrapped).decode()
    if detached_key:
        etree.SubElement(etree.SubElement(encrypted_key, REFERENCE_LIST), DATA_REFERENCE, URI="#" + data_id)
    cipher_data = etree.SubElement(encrypted_data, CIPHER_DATA)
    etree.SubElement(cipher_data, CIPHER_VALUE).text = base64.b64encode(ciphertext).decode()
    return root
