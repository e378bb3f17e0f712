"""Assertion encryption of SAML providers (AWS, IAM API change of 2025-02-04; contract §6.4): the encryption mode and
the providers' private keys, checked, identified and sealed for the store.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..context import ServiceContext
from ..errors import ValidationFailed
from ..saml.model import load_rsa_private_key
from ..store import ProviderPrivateKey, provider_key_context
from .constraints import invalid

ENCRYPTION_MODES = ("Required", "Allowed")
"""AssertionEncryptionMode, in the model's order (its enum error lists them so)."""
MAX_PRIVATE_KEYS = 2
"""Private keys per provider (AWS: rotation adds the new key, then removes the old one in another request)."""
MAX_PRIVATE_KEY_LENGTH = 16384
MIN_PRIVATE_KEY_BITS = 2048
MAX_PRIVATE_KEY_BITS = 4096
"""Each encrypted assertion costs an RSA decryption per EncryptedKey and key, before anything is known to be
genuine: an 8192-bit key made one unauthenticated request cost a fifth of a second of CPU."""
_KEY_ID_CHARACTERS = re.compile(r"[A-Z0-9]+", re.ASCII)
_PRIVATE_KEY_CHARS = re.compile(r"[\t\n\r\x20-\xff]+")  # the model's pattern for AddPrivateKey
_PRIVATE_KEY_PEM = re.compile(r"\s*-----BEGIN (RSA |)PRIVATE KEY-----[^-]+-----END \1PRIVATE KEY-----\s*", re.ASCII)
"""One PEM block of an unencrypted PKCS#8 or PKCS#1 key, whitespace around it and nothing else: the PEM reader skips
text before and after the block, which would let a certificate's or a note's text ride along in AddPrivateKey."""


# AWS's documented messages (the contract, §6.4). The private key is sensitive: no message quotes it.
INVALID_PRIVATE_KEY = "Invalid private key."
KEY_NOT_FOUND = "Failed to remove private key because the Key ID does not match a private key."
REQUIRED_WITHOUT_KEY = "Unable to set assertion encryption mode to Required because no private key is provided."
ADD_AND_REMOVE = "Unable to add and remove private keys in the same request. Set a value for only one of the two parameters."
NO_UPDATES = "Unable to update identity provider. No updates are defined for metadata or encryption assertion."
KEY_LIMIT = f"Private key limit of {MAX_PRIVATE_KEYS} is reached."


@dataclass(frozen=True)
class EncryptionChange:
    """What a CreateSAMLProvider or UpdateSAMLProvider request asks of assertion encryption."""

    mode: str | None = None
    """AssertionEncryptionMode: `Allowed` or `Required`."""
    add_private_key: str | None = field(default=None, repr=False)
    """AddPrivateKey, a PEM private key: never in a repr, a log line or an error message."""
    remove_private_key: str | None = None
    """RemovePrivateKey, a KeyId."""

    def asks_nothing(self) -> bool:
        return self.mode is None and self.add_private_key is None and self.remove_private_key is None


def check_encryption_change(change: EncryptionChange, *, update: bool) -> None:
    """The model's constraints (RemovePrivateKey is a member of UpdateSAMLProvider's only), then AWS's own rule."""
    violations = []
    if change.mode is not None and change.mode not in ENCRYPTION_MODES:
        violations.append(
            f"Value '{change.mode}' at 'assertionEncryptionMode' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(ENCRYPTION_MODES)}]"
        )
    if change.add_private_key is not None:
        violations += _private_key_violations(change.add_private_key)
    if update and change.remove_private_key is not None:
        violations += _key_id_violations(change.remove_private_key)
    if violations:
        raise ValidationFailed(violations)
    if change.add_private_key is not None and change.remove_private_key is not None:
        raise invalid(ADD_AND_REMOVE)


def _private_key_violations(text: str) -> list[str]:
    """AddPrivateKey against the model's privateKeyType, in AWS's wording for a sensitive member: without its value."""
    start = "Value at 'addPrivateKey' failed to satisfy constraint: Member must"
    violations = []
    if not text:
        violations.append(f"{start} have length greater than or equal to 1")
    if len(text) > MAX_PRIVATE_KEY_LENGTH:
        violations.append(f"{start} have length less than or equal to {MAX_PRIVATE_KEY_LENGTH}")
    if text and not _PRIVATE_KEY_CHARS.fullmatch(text):
        violations.append(f"{start} satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
    return violations


def _key_id_violations(key_id: str) -> list[str]:
    """RemovePrivateKey against the model's privateKeyIdType (22-64 characters of [A-Z0-9]), in AWS's wording. The
    value is quoted only when it is short enough to be a Key ID: a private key pasted into this parameter by mistake
    must not come back in an error message (AWS leaves out the values of its sensitive members likewise)."""
    start = f"Value '{key_id}' at 'removePrivateKey'" if len(key_id) <= 64 else "Value at 'removePrivateKey'"
    start += " failed to satisfy constraint: Member must"
    violations = []
    if len(key_id) < 22:
        violations.append(f"{start} have length greater than or equal to 22")
    if len(key_id) > 64:
        violations.append(f"{start} have length less than or equal to 64")
    if not _KEY_ID_CHARACTERS.fullmatch(key_id):
        violations.append(f"{start} satisfy regular expression pattern: [A-Z0-9]+")
    return violations


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """AddPrivateKey: one unencrypted RSA private key of 2048 to 4096 bits, PEM (PKCS#8 or PKCS#1). Anything
    else is InvalidInput `Invalid private key.`, which says nothing about the text."""
    if not 1 <= len(text) <= MAX_PRIVATE_KEY_LENGTH or not _PRIVATE_KEY_CHARS.fullmatch(text) or not _PRIVATE_KEY_PEM.fullmatch(text):
        raise invalid(INVALID_PRIVATE_KEY)
    try:
        key = load_rsa_private_key(text.encode("latin-1"))  # the key's consistency is checked while loading
    except ValueError:
        raise invalid(INVALID_PRIVATE_KEY) from None
    if not MIN_PRIVATE_KEY_BITS <= key.key_size <= MAX_PRIVATE_KEY_BITS:
        raise invalid(INVALID_PRIVATE_KEY)
    return key


def private_key_id(key: rsa.RSAPrivateKey) -> str:
    """The KeyId of a private key: base32 (uppercase, unpadded: 52 characters of [A-Z2-7]) of the SHA-256 of its
    public key (DER SubjectPublicKeyInfo). Derived from the key, so the same key has the same ID on every node
    and in every request, and the ID tells nothing about the private half."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b32encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def private_key_id_of(text: str) -> str:
    """The KeyId the PEM private key `text` gets (InvalidInput when it is not a key AddPrivateKey accepts)."""
    return private_key_id(load_private_key(text))


def sealed_private_key(ctx: ServiceContext, provider_uuid: str, text: str) -> ProviderPrivateKey:
    """The key, checked and sealed under the master key for this provider (stored as PKCS#8, whatever was sent)."""
    key = load_private_key(text)
    key_id = private_key_id(key)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ProviderPrivateKey(key_id, ctx.clock(), ctx.master.seal(pem, context=provider_key_context(provider_uuid, key_id)))
