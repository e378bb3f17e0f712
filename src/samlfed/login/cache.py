"""The `credential_process` cache: one JSON file per profile, owner-only, under `$XDG_CACHE_HOME/samlfed`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..files import write_private
from .credentials_file import AwsCredentials
from .roles import RolesError, matching

REFRESH_BEFORE = timedelta(minutes=5)
"""Credentials this close to expiry are refreshed rather than served."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "samlfed" / "credentials"


def _path(profile: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in profile)
    return cache_dir() / f"{safe}.json"


def exists(profile: str) -> bool:
    """Whether anything is cached for this profile (a login made with flags only, without a config entry, too)."""
    return _path(profile).is_file()


def store(profile: str, role_arn: str, credentials: AwsCredentials, offered: list[str] | None = None) -> None:
    """Cache the credentials of `role_arn`; `offered` (the sign-in's roles) lets a role name be looked up as login does."""
    path = _path(profile)
    document = {
        "role": role_arn, "offered": offered or [role_arn], "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key, "SessionToken": credentials.session_token, "Expiration": credentials.expiration_text,
    }
    write_private(path, json.dumps(document).encode("utf-8"))


def fresh(profile: str, role: str, now: datetime | None = None) -> AwsCredentials | None:
    """Cached credentials for this profile and role (its ARN, or its name as login takes it) that stay valid beyond
    the refresh margin, or None. RolesError when a name matches roles in several accounts: not for the cache to guess."""
    path = _path(profile)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        credentials = AwsCredentials(
            document["AccessKeyId"], document["SecretAccessKey"], document["SessionToken"],
            datetime.fromisoformat(document["Expiration"].replace("Z", "+00:00")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _names_cached_role(document, role) or credentials.expiration - (now or datetime.now(UTC)) <= REFRESH_BEFORE:
        return None
    return credentials


def _names_cached_role(document: dict, role: str) -> bool:
    """Whether `role` names the cached role, resolved among the roles of the same sign-in as `login --role` resolves it."""
    if document.get("role") == role:
        return True
    offered = document.get("offered")
    if not isinstance(offered, list):  # cached before names were looked up: a login writes the roles again
        return False
    found = matching([arn for arn in offered if isinstance(arn, str)], role)
    if len(found) > 1:
        raise RolesError(f"the role {role} is not unique among the roles of your last sign-in ({', '.join(found)}); give its ARN instead")
    return found == [document.get("role")]
