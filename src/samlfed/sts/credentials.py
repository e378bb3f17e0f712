"""Temporary credentials that any node can verify without a database read.

* The session token is the session itself: its claims, sealed with AES-256-GCM under a server key ring, with
  the key id in clear so that rotating the ring never invalidates a live session (old keys stay until their
  sessions have expired).
* The access key id (`ASIA…`) is bound to the token as GCM associated data, so a token cannot be replayed
  with another key id.
* The secret access key is never stored: it is HMAC(ring key, access key id), re-derived on every request to
  check the SigV4 signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import pybase64
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_TOKEN_VERSION = b"\x01"
_NONCE_BYTES = 12
_ACCESS_KEY_CHARACTERS = 16
_BASE32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BYTE_TO_BASE32 = bytes(_BASE32[byte % 32] for byte in range(256))
"""Each random byte to one base32 character: 256 is a multiple of 32, so every character is equally likely
(5 bits per character, 80 per key id: what base32 of 10 bytes gives, at a tenth of its cost)."""
_KEY_ID_BYTES = 4


class InvalidSessionToken(ValueError):
    """The token was not issued by this key ring, was altered, or belongs to another access key."""


class UnknownRingKey(InvalidSessionToken):
    """The token names a key this ring does not hold: only then can re-reading the ring help (another node may
    have rotated it); any other invalid token is refused without a database read."""


@dataclass(frozen=True)
class KeyRing:
    """Server keys by id; `active` seals new sessions, every key still opens the sessions it sealed."""

    keys: Mapping[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError("the active key is not in the ring")
        if any(len(key) != 32 or len(bytes.fromhex(kid)) != _KEY_ID_BYTES for kid, key in self.keys.items()):
            raise ValueError("ring keys are 32 bytes with 4-byte hex ids")

    @classmethod
    def generate(cls) -> KeyRing:
        kid = secrets.token_hex(_KEY_ID_BYTES)
        return cls({kid: secrets.token_bytes(32)}, kid)

    def rotated(self) -> KeyRing:
        """A ring with a new active key; the previous keys remain for the sessions they sealed."""
        kid = secrets.token_hex(_KEY_ID_BYTES)
        return KeyRing({**self.keys, kid: secrets.token_bytes(32)}, kid)

    def without(self, key_id: str) -> KeyRing:
        if key_id == self.active:
            raise ValueError("the active key cannot be retired")
        return KeyRing({k: v for k, v in self.keys.items() if k != key_id}, self.active)


# Read-only by convention, not frozen: a frozen dataclass's __init__ sets each of these 13 fields through
# object.__setattr__, 13,000 instructions of every sign-in (and of every signed request, which opens its token).
@dataclass
class SessionClaims:
    """What a temporary credential stands for. Everything needed to authorize a request is here."""

    account_id: str
    role_arn: str
    role_id: str
    session_name: str
    issued_at: int
    expires_at: int
    """Unix seconds."""
    source_identity: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: list[str] = field(default_factory=list)
    session_policy: str | None = None
    policy_arns: list[str] = field(default_factory=list)
    chained: bool = False
    saml: dict[str, str] = field(default_factory=dict)
    """The `saml:*` context keys that persist into the session (namequalifier, sub, sub_type, …)."""

    @property
    def expiration(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)

    @property
    def principal_aliases(self) -> tuple[str, str, str]:
        """Other names a trust or resource policy may give this session's principal: its session ARN, its
        account's root and its account ID."""
        return (self.assumed_role_arn, f"arn:aws:iam::{self.account_id}:root", self.account_id)

    @property
    def assumed_role_arn(self) -> str:
        partition_and_account = self.role_arn.split(":role/")[0].replace(":iam:", ":sts:")
        role_name = self.role_arn.rsplit("/", 1)[-1]
        return f"{partition_and_account}:assumed-role/{role_name}/{self.session_name}"


@dataclass(slots=True)  # read-only by convention: frozen fields cost object.__setattr__ each, per sign-in
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    claims: SessionClaims


def _access_key_id(random: bytes) -> str:
    return "ASIA" + random.translate(_BYTE_TO_BASE32).decode()  # 16 characters of [A-Z2-7]


