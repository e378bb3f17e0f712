"""Keys of the services that may call the authorization API: `sfk_<id>_<secret>`, only the secret's SHA-256 stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..context import ServiceContext

PREFIX = "sfk_"
KEY_ID = re.compile(r"[0-9a-f]{16}")
"""The shape of a key's id (secrets.token_hex(8)): what `authz-keys list` shows and `delete` takes."""


@dataclass(frozen=True)
class NewAuthzKey:
    key_id: str
    name: str
    key: str
    """The whole key, shown once."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_authz_key(ctx: ServiceContext, name: str) -> NewAuthzKey:
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    ctx.store.add_authz_key(key_id, name, _hash(secret), now=ctx.clock())
    return NewAuthzKey(key_id, name, f"{PREFIX}{key_id}_{secret}")


def key_id_in(text: str) -> str | None:
    """The key id that `text` names: an id, or a whole key pasted in its stead (its id part); None for anything else,
    which may be a secret and must then not be repeated."""
    if text.startswith(PREFIX):
        text = text[len(PREFIX):].partition("_")[0]
    return text if KEY_ID.fullmatch(text) else None


def verify_authz_key(ctx: ServiceContext, presented: str) -> str | None:
    """The service's name when `presented` is a live key, else None."""
    if not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    key_id, _, secret = presented[len(PREFIX):].partition("_")
    stored = ctx.store.get_authz_key(key_id) if key_id and secret else None
    if stored is None:
        return None
    name, secret_hash = stored
    return name if hmac.compare_digest(_hash(secret), secret_hash) else None
