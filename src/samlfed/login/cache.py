"""The `credential_process` cache: one JSON file per profile, owner-only, under `$XDG_CACHE_HOME/samlfed`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..files import write_private
from .credentials_file import AwsCredentials

REFRESH_BEFORE = timedelta(minutes=5)
"""Credentials this close to expiry are refreshed rather than served."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samlfed" / "credentials"


def _path(profile: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in profile)
    return cache_dir() / f"{safe}.json"


def store(profile: str, role_arn: str, credentials: AwsCredentials) -> None:
    path = _path(profile)
    document = {
        "role": role_arn, "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token, "Expiration": credentials.expiration_text,
    }
    write_private(path, json.dumps(document).encode("utf-8"))


def fresh(profile: str, role_arn: str, now: datetime | None = None) -> AwsCredentials | None:
    """Cached credentials for this profile and role that stay valid beyond the refresh margin, or None."""
    path = _path(profile)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        credentials = AwsCredentials(
            document["AccessKeyId"], document["SecretAccessKey"], document["SessionToken"],
            datetime.fromisoformat(document["Expiration"].replace("Z", "+00:00")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if document.get("role") != role_arn or credentials.expiration - (now or datetime.now(UTC)) <= REFRESH_BEFORE:
        return None
    return credentials
