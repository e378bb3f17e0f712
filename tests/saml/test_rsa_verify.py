"""dsig.rsa_pkcs1v15_verify gives the same verdict as cryptography's RSAPublicKey.verify."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.saml.dsig import rsa_pkcs1v15_verify

HASHES = [hashes.SHA256, hashes.SHA384, hashes.SHA512, hashes.SHA1]


@cache
def _key(index: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _library_verdict(public_key: rsa.RSAPublicKey, signature: bytes, data: bytes, hash_cls: type[hashes.HashAlgorithm]) -> bool:
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), hash_cls())
    except InvalidSignature:
        return False
    return True


def _mutate(signature: bytes, how: str, at: int) -> bytes:
    at %= len(signature)
    if how == "flip":
        return signature[:at] + bytes([signature[at] ^ 0x01]) + signature[at + 1 :]
    if how == "truncate":
        return signature[:at]
    if how == "extend":
        return signature + b"\x00"
    if how == "zero-prefix":
        return b"\x00" + signature[1:]
    return signature


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=200),
    signed_with=st.sampled_from(HASHES),
    checked_with=st.sampled_from(HASHES),
    signer=st.sampled_from([0, 1]),
    checker=st.sampled_from([0, 1]),
    how=st.sampled_from(["keep", "keep", "flip", "truncate", "extend", "zero-prefix"]),
    at=st.integers(min_value=0, max_value=255),
    other_data=st.booleans(),
)
def test_same_verdict_as_the_library(data, signed_with, checked_with, signer, checker, how, at, other_data) -> None:
    signature = _mutate(_key(signer).sign(data, padding.PKCS1v15(), signed_with()), how, at)
    public_key = _key(checker).public_key()
    checked = data + b"x" if other_data else data
    assert rsa_pkcs1v15_verify(public_key, signature, checked, checked_with) == _library_verdict(public_key, signature, checked, checked_with)


@pytest.mark.parametrize("hash_cls", HASHES)
def test_accepts_a_genuine_signature_and_refuses_another_hash(hash_cls) -> None:
    key = _key(0)
    signature = key.sign(b"SignedInfo", padding.PKCS1v15(), hash_cls())
    assert rsa_pkcs1v15_verify(key.public_key(), signature, b"SignedInfo", hash_cls)
    others = [h for h in HASHES if h is not hash_cls]
    assert not any(rsa_pkcs1v15_verify(key.public_key(), signature, b"SignedInfo", other) for other in others)
    assert not rsa_pkcs1v15_verify(key.public_key(), b"", b"SignedInfo", hash_cls)


def test_refuses_a_genuine_signature_shorter_than_the_modulus() -> None:
    """RFC 8017 §8.2.2 step 1: a signature must be as long as the modulus. About one genuine signature in 256 begins
    with a zero byte; without it, OpenSSL's recovery still works, and the check accepted a second encoding."""
    key = _key(0)
    for counter in range(5000):  # each try has a 1 in 256 chance: all 5000 failing has a chance of about 3e-9
        data = b"SignedInfo %d" % counter
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if signature[0] == 0:
            break
    else:
        raise AssertionError("no signature began with a zero byte")
    assert rsa_pkcs1v15_verify(key.public_key(), signature, data, hashes.SHA256)
    assert not _library_verdict(key.public_key(), signature[1:], data, hashes.SHA256)
    assert not rsa_pkcs1v15_verify(key.public_key(), signature[1:], data, hashes.SHA256)