@lru_cache(maxsize=32)
def _aead(key: bytes) -> AESGCM:
    """One cipher object per ring key (building it per request showed up in profiles)."""
    return AESGCM(key)


@lru_cache(maxsize=32)
def _keyed_mac(key: bytes) -> hmac.HMAC:
    """One keyed HMAC-SHA256 per ring key, never updated itself: each secret is derived from a copy of it.
    Copying skips the key set-up of hmac.new (26,000 → 18,500 instructions per derivation)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def derive_secret(ring: KeyRing, key_id: str, access_key_id: str) -> str:
    # A keyed copy, not the one-shot hmac.digest: with OpenSSL 3 the one-shot looks the MAC up on every call and
    # cost nearly twice as much (and this runs on every sign-in and every signed request).
    mac = _keyed_mac(ring.keys[key_id]).copy()
    mac.update(b"samlfed secret\x00" + access_key_id.encode())
    return base64.b64encode(mac.digest()).decode()[:40]


def _claims_dict(claims: SessionClaims) -> dict[str, object]:
    """The claims as JSON-ready values: the instance's attribute dict, which holds its fields and nothing else, in
    their order (a dataclass without slots, whose __init__ sets each). dataclasses.asdict deep-copies every nested
    value (~40 µs per token), and a dict built field by field cost 13,000 instructions of every sign-in."""
    return vars(claims)


_CLAIMS_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)
"""The claims are values of our own dataclass, so there is no cycle to look for, and json.loads needs no key
order: both checks cost a quarter of the encoding, on every sign-in."""


def _encoded(token: bytes) -> str:
    """URL-safe base64 without padding. pybase64 writes the alphabet and the str in one C call: base64's
    urlsafe_b64encode (b64encode, then translate, then decode) cost 21,000 instructions on a token, this 6,000."""
    return pybase64.b64encode_as_string(token, altchars=b"-_").rstrip("=")


def issue(ring: KeyRing, claims: SessionClaims) -> TemporaryCredentials:
    random = os.urandom(_ACCESS_KEY_CHARACTERS + _NONCE_BYTES)  # one system call for the key id and the nonce
    access_key_id, nonce = _access_key_id(random[:_ACCESS_KEY_CHARACTERS]), random[_ACCESS_KEY_CHARACTERS:]
    plaintext = _CLAIMS_JSON.encode(_claims_dict(claims)).encode()
    sealed = _aead(ring.keys[ring.active]).encrypt(nonce, plaintext, access_key_id.encode())
    token = _TOKEN_VERSION + bytes.fromhex(ring.active) + nonce + sealed
    return TemporaryCredentials(
        access_key_id=access_key_id,
        secret_access_key=derive_secret(ring, ring.active, access_key_id),
        session_token=_encoded(token),
        claims=claims,
    )


@dataclass(frozen=True)
class OpenedSession:
    claims: SessionClaims
    secret_access_key: str


def open_session(ring: KeyRing, access_key_id: str, session_token: str) -> OpenedSession:
    """Unseal a session token presented with `access_key_id`. Expiry is the caller's check (it owns the clock)."""
    try:
        raw = base64.urlsafe_b64decode(session_token + "=" * (-len(session_token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSessionToken("not a samlfed session token") from None
    header = 1 + _KEY_ID_BYTES + _NONCE_BYTES
    # The decoder skips characters outside the alphabet and takes padding and the other alphabet: only the one
    # spelling `issue` gives is a token, not every string that decodes to it.
    if len(raw) <= header or raw[:1] != _TOKEN_VERSION or _encoded(raw) != session_token:
        raise InvalidSessionToken("not a samlfed session token")
    key_id = raw[1 : 1 + _KEY_ID_BYTES].hex()
    key = ring.keys.get(key_id)
    if key is None:
        raise UnknownRingKey("sealed with a key this server does not hold")
    try:
        plaintext = _aead(key).decrypt(raw[1 + _KEY_ID_BYTES : header], raw[header:], access_key_id.encode())
        claims = SessionClaims(**json.loads(plaintext))
    except (InvalidTag, ValueError, TypeError):
        raise InvalidSessionToken("the token does not open with this access key") from None
    return OpenedSession(claims, derive_secret(ring, key_id, access_key_id))
