"""Private keys for the AddPrivateKey tests, generated once per run (RSA key generation is slow), in every form the
API must accept or refuse."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from saml_factory import signer

KEY_ID_PATTERN = r"[A-Z0-9]{22,64}"


@cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def pkcs1(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode()


def encrypted_pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")).decode()


def pem_body(pem: str) -> list[str]:
    """The base64 lines of a PEM (what would show if the key leaked anywhere)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def der(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def same_key(a: rsa.RSAPrivateKey, b: rsa.RSAPrivateKey) -> bool:
    return a.private_numbers() == b.private_numbers()


def refused_keys() -> dict[str, str]:
    """AddPrivateKey values that are not one unencrypted RSA private key of 2048 to 4096 bits (PEM)."""
    good = pkcs8(rsa_key("a"))
    certificate = signer().certificate.public_bytes(serialization.Encoding.PEM).decode()
    public = rsa_key("a").public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {
        "not a key": "hello",
        "a truncated key": good[: len(good) // 2],
        "a corrupted key": good.replace(pem_body(good)[3], base64.b64encode(b"\x00" * 48).decode()),
        "1024 bits": pkcs8(rsa_key("small", 1024)),
        "4608 bits": pkcs8(rsa_key("large", 4608)),  # each costs an RSA decryption per EncryptedKey, unauthenticated
        "encrypted": encrypted_pkcs8(rsa_key("a")),
        "an EC key": pkcs8(ec.generate_private_key(ec.SECP256R1())),
        "a public key": public,
        "a certificate": certificate,
        "a key with its certificate": good + certificate,
        "text before the key": "my decryption key\n" + good,
        "text after the key": good + "rotated 2026-12\n",
        "OpenSSL's bag attributes before the key": "Bag Attributes\n    localKeyID: 01 00 00 00\nKey Attributes: <No Attributes>\n" + good,
        "an end label of another kind": good.replace("-----END PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"),
    }
