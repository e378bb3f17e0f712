"""The server master key: it seals what the database must not hold in clear (ring keys, admin secrets).

It never enters the database. Give every node the same key with `SAMLFED_MASTER_KEY` (base64 of 32 bytes);
otherwise `<data-dir>/master.key` is created on first start with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .files import read_or_create_private

ENV = "SAMLFED_MASTER_KEY"


class MasterKeyError(RuntimeError):
    pass


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise MasterKeyError("the master key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def load(cls, data_dir: Path | None) -> MasterKey:
        """The key from `SAMLFED_MASTER_KEY`, else `<data-dir>/master.key` (created on first start); errors as
        from_variable's and from_variable_or_file's."""
        return cls.from_variable_or_file(cls.from_variable(), data_dir)

    @classmethod
    def from_variable_or_file(cls, key: MasterKey | None, data_dir: Path | None) -> MasterKey:
        """`key`, what from_variable returned (taken as given, so that a caller that checked the variable early
        decodes it once), else `<data-dir>/master.key` (created on first start).

        MasterKeyError when both are there and differ: the variable must not silently stand in for the file's key.
        OSError when the file cannot be read or made."""
        if key is not None:
            if data_dir is not None:
                key._require_same_as(data_dir / "master.key")
            return key
        if data_dir is None:
            raise MasterKeyError(f"set {ENV} (a database URL was given, so there is no data directory to keep it in)")
        path = data_dir / "master.key"
        try:
            return cls(read_or_create_private(path, lambda: secrets.token_bytes(32)))
        except MasterKeyError:
            raise MasterKeyError(f"{path} does not hold a 32-byte key") from None

    @classmethod
    def from_variable(cls) -> MasterKey | None:
        """The key `SAMLFED_MASTER_KEY` holds, None when it is unset; MasterKeyError when it is not base64 of 32 bytes.
        Reads no file: callers check the variable before they make a data directory or a database for it."""
        encoded = os.environ.get(ENV)
        if not encoded:
            return None
        try:
            return cls(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError, MasterKeyError):
            raise MasterKeyError(f"{ENV} is not base64 of 32 bytes") from None

    def _require_same_as(self, path: Path) -> None:
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            return
        if not hmac.compare_digest(stored, self._key):
            raise MasterKeyError(f"{ENV} is not the key in {path}: unset one of them, or make them the same")

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (HMAC keys for CSRF tokens and the like), the same on every node."""
        return hmac.new(self._key, b"samlfed derive\x00" + purpose.encode(), hashlib.sha256).digest()

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def unseal(self, sealed: bytes, *, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())
        except (InvalidTag, ValueError):
            raise MasterKeyError(f"cannot unseal {context}: wrong master key or corrupted data") from None
