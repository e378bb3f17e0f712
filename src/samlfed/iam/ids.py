"""AWS-style identifiers: unique ids with their type prefix, and the SAML provider UUID."""

from __future__ import annotations

import base64
import re
import secrets

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def unique_id(prefix: str, length: int = 21) -> str:
    """`AROA…` role ids (21 characters) and `AKIA…` access key ids (20), as AWS's."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length - len(prefix)))


ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
"""The shape of an access key id (AWS's length limits); a secret access key, 40 characters of base64, is not one."""
PROVIDER_UUID = re.compile(r"[A-Z0-9]{22,64}")
"""The shape of a SAMLProviderUUID."""


def provider_uuid() -> str:
    """SAMLProviderUUID: 22-64 characters of [A-Z0-9]."""
    return "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(26))


def account_id() -> str:
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def secret_access_key() -> str:
    """40 characters of standard base64, as AWS's secret access keys (and our temporary ones) are spelled."""
    return base64.b64encode(secrets.token_bytes(30)).decode()
